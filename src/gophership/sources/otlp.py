"""OTLP receivers: ``LogsService/Export`` over gRPC and ``POST /v1/logs`` over HTTP.

Both are thin shells (grpc.aio, aiohttp) around :class:`OtlpIntake`, which decides what a
request becomes. Bounds and what happens at them:

* A request body is stored as received (decompressed): protobuf as ``Codec.OTLP_PROTO``,
  OTLP/JSON as ``Codec.OTLP_JSON``. In RED it goes to the vault without being decoded; in
  GREEN and YELLOW it is checked first (protobuf parsed by upb; JSON parsed by orjson), and
  the green path maps it.
* ``max_message_bytes`` bounds a request after decompression: gRPC answers
  ``RESOURCE_EXHAUSTED``, HTTP ``413``. Neither is a sign of overload, so neither is counted
  as ``refused``.
* A body that does not parse is answered ``INVALID_ARGUMENT`` / ``400`` and counted. Records
  whose ``trace_id`` is not 0 or 16 bytes, or ``span_id`` not 0 or 8 bytes, are rejected: the
  rest of the request is accepted and the answer carries ``partial_success`` with their count.
* When the engine truly cannot take data (the vault spiller is over budget or the vault is
  full) the request is refused with a retryable answer: gRPC ``UNAVAILABLE`` with a
  ``RetryInfo`` of :data:`RETRY_AFTER_SECONDS`, HTTP ``503`` with ``Retry-After``. Never 500.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import shutil
import ssl
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import grpc
import orjson
from aiohttp import web
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from gophership.errors import OtlpDecodeError
from gophership.pivot.modes import Zone
from gophership.protocol import otlp
from gophership.record import Codec
from gophership.sources.stream import LISTEN_BACKLOG, SourceStatistics, tcp_listener

if TYPE_CHECKING:
    from gophership.config import SourceConfig
    from gophership.ingest import Ingester

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS: Final = 1
"""What a refused client is told to wait before retrying."""

SERVICE: Final = "opentelemetry.proto.collector.logs.v1.LogsService"
HTTP_PATH: Final = "/v1/logs"
PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"


class Outcome(enum.Enum):
    """What became of one request (the ``outcome`` label of the request counter)."""

    ACCEPTED = "accepted"
    PARTIAL = "partial"
    REFUSED = "refused"
    INVALID = "invalid"
    TOO_LARGE = "too_large"


@dataclass(frozen=True, slots=True)
class Answer:
    """The intake's verdict on one request; the shells turn it into their wire's answer."""

    outcome: Outcome
    rejected: int = 0
    message: str = ""


@dataclass(frozen=True, slots=True)
class OtlpStatistics:
    """Requests of one OTLP source by outcome, and records rejected inside accepted ones."""

    requests_by_outcome: dict[str, int]
    rejected_records_total: int


class OtlpIntake:
    """Turns request bodies into chunks for the ingester; shared by both transports."""

    def __init__(self, config: SourceConfig, ingester: Ingester) -> None:
        self.name = config.name
        self.max_bytes = config.max_message_bytes
        self._ingester = ingester
        self.stopping = False
        self.requests = dict.fromkeys((o.value for o in Outcome), 0)
        self.rejected_records = 0
        self.received_bytes = 0

    def take(self, codec: Codec, body: bytes, started_ns: int) -> Answer:
        """Check ``body`` (unless RED) and route it; never waits."""
        if self.stopping or not self._ingester.accepting:
            return self.record(Answer(Outcome.REFUSED, message="the engine cannot take data now"))
        if len(body) > self.max_bytes:
            return self.record(
                Answer(Outcome.TOO_LARGE, message=f"request is over {self.max_bytes} bytes")
            )
        rejected, message = 0, ""
        if self._ingester.zone is not Zone.RED:
            try:
                check = _check_proto if codec is Codec.OTLP_PROTO else _check_json
                body, rejected, message = check(body)
            except ValueError as exc:
                return self.record(Answer(Outcome.INVALID, message=str(exc)))
        self.received_bytes += len(body)
        self._ingester.route(codec, self.name, body, 1, started_ns)
        if rejected:
            self.rejected_records += rejected
            return self.record(Answer(Outcome.PARTIAL, rejected, message))
        return self.record(Answer(Outcome.ACCEPTED))

    def record(self, answer: Answer) -> Answer:
        """Count ``answer`` (and log it when the request was invalid); returns it."""
        self.requests[answer.outcome.value] += 1
        if answer.outcome is Outcome.INVALID:
            log.warning(
                "OTLP request rejected.", extra={"source": self.name, "error": answer.message}
            )
        return answer

    def statistics(self) -> OtlpStatistics:
        return OtlpStatistics(dict(self.requests), self.rejected_records)


def _check_proto(body: bytes) -> tuple[bytes, int, str]:
    """``body`` without records whose ids have a wrong length, how many, and why.

    Raises:
        ValueError: The body is not an ``ExportLogsServiceRequest``.
    """
    try:
        request = ExportLogsServiceRequest.FromString(body)
    except DecodeError as exc:
        raise ValueError(f"not an ExportLogsServiceRequest: {exc}") from exc
    bad = 0
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            for lr in sl.log_records:
                if len(lr.trace_id) not in (0, 16) or len(lr.span_id) not in (0, 8):
                    bad += 1
    if not bad:
        return body, 0, ""
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            keep = [
                lr
                for lr in sl.log_records
                if len(lr.trace_id) in (0, 16) and len(lr.span_id) in (0, 8)
            ]
            del sl.log_records[:]
            sl.log_records.extend(keep)
    return request.SerializeToString(), bad, _BAD_IDS.format(bad)


def _check_json(body: bytes) -> tuple[bytes, int, str]:
    """The JSON counterpart of :func:`_check_proto` (the body is decoded to be checked)."""
    reasons: dict[str, int] = {}
    try:
        resource_logs = otlp.decode_json(body, 0, reasons)
    except OtlpDecodeError as exc:
        raise ValueError(str(exc)) from exc
    bad = reasons.get(otlp.INVALID_ID, 0)
    if not bad:
        return body, 0, ""
    for rl in resource_logs:
        for sl in rl.get("scopeLogs", []):
            sl["logRecords"] = [
                r
                for r in sl.get("logRecords", [])
                if not any(a["key"] == "gophership.parse_error" for a in r["attributes"])
            ]
    return otlp.encode_json(resource_logs), bad, _BAD_IDS.format(bad)


_BAD_IDS: Final = "{} log record(s) with a trace_id not of 16 bytes or a span_id not of 8 bytes"


def _address(host: str | None, port: int) -> str:
    host = host or "0.0.0.0"  # noqa: S104 - the configured wildcard, shown as such
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# -- gRPC -------------------------------------------------------------------------------------

_GRPC_CODES: Final = {
    Outcome.REFUSED: (grpc.StatusCode.UNAVAILABLE, code_pb2.UNAVAILABLE),
    Outcome.INVALID: (grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
    Outcome.TOO_LARGE: (grpc.StatusCode.RESOURCE_EXHAUSTED, code_pb2.RESOURCE_EXHAUSTED),
}


class OtlpGrpcSource:
    """``otlp_grpc``: a grpc.aio server on the engine's loop (bytes in, bytes out).

    With TLS, grpcio's own TLS cannot refuse TLS 1.2 (its Python server credentials have no
    minimum version: grpc/grpc#37305), so the public port is an asyncio TLS listener (TLS
    1.3 only, ALPN ``h2``, the same context every listener uses) that relays each connection
    to the gRPC server on a private unix socket (a 0700 directory).
    """

    def __init__(
        self, config: SourceConfig, ingester: Ingester, tls: ssl.SSLContext | None = None
    ) -> None:
        self.config = config
        self.name = config.name
        self.intake = OtlpIntake(config, ingester)
        self._tls = tls
        self._server: grpc.aio.Server | None = None
        self._front: _TlsFront | None = None
        self.address = ""

    async def start(self) -> str:
        cfg = self.config
        limit = cfg.max_message_bytes
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", 4 << 20),
                ("grpc.so_reuseport", 0),
            ]
        )
        handler = grpc.method_handlers_generic_handler(
            SERVICE, {"Export": grpc.unary_unary_rpc_method_handler(self._export)}
        )
        server.add_generic_rpc_handlers((handler,))
        if self._tls is None:
            port = server.add_insecure_port(_address(cfg.host, cfg.port or 0))
        else:
            front = _TlsFront(self._tls, self.name)
            server.add_insecure_port(f"unix:{front.backend}")
            port = await front.start(cfg.host, cfg.port or 0)
            self._front = front
        await server.start()
        self._server = server
        self.address = _address(cfg.host, port)
        return self.address

    async def _export(self, body: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        answer = self.intake.take(Codec.OTLP_PROTO, body, time.perf_counter_ns())
        codes = _GRPC_CODES.get(answer.outcome)
        if codes is None:
            return otlp.response_proto(answer.rejected, answer.message)
        code, rpc_code = codes
        status = status_pb2.Status(code=rpc_code, message=answer.message)
        if answer.outcome is Outcome.REFUSED:
            status.details.add().Pack(
                error_details_pb2.RetryInfo(retry_delay=Duration(seconds=RETRY_AFTER_SECONDS))
            )
        await context.abort(
            code,
            answer.message,
            trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
        )
        raise AssertionError("unreachable: abort raises")  # pragma: no cover

    def stop_accepting(self) -> None:
        """New requests are refused (retryable) from now on; the listener closes in close()."""
        self.intake.stopping = True

    async def close(self, grace_seconds: float = 0.0) -> None:
        """Let requests in progress finish for up to ``grace_seconds``, then stop."""
        self.intake.stopping = True
        if self._server is not None:
            await self._server.stop(grace_seconds)
            self._server = None
        if self._front is not None:
            await self._front.close()
            self._front = None

    def statistics(self) -> SourceStatistics:
        return _source_statistics(self.name, self.config.type, self.intake)


class _TlsFront:
    """TLS 1.3 termination in front of the gRPC server: bytes relayed both ways, unchanged."""

    def __init__(self, context: ssl.SSLContext, name: str) -> None:
        context.set_alpn_protocols(["h2"])
        self._context = context
        self._dir = tempfile.mkdtemp(prefix=f"gs-grpc-{name}-")  # mode 0700
        self.backend = os.path.join(self._dir, "grpc.sock")
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()

    async def start(self, host: str | None, port: int) -> int:
        sock = tcp_listener(host, port)
        self._server = await asyncio.start_server(
            self._relay,
            sock=sock,
            ssl=self._context,
            backlog=LISTEN_BACKLOG,
            ssl_handshake_timeout=10,
        )
        bound: int = sock.getsockname()[1]
        return bound

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.backend)
        except OSError:
            writer.close()
            self._relays.discard(task)
            return
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                w.close()
            self._relays.discard(task)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._relays):
            task.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        shutil.rmtree(self._dir, ignore_errors=True)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF (then half-close) or a connection error (then stop quietly)."""
    try:
        while data := await reader.read(256 * 1024):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, ssl.SSLError, OSError):
        writer.close()


# -- HTTP -------------------------------------------------------------------------------------

_HTTP_STATUS: Final = {
    Outcome.ACCEPTED: 200,
    Outcome.PARTIAL: 200,
    Outcome.REFUSED: 503,
    Outcome.INVALID: 400,
    Outcome.TOO_LARGE: 413,
}


class OtlpHttpSource:
    """``otlp_http``: an aiohttp server; protobuf or JSON bodies, gzip/deflate, chunked."""

    def __init__(
        self, config: SourceConfig, ingester: Ingester, tls: ssl.SSLContext | None = None
    ) -> None:
        self.config = config
        self.name = config.name
        self.intake = OtlpIntake(config, ingester)
        self._tls = tls
        self._runner: web.AppRunner | None = None
        self._connections = 0
        self._connections_total = 0
        self.address = ""

    async def start(self) -> str:
        cfg = self.config
        # One byte over the limit, so a body of exactly max_message_bytes is read whole.
        app = web.Application(client_max_size=cfg.max_message_bytes + 1)
        app.router.add_route("*", HTTP_PATH, self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        sock = tcp_listener(cfg.host, cfg.port or 0)
        sock.listen(LISTEN_BACKLOG)
        await web.SockSite(runner, sock, ssl_context=self._tls).start()
        self._runner = runner
        self.address = _address(cfg.host, sock.getsockname()[1])
        return self.address

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST"})
        started = time.perf_counter_ns()
        ctype = request.content_type
        if ctype == PROTOBUF:
            codec = Codec.OTLP_PROTO
        elif ctype == JSON:
            codec = Codec.OTLP_JSON
        else:
            return _http_error(415, f"unsupported content type {ctype!r}", JSON)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            answer = self.intake.record(
                Answer(Outcome.TOO_LARGE, message=f"request is over {self.intake.max_bytes} bytes")
            )
            return _http_answer(answer, ctype)
        return _http_answer(self.intake.take(codec, body, started), ctype)

    def stop_accepting(self) -> None:
        self.intake.stopping = True

    async def close(self, grace_seconds: float = 0.0) -> None:
        self.intake.stopping = True
        if self._runner is not None:
            await self._runner.shutdown()
            await self._runner.cleanup()
            self._runner = None

    def statistics(self) -> SourceStatistics:
        return _source_statistics(self.name, self.config.type, self.intake)


def _http_answer(answer: Answer, ctype: str) -> web.Response:
    status = _HTTP_STATUS[answer.outcome]
    if status != 200:
        response = _http_error(status, answer.message, ctype)
        if answer.outcome is Outcome.REFUSED:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if ctype == JSON:
        body = otlp.response_json(answer.rejected, answer.message)
    else:
        body = otlp.response_proto(answer.rejected, answer.message)
    return web.Response(status=200, body=body, content_type=ctype)


def _http_error(status: int, message: str, ctype: str) -> web.Response:
    """A failure answer: a ``google.rpc.Status`` in the request's encoding (OTLP/HTTP spec)."""
    code = code_pb2.UNAVAILABLE if status == 503 else code_pb2.INVALID_ARGUMENT
    if ctype == PROTOBUF:
        body = status_pb2.Status(code=code, message=message).SerializeToString()
        return web.Response(status=status, body=body, content_type=PROTOBUF)
    return web.Response(
        status=status, body=orjson.dumps({"code": code, "message": message}), content_type=JSON
    )


def _source_statistics(name: str, type_: str, intake: OtlpIntake) -> SourceStatistics:
    """The stream sources' numbers for an OTLP source: a frame is a request taken."""
    taken = intake.requests[Outcome.ACCEPTED.value] + intake.requests[Outcome.PARTIAL.value]
    return SourceStatistics(
        name=name,
        type=type_,
        received_bytes_total=intake.received_bytes,
        received_frames_total=taken,
        dropped_frames_total=sum(intake.requests.values()) - taken,
        dropped_bytes_total=0,
        framing_errors_total=intake.requests[Outcome.INVALID.value],
        connections=0,
        connections_total=0,
        accept_paused_total=0,
    )

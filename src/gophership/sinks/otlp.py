"""The ``otlp`` sink: ``ExportLogsServiceRequest`` protobuf over gRPC or HTTP.

Rules:

1. One batch is one request, encoded from the batch's ``resource_logs`` (never mutated), with
   the configured headers (gRPC metadata), compression (gzip, level 1: logs still shrink
   several times and the one core stays for parsing) and ``timeout`` as the deadline.
2. Retryable, raised as :class:`RetryableSinkError` with the receiver's hint (``Retry-After``,
   ``RetryInfo``) when it gave one: everything but the answers below. An endpoint that is
   down, overloaded, refuses our key or answers 5xx may recover; the data waits (in the
   runner, then in this sink's vault lane) rather than being dropped.
3. Permanent: HTTP 400 and 413, gRPC ``INVALID_ARGUMENT``: the receiver will never take this
   batch. It is logged, its records are counted in ``rejected_records``, and the send
   returns (retrying it forever would stall the sink for good).
4. ``partial_success`` with ``rejected_log_records > 0``: the rest was accepted; the count and
   the receiver's message are logged and counted in ``rejected_records``.
"""

from __future__ import annotations

import gzip
import logging
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import aiohttp
import grpc
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from gophership.errors import ClosedResourceError, RetryableSinkError
from gophership.protocol import otlp
from gophership.sinks.base import SinkCounters, SinkStatistics

if TYPE_CHECKING:
    from gophership.config import ClientTlsConfig, SinkConfig
    from gophership.sinks.base import ExportBatch

log = logging.getLogger(__name__)

EXPORT_METHOD: Final = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
GZIP_LEVEL: Final = 1
PROTOBUF: Final = "application/x-protobuf"
PERMANENT_HTTP: Final = frozenset({400, 413})
PERMANENT_GRPC: Final = frozenset({grpc.StatusCode.INVALID_ARGUMENT})


class OtlpSink:
    """Sends batches to an OTLP receiver; one connection (channel or session), reused."""

    def __init__(self, config: SinkConfig) -> None:
        self.name = config.name
        self.config = config
        self.counters = SinkCounters()
        self._closed = False
        url = urlsplit(config.endpoint)
        self._tls = url.scheme == "https"
        self._host = url.hostname or "localhost"
        self._port = url.port or (443 if self._tls else 80)
        path = url.path if url.path not in ("", "/") else "/v1/logs"
        self._url = f"{url.scheme}://{url.netloc}{path}"
        self._headers = dict(config.headers)
        self._channel: grpc.aio.Channel | None = None
        self._call: Any = None
        self._session: aiohttp.ClientSession | None = None

    # -- the Sink protocol ---------------------------------------------------------------

    async def send(self, batch: ExportBatch) -> None:
        if self._closed:
            raise ClosedResourceError(f"sink {self.name!r} is closed")
        self.counters.attempted(batch)
        resource_logs = batch.resource_logs
        if resource_logs is None:
            resource_logs = otlp.decode_json(batch.payload, 0)
        body = otlp.encode_proto(resource_logs)
        try:
            if self.config.protocol == "grpc":
                rejected, message = await self._send_grpc(body)
            else:
                rejected, message = await self._send_http(body)
        except RetryableSinkError:
            self.counters.failed(batch)
            raise
        except _Permanent as exc:
            self.counters.rejected_records += batch.records
            log.error(
                "OTLP receiver rejected a batch for good; it is dropped.",
                extra={"sink": self.name, "records": batch.records, "error": str(exc)},
            )
            return
        if rejected:
            self.counters.rejected_records += rejected
            log.warning(
                "OTLP receiver rejected part of a batch.",
                extra={"sink": self.name, "rejected": rejected, "error": message},
            )
        self.counters.sent(batch)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._channel is not None:
            await self._channel.close()
        if self._session is not None:
            await self._session.close()

    def statistics(self) -> SinkStatistics:
        return self.counters.snapshot()

    # -- gRPC ----------------------------------------------------------------------------

    def _grpc_call(self) -> Any:
        if self._call is None:
            target = f"{self._host}:{self._port}"
            options: list[tuple[str, Any]] = [("grpc.max_send_message_length", 1 << 30)]
            tls = self.config.tls
            if self._tls:
                if tls is not None and tls.server_name:
                    options.append(("grpc.ssl_target_name_override", tls.server_name))
                self._channel = grpc.aio.secure_channel(
                    target, _grpc_credentials(tls), options=options
                )
            else:
                self._channel = grpc.aio.insecure_channel(target, options=options)
            self._call = self._channel.unary_unary(EXPORT_METHOD)
        return self._call

    async def _send_grpc(self, body: bytes) -> tuple[int, str]:
        call = self._grpc_call()
        compression = grpc.Compression.Gzip if self.config.compression == "gzip" else None
        try:
            answer: bytes = await call(
                body,
                timeout=self.config.timeout_seconds,
                metadata=tuple(self._headers.items()),
                compression=compression,
            )
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            message = f"sink {self.name!r}: gRPC {code.name}: {exc.details()}"
            if code in PERMANENT_GRPC:
                raise _Permanent(message) from exc
            raise RetryableSinkError(message, retry_after=_retry_info(exc)) from exc
        response = ExportLogsServiceResponse.FromString(answer)
        partial = response.partial_success
        return partial.rejected_log_records, partial.error_message

    # -- HTTP ----------------------------------------------------------------------------

    async def _send_http(self, body: bytes) -> tuple[int, str]:
        if self._session is None:
            ssl_arg: ssl.SSLContext | bool = (
                _client_context(self.config.tls) if self._tls else False
            )
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_arg, limit=4),
                timeout=aiohttp.ClientTimeout(total=self.config.timeout_seconds),
            )
        headers = {**self._headers, "Content-Type": PROTOBUF}
        if self.config.compression == "gzip":
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers["Content-Encoding"] = "gzip"
        tls = self.config.tls
        server_hostname = tls.server_name if tls is not None and tls.server_name else None
        try:
            async with self._session.post(
                self._url, data=body, headers=headers, server_hostname=server_hostname
            ) as response:
                answer = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RetryableSinkError(f"sink {self.name!r}: {type(exc).__name__}: {exc}") from exc
        if status == 200:
            try:
                response_msg = ExportLogsServiceResponse.FromString(answer)
            except Exception:  # noqa: BLE001 - a 200 with an odd body still delivered the data
                return 0, ""
            partial = response_msg.partial_success
            return partial.rejected_log_records, partial.error_message
        message = f"sink {self.name!r}: HTTP {status}: {_status_message(answer)}"
        if status in PERMANENT_HTTP:
            raise _Permanent(message)
        raise RetryableSinkError(message, retry_after=_seconds(retry_after))


class _Permanent(Exception):
    """The receiver will never accept this batch."""


def _seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the delta form; an HTTP date is ignored)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _retry_info(exc: grpc.aio.AioRpcError) -> float | None:
    """The ``RetryInfo`` delay in a gRPC error's ``grpc-status-details-bin``, if any."""
    for key, value in exc.trailing_metadata() or ():
        if key != "grpc-status-details-bin" or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except Exception:  # noqa: BLE001 - a malformed hint is no hint
            return None
        for detail in status.details:
            info = error_details_pb2.RetryInfo()
            if detail.Unpack(info):
                delay: float = info.retry_delay.ToTimedelta().total_seconds()
                return delay
    return None


def _status_message(body: bytes) -> str:
    """The ``message`` of a ``google.rpc.Status`` body, or the body's start."""
    try:
        return status_pb2.Status.FromString(body).message or body[:200].decode(errors="replace")
    except Exception:  # noqa: BLE001 - any body will do for an error message
        return body[:200].decode(errors="replace")


def _client_context(tls: ClientTlsConfig | None) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cafile=str(tls.ca_file) if tls is not None and tls.ca_file is not None else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls is not None and tls.cert_file is not None and tls.key_file is not None:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    return context


def _grpc_credentials(tls: ClientTlsConfig | None) -> grpc.ChannelCredentials:
    def read(path: Path | None) -> bytes | None:
        return None if path is None else Path(path).read_bytes()

    if tls is None:
        return grpc.ssl_channel_credentials()
    return grpc.ssl_channel_credentials(
        root_certificates=read(tls.ca_file),
        private_key=read(tls.key_file),
        certificate_chain=read(tls.cert_file),
    )

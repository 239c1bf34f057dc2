"""The otlp sink against real local gRPC and HTTP servers that answer as a test tells them."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import grpc
import pytest
import trustme
from aiohttp import web
from google.protobuf.duration_pb2 import Duration
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from gophership.config import ClientTlsConfig, SinkConfig
from gophership.errors import ClosedResourceError, RetryableSinkError
from gophership.protocol import otlp
from gophership.sinks import build_sink
from gophership.sinks.base import ExportBatch
from gophership.sources.otlp import SERVICE

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

RESOURCE_LOGS: list[Any] = [
    {
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "t"}}]},
        "scopeLogs": [
            {
                "scope": {"name": "s"},
                "logRecords": [
                    {
                        "observedTimeUnixNano": "5",
                        "body": {"stringValue": f"r{i}"},
                        "attributes": [{"key": "i", "value": {"intValue": str(i)}}],
                    }
                    for i in range(3)
                ],
            }
        ],
    }
]


def batch() -> ExportBatch:
    payload = otlp.encode_json(RESOURCE_LOGS)
    return ExportBatch(payload=payload, records=3, resource_logs=RESOURCE_LOGS)


class Upstream:
    """What the fake receiver saw, and how it answers the next request."""

    def __init__(self) -> None:
        self.requests: list[ExportLogsServiceRequest] = []
        self.metadata: list[dict[str, str]] = []
        self.answer: Callable[[], Any] = lambda: None


@pytest.fixture
async def grpc_upstream() -> AsyncIterator[tuple[Upstream, int]]:
    up = Upstream()

    async def export(body: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        up.requests.append(ExportLogsServiceRequest.FromString(body))
        up.metadata.append(
            {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        )
        answer = up.answer()
        if isinstance(answer, tuple):
            code, message, trailing = answer
            await context.abort(code, message, trailing_metadata=trailing)
        return answer if isinstance(answer, bytes) else otlp.response_proto()

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                SERVICE, {"Export": grpc.unary_unary_rpc_method_handler(export)}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield up, port
    await server.stop(0)


@pytest.fixture
async def http_upstream() -> AsyncIterator[tuple[Upstream, int]]:
    up = Upstream()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()  # aiohttp undoes Content-Encoding: gzip
        up.requests.append(ExportLogsServiceRequest.FromString(body))
        up.metadata.append({**request.headers, "path": request.path})
        answer = up.answer()
        if isinstance(answer, web.Response):
            return answer
        return web.Response(body=otlp.response_proto(), content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield up, port
    await runner.cleanup()


def sink(protocol: str, port: int, **extra: Any) -> Any:
    config = SinkConfig(
        name="up",
        type="otlp",
        protocol=protocol,  # type: ignore[arg-type]
        endpoint=f"http://127.0.0.1:{port}",
        headers={"x-tenant": "acme"},
        timeout_seconds=5,
        **extra,
    )
    return build_sink("otlp", "up", config=config)


async def test_grpc_delivers_with_headers(grpc_upstream: tuple[Upstream, int]) -> None:
    up, port = grpc_upstream
    s = sink("grpc", port)
    await s.send(batch())
    assert [
        r.body.string_value for r in up.requests[0].resource_logs[0].scope_logs[0].log_records
    ] == ["r0", "r1", "r2"]
    assert up.metadata[0]["x-tenant"] == "acme"
    assert s.statistics().sent_records == 3
    await s.aclose()
    with pytest.raises(ClosedResourceError):
        await s.send(batch())


async def test_grpc_retry_info_is_the_retry_hint(grpc_upstream: tuple[Upstream, int]) -> None:
    up, port = grpc_upstream
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message="busy")
    status.details.add().Pack(
        error_details_pb2.RetryInfo(retry_delay=Duration(seconds=2, nanos=500_000_000))
    )
    up.answer = lambda: (
        grpc.StatusCode.UNAVAILABLE,
        "busy",
        (("grpc-status-details-bin", status.SerializeToString()),),
    )
    s = sink("grpc", port)
    with pytest.raises(RetryableSinkError) as info:
        await s.send(batch())
    assert info.value.retry_after == 2.5
    assert "UNAVAILABLE" in str(info.value)
    assert s.statistics().failed_batches == 1
    await s.aclose()


async def test_grpc_invalid_argument_is_dropped_and_counted(
    grpc_upstream: tuple[Upstream, int],
) -> None:
    up, port = grpc_upstream
    up.answer = lambda: (grpc.StatusCode.INVALID_ARGUMENT, "bad", ())
    s = sink("grpc", port)
    await s.send(batch())  # no exception: retrying would never succeed
    assert s.statistics().rejected_records == 3
    assert s.statistics().sent_records == 0
    await s.aclose()


async def test_grpc_partial_success_is_counted(grpc_upstream: tuple[Upstream, int]) -> None:
    up, port = grpc_upstream
    up.answer = lambda: otlp.response_proto(2, "two bad")
    s = sink("grpc", port, compression="none")
    await s.send(batch())
    assert s.statistics().rejected_records == 2
    assert s.statistics().sent_records == 3
    await s.aclose()


async def test_grpc_endpoint_down_is_retryable() -> None:
    s = sink("grpc", 1)  # nothing listens on port 1
    with pytest.raises(RetryableSinkError):
        await s.send(batch())
    await s.aclose()


async def test_http_gzip_path_and_headers(http_upstream: tuple[Upstream, int]) -> None:
    up, port = http_upstream
    s = sink("http", port)
    await s.send(batch())
    seen = up.metadata[0]
    assert seen["path"] == "/v1/logs"
    assert seen["Content-Encoding"] == "gzip"
    assert seen["Content-Type"] == "application/x-protobuf"
    assert seen["x-tenant"] == "acme"
    assert len(up.requests[0].resource_logs[0].scope_logs[0].log_records) == 3
    await s.aclose()


@pytest.mark.parametrize(
    ("status", "retry_after", "retryable"),
    [
        (503, "3", True),
        (429, None, True),
        (502, None, True),
        (500, None, True),
        (400, None, False),
        (413, None, False),
    ],
)
async def test_http_answers(
    http_upstream: tuple[Upstream, int], status: int, retry_after: str | None, retryable: bool
) -> None:
    up, port = http_upstream
    headers = {"Retry-After": retry_after} if retry_after else {}
    body = status_pb2.Status(code=code_pb2.UNAVAILABLE, message="nope").SerializeToString()
    up.answer = lambda: web.Response(status=status, body=body, headers=headers)
    s = sink("http", port)
    if retryable:
        with pytest.raises(RetryableSinkError) as info:
            await s.send(batch())
        assert f"HTTP {status}" in str(info.value)
        assert "nope" in str(info.value)
        assert info.value.retry_after == (float(retry_after) if retry_after else None)
    else:
        await s.send(batch())
        assert s.statistics().rejected_records == 3
    await s.aclose()


async def test_http_partial_success_and_custom_path(http_upstream: tuple[Upstream, int]) -> None:
    up, port = http_upstream
    up.answer = lambda: web.Response(
        body=otlp.response_proto(1, "one"), content_type="application/x-protobuf"
    )
    config = SinkConfig(
        name="up",
        type="otlp",
        protocol="http",
        endpoint=f"http://127.0.0.1:{port}/ingest/logs",
        compression="none",
    )
    s = build_sink("otlp", "up", config=config)
    await s.send(batch())
    assert up.metadata[0]["path"] == "/ingest/logs"
    assert "Content-Encoding" not in up.metadata[0]
    assert s.statistics().rejected_records == 1
    await s.aclose()


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def tls_files(tmp_path: Path, ca: trustme.CA) -> dict[str, Path]:
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("client.example")
    files = {
        "ca": tmp_path / "ca.pem",
        "server_cert": tmp_path / "server.pem",
        "server_key": tmp_path / "server.key",
        "client_cert": tmp_path / "client.pem",
        "client_key": tmp_path / "client.key",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    server.cert_chain_pems[0].write_to_path(str(files["server_cert"]))
    server.private_key_pem.write_to_path(str(files["server_key"]))
    client.cert_chain_pems[0].write_to_path(str(files["client_cert"]))
    client.private_key_pem.write_to_path(str(files["client_key"]))
    return files


def tls_sink(protocol: str, port: int, files: dict[str, Path], *, client_cert: bool) -> Any:
    tls = ClientTlsConfig(
        ca_file=files["ca"],
        cert_file=files["client_cert"] if client_cert else None,
        key_file=files["client_key"] if client_cert else None,
        server_name="localhost",
    )
    config = SinkConfig(
        name="up",
        type="otlp",
        protocol=protocol,  # type: ignore[arg-type]
        endpoint=f"https://127.0.0.1:{port}",
        timeout_seconds=5,
        tls=tls,
    )
    return build_sink("otlp", "up", config=config)


@pytest.mark.parametrize("client_cert", [True, False])
async def test_https_with_mutual_tls(tmp_path: Path, ca: trustme.CA, client_cert: bool) -> None:
    files = tls_files(tmp_path, ca)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(files["ca"]))
    context.load_cert_chain(str(files["server_cert"]), str(files["server_key"]))
    context.verify_mode = ssl.CERT_REQUIRED
    seen: list[bytes] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(await request.read())
        return web.Response(body=otlp.response_proto(), content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/logs", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    s = tls_sink("http", port, files, client_cert=client_cert)
    try:
        if client_cert:
            await s.send(batch())
            assert len(seen) == 1
        else:  # the server requires a client certificate: refused, retryable (config may change)
            with pytest.raises(RetryableSinkError):
                await s.send(batch())
            assert seen == []
    finally:
        await s.aclose()
        await runner.cleanup()


async def test_grpc_with_mutual_tls(tmp_path: Path, ca: trustme.CA) -> None:
    files = tls_files(tmp_path, ca)
    seen: list[bytes] = []

    async def export(body: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        seen.append(body)
        return otlp.response_proto()

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                SERVICE, {"Export": grpc.unary_unary_rpc_method_handler(export)}
            ),
        )
    )
    credentials = grpc.ssl_server_credentials(
        [(files["server_key"].read_bytes(), files["server_cert"].read_bytes())],
        root_certificates=files["ca"].read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    s = tls_sink("grpc", port, files, client_cert=True)
    try:
        await s.send(batch())
        assert len(seen) == 1
    finally:
        await s.aclose()
        await server.stop(0)

"""OTLP end to end: the official OpenTelemetry SDK in, the file sink and a second daemon out.

Every test starts real daemons on ephemeral ports and sends with real clients: the Python SDK
(``otel_send.py``, one process per send), raw gRPC and HTTP for what the SDK cannot send
(OTLP/JSON with chunked transfer encoding, malformed and oversized requests).
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from gophership.testing.daemon import Exported, read_records, run_daemon, send_tcp, wait_until
from gophership.testing.pki import s_client

if TYPE_CHECKING:
    from gophership.testing.daemon import Daemon
    from gophership.testing.pki import Pki

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

SENDER = str(Path(__file__).with_name("otel_send.py"))
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
SEVERITIES = [(1, "TRACE"), (5, "DEBUG"), (9, "INFO"), (13, "WARN"), (17, "ERROR"), (21, "FATAL")]
EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

OTLP_SOURCES = {
    "otlp": {"type": "otlp_grpc", "address": "127.0.0.1:0"},
    "otlp_http": {"type": "otlp_http", "address": "127.0.0.1:0"},
}


def otel_send(protocol: str, endpoint: str, n: int, *extra: str) -> dict[str, int]:
    """Run the SDK sender; returns ``{"ok": records exported, "failed": ...}``."""
    # requests lets REQUESTS_CA_BUNDLE override the exporter's own CA file (psf/requests#3829)
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    out = subprocess.run(
        [
            sys.executable,
            SENDER,
            "--protocol",
            protocol,
            "--endpoint",
            endpoint,
            "-n",
            str(n),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert out.stdout.strip(), out.stderr[-3000:]
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def url(daemon: Daemon, source: str) -> str:
    host, port = daemon.addr(source)
    return f"http://{host}:{port}"


def check_sdk_record(r: Exported, run_id: str) -> int:
    """Every field the SDK sender set, intact; returns the record's sequence number."""
    seq = r.attrs["test.seq"]
    assert r.attrs == {
        "test.run_id": run_id,
        "test.seq": seq,
        "test.ratio": seq / 4,
        "test.flag": seq % 2 == 0,
        "test.tags": ["a", "b", str(seq)],
        "test.counts": [1, 2, seq],
        "test.big": 2**62 + seq,
        "test.negative": -seq,
    }
    raw = r.raw_attrs
    assert raw["test.seq"] == {"intValue": str(seq)}  # 64-bit integers as strings
    assert "doubleValue" in raw["test.ratio"]
    assert r.body == f"héllo 中 🚀 record {seq}"
    assert r.severity == SEVERITIES[seq % 6]
    assert r.time_ns == 1_700_000_000_000_000_000 + seq * 1000
    assert r.observed_ns == 1_700_000_000_000_000_500 + seq * 1000
    assert r.record["traceId"] == TRACE_ID
    assert r.record["spanId"] == SPAN_ID
    assert r.record["flags"] == 1
    assert r.scope["name"] == "otel_sdk_send"
    assert r.scope["version"] == "1.0.0"
    assert r.resource["service.name"] == "otel-e2e"  # the sender's, not the configured one
    assert r.resource["service.instance.id"] == "instance-1"
    assert r.resource["deployment.environment.name"] == "test"
    assert r.resource["telemetry.sdk.language"] == "python"
    assert "host.name" in r.resource  # enrichment: inserted, since the sender had none
    return int(seq)


def by_run(records: list[Exported], run_id: str) -> list[Exported]:
    return [r for r in records if r.attrs.get("test.run_id") == run_id]


def test_sdk_grpc_and_http_with_and_without_gzip(tmp_path: Path) -> None:
    runs = [
        ("grpc", "otlp", "g-plain", 1000, []),
        ("grpc", "otlp", "g-gzip", 700, ["--compression", "gzip", "--batch-size", "300"]),
        ("http", "otlp_http", "h-plain", 600, []),
        ("http", "otlp_http", "h-gzip", 700, ["--compression", "gzip"]),
    ]
    with run_daemon(tmp_path, sources=OTLP_SOURCES) as gs:
        for protocol, source, run_id, n, extra in runs:
            result = otel_send(protocol, url(gs, source), n, "--run-id", run_id, *extra)
            assert result == {"ok": n, "failed": 0}
        total = sum(n for *_, n, _ in runs)
        wait_until(lambda: len(gs.records()), lambda k: k >= total, 60, "records in the sink")
        records = gs.records()
        assert len(records) == total
        for *_, run_id, n, _ in runs:
            seqs = sorted(check_sdk_record(r, run_id) for r in by_run(records, run_id))
            assert seqs == list(range(n)), run_id
        accepted = gs.metric("gophership_otlp_requests_total", source="otlp", outcome="accepted")
        assert accepted >= 2 + 3  # 1000 in batches of 512, 700 in batches of 300


def test_sdk_large_requests_pass_the_grpc_default_limit(tmp_path: Path) -> None:
    """512 records of 10 KB: ~5.2 MB, over grpcio's 4 MiB default (CLIENTS.md pitfall)."""
    with run_daemon(tmp_path, sources=OTLP_SOURCES) as gs:
        result = otel_send("grpc", url(gs, "otlp"), 512, "--body-bytes", "10000")
        assert result == {"ok": 512, "failed": 0}
        records = wait_until(gs.records, lambda r: len(r) >= 512, 60, "records")
        assert min(len(r.body) for r in records) > 10_000


def post(daemon: Daemon, body: bytes, headers: dict[str, str], *, chunked: bool = False) -> Any:
    host, port = daemon.addr("otlp_http")
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        if chunked:
            conn.putrequest("POST", "/v1/logs")
            for k, v in {**headers, "Transfer-Encoding": "chunked"}.items():
                conn.putheader(k, v)
            conn.endheaders()
            for i in range(0, len(body), 100):
                piece = body[i : i + 100]
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            conn.send(b"0\r\n\r\n")
        else:
            conn.request("POST", "/v1/logs", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


JSON_REQUEST = {
    "resourceLogs": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "js"}}]},
            "scopeLogs": [
                {
                    "scope": {"name": "js-scope", "version": "0.1"},
                    "logRecords": [
                        {
                            "timeUnixNano": "1700000000123000000",
                            "observedTimeUnixNano": 1700000000124000000,
                            "severityNumber": 9,
                            "severityText": "INFO",
                            "body": {"stringValue": "from js"},
                            "attributes": [
                                {"key": "n", "value": {"intValue": 7}},
                                {"key": "q", "value": {"doubleValue": 0.25}},
                            ],
                            "droppedAttributesCount": 0,
                            "traceId": TRACE_ID,
                            "spanId": SPAN_ID,
                            "flags": 1,
                        }
                    ],
                }
            ],
        }
    ]
}


def test_otlp_json_chunked_and_gzip(tmp_path: Path) -> None:
    """OTLP/JSON as the JS SDK sends it: chunked, ints as numbers, hex ids (not base64)."""
    body = orjson.dumps(JSON_REQUEST)
    with run_daemon(tmp_path, sources=OTLP_SOURCES) as gs:
        status, headers, answer = post(gs, body, {"Content-Type": "application/json"}, chunked=True)
        assert status == 200, answer
        assert headers["Content-Type"].startswith("application/json")
        assert orjson.loads(answer) == {}
        status, _, answer = post(
            gs,
            gzip.compress(body),
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert status == 200, answer
        records = wait_until(gs.records, lambda r: len(r) >= 2, 30, "records")
    assert len(records) == 2
    for r in records:
        assert r.body == "from js"
        assert r.attrs == {"n": 7, "q": 0.25}
        assert r.raw_attrs["n"] == {"intValue": "7"}
        assert r.record["traceId"] == TRACE_ID
        assert r.record["spanId"] == SPAN_ID
        assert r.time_ns == 1700000000123000000
        assert r.observed_ns == 1700000000124000000
        assert r.severity == (9, "INFO")
        assert r.scope == {"name": "js-scope", "version": "0.1"}
        assert r.resource["service.name"] == "js"


JS_SENDER = Path(__file__).with_name("js") / "otel_send.mjs"


def test_the_js_sdk_sends_otlp_json(tmp_path: Path) -> None:
    """The OpenTelemetry JS SDK: OTLP/HTTP JSON, chunked, ints as JSON numbers (CLIENTS.md 2b)."""
    with run_daemon(tmp_path, sources=OTLP_SOURCES) as gs:
        endpoint = url(gs, "otlp_http") + "/v1/logs"
        out = subprocess.run(
            ["node", str(JS_SENDER), "--endpoint", endpoint, "-n", "600", "--run-id", "js"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert json.loads(out.stdout.strip().splitlines()[-1]) == {"ok": 600, "failed": 0}, out
        records = wait_until(gs.records, lambda r: len(r) >= 600, 60, "records from the JS SDK")
        assert (
            gs.metric("gophership_otlp_requests_total", source="otlp_http", outcome="accepted") >= 2
        )
    assert sorted(r.attrs["test.seq"] for r in records) == list(range(600))
    r = records[0]
    seq = r.attrs["test.seq"]
    assert r.body == f"js record {seq} é中"
    assert r.severity == (13, "WARN")
    assert r.time_ns == (1_700_000_000_000 + seq) * 1_000_000  # milliseconds in the SDK
    assert r.raw_attrs["test.seq"] == {"intValue": str(seq)}  # a JSON number on the wire
    assert r.scope == {"name": "js_send", "version": "2.0.0"}
    assert r.resource["service.name"] == "js-e2e"


def grpc_export(daemon: Daemon, body: bytes) -> tuple[grpc.StatusCode, bytes | str]:
    host, port = daemon.addr("otlp")
    with grpc.insecure_channel(f"{host}:{port}") as channel:
        call = channel.unary_unary(EXPORT)
        try:
            return grpc.StatusCode.OK, call(body, timeout=30)
        except grpc.RpcError as exc:
            return exc.code(), exc.details()


def request_with_bad_ids(good: int, bad: int) -> bytes:
    request = ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    for i in range(good + bad):
        record = records.add()
        record.body.string_value = f"r{i}"
        record.trace_id = bytes(16) if i < good else b"\x01\x02\x03"
    return request.SerializeToString()


def test_bad_requests_are_answered_and_counted(tmp_path: Path) -> None:
    small = {"max_message_bytes": "64KiB"}
    sources = {
        "otlp": {**OTLP_SOURCES["otlp"], **small},
        "otlp_http": {**OTLP_SOURCES["otlp_http"], **small},
    }
    with run_daemon(tmp_path, sources=sources) as gs:
        # Records with a wrong-length trace id are rejected; the rest is accepted.
        code, answer = grpc_export(gs, request_with_bad_ids(3, 2))
        assert code is grpc.StatusCode.OK
        assert isinstance(answer, bytes)
        partial = ExportLogsServiceResponse.FromString(answer).partial_success
        assert partial.rejected_log_records == 2
        assert "trace_id" in partial.error_message
        status, _, body = post(
            gs, request_with_bad_ids(1, 1), {"Content-Type": "application/x-protobuf"}
        )
        assert status == 200
        assert ExportLogsServiceResponse.FromString(body).partial_success.rejected_log_records == 1
        # Not protobuf at all: INVALID_ARGUMENT / 400, never 500.
        code, _ = grpc_export(gs, b"\xff\xff\xff not protobuf")
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        status, _, _ = post(gs, b"{not json", {"Content-Type": "application/json"})
        assert status == 400
        status, _, _ = post(gs, b"x", {"Content-Type": "text/plain"})
        assert status == 415
        # Over max_message_bytes: RESOURCE_EXHAUSTED / 413.
        big = ExportLogsServiceRequest()
        big.resource_logs.add().scope_logs.add().log_records.add().body.string_value = "x" * 70_000
        code, _ = grpc_export(gs, big.SerializeToString())
        assert code is grpc.StatusCode.RESOURCE_EXHAUSTED
        status, _, _ = post(gs, big.SerializeToString(), {"Content-Type": "application/x-protobuf"})
        assert status == 413
        records = wait_until(gs.records, lambda r: len(r) >= 4, 30, "accepted records")
        assert sorted(r.body for r in records) == ["r0", "r0", "r1", "r2"]
        assert gs.metric("gophership_otlp_rejected_records_total", source="otlp") == 2
        assert gs.metric("gophership_otlp_requests_total", source="otlp", outcome="partial") == 1
        assert gs.metric("gophership_otlp_requests_total", source="otlp", outcome="invalid") == 1
        assert (
            gs.metric("gophership_otlp_requests_total", source="otlp_http", outcome="too_large")
            == 1
        )
        assert gs.proc.poll() is None  # still running


def test_red_zone_stores_requests_undecoded_and_replays_them(tmp_path: Path) -> None:
    """In RED an OTLP request goes to the vault as bytes; replay maps it as if it were live."""
    with run_daemon(tmp_path, sources=OTLP_SOURCES, somatic={"zone": "red"}) as gs:
        assert otel_send("grpc", url(gs, "otlp"), 300, "--run-id", "red") == {
            "ok": 300,
            "failed": 0,
        }
        assert otel_send("http", url(gs, "otlp_http"), 200, "--run-id", "red-h") == {
            "ok": 200,
            "failed": 0,
        }
        gs.wait_metric("gophership_vault_appended_records_total", 1)
        time.sleep(0.5)
        assert gs.records() == []  # nothing decoded or exported in RED
        assert gs.metric("gophership_green_records_total") == 0
        gs.ctl("override", "--zone", "auto", "--socket", gs.control)
        records = wait_until(gs.records, lambda r: len(r) >= 500, 60, "replayed records")
    assert sorted(check_sdk_record(r, "red") for r in by_run(records, "red")) == list(range(300))
    assert sorted(check_sdk_record(r, "red-h") for r in by_run(records, "red-h")) == list(
        range(200)
    )


def otlp_sink(daemon: Daemon, source: str, protocol: str) -> dict[str, Any]:
    return {"type": "otlp", "protocol": protocol, "endpoint": url(daemon, source)}


SYSLOG_LINE = (
    b"<165>1 2026-11-23T03:04:05.678901+01:00 host.example app 4242 ID47"
    b' [exampleSDID@32473 iut="3" eventSource="Application"] syslog via A\n'
)


def key(r: Exported) -> bytes:
    """A record with its scope and resource, as one comparable value."""
    return orjson.dumps([r.record, r.scope, r.resource], option=orjson.OPT_SORT_KEYS)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_gophership_feeds_gophership(tmp_path: Path, protocol: str) -> None:
    """A's otlp sink → B's OTLP source: every record B writes is the one A wrote, field for field.

    A has two sinks (its own file and B), so this also runs through the per-sink lanes.
    """
    with run_daemon(tmp_path / "b", sources=OTLP_SOURCES) as b:
        target = "otlp" if protocol == "grpc" else "otlp_http"
        sinks = {"next": otlp_sink(b, target, protocol)}
        with run_daemon(tmp_path / "a", sources=OTLP_SOURCES, sinks=sinks) as a:
            assert otel_send("grpc", url(a, "otlp"), 600, "--run-id", "chain") == {
                "ok": 600,
                "failed": 0,
            }
            assert otel_send("http", url(a, "otlp_http"), 50, "--run-id", "chain-h") == {
                "ok": 50,
                "failed": 0,
            }
            ndjson = b'{"msg":"ndjson via A","level":"warn","trace_id":"%s","n":5}\n'
            send_tcp(a.addr("app"), ndjson % TRACE_ID.encode())
            send_tcp(a.addr("syslog"), SYSLOG_LINE)
            total = 600 + 50 + 2
            at_b = wait_until(b.records, lambda r: len(r) >= total, 60, "records at B")
            at_a = wait_until(a.records, lambda r: len(r) >= total, 60, "records at A")
            assert a.metric("gophership_sink_sent_records_total", sink="next") == total
    assert sorted(map(key, at_b)) == sorted(map(key, at_a))  # intact, in both directions
    assert sorted(check_sdk_record(r, "chain") for r in by_run(at_b, "chain")) == list(range(600))
    (mine,) = [r for r in at_b if r.body == "ndjson via A"]
    assert mine.severity == (13, "warn")  # the text as the line had it
    assert mine.record["traceId"] == TRACE_ID
    assert mine.raw_attrs["n"] == {"intValue": "5"}
    assert mine.scope["name"] == "gophership"
    assert mine.source == "app"  # A's scope attribute survives the hop
    assert mine.resource["service.name"] == "e2e"  # A's configured resource
    (sys_rec,) = [r for r in at_b if r.body == "syslog via A"]
    assert sys_rec.severity == (10, "notice")  # PRI 165 = local4.notice
    assert sys_rec.attrs["appname"] == "app"
    assert sys_rec.attrs["proc_id"] == "4242"


def test_down_sink_is_isolated_and_gets_its_backlog(tmp_path: Path) -> None:
    """Two sinks, one downstream down under load: the file sink stays live, nothing is lost."""
    n_batches, per_batch = 8, 250
    with run_daemon(tmp_path / "b", sources=OTLP_SOURCES) as b:
        b_port = b.addr("otlp")[1]
        sinks = {
            "next": {
                **otlp_sink(b, "otlp", "grpc"),
                "timeout": "1s",
                "retry_max_backoff": "500ms",
                "unhealthy_after_failures": 1,
            },
        }
        with run_daemon(
            tmp_path / "a",
            sources=OTLP_SOURCES,
            sinks=sinks
            | {"archive": {"type": "file", "path": str(tmp_path / "a" / "archive.jsonl")}},
        ) as a:
            assert (
                otel_send("grpc", url(a, "otlp"), per_batch, "--run-id", "before")["ok"]
                == per_batch
            )
            wait_until(b.records, lambda r: len(r) >= per_batch, 60, "first records at B")
            b.stop()
            sent = 0
            for i in range(n_batches):
                result = otel_send("grpc", url(a, "otlp"), per_batch, "--run-id", f"down{i}")
                assert result == {"ok": per_batch, "failed": 0}
                sent += per_batch
                # The file sink keeps receiving in real time while B is down.
                want = per_batch + sent
                wait_until(
                    lambda: len(read_records(tmp_path / "a" / "archive.jsonl")),
                    lambda k: k >= want,  # noqa: B023 - called before the loop moves on
                    30,
                    "live records in the file sink",
                )
            assert a.metric("gophership_sink_lane_spilling", sink="next") == 1
            assert a.metric("gophership_sink_lane_spilled_chunks_total", sink="next") > 0
            assert a.metric("gophership_sink_healthy", sink="archive") == 1
            assert a.metric("gophership_ingester_zone") == 0  # GREEN: one sink down is not RED
            # B comes back on the same port with the same data directory.
            with run_daemon(
                tmp_path / "b",
                sources={
                    **OTLP_SOURCES,
                    "otlp": {"type": "otlp_grpc", "address": f"127.0.0.1:{b_port}"},
                },
            ) as b2:
                want = per_batch + sent
                records = wait_until(
                    b2.records,
                    lambda r: (
                        len({(x.attrs["test.run_id"], x.attrs["test.seq"]) for x in r}) >= want
                    ),
                    90,
                    "the backlog at B",
                )
                wait_until(
                    lambda: a.metric("gophership_sink_lane_spilling", sink="next"),
                    lambda v: v == 0,
                    30,
                    "the lane back to live",
                )
                assert otel_send("grpc", url(a, "otlp"), 10, "--run-id", "after")["ok"] == 10
                records = wait_until(
                    b2.records, lambda r: len(by_run(r, "after")) >= 10, 30, "live records again"
                )
    for i in range(n_batches):
        got = sorted(check_sdk_record(r, f"down{i}") for r in by_run(records, f"down{i}"))
        assert sorted(set(got)) == list(range(per_batch)), f"down{i}"
    archive = read_records(tmp_path / "a" / "archive.jsonl")
    assert len(archive) == per_batch * (n_batches + 1) + 10  # exactly once in the live sink


def test_otlp_over_tls_13_with_client_certificates(tmp_path: Path, pki: Pki) -> None:
    """Both OTLP listeners: TLS 1.2 refused at handshake, the SDK over TLS 1.3 with mTLS."""
    sources = {
        "otlp": {**OTLP_SOURCES["otlp"], "tls": pki.server_tls(mutual=True)},
        "otlp_http": {**OTLP_SOURCES["otlp_http"], "tls": pki.server_tls(mutual=True)},
    }
    client = ["--ca", str(pki.ca_file), "--cert", str(pki.client_cert_file)]
    client += ["--key", str(pki.client_key_file)]
    with run_daemon(tmp_path, sources=sources) as gs:
        for source in ("otlp", "otlp_http"):
            addr = gs.ready["listeners"][source]
            args = ["-CAfile", str(pki.ca_file), "-cert", str(pki.client_cert_file)]
            args += ["-key", str(pki.client_key_file)]
            old = s_client(addr, "-tls1_2", *args)
            assert old.returncode != 0, old.stdout
            new = s_client(addr, "-tls1_3", *args)
            assert new.returncode == 0, new.stderr
            assert "TLSv1.3" in new.stdout
        port = gs.addr("otlp")[1]
        grpc_url = f"https://localhost:{port}"
        assert otel_send("grpc", grpc_url, 100, "--run-id", "tls-g", *client) == {
            "ok": 100,
            "failed": 0,
        }
        port = gs.addr("otlp_http")[1]
        http_url = f"https://localhost:{port}"
        assert otel_send("http", http_url, 100, "--run-id", "tls-h", *client) == {
            "ok": 100,
            "failed": 0,
        }
        # Without a client certificate: refused.
        refused = otel_send("http", http_url, 5, "--ca", str(pki.ca_file), "--timeout", "2")
        assert refused == {"ok": 0, "failed": 5}
        records = wait_until(gs.records, lambda r: len(r) >= 200, 60, "records over TLS")
    for run_id in ("tls-g", "tls-h"):
        got = sorted(check_sdk_record(r, run_id) for r in by_run(records, run_id))
        assert got == list(range(100))


def test_a_down_sink_s_backlog_survives_a_restart(tmp_path: Path) -> None:
    """SIGTERM while one of two sinks is down: its backlog stays in its lane across the restart."""
    lines = b"".join(b'{"msg":"line %d","n":%d}\n' % (i, i) for i in range(3000))
    with run_daemon(tmp_path / "b", sources=OTLP_SOURCES) as b:
        b_port = b.addr("otlp")[1]
    # B is down now; A sends to it anyway, and to its own file.
    sinks = {
        "next": {
            "type": "otlp",
            "endpoint": f"http://127.0.0.1:{b_port}",
            "timeout": "1s",
            "retry_max_backoff": "200ms",
            "unhealthy_after_failures": 1,
        }
    }
    with run_daemon(tmp_path / "a", sinks=sinks) as a:
        send_tcp(a.addr("app"), lines)
        wait_until(lambda: len(a.records()), lambda k: k >= 3000, 60, "the live file sink")
        a.wait_metric("gophership_sink_failed_batches_total", 2, sink="next")
        assert a.metric("gophership_sink_sent_records_total", sink="next") == 0
        # The batch the runner still retries goes to the sink's lane at the drain.
    # A restarts with B back on the same port: the lane replays its backlog to B.
    b_sources = {**OTLP_SOURCES, "otlp": {"type": "otlp_grpc", "address": f"127.0.0.1:{b_port}"}}
    with (
        run_daemon(tmp_path / "b", sources=b_sources) as b2,
        run_daemon(tmp_path / "a", sinks=sinks) as a2,
    ):
        at_b = wait_until(b2.records, lambda r: len(r) >= 3000, 60, "the backlog at B")
        wait_until(
            lambda: a2.metric("gophership_sink_lane_backlog_records", sink="next"),
            lambda v: v == 0,
            30,
            "an empty lane",
        )
        assert len(a2.records()) == 3000  # the file sink got everything once, before the restart
    assert sorted(r.attrs["n"] for r in at_b) == list(range(3000))

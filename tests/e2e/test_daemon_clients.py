"""Real clients (util-linux logger, netcat, sockets) into the real daemon, out of the file sink."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from gsdaemon import body, run_daemon, send_tcp, send_udp, wait_for

pytestmark = pytest.mark.e2e

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"


def logger(*args: str) -> None:
    subprocess.run(["logger", *args], check=True, timeout=30)


def test_logger_tcp_udp_and_ndjson_arrive_as_otlp_records(tmp_path: Path) -> None:
    with run_daemon(tmp_path) as gs:
        host, sport = gs.addr("syslog")
        _, uport = gs.addr("syslog_udp")
        before = time.time_ns()
        logger(
            "--server", host, "--port", str(sport), "--tcp", "--octet-count",
            "-t", "myapp", "-i", "-p", "local3.warning", "--msgid", "ID47",
            "--sd-id", "exampleSDID@32473", "--sd-param", 'iut="3"', "octet counted",
        )  # fmt: skip
        logger("--server", host, "--port", str(sport), "--tcp", "lf framed")
        logger("--server", host, "--port", str(sport), "--tcp", "--rfc3164", "bsd over tcp")
        logger("--server", host, "--port", str(uport), "--udp", "-p", "user.err", "over udp")
        logger("--server", host, "--port", str(uport), "--udp", "--rfc3164", "bsd over udp")
        ndjson = (
            b'{"ts":"2026-11-22T10:00:00.5Z","level":"error","msg":"disk full",'
            b'"disk":"/dev/sda1","free_bytes":0,"trace_id":"' + TRACE.encode() + b'",'
            b'"span_id":"' + SPAN.encode() + b'"}\n'
        )
        if shutil.which("nc"):
            subprocess.run(
                ["nc", "-N", *map(str, gs.addr("app"))], input=ndjson, check=True, timeout=30
            )
        else:
            send_tcp(gs.addr("app"), ndjson)
        records = wait_for(gs.records, lambda r: len(r) >= 6, 30, "six records")
        after = time.time_ns()
    by_body = {body(r): r for r in records}
    assert len(records) == 6

    octet = by_body["octet counted"]
    assert octet["_source"] == "syslog"
    assert octet["severityNumber"] == 13
    assert octet["severityText"] == "warning"
    attrs = octet["_attrs"]
    assert attrs["appname"] == {"stringValue": "myapp"}
    assert attrs["msg_id"] == {"stringValue": "ID47"}
    assert attrs["facility"] == {"intValue": "19"}
    assert attrs["hostname"]["stringValue"] == socket.gethostname().split(".")[0]
    assert "proc_id" in attrs
    sd = {e["key"]: e["value"] for e in attrs["structured_data"]["kvlistValue"]["values"]}
    assert sd["exampleSDID@32473"] == {
        "kvlistValue": {"values": [{"key": "iut", "value": {"stringValue": "3"}}]}
    }
    assert before - 10**9 <= int(octet["timeUnixNano"]) <= after
    assert before <= int(octet["observedTimeUnixNano"]) <= after
    assert octet["_resource"]["host.name"] == {"stringValue": socket.gethostname()}
    assert octet["_resource"]["service.name"] == {"stringValue": "e2e"}

    assert by_body["lf framed"]["_attrs"]["version"] == {"intValue": "1"}
    bsd = by_body["bsd over tcp"]
    assert "version" not in bsd["_attrs"]
    assert bsd["_attrs"]["appname"]["stringValue"]
    assert abs(int(bsd["timeUnixNano"]) - before) < 5 * 10**9  # year and zone supplied
    udp = by_body["over udp"]
    assert udp["_source"] == "syslog_udp"
    assert udp["severityNumber"] == 17
    assert by_body["bsd over udp"]["_source"] == "syslog_udp"

    nd = by_body["disk full"]
    assert nd["_source"] == "app"
    assert nd["severityNumber"] == 17
    assert nd["timeUnixNano"] == "1795341600500000000"
    assert nd["traceId"] == TRACE
    assert nd["spanId"] == SPAN
    assert nd["_attrs"] == {
        "disk": {"stringValue": "/dev/sda1"},
        "free_bytes": {"intValue": "0"},
    }


def test_ndjson_over_the_unix_socket_and_a_last_line_without_newline(tmp_path: Path) -> None:
    with run_daemon(tmp_path) as gs:
        path = gs.ready["listeners"]["app_unix"].removeprefix("unix:")
        assert (Path(path).stat().st_mode & 0o777) == 0o660
        subprocess.run(
            ["nc", "-N", "-U", path], input=b'{"msg":"one"}\r\n{"msg":"two"}', check=True,
            timeout=30,
        )  # fmt: skip
        records = wait_for(gs.records, lambda r: len(r) >= 2, 30, "two records")
    assert [body(r) for r in records] == ["one", "two"]
    assert {r["_source"] for r in records} == {"app_unix"}


def test_python_syslog_handler_nul_framing_over_tcp(tmp_path: Path) -> None:
    with run_daemon(tmp_path) as gs:
        send_tcp(gs.addr("syslog"), b"<12>first warning\x00<14>second info\x00")
        records = wait_for(gs.records, lambda r: len(r) >= 2, 30, "two records")
    assert [(body(r), r["severityNumber"]) for r in records] == [
        ("first warning", 13),
        ("second info", 9),
    ]


def test_udp_datagrams_each_become_one_record(tmp_path: Path) -> None:
    with run_daemon(tmp_path) as gs:
        grams = [b"<13>1 - h app - - - datagram %d" % i for i in range(200)]
        send_udp(gs.addr("syslog_udp"), grams)
        records = wait_for(gs.records, lambda r: len(r) >= 200, 30, "200 records")
    assert sorted(body(r) for r in records) == sorted(f"datagram {i}" for i in range(200))

"""Real clients (util-linux logger, netcat, plain sockets) into the daemon, out of the file sink.

Every record must come out once, as OTLP/JSON with the mapping in docs/OTEL_MAPPING.md: severity,
timestamps close to now (or exact when the sender gave one), the resource, the syslog header
fields as attributes, and trace context for NDJSON.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import shutil
import socket
import subprocess
import time
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from gophership.testing.daemon import Exported, send_tcp, send_udp, send_unix, wait_until

if TYPE_CHECKING:
    from gophership.testing.daemon import Daemon

pytestmark = pytest.mark.e2e

NC = shutil.which("nc")
HOST = socket.gethostname()
SHORT_HOST = HOST.split(".")[0]
SECOND = 10**9
ERR = "gophership.parse_error"


def logger(*args: str) -> subprocess.Popen[bytes]:
    """Run util-linux logger to completion; TZ=UTC so RFC 3164 local time is UTC."""
    proc = subprocess.Popen(
        ["logger", "--socket-errors=on", *args],
        env={**os.environ, "TZ": "UTC"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, (args, out, err)
    return proc


def nc(args: list[str], data: bytes) -> None:
    assert NC is not None
    subprocess.run([NC, "-N", *args], input=data, check=True, timeout=30, capture_output=True)


def wait_records(gs: Daemon, n: int, timeout: float = 30) -> list[Exported]:
    recs = wait_until(gs.records, lambda r: len(r) >= n, timeout, f"{n} records in the sink")
    return recs


def by_body(records: list[Exported]) -> dict[object, Exported]:
    counts = Counter(str(r.body) for r in records)
    twice = {b: c for b, c in counts.items() if c > 1}
    assert not twice, f"records exported more than once: {twice}"
    return {r.body: r for r in records}


def assert_common(r: Exported, before: int, after: int) -> None:
    assert r.resource["host.name"] == HOST
    assert r.resource["service.name"] == "e2e"
    assert r.scope["name"] == "gophership"
    assert r.scope.get("version")
    assert r.observed_ns is not None
    assert before <= r.observed_ns <= after, (before, r.observed_ns, after)


def test_logger_octet_counted_with_every_header_field(gs: Daemon) -> None:
    host, port = gs.addr("syslog")
    before = time.time_ns()
    proc = logger(
        "--server", host, "--port", str(port), "--tcp", "--octet-count",
        "-t", "myapp", "-i", "-p", "local3.warning", "--msgid", "ID47",
        "--sd-id", "exampleSDID@32473", "--sd-param", 'iut="3"',
        "--sd-param", 'eventSource="Application"', "octet counted with sd",
    )  # fmt: skip
    multi = logger(
        "--server", host, "--port", str(port), "--tcp", "--octet-count", "-t", "multi",
        "first line\nsecond line",
    )  # fmt: skip
    (multiline, rec) = sorted(wait_records(gs, 2), key=lambda r: str(r.attrs["appname"]))
    after = time.time_ns()
    assert len(gs.records()) == 2
    assert_common(rec, before, after)
    assert rec.source == "syslog"
    assert rec.body == "octet counted with sd"
    assert rec.severity == (13, "warning")
    attrs = rec.attrs
    assert attrs["appname"] == "myapp"
    assert attrs["hostname"] == SHORT_HOST
    assert attrs["proc_id"] == str(proc.pid)  # -i: logger's own PID
    assert attrs["msg_id"] == "ID47"
    assert attrs["priority"] == 19 * 8 + 4
    assert attrs["facility"] == 19
    assert attrs["version"] == 1
    assert rec.raw_attrs["facility"] == {"intValue": "19"}  # OTLP/JSON: int64 as a string
    sd = attrs["structured_data"]
    assert sd["exampleSDID@32473"] == {"iut": "3", "eventSource": "Application"}
    assert sd["timeQuality"]["tzKnown"] == "1"
    # logger writes microseconds with a +00:00 offset: exact to the microsecond
    assert rec.time_ns is not None
    assert rec.time_ns % 1000 == 0
    assert before - 1000 <= rec.time_ns <= after
    assert rec.time_ns <= rec.observed_ns  # type: ignore[operator]
    # octet counting keeps an LF inside MSG: one record, not two
    assert multi.pid != proc.pid
    assert multiline.body == "first line\nsecond line"
    assert multiline.severity == (10, "notice")  # logger's default user.notice


def test_logger_udp_tcp_lf_and_rfc3164_variants(gs: Daemon) -> None:
    host, tcp = gs.addr("syslog")
    _, udp = gs.addr("syslog_udp")
    before = time.time_ns()
    variants = {  # body -> (source, rfc5424?, logger args)
        "udp 5424": ("syslog_udp", True, ["--udp", "--port", str(udp), "-p", "user.err"]),
        "udp 3164": ("syslog_udp", False, ["--udp", "--port", str(udp), "--rfc3164"]),
        "tcp lf 5424": ("syslog", True, ["--tcp", "--port", str(tcp), "-p", "daemon.info"]),
        "tcp lf 3164": ("syslog", False, ["--tcp", "--port", str(tcp), "--rfc3164", "-i"]),
        "tcp octet 3164": ("syslog", False, ["--tcp", "--port", str(tcp), "--rfc3164",
                                             "--octet-count", "-p", "local0.debug"]),
    }  # fmt: skip
    pids = {}
    for body, (_, _, args) in variants.items():
        tag = body.replace(" ", "_")
        pids[body] = logger("--server", host, *args, "-t", tag, body).pid
    # LF framing splits an LF inside MSG into two frames: the second is kept raw
    logger("--server", host, "--port", str(tcp), "--tcp", "-t", "split", "embedded\nnewline")
    records = wait_records(gs, len(variants) + 2)
    after = time.time_ns()
    got = by_body(records)
    assert len(records) == len(variants) + 2
    expected_severity = {
        "udp 5424": (17, "err"),
        "udp 3164": (10, "notice"),
        "tcp lf 5424": (9, "info"),
        "tcp lf 3164": (10, "notice"),
        "tcp octet 3164": (5, "debug"),
    }
    for body, (source, rfc5424, _) in variants.items():
        r = got[body]
        assert_common(r, before, after)
        assert r.source == source, body
        assert r.severity == expected_severity[body], body
        a = r.attrs
        assert a["appname"] == body.replace(" ", "_"), body
        assert a["hostname"] == SHORT_HOST, body
        assert "gophership.parse_error" not in a, body
        assert r.time_ns is not None, body
        if rfc5424:
            assert a["version"] == 1, body
            assert before - 1000 <= r.time_ns <= after, body
            assert "timeQuality" in a["structured_data"], body
        else:
            # Mmm dd hh:mm:ss: whole seconds, year and zone supplied by the daemon
            assert "version" not in a, body
            assert r.time_ns % SECOND == 0, body
            assert before - SECOND <= r.time_ns <= after, body
    assert got["tcp lf 3164"].attrs["proc_id"] == str(pids["tcp lf 3164"])
    assert got["embedded"].attrs["appname"] == "split"
    assert "gophership.parse_error" in got["newline"].attrs


TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"


def test_ndjson_over_tcp_nc_and_the_unix_socket(gs: Daemon) -> None:
    before = time.time_ns()
    full = (
        b'{"ts":"2026-11-22T10:00:00.5Z","level":"error","msg":"disk full","disk":"/dev/sda1",'
        b'"free_bytes":0,"ratio":0.25,"ok":false,"tags":["a","b"],"ctx":{"k":"v","n":2},'
        b'"nothing":null,"trace_id":"' + TRACE.encode() + b'","span_id":"' + SPAN.encode() + b'"}\n'
    )
    tcp_lines = [
        full,
        b'{"message":"epoch millis","time":1795341600123,"severity":"warn"}\r\n',
        b'{"msg":"offset time","timestamp":"2026-11-22T12:00:00.000000001+02:00",'
        b'"level":"debug"}\n',
        b"\n",  # empty lines are skipped
        b'{"msg":"upper trace","level":"INFO","trace_id":"' + TRACE.upper().encode() + b'"}\n',
    ]
    send_tcp(gs.addr("app"), b"".join(tcp_lines))
    expected = 4
    if NC:  # a real client: nc -N, the last line without LF at EOF
        nc([*map(str, gs.addr("app"))], b'{"msg":"via nc","level":"warning"}\n{"msg":"nc tail"}')
        nc(["-U", gs.unix_path("app_unix")], b'{"msg":"via nc unix"}\n')
        expected += 3
    send_unix(gs.unix_path("app_unix"), b'{"msg":"unix one"}\n{"msg":"unix two","n":7}')
    expected += 2
    records = wait_records(gs, expected)
    after = time.time_ns()
    got = by_body(records)
    assert len(records) == expected, sorted(map(str, got))
    for r in records:
        assert_common(r, before, after)
        assert "gophership.parse_error" not in r.attrs, r.record

    r = got["disk full"]
    assert r.source == "app"
    assert r.severity == (17, "error")
    assert r.time_ns == 1795341600500000000
    assert r.record["traceId"] == TRACE
    assert r.record["spanId"] == SPAN
    assert r.raw_attrs == {
        "disk": {"stringValue": "/dev/sda1"},
        "free_bytes": {"intValue": "0"},
        "ratio": {"doubleValue": 0.25},
        "ok": {"boolValue": False},
        "tags": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}},
        "ctx": {
            "kvlistValue": {
                "values": [
                    {"key": "k", "value": {"stringValue": "v"}},
                    {"key": "n", "value": {"intValue": "2"}},
                ]
            }
        },
        "nothing": {},
    }
    r = got["epoch millis"]
    assert r.severity == (13, "warn")
    assert r.time_ns == 1795341600123 * 10**6
    assert r.attrs == {}
    r = got["offset time"]
    assert r.severity == (5, "debug")
    assert r.time_ns == 1795341600 * SECOND + 1  # 12:00+02:00 is 10:00Z
    assert got["upper trace"].record["traceId"] == TRACE  # lowercase hex out
    assert got["upper trace"].severity == (9, "INFO")
    for body in ("unix one", "unix two"):
        assert got[body].source == "app_unix"
    assert got["unix two"].attrs == {"n": 7}
    if NC:
        assert got["via nc"].source == "app"
        assert got["via nc"].severity == (13, "warning")
        assert got["nc tail"].source == "app"
        assert got["via nc unix"].source == "app_unix"
    for r in records:  # no timestamp given: timeUnixNano absent or the receive time
        if r.body in {"unix one", "unix two", "via nc", "nc tail", "via nc unix"}:
            assert r.time_ns is None or before <= r.time_ns <= after


def test_many_udp_datagrams_each_become_one_record(gs: Daemon) -> None:
    grams = [b"<14>1 - host app - - - datagram %d" % i for i in range(300)]
    send_udp(gs.addr("syslog_udp"), grams)
    records = wait_records(gs, 300)
    assert sorted(str(r.body) for r in records) == sorted(f"datagram {i}" for i in range(300))
    assert {r.source for r in records} == {"syslog_udp"}
    assert {r.attrs["hostname"] for r in records} == {"host"}
    assert gs.metric("gophership_source_received_lines_total", source="syslog_udp") == 300


def test_python_syslog_handler_over_tcp_nul_framed_and_udp(gs: Daemon) -> None:
    """CPython's SysLogHandler: `<PRI>msg\\0`, NUL the only delimiter on TCP (CLIENTS.md §6)."""
    log = logging.getLogger("e2e.sysloghandler")
    log.propagate = False
    log.setLevel(logging.INFO)
    fmt = logging.Formatter("myapp[%(process)d]: %(message)s")
    tcp = logging.handlers.SysLogHandler(address=gs.addr("syslog"), socktype=socket.SOCK_STREAM)
    udp = logging.handlers.SysLogHandler(address=gs.addr("syslog_udp"))
    try:
        for h in (tcp, udp):
            h.setFormatter(fmt)
            log.addHandler(h)
            log.warning("first via %s", h.socktype.name)
            log.info("second via %s", h.socktype.name)
            log.removeHandler(h)
    finally:
        tcp.close()
        udp.close()
    records = wait_records(gs, 4)
    assert len(records) == 4
    # The NUL is the handler's trailer on every transport (vectors client-python-stdlib-udp
    # and -formatter-tag expect msg without it), not part of the message.
    got = {str(r.body).removesuffix("\x00"): r for r in records}
    for kind, source in (("SOCK_STREAM", "syslog"), ("SOCK_DGRAM", "syslog_udp")):
        first, second = got[f"first via {kind}"], got[f"second via {kind}"]
        assert (first.source, second.source) == (source, source)
        assert first.severity == (13, "warning")
        assert second.severity == (9, "info")
        assert first.attrs["appname"] == "myapp"
        assert first.attrs["proc_id"] == str(os.getpid())
        assert first.attrs["facility"] == 1  # user
        assert ERR not in first.attrs
    bodies = sorted(str(r.body) for r in records)
    assert bodies == sorted(f"{n} via {k}" for n in ("first", "second")
                            for k in ("SOCK_STREAM", "SOCK_DGRAM")), bodies  # fmt: skip

"""The shared test data through the real daemon: loghub over NDJSON and syslog, syslog vectors.

Skipped only when ``/work/shared/data`` (or ``../shared/data`` beside the repo) is absent.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gophership.testing.daemon import run_daemon, send_tcp, send_udp, wait_until

if TYPE_CHECKING:
    from gophership.testing.daemon import Daemon, Exported

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
pytestmark = [
    pytest.mark.conformance,
    pytest.mark.e2e,
    pytest.mark.timeout(300),
    pytest.mark.skipif(not SHARED.is_dir(), reason="the shared test data is not present"),
]

SEVERITY = [(21, "emerg"), (19, "alert"), (18, "crit"), (17, "err"), (13, "warning"),
            (10, "notice"), (9, "info"), (5, "debug")]  # fmt: skip
STREAMS = {"octet-counting", "non-transparent-lf", "non-transparent-nul"}
ERR = "gophership.parse_error"


def loghub_files() -> list[Path]:
    return sorted((SHARED / "loghub").glob("*/*_2k.log"))


def sources_settled(gs: Daemon) -> bool:
    """Every frame received so far has been delivered to the sink (the pipeline is idle)."""
    m = gs.metrics()
    received = sum(v for (n, _), v in m.items() if n == "gophership_source_received_lines_total")
    sent = sum(v for (n, _), v in m.items() if n == "gophership_sink_sent_records_total")
    return received > 0 and sent == received


def test_all_loghub_files_arrive_one_record_per_line(tmp_path: Path) -> None:
    files = loghub_files()
    assert len(files) == 16
    lines: dict[str, list[str]] = {}
    with run_daemon(tmp_path) as gs:
        host, port = gs.addr("syslog")
        for path in files:
            data = path.read_bytes()
            # CRLF in 15 files, no final LF in 13: the last line still counts
            lines[path.stem] = [x.decode() for x in data.split(b"\n")]
            if lines[path.stem][-1] == "":
                lines[path.stem].pop()
            assert len(lines[path.stem]) == 2000, path
            send_tcp(gs.addr("app"), data)  # raw text as NDJSON: every line kept, raw
            send_tcp(gs.addr("syslog"), data)  # raw text as LF-framed syslog: no PRI
            subprocess.run(  # util-linux logger -f: one RFC 5424 message per line, one connection
                ["logger", "--socket-errors=on", "--server", host, "--port", str(port), "--tcp",
                 "--size", "8192", "-t", path.stem, "-f", str(path)],
                check=True, timeout=60, capture_output=True, env={**os.environ, "TZ": "UTC"},
            )  # fmt: skip
        total = 3 * 16 * 2000
        gs.wait_metric("gophership_sink_sent_records_total", total, timeout=120, sink="archive")
        records = gs.records()
        assert gs.running
    assert len(records) == total
    every_line = Counter(x.removesuffix("\r") for ls in lines.values() for x in ls)

    app = [r for r in records if r.source == "app"]
    assert Counter(str(r.body) for r in app) == every_line  # NDJSON drops the CR before LF
    assert {r.attrs[ERR] for r in app} == {"invalid_json"}

    raw_syslog = [r for r in records if r.source == "syslog" and ERR in r.attrs]
    assert len(raw_syslog) == 32000
    assert Counter(str(r.body).removesuffix("\r") for r in raw_syslog) == every_line
    assert {r.attrs[ERR] for r in raw_syslog} == {"missing_pri"}
    assert {r.severity for r in raw_syslog} == {(10, "notice")}  # PRI 13 assumed, RFC 3164

    via_logger = [r for r in records if r.source == "syslog" and ERR not in r.attrs]
    per_file = Counter(r.attrs["appname"] for r in via_logger)
    assert per_file == dict.fromkeys(lines, 2000)
    for stem, file_lines in lines.items():
        got = Counter(
            str(r.body).removesuffix("\r") for r in via_logger if r.attrs["appname"] == stem
        )
        assert got == Counter(x.removesuffix("\r") for x in file_lines), stem


def vectors() -> list[dict[str, Any]]:
    text = (SHARED / "syslog" / "vectors.jsonl").read_text()
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def raw_of(v: dict[str, Any]) -> bytes:
    return base64.b64decode(v["raw_b64"]) if v["raw"] is None else str(v["raw"]).encode()


def body_bytes(r: Exported) -> bytes | None:
    body = r.body
    if body is None:
        return None
    return body if isinstance(body, bytes) else str(body).encode()


def check_fields(r: Exported, exp: dict[str, Any], what: str) -> None:
    """Every key ``expect`` states, against the record (absent = not asserted)."""
    a = r.attrs
    assert ERR not in a, (what, a[ERR], r.body)
    if "severity" in exp:
        assert r.severity == SEVERITY[exp["severity"]], what
    if "facility" in exp:
        assert a["facility"] == exp["facility"], what
        if "severity" in exp:
            assert a["priority"] == exp["facility"] * 8 + exp["severity"], what
    if "version" in exp:
        assert a.get("version") == exp["version"], what
    for key, attr in (("hostname", "hostname"), ("app_name", "appname"), ("procid", "proc_id"),
                      ("msgid", "msg_id"), ("structured_data", "structured_data")):  # fmt: skip
        if key in exp:
            assert a.get(attr) == exp[key], (what, key, a.get(attr), exp[key])
    if "msg" in exp:
        if exp["msg"] is None:
            assert r.body in (None, ""), (what, r.body)
        else:
            assert r.body == exp["msg"], (what, r.body, exp["msg"])
    if "timestamp_unix_nano" in exp:
        assert r.time_ns == exp["timestamp_unix_nano"], (what, r.time_ns)


def check_single(v: dict[str, Any], r: Exported, transport: str) -> bool:
    """Check one single-message vector's record; True when it was checked strictly."""
    what = f"{v['id']} ({transport})"
    exp = v["expect"]
    if v.get("ambiguous"):
        # parsers disagree: keep the raw text somewhere and decode the PRI where it is stated
        if ERR in r.attrs:
            assert body_bytes(r) == raw_of(v), what
        else:
            b = body_bytes(r) or b""
            assert b in raw_of(v) or b in raw_of(v).replace(b"\xef\xbb\xbf", b""), what
            if "severity" in exp:
                assert r.severity == SEVERITY[exp["severity"]], what
            if "facility" in exp:
                assert r.attrs["facility"] == exp["facility"], what
        return False
    if not v["valid"]:
        assert ERR in r.attrs, (what, r.record)
        assert body_bytes(r) == raw_of(v), (what, r.body)
        return True
    check_fields(r, exp, what)
    return True


def test_syslog_vectors_come_out_with_their_expected_fields(tmp_path: Path) -> None:
    vs = vectors()
    singles = [v for v in vs if v["framing"] not in STREAMS and raw_of(v)]
    empty = [v for v in vs if v["framing"] not in STREAMS and not raw_of(v)]
    streams = [v for v in vs if v["framing"] in STREAMS]
    assert len(singles) + len(empty) + len(streams) == len(vs) == 188
    with run_daemon(tmp_path) as gs:
        # 1. one UDP datagram per vector, in order
        send_udp(gs.addr("syslog_udp"), [raw_of(v) for v in singles])
        wait_until(lambda: sources_settled(gs), bool, 60, "the datagrams delivered")
        udp = [r for r in gs.records() if r.source == "syslog_udp"]
        assert len(udp) == len(singles), "a datagram was lost or split"
        # 2. the same messages octet-counted on one TCP connection
        octets = b"".join(b"%d %s" % (len(raw_of(v)), raw_of(v)) for v in singles)
        send_tcp(gs.addr("syslog"), octets)
        wait_until(lambda: sources_settled(gs), bool, 60, "the octet-counted stream delivered")
        tcp = [r for r in gs.records() if r.source == "syslog"]
        assert len(tcp) == len(singles)
        # 3. each stream vector on its own connection (framing detected per connection)
        per_stream: dict[str, list[Exported]] = {}
        for v in streams:
            before = len(gs.records())
            send_tcp(gs.addr("syslog"), raw_of(v))
            wait_until(lambda: sources_settled(gs), bool, 30, f"stream {v['id']} delivered")
            per_stream[v["id"]] = gs.records()[before:]
        # 4. an empty datagram harms nothing
        before = len(gs.records())
        send_udp(gs.addr("syslog_udp"), [raw_of(v) for v in empty])
        send_udp(gs.addr("syslog_udp"), [b"<13>1 - - - - - - after empty"])
        wait_until(lambda: gs.records()[before:], lambda r: any(x.body == "after empty" for x in r),
                   30, "the datagram after the empty one")  # fmt: skip
        for r in gs.records()[before:]:
            assert r.body == "after empty" or ERR in r.attrs
        assert gs.running
    strict = 0
    for v, r_udp, r_tcp in zip(singles, udp, tcp, strict=True):
        strict += check_single(v, r_udp, "udp")
        check_single(v, r_tcp, "octet-counted tcp")
    assert strict == sum(1 for v in singles if not v.get("ambiguous")) >= 100

    for v in streams:
        got = per_stream[v["id"]]
        exp = v["expect"]
        frames: list[str] = exp["frames"]
        valid = exp.get("frames_valid", [True] * len(frames))
        messages = exp.get("messages", [{}] * len(frames))
        assert len(got) >= len(frames), (v["id"], [r.body for r in got])
        for i, (frame, ok, msg) in enumerate(zip(frames, valid, messages, strict=True)):
            r = got[i]
            if ok:
                check_fields(r, msg, f"{v['id']} frame {i}")
            else:
                assert ERR in r.attrs, (v["id"], i, r.record)
                assert r.body == frame, (v["id"], i, r.body)
        extra = got[len(frames) :]
        if "error" not in exp and not v.get("ambiguous"):
            assert not extra, (v["id"], [r.body for r in extra])
        for r in extra:  # after a framing error: kept raw, never parsed as a good message
            assert ERR in r.attrs, (v["id"], r.record)

"""../shared/data through the real daemon: loghub over NDJSON and syslog TCP, syslog vectors."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from gsdaemon import run_daemon, send_tcp, send_udp, wait_for

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
pytestmark = [
    pytest.mark.conformance,
    pytest.mark.e2e,
    pytest.mark.skipif(not SHARED.is_dir(), reason="shared test data not present"),
]
SEVERITY_NUMBER = (21, 19, 18, 17, 13, 10, 9, 5)
STREAMS = {"octet-counting", "non-transparent-lf", "non-transparent-nul"}


def loghub_files() -> list[Path]:
    return sorted((SHARED / "loghub").glob("*/*_2k.log"))


def test_all_loghub_files_arrive_one_record_per_line(tmp_path: Path) -> None:
    files = loghub_files()
    assert len(files) == 16
    expected: dict[str, int] = {}
    with run_daemon(tmp_path) as gs:
        for path in files:
            data = path.read_bytes()
            lines = len(data.splitlines())
            assert lines == 2000
            # raw log lines as syslog over TCP (LF framing): kept, raw, with an error reason
            send_tcp(gs.addr("syslog"), data)
            # the same lines as NDJSON values: one object per line
            as_json = b"".join(
                json.dumps({"msg": line.decode(), "file": path.name}).encode() + b"\n"
                for line in data.splitlines()
            )
            send_tcp(gs.addr("app"), as_json)
            expected[path.name] = lines
        total = 2 * sum(expected.values())
        records = wait_for(gs.records, lambda r: len(r) >= total, 120, f"{total} records")
        assert gs.proc.poll() is None
    assert len(records) == total
    per_file: dict[str, int] = {}
    for r in records:
        if r["_source"] == "app":
            name = r["_attrs"]["file"]["stringValue"]
            per_file[name] = per_file.get(name, 0) + 1
    assert per_file == expected
    syslog_records = [r for r in records if r["_source"] == "syslog"]
    assert len(syslog_records) == total // 2
    for r in syslog_records:  # no PRI: kept raw, the reason named, PRI 13 assumed (RFC 3164)
        assert r["_attrs"]["gophership.parse_error"] == {"stringValue": "missing_pri"}
        assert r["body"]["stringValue"]


def vectors() -> list[dict[str, Any]]:
    path = SHARED / "syslog" / "vectors.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def raw_of(v: dict[str, Any]) -> bytes:
    return base64.b64decode(v["raw_b64"]) if v["raw"] is None else str(v["raw"]).encode()


def plain(value: dict[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "kvlistValue" in value:
        return {kv["key"]: plain(kv["value"]) for kv in value["kvlistValue"]["values"]}
    return value


def fields(r: dict[str, Any]) -> dict[str, Any]:
    a = r["_attrs"]

    def get(key: str) -> Any:
        return plain(a[key]) if key in a else None

    return {
        "facility": get("facility"),
        "version": get("version"),
        "hostname": get("hostname"),
        "app_name": get("appname"),
        "procid": get("proc_id"),
        "msgid": get("msg_id"),
        "structured_data": get("structured_data"),
        "msg": r["body"].get("stringValue"),
        "timestamp_unix_nano": int(r["timeUnixNano"]) if "timeUnixNano" in r else None,
    }


def test_syslog_vectors_come_out_with_their_expected_fields(tmp_path: Path) -> None:
    singles = [v for v in vectors() if v["framing"] not in STREAMS]
    streams = [v for v in vectors() if v["framing"] in STREAMS]
    with run_daemon(tmp_path) as gs:
        send_udp(gs.addr("syslog_udp"), [raw_of(v) for v in singles])
        records = wait_for(gs.records, lambda r: len(r) >= len(singles), 60, "vector records")
        for v in streams:  # each stream on its own connection, framing auto-detected
            send_tcp(gs.addr("syslog"), raw_of(v))
        assert gs.proc.poll() is None  # nothing of this crashes the daemon
    assert len(records) == len(singles)
    checked = 0
    for v, r in zip(singles, records, strict=True):
        a = r["_attrs"]
        exp = v["expect"]
        if "severity" in exp:
            assert r["severityNumber"] == SEVERITY_NUMBER[exp["severity"]], v["id"]
        if "facility" in exp:
            assert plain(a["facility"]) == exp["facility"], v["id"]
        if v.get("ambiguous"):
            # parsers disagree on these: a record exists and the PRI was decoded (above); an
            # unparsed one keeps its raw text as the body
            if "gophership.parse_error" in a:
                assert r["body"], v["id"]
            continue
        if not v["valid"]:
            assert "gophership.parse_error" in a, v["id"]
            if v["raw"] is not None:
                assert r["body"] == {"stringValue": v["raw"]}, v["id"]
            continue
        assert "gophership.parse_error" not in a, v["id"]
        got = fields(r)
        for key in got:
            if key in exp:
                assert got[key] == exp[key], (v["id"], key, got[key], exp[key])
        checked += 1
    assert checked == sum(1 for v in singles if v["valid"] and not v.get("ambiguous"))
    assert checked > 50

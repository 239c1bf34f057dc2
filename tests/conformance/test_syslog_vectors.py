"""The shared syslog test vectors (../shared/data/syslog/vectors.jsonl) through the codecs."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from gophership.protocol.decode import PARSE_ERRORS, decode_chunk
from gophership.protocol.framing import (
    LineFramer,
    OctetCountFramer,
    SyslogStreamFramer,
    split_frames,
)
from gophership.record import Codec, LogRecordJSON

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "syslog" / "vectors.jsonl"
if not DATA.parent.is_dir():
    DATA = Path("/work/shared/data/syslog/vectors.jsonl")
pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not DATA.parent.is_dir(), reason="shared test data not present"),
]
OBSERVED = 1_795_374_880_000_000_000  # 2026-11-22, the capture date of the client vectors
STREAMS = {"octet-counting", "non-transparent-lf", "non-transparent-nul"}


def load() -> list[dict[str, Any]]:
    if not DATA.is_file():
        return []
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


VECTORS = load()
SINGLE = [v for v in VECTORS if v["framing"] not in STREAMS]
STREAM = [v for v in VECTORS if v["framing"] in STREAMS]


def raw_of(v: dict[str, Any]) -> bytes:
    if v["raw"] is None:
        return base64.b64decode(v["raw_b64"])
    return str(v["raw"]).encode()


def attrs(record: LogRecordJSON) -> dict[str, Any]:
    return {kv["key"]: kv["value"] for kv in record["attributes"]}


def plain(value: Any) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "kvlistValue" in value:
        return {kv["key"]: plain(kv["value"]) for kv in value["kvlistValue"]["values"]}
    return value


def observed_fields(record: LogRecordJSON) -> dict[str, Any]:
    """The record in the vocabulary of the vectors' ``expect``."""
    a = attrs(record)
    pri = plain(a["priority"]) if "priority" in a else None
    body = record["body"]
    out: dict[str, Any] = {
        "facility": None if pri is None else pri >> 3,
        "severity": None if pri is None else pri & 7,
        "version": plain(a["version"]) if "version" in a else None,
        "hostname": plain(a["hostname"]) if "hostname" in a else None,
        "app_name": plain(a["appname"]) if "appname" in a else None,
        "procid": plain(a["proc_id"]) if "proc_id" in a else None,
        "msgid": plain(a["msg_id"]) if "msg_id" in a else None,
        "structured_data": plain(a["structured_data"]) if "structured_data" in a else None,
        "msg": body.get("stringValue"),
        "timestamp_unix_nano": int(record["timeUnixNano"]) if "timeUnixNano" in record else None,
    }
    return out


def check_expect(record: LogRecordJSON, expect: dict[str, Any]) -> None:
    got = observed_fields(record)
    for key, want in expect.items():
        if key in ("timestamp", "msg_has_bom", "frames", "frames_valid", "messages", "error"):
            continue
        assert got[key] == want, (key, got[key], want, record)
    if "timestamp" in expect:
        assert (expect["timestamp"] is None) == ("timeUnixNano" not in record)


def one(codec: Codec, raw: bytes) -> LogRecordJSON:
    result = decode_chunk(codec, raw, OBSERVED)
    assert len(result.records) == 1
    assert set(result.error_reasons) <= PARSE_ERRORS
    return result.records[0]


def keeps_raw(record: LogRecordJSON, raw: bytes) -> bool:
    body = record["body"]
    if "bytesValue" in body:
        return base64.b64decode(body["bytesValue"]) in raw
    return body.get("stringValue", "").encode() in raw


def test_vectors_present() -> None:
    assert len(SINGLE) > 100
    assert len(STREAM) >= 10


@pytest.mark.parametrize("v", SINGLE, ids=[v["id"] for v in SINGLE])
def test_single_message(v: dict[str, Any]) -> None:
    raw = raw_of(v)
    if not raw:
        assert decode_chunk(Codec.SYSLOG_LINE, raw, OBSERVED).records == []
        return
    # One message as one frame, whatever bytes it holds: wrap it in an octet count.
    record = one(Codec.SYSLOG_OCTET, b"%d " % len(raw) + raw)
    parse_error = attrs(record).get("gophership.parse_error")
    expect = v["expect"]
    if v.get("ambiguous"):
        assert keeps_raw(record, raw) or "structured_data" in attrs(record)
        if "facility" in expect:
            assert observed_fields(record)["facility"] == expect["facility"]
            assert observed_fields(record)["severity"] == expect["severity"]
        return
    if v["valid"]:
        assert parse_error is None, record
        check_expect(record, expect)
    else:
        assert parse_error is not None, record
        assert parse_error["stringValue"] in PARSE_ERRORS
        assert (
            record["body"] == {"stringValue": raw.decode()}
            or base64.b64decode(record["body"]["bytesValue"]) == raw
        )


@pytest.mark.parametrize("v", STREAM, ids=[v["id"] for v in STREAM])
def test_stream(v: dict[str, Any]) -> None:
    raw = raw_of(v)
    expect = v["expect"]
    framing = v["framing"]
    codec = Codec.SYSLOG_OCTET if framing == "octet-counting" else Codec.SYSLOG_LINE
    makers: list[Any] = [SyslogStreamFramer]
    makers.append(OctetCountFramer if codec is Codec.SYSLOG_OCTET else LineFramer)
    for make in makers:
        for pieces in ([raw], [raw[i : i + 1] for i in range(len(raw))]):
            framer = make(4096) if make is not LineFramer else make(4096, nul_delimiter=True)
            chunks = [c for p in pieces for c in framer.feed(p)] + framer.close()
            used = getattr(framer, "codec", codec)
            frames = [f for c in chunks for f in split_frames(used, c.data)]
            if used is not codec:
                # Auto-detection wants "LEN SP <": anything else is kept whole as a line.
                assert codec is Codec.SYSLOG_OCTET
                assert b"".join(c.data for c in chunks) == raw
                continue
            assert [f.decode() for f in frames] == expect["frames"]
            if "error" in expect:
                assert framer.statistics().errors >= 1
    chunk = (
        b"".join(c.data for c in [*OctetCountFramer(4096).feed(raw)])
        if (codec is Codec.SYSLOG_OCTET)
        else raw
    )
    records = decode_chunk(codec, chunk, OBSERVED).records
    assert len(records) == len(expect["frames"])
    valid = expect.get("frames_valid", [True] * len(records))
    for record, ok in zip(records, valid, strict=True):
        assert ("gophership.parse_error" not in attrs(record)) == ok, record
    for record, message in zip(records, expect.get("messages", []), strict=False):
        check_expect(record, message)

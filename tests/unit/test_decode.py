from __future__ import annotations

import base64

from gophership.protocol.decode import PARSE_ERRORS, DecodeResult, decode_chunk
from gophership.record import Codec

T = 1_700_000_000_123_456_789


def test_raw_lines() -> None:
    r = decode_chunk(Codec.RAW_LINES, b"a\r\n\nb \xff\n", T)
    assert r == DecodeResult(
        [
            {"observedTimeUnixNano": str(T), "body": {"stringValue": "a"}, "attributes": []},
            {
                "observedTimeUnixNano": str(T),
                "body": {"bytesValue": base64.b64encode(b"b \xff").decode()},
                "attributes": [],
            },
        ],
        0,
        {},
    )


def test_ndjson_errors_counted_by_reason() -> None:
    r = decode_chunk(Codec.NDJSON, b'{"msg":"a"}\n[]\n{bad\n"s"\n', T)
    assert len(r.records) == 4
    assert r.errors == 3
    assert r.error_reasons == {"not_an_object": 2, "invalid_json": 1}
    assert set(r.error_reasons) <= PARSE_ERRORS


def test_syslog_line_and_octet() -> None:
    line = b"<13>1 - - - - - - hi"
    a = decode_chunk(Codec.SYSLOG_LINE, line + b"\r\n" + b"nopri\x00", T)
    assert [x["body"] for x in a.records] == [{"stringValue": "hi"}, {"stringValue": "nopri"}]
    assert a.error_reasons == {"missing_pri": 1}
    b = decode_chunk(Codec.SYSLOG_OCTET, b"%d " % len(line) + line, T)
    assert b.records == a.records[:1]
    assert b.errors == 0


def test_empty_chunk() -> None:
    assert decode_chunk(Codec.NDJSON, b"", T) == DecodeResult([], 0, {})

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pytest

from gophership.protocol import syslog
from gophership.protocol.framing import split_frames
from gophership.protocol.syslog import (
    PARSE_ERRORS,
    SEVERITY,
    decode_frames,
    decode_line_chunk,
    decode_octet_chunk,
    parse_frame,
)
from gophership.protocol.timestamp import (
    civil_from_days,
    days_from_civil,
    parse_rfc3339,
    unix_seconds,
)
from gophership.record import Codec

if TYPE_CHECKING:
    from gophership.record import LogRecordJSON

OBS = 1_795_374_880_000_000_000  # 2026-11-22T...Z


def parse(line: bytes, observed: int = OBS) -> LogRecordJSON:
    record, reason = parse_frame(line, observed, str(observed))
    if reason is None:
        assert all(kv["key"] != "gophership.parse_error" for kv in record["attributes"])
    return record


def attrs(record: LogRecordJSON) -> dict[str, Any]:
    return {kv["key"]: kv["value"] for kv in record["attributes"]}


def error_of(record: LogRecordJSON) -> str | None:
    v = attrs(record).get("gophership.parse_error")
    return None if v is None else str(v["stringValue"])


def test_rfc5424_full() -> None:
    r = parse(
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 42 ID47 "
        b'[exampleSDID@32473 iut="3" eventSource="Application"][x@1] \xef\xbb\xbfAn event'
    )
    assert r["body"] == {"stringValue": "An event"}
    assert r["timeUnixNano"] == "1065910455003000000"
    assert (r["severityNumber"], r["severityText"]) == (10, "notice")
    assert attrs(r) == {
        "priority": {"intValue": "165"},
        "facility": {"intValue": "20"},
        "version": {"intValue": "1"},
        "hostname": {"stringValue": "mymachine.example.com"},
        "appname": {"stringValue": "evntslog"},
        "proc_id": {"stringValue": "42"},
        "msg_id": {"stringValue": "ID47"},
        "structured_data": {
            "kvlistValue": {
                "values": [
                    {
                        "key": "exampleSDID@32473",
                        "value": {
                            "kvlistValue": {
                                "values": [
                                    {"key": "iut", "value": {"stringValue": "3"}},
                                    {"key": "eventSource", "value": {"stringValue": "Application"}},
                                ]
                            }
                        },
                    },
                    {"key": "x@1", "value": {"kvlistValue": {"values": []}}},
                ]
            }
        },
    }


def test_rfc5424_nil_fields_and_no_msg() -> None:
    r = parse(b"<14>1 - - - - - -")
    assert r["body"] == {}
    assert "timeUnixNano" not in r
    assert set(attrs(r)) == {"priority", "facility", "version"}
    assert parse(b"<14>1 - - - - - - ")["body"] == {"stringValue": ""}


def test_rfc5424_offsets_and_fractions() -> None:
    a = parse(b"<14>1 1985-04-12T19:20:50.52-04:00 - - - - -")
    b = parse(b"<14>1 1985-04-12T23:20:50.52Z - - - - -")
    assert a["timeUnixNano"] == b["timeUnixNano"] == "482196050520000000"
    c = parse(b"<14>1 2003-08-24T05:14:15.000003+07:00 - - - - -")
    assert c["timeUnixNano"] == "1061676855000003000"


def test_sd_escapes() -> None:
    r = parse(b'<14>1 - - - - - [a i="\\]\\"\\\\" j="\\n"] m')
    sd = attrs(r)["structured_data"]["kvlistValue"]["values"][0]["value"]["kvlistValue"]
    assert sd["values"] == [
        {"key": "i", "value": {"stringValue": ']"\\'}},
        {"key": "j", "value": {"stringValue": "\\n"}},
    ]
    assert r["body"] == {"stringValue": "m"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"plain", "missing_pri"),
        (b"<192>1 - - - - - -", "invalid_pri"),
        (b"<01>1 - - - - - -", "invalid_pri"),
        (b"<1x>1", "invalid_pri"),
        (b"<1>1", "invalid_header"),
        (b"<1>0 - - - - - -", "invalid_header"),
        (b"<1>1000 - - - - - -", "invalid_header"),
        (b"<1> 2018-11-22", "invalid_header"),
        (b"<1>1 - -", "invalid_header"),
        (b"<1>1 -   - - - -", "invalid_header"),
        (b"<1>1 - - a\nb - - -", "invalid_header"),
        (b"<1>1 - - - " + b"p" * 129 + b" - -", "invalid_header"),
        (b"<1>1 - - - - " + b"m" * 33 + b" -", "invalid_header"),
        (b"<1>1 - " + b"h" * 256 + b" - - - -", "invalid_header"),
        (b"<1>1 - - " + b"a" * 49 + b" - - -", "invalid_header"),
        (b"<1>1 2003-09-31T22:14:15Z - - - - -", "invalid_timestamp"),
        (b"<1>1 2018-02-29T22:14:15Z - - - - -", "invalid_timestamp"),
        (b"<1>1 2016-12-31T23:59:60Z - - - - -", "invalid_timestamp"),
        (b"<1>1 2003-08-24T05:14:15.000000003Z - - - - -", "invalid_timestamp"),
        (b"<1>1 2003-08-24T05:14:15 - - - - -", "invalid_timestamp"),
        (b"<1>1 2003-08-24T05:14:15-24:00 - - - - -", "invalid_timestamp"),
        (b"<1>1 2003-08-24t05:14:15Z - - - - -", "invalid_timestamp"),
        (b"<1>1 - - - - - X", "invalid_structured_data"),
        (b"<1>1 - - - - - -x", "invalid_structured_data"),
        (b"<1>1 - - - - - []", "invalid_structured_data"),
        (b"<1>1 - - - - - [a][a]", "invalid_structured_data"),
        (b'<1>1 - - - - - [a i="]"]', "invalid_structured_data"),
        (b'<1>1 - - - - - [a i="\\"]', "invalid_structured_data"),
        (b'<1>1 - - - - - [a i="x"', "invalid_structured_data"),
        (b"<1>1 - - - - - [a i=x]", "invalid_structured_data"),
        (b'<1>1 - - - - - [a i="x"]x', "invalid_structured_data"),
        (b'<1>1 - - - - - [a i="x"x]', "invalid_structured_data"),
        (b"<1>1 - - - - - [a", "invalid_structured_data"),
        (b"<1>1 - - - - - [" + b"a" * 33 + b"]", "invalid_structured_data"),
    ],
)
def test_invalid_keeps_raw_body(line: bytes, reason: str) -> None:
    record, got = parse_frame(line, OBS, str(OBS))
    assert got == reason
    assert error_of(record) == reason
    assert reason in PARSE_ERRORS
    assert record["body"] == {"stringValue": line.decode()}
    assert "timeUnixNano" not in record


def test_invalid_utf8_kept_as_bytes() -> None:
    bad = b"<1>1 - - - - - X \xff"
    assert parse(bad)["body"] == {"bytesValue": base64.b64encode(bad).decode()}
    latin = b"<1>1 - - - - - - fond\xfc"
    assert parse(latin)["body"] == {"bytesValue": base64.b64encode(b"fond\xfc").decode()}


def test_missing_pri_defaults_to_user_notice() -> None:
    r = parse(b"Feb 18 16:01:59 serverX -- MARK --")
    assert attrs(r)["priority"] == {"intValue": "13"}
    assert r["severityNumber"] == 10


def test_severity_mapping_is_otel_appendix_b() -> None:
    assert [n for n, _ in SEVERITY] == [21, 19, 18, 17, 13, 10, 9, 5]
    for sev in range(8):
        r = parse(b"<%d>1 - - - - - -" % (8 + sev))
        assert (r["severityNumber"], r["severityText"]) == SEVERITY[sev]


def test_rfc3164_common() -> None:
    r = parse(b"<38>Mar 27 19:06:53 source_server sshd(pam_unix)[12750]: session opened")
    assert r["body"] == {"stringValue": "session opened"}
    a = attrs(r)
    assert a["hostname"] == {"stringValue": "source_server"}
    assert a["appname"] == {"stringValue": "sshd(pam_unix)"}
    assert a["proc_id"] == {"stringValue": "12750"}
    assert "version" not in a
    assert r["timeUnixNano"] == str(unix_seconds(2026, 3, 27, 19, 6, 53) * 10**9)  # type: ignore[operator]
    r = parse(b"<38>Dec 20 19:06:53 h t: m")  # within a month after OBS: this year
    assert r["timeUnixNano"] == str(unix_seconds(2026, 12, 20, 19, 6, 53) * 10**9)  # type: ignore[operator]


def test_rfc3164_year_inference() -> None:
    jan_2027 = unix_seconds(2027, 1, 1, 0, 0, 5)
    assert jan_2027 is not None
    r = parse(b"<13>Dec 31 23:59:59 h t: m", jan_2027 * 10**9)
    assert r["timeUnixNano"] == str(unix_seconds(2026, 12, 31, 23, 59, 59) * 10**9)  # type: ignore[operator]
    r = parse(b"<13>Jan  1 00:00:01 h t: m", (jan_2027 - 10) * 10**9)
    assert r["timeUnixNano"] == str(unix_seconds(2027, 1, 1, 0, 0, 1) * 10**9)  # type: ignore[operator]
    r = parse(b"<13>Feb 29 00:00:01 h t: m", OBS)  # no Feb 29 in 2026
    assert "timeUnixNano" not in r
    r = parse(b"<13>Feb 29 00:00:01 h t: m", (jan_2027 - 10) * 10**9)  # nor in 2027
    assert "timeUnixNano" not in r


def test_rfc3164_variants() -> None:
    r = parse(b"<13>Nov 22 19:14:43 root: local socket")
    assert "hostname" not in attrs(r)
    assert attrs(r)["appname"] == {"stringValue": "root"}
    r = parse(b"<190>Apr 15 2007 21:28:13: %PIX-6-302014: Teardown")
    assert r["timeUnixNano"] == str(unix_seconds(2007, 4, 15, 21, 28, 13) * 10**9)  # type: ignore[operator]
    assert attrs(r)["appname"] == {"stringValue": "%PIX-6-302014"}
    r = parse(b"<7>2006-11-10T10:43:21.156+02:00 bzorp openvpn[2499]: x")
    assert r["timeUnixNano"] == "1163148201156000000"
    assert attrs(r)["hostname"] == {"stringValue": "bzorp"}
    r = parse(b"<12>stdlib warning msg")
    assert r["body"] == {"stringValue": "stdlib warning msg"}
    r = parse(b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!")
    assert r["body"] == {"stringValue": "Use the BFG!"}
    r = parse(b"<0>Jan 10 01:00:00 0002:: prg0: msgtxt")
    assert attrs(r)["hostname"] == {"stringValue": "0002::"}
    r = parse(b"<7>Aug 29 02:00:00 bzorp ctld/snmpd[2499]:")
    assert r["body"] == {"stringValue": ""}
    r = parse(b"<14>Aug 30 23:00:05")
    assert r["body"] == {"stringValue": ""}
    r = parse(b"<14>Xyz 30 23:00:05 h")
    assert "timeUnixNano" not in r


def test_decode_frames_counts() -> None:
    reasons: dict[str, int] = {}
    records = decode_frames([b"<1>1 - - - - - -", b"x", b"y"], OBS, reasons)
    assert len(records) == 3
    assert reasons == {"missing_pri": 2}


def test_timestamp_helpers() -> None:
    for days in (-719468, -1, 0, 1, 11016, 20000, 2932896):
        assert days_from_civil(*civil_from_days(days)) == days
    assert parse_rfc3339("2024-01-02 03:04:05", False) == 1704164645 * 10**9
    assert parse_rfc3339("2024-01-02t03:04:05.1234567891z", False) == 1704164645123456789
    assert parse_rfc3339("2024-01-02 03:04:05", True) is None
    assert parse_rfc3339("2024-01-02T03:04:05+01:0x", False) is None
    assert parse_rfc3339("2024-01-02T03:04:05.", False) is None
    assert parse_rfc3339("2024-1-02T03:04:05Z", False) is None
    assert parse_rfc3339("short", False) is None
    assert parse_rfc3339("2024-01-02T03:04:05+23:60", False) is None


def _reference(data: bytes, observed: int = OBS) -> tuple[list[LogRecordJSON], dict[str, int]]:
    reasons: dict[str, int] = {}
    return decode_frames(split_frames(Codec.SYSLOG_LINE, data), observed, reasons), reasons


def _same_as_reference(data: bytes, observed: int = OBS) -> list[LogRecordJSON]:
    reasons: dict[str, int] = {}
    got = decode_line_chunk(data, observed, reasons)
    want, want_reasons = _reference(data, observed)
    assert got == want
    assert [list(r) for r in got] == [list(r) for r in want]
    assert reasons == want_reasons
    return got


FAST_LINES = [
    b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 42 ID47 "
    b'[exampleSDID@32473 iut="3" eventSource="Application"][x@1] \xef\xbb\xbfAn event',
    b'<165>1 2003-10-11T22:14:15.003Z h a - - [a i="1"][b][c j="2" k=""]',
    b"<14>1 - - - - - -",
    b"<14>1 - - - - - - ",
    b"<14>1 1985-04-12T19:20:50.52-04:00 - - - - -",
    b"<14>1 2016-02-30T00:00:00Z - - - - - bad date",
    b"<14>1 1970-01-01T00:00:00.5Z - - - - - epoch",
    b'<14>1 - - - - - [a][b x="1"][a] repeated SD-ID',
    b"<38>Mar 27 19:06:53 source_server sshd(pam_unix)[12750]: session opened",
    b"<13>Nov 22 19:14:43 web-1 su: \xef\xbb\xbfx",
    b"<13>Nov  2 19:14:43 web-1 no tag here",
    b"<13>Dec 31 23:59:59 h t: from last year",
    b"<13>Feb 29 00:00:01 h t: no such day",
    b"<13>Nov 22 19:14:43 2024 h t: a year",
    b"plain",
]


def test_line_chunk_fast_path_matches_reference() -> None:
    data = b"\n".join(FAST_LINES) + b"\r\n\x00\n"
    records = _same_as_reference(data)
    assert len(records) == len(FAST_LINES)
    jan_2027 = unix_seconds(2027, 1, 1, 0, 0, 5)
    assert jan_2027 is not None
    _same_as_reference(data, jan_2027 * 10**9)  # the year of the BSD times changes
    _same_as_reference(data[:-3] + b"\r")
    _same_as_reference(b"<13>1 - - - - - - \xff\n" + data)  # not UTF-8: frame by frame
    octet = b"".join(b"%d %s" % (len(line), line) for line in FAST_LINES)
    reasons: dict[str, int] = {}
    assert decode_octet_chunk(octet, OBS, reasons) == records
    assert reasons == _reference(data)[1]


def test_fast_path_caches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(syslog, "_FAST_CACHE_ENTRIES", 2)
    for cache in ("_heads", "_sds", "_tags", "_times", "_bsd_times"):
        monkeypatch.setattr(syslog, cache, {})
    lines = [
        b'<%d>1 2026-01-%02dT00:00:00+0%d:00 h%d a p m [a i="%d"] x' % (i, i + 1, i % 3, i, i)
        for i in range(8)
    ] + [b"<13>Nov %2d 19:14:43 h%d t[%d]: m" % (i + 1, i, i) for i in range(8)]
    data = b"\n".join(lines)
    _same_as_reference(data)
    _same_as_reference(data)
    assert len(syslog._heads) <= 2
    assert len(syslog._sds) <= 2
    assert len(syslog._tags) <= 2
    assert len(syslog._bsd_times) <= 2
    assert all(len(c) <= 2 for c in syslog._times.values())


def test_octet_frame_trailing_nul_is_a_trailer_and_a_final_lf_is_message() -> None:
    # CPython's SysLogHandler ends each UDP datagram with NUL; rsyslog counts a final LF.
    data = b"23 <12>stdlib warning msg\x0023 <14>1 - h a - - - kept\n"
    reasons: dict[str, int] = {}
    first, second = decode_octet_chunk(data, OBS, reasons)
    assert first["body"] == {"stringValue": "stdlib warning msg"}
    assert second["body"] == {"stringValue": "kept\n"}
    assert reasons == {}

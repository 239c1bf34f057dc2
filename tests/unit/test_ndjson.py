from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import pytest

from gophership.protocol import ndjson
from gophership.protocol.ndjson import any_value, decode_lines
from gophership.protocol.timestamp import parse_rfc3339

if TYPE_CHECKING:
    from gophership.record import LogRecordJSON

T = 1_700_000_000_000_000_000


def one(obj: Any) -> LogRecordJSON:
    reasons: dict[str, int] = {}
    (r,) = decode_lines([orjson.dumps(obj)], T, reasons)
    assert reasons == {}
    return r


def test_full_mapping() -> None:
    r = one(
        {
            "ts": "2024-01-02T03:04:05.5+01:00",
            "level": "Warning",
            "msg": "hello",
            "trace_id": "5B8EFFF798038103D269B633813FC60C",
            "span_id": "eee19b7ec3c1b174",
            "trace_flags": 1,
            "user": "bob",
            "n": 3,
            "big": 2**64 - 1,
            "f": 0.25,
            "ok": False,
            "none": None,
            "o": {"a": [1, "x"]},
        }
    )
    assert r == {
        "observedTimeUnixNano": str(T),
        "timeUnixNano": "1704161045500000000",
        "severityNumber": 13,
        "severityText": "Warning",
        "body": {"stringValue": "hello"},
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "flags": 1,
        "attributes": [
            {"key": "user", "value": {"stringValue": "bob"}},
            {"key": "n", "value": {"intValue": "3"}},
            {"key": "big", "value": {"doubleValue": float(2**64 - 1)}},
            {"key": "f", "value": {"doubleValue": 0.25}},
            {"key": "ok", "value": {"boolValue": False}},
            {"key": "none", "value": {}},
            {
                "key": "o",
                "value": {
                    "kvlistValue": {
                        "values": [
                            {
                                "key": "a",
                                "value": {
                                    "arrayValue": {
                                        "values": [{"intValue": "1"}, {"stringValue": "x"}]
                                    }
                                },
                            }
                        ]
                    }
                },
            },
        ],
    }


def test_no_msg_body_is_kvlist() -> None:
    r = one({"a": 1, "level": "info"})
    assert r["body"] == {"kvlistValue": {"values": [{"key": "a", "value": {"intValue": "1"}}]}}
    assert r["attributes"] == []
    assert r["severityNumber"] == 9


def test_second_msg_key_is_an_attribute() -> None:
    r = one({"message": {"k": True}, "msg": "second"})
    assert r["body"] == {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": True}}]}}
    assert r["attributes"] == [{"key": "msg", "value": {"stringValue": "second"}}]


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        (1700000000, 1700000000 * 10**9),
        (1700000000.5, 1700000000500000000),
        (1700000000123, 1700000000123 * 10**6),
        (1700000000123456, 1700000000123456 * 10**3),
        (1700000000123456789, 1700000000123456789),
        ("2024-01-02T03:04:05Z", 1704164645 * 10**9),
    ],
)
def test_time_units(value: Any, ns: int) -> None:
    assert one({"time": value, "msg": ""})["timeUnixNano"] == str(ns)


@pytest.mark.parametrize("value", ["yesterday", -5, True, None, [1]])
def test_bad_time_stays_attribute(value: Any) -> None:
    r = one({"timestamp": value, "msg": "m"})
    assert "timeUnixNano" not in r
    assert r["attributes"] == [{"key": "timestamp", "value": any_value(value)}]


@pytest.mark.parametrize(
    ("level", "number", "text"),
    [
        ("TRACE", 1, "TRACE"),
        ("debug", 5, "debug"),
        ("err", 17, "err"),
        ("critical", 18, "critical"),
        ("FATAL", 21, "FATAL"),
        (30, 9, "info"),
        (50, 17, "error"),
        (14, 14, "WARN2"),
        (1, 1, "TRACE"),
        (24, 24, "FATAL4"),
    ],
)
def test_levels(level: Any, number: int, text: str) -> None:
    r = one({"severity": level, "msg": "m"})
    assert (r["severityNumber"], r["severityText"]) == (number, text)


def test_unknown_level_name_keeps_text_only() -> None:
    r = one({"level": "verbose-ish", "msg": "m"})
    assert "severityNumber" not in r
    assert r["severityText"] == "verbose-ish"


@pytest.mark.parametrize("level", [0, 99, 1.5, None])
def test_bad_level_stays_attribute(level: Any) -> None:
    r = one({"level": level, "msg": "m"})
    assert "severityNumber" not in r
    assert r["attributes"][0]["key"] == "level"


@pytest.mark.parametrize(
    "obj",
    [
        {"trace_id": "xyz", "msg": "m"},
        {"trace_id": 5, "msg": "m"},
        {"span_id": "0123456789abcdeg", "msg": "m"},
        {"trace_flags": 300, "msg": "m"},
        {"trace_flags": "zz", "msg": "m"},
    ],
)
def test_bad_ids_stay_attributes(obj: dict[str, Any]) -> None:
    r = one(obj)
    assert "traceId" not in r
    assert "spanId" not in r
    assert "flags" not in r
    assert len(r["attributes"]) == 1


def test_flags_hex() -> None:
    assert one({"trace_flags": "01", "msg": ""})["flags"] == 1


def test_errors_keep_raw_line() -> None:
    reasons: dict[str, int] = {}
    records = decode_lines([b"[1,2]", b"{oops", b"\xff{", b"42"], T, reasons)
    assert reasons == {"not_an_object": 2, "invalid_json": 2}
    assert records[0]["body"] == {"stringValue": "[1,2]"}
    assert records[2]["body"] == {"bytesValue": "/3s="}
    assert records[1]["attributes"] == [
        {"key": "gophership.parse_error", "value": {"stringValue": "invalid_json"}}
    ]


def planned(lines: list[bytes]) -> list[LogRecordJSON]:
    """Records of ``lines`` once their plans are compiled (third call: sighted, compiled)."""
    for _ in range(len(lines) + 1):
        decode_lines(lines, T, {})
    assert all(tuple(orjson.loads(line)) in ndjson._plans for line in lines)
    return decode_lines(lines, T, {})


def in_order(records: list[LogRecordJSON]) -> bytes:
    return orjson.dumps(records)


@pytest.mark.usefixtures("fresh_ndjson_caches")
@pytest.mark.parametrize("digits", ["", *("123456789012"[:n] for n in range(13))])
@pytest.mark.parametrize("zone", ["Z", "z", "", "+01:00", "-00:30"])
@pytest.mark.parametrize(
    "prefix", ["2026-11-22T10:00:01", "1970-01-01t00:00:00", "1969-12-31 23:59:59"]
)
def test_planned_timestamps_match_parse_rfc3339(prefix: str, digits: str, zone: str) -> None:
    ts = prefix + ("." + digits if digits else "") + zone
    ns = parse_rfc3339(ts, False)
    (r,) = planned([orjson.dumps({"ts": ts, "msg": "m"})])
    if ns is None or ns < 0:
        assert "timeUnixNano" not in r
        assert r["attributes"] == [{"key": "ts", "value": {"stringValue": ts}}]
    else:
        assert r["timeUnixNano"] == str(ns)


@pytest.mark.usefixtures("fresh_ndjson_caches")
def test_planned_record_keys_in_key_order() -> None:
    obj = {
        "span_id": "EEE19B7EC3C1B174",
        "level": "verbose-ish",
        "trace_flags": "0a",
        "a": 1,
        "time": 1.5,
        "trace_id": "5B8EFFF798038103D269B633813FC60C",
        "severity": "info",
        "b": [2**64 - 1, -(2**63)],
    }
    (r,) = planned([orjson.dumps(obj)])
    assert list(r) == [
        "observedTimeUnixNano",
        "body",
        "attributes",
        "spanId",
        "severityText",
        "flags",
        "timeUnixNano",
        "traceId",
    ]
    assert r["flags"] == 10
    assert r["body"]["kvlistValue"]["values"][-2:] == [
        {"key": "severity", "value": {"stringValue": "info"}},
        {
            "key": "b",
            "value": {
                "arrayValue": {
                    "values": [{"doubleValue": float(2**64 - 1)}, {"intValue": str(-(2**63))}]
                }
            },
        },
    ]
    assert in_order([r]) == in_order(
        [ndjson._decode_object(orjson.loads(orjson.dumps(obj)), str(T))]
    )


@pytest.mark.usefixtures("fresh_ndjson_caches")
@pytest.mark.parametrize(
    "obj",
    [
        {"ts": "soon", "time": 1700000000, "msg": "m"},
        {"level": None, "severity": 30, "msg": "m"},
        {"trace_id": "x", "trace_id2": 1},
        {"span_id": 5, "trace_flags": 256},
        {"trace_flags": "0g", "level": 2},
        {"severity": 25},
    ],
)
def test_planned_value_that_does_not_fit_falls_back(obj: dict[str, Any]) -> None:
    line = orjson.dumps(obj)
    expected = ndjson._decode_object(orjson.loads(line), str(T))
    assert in_order(planned([line])) == in_order([expected])


@pytest.mark.usefixtures("fresh_ndjson_caches")
def test_one_compile_per_call_and_only_when_seen_twice() -> None:
    lines = [orjson.dumps({f"k{i}": i}) for i in range(3)]
    decode_lines(lines, T, {})
    assert ndjson._plans == {}
    decode_lines(lines, T, {})
    assert list(ndjson._plans) == [("k0",)]
    decode_lines(lines, T, {})
    assert list(ndjson._plans) == [("k0",), ("k1",)]


@pytest.mark.usefixtures("fresh_ndjson_caches")
def test_wide_objects_are_never_compiled() -> None:
    obj = {f"k{i}": i for i in range(ndjson.PLAN_MAX_KEYS + 1)}
    (r,) = planned([orjson.dumps(obj)])
    assert ndjson._plans[tuple(obj)] is ndjson._decode_object
    assert len(r["body"]["kvlistValue"]["values"]) == ndjson.PLAN_MAX_KEYS + 1


@pytest.mark.usefixtures("fresh_ndjson_caches")
@pytest.mark.usefixtures("fresh_ndjson_caches")  # earlier tests may have filled them
def test_caches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ndjson, "PLAN_ENTRIES", 2)
    monkeypatch.setattr(ndjson, "TEXT_CACHE_ENTRIES", 2)
    for i in range(5):
        line = orjson.dumps({f"k{i}": 1, "ts": f"2026-11-22T10:00:0{i}Z", "level": f"L{i}"})
        (r,) = planned([line])
        assert r["timeUnixNano"] == str(parse_rfc3339(f"2026-11-22T10:00:0{i}Z", False))
        assert r["severityText"] == f"L{i}"
        assert len(ndjson._plans) <= 2
        assert len(ndjson._sighted) <= 2
        assert len(ndjson._second_texts) <= 2
        assert len(ndjson._severities) <= 2

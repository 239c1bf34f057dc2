from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import pytest

from gophership.protocol.ndjson import any_value, decode_lines

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

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

import gophership
from gophership.protocol.otlp_json import attributes_from_mapping, encode_request

if TYPE_CHECKING:
    from gophership.record import LogRecordJSON


def test_attributes_from_mapping() -> None:
    assert attributes_from_mapping({"host.name": "a", "service.name": "b"}) == [
        {"key": "host.name", "value": {"stringValue": "a"}},
        {"key": "service.name", "value": {"stringValue": "b"}},
    ]


def test_encode_request_shape() -> None:
    rec: LogRecordJSON = {
        "observedTimeUnixNano": "1700000000000000000",
        "timeUnixNano": "1700000000000000001",
        "severityNumber": 9,
        "severityText": "info",
        "body": {"stringValue": "line\nwith newline é"},
        "attributes": [{"key": "n", "value": {"intValue": "9007199254740993"}}],
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "flags": 1,
    }
    out = encode_request(attributes_from_mapping({"host.name": "h"}), [("tcp", [rec]), ("udp", [])])
    assert out.endswith(b"\n")
    assert out.count(b"\n") == 1
    doc = orjson.loads(out)
    (rl,) = doc["resourceLogs"]
    assert rl["resource"] == {"attributes": [{"key": "host.name", "value": {"stringValue": "h"}}]}
    assert [s["scope"] for s in rl["scopeLogs"]] == [
        {
            "name": "gophership",
            "version": gophership.__version__,
            "attributes": [{"key": "gophership.source", "value": {"stringValue": src}}],
        }
        for src in ("tcp", "udp")
    ]
    assert rl["scopeLogs"][0]["logRecords"] == [rec]
    assert rl["scopeLogs"][1]["logRecords"] == []


def test_encode_request_scope_override() -> None:
    doc = orjson.loads(encode_request([], [("s", [])], scope_name="x", scope_version="9"))
    scope = doc["resourceLogs"][0]["scopeLogs"][0]["scope"]
    assert (scope["name"], scope["version"]) == ("x", "9")

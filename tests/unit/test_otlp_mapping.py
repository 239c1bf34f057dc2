"""protocol/otlp: hand-picked cases, and the official SDK's own encoder as the oracle."""

from __future__ import annotations

import math

import orjson
import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._internal._log_encoder import encode_logs
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from gophership.errors import OtlpDecodeError
from gophership.protocol import otlp

TRACE = 0x5B8EFFF798038103D269B633813FC60C
SPAN = 0xEEE19B7EC3C1B174


def sdk_request() -> bytes:
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider = LoggerProvider(resource=Resource.create({"service.name": "svc", "k.int": 3}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("scope.x", "2.0")
    ctx = set_span_in_context(NonRecordingSpan(SpanContext(TRACE, SPAN, False, TraceFlags(1))))
    logger.emit(
        timestamp=1_700_000_000_000_000_001,
        observed_timestamp=1_700_000_000_000_000_002,
        context=ctx,
        severity_number=SeverityNumber.WARN,
        severity_text="WARN",
        body={"nested": {"a": [1, "two", 3.5, True]}, "bytes": b"\x00\xff"},
        attributes={
            "s": "é中",
            "i": -(2**63),
            "d": math.inf,
            "b": False,
            "sa": ["x", "y"],
            "ia": [1, 2],
            "da": [0.5],
            "ba": [True, False],
        },
        event_name="my.event",
    )
    provider.shutdown()
    return encode_logs(exporter.get_finished_logs()).SerializeToString()


def test_the_sdk_encoding_decodes_field_by_field() -> None:
    (rl,) = otlp.decode_proto(sdk_request(), 99)
    attrs = {kv["key"]: kv["value"] for kv in rl["resource"]["attributes"]}
    assert attrs["service.name"] == {"stringValue": "svc"}
    assert attrs["k.int"] == {"intValue": "3"}
    (sl,) = rl["scopeLogs"]
    assert sl["scope"] == {"name": "scope.x", "version": "2.0"}
    (r,) = sl["logRecords"]
    assert r["timeUnixNano"] == "1700000000000000001"
    assert r["observedTimeUnixNano"] == "1700000000000000002"
    assert r["severityNumber"] == 13
    assert r["severityText"] == "WARN"
    assert r["traceId"] == "5b8efff798038103d269b633813fc60c"
    assert r["spanId"] == "eee19b7ec3c1b174"
    assert r["flags"] == 1
    assert r["eventName"] == "my.event"
    assert r["body"] == {
        "kvlistValue": {
            "values": [
                {
                    "key": "nested",
                    "value": {
                        "kvlistValue": {
                            "values": [
                                {
                                    "key": "a",
                                    "value": {
                                        "arrayValue": {
                                            "values": [
                                                {"intValue": "1"},
                                                {"stringValue": "two"},
                                                {"doubleValue": 3.5},
                                                {"boolValue": True},
                                            ]
                                        }
                                    },
                                }
                            ]
                        }
                    },
                },
                {"key": "bytes", "value": {"bytesValue": "AP8="}},
            ]
        }
    }
    got = {kv["key"]: kv["value"] for kv in r["attributes"]}
    assert got == {
        "s": {"stringValue": "é中"},
        "i": {"intValue": str(-(2**63))},
        "d": {"doubleValue": "Infinity"},
        "b": {"boolValue": False},
        "sa": {"arrayValue": {"values": [{"stringValue": "x"}, {"stringValue": "y"}]}},
        "ia": {"arrayValue": {"values": [{"intValue": "1"}, {"intValue": "2"}]}},
        "da": {"arrayValue": {"values": [{"doubleValue": 0.5}]}},
        "ba": {"arrayValue": {"values": [{"boolValue": True}, {"boolValue": False}]}},
    }
    # And back: protobuf re-encoded from the internal form decodes to the same thing.
    assert otlp.decode_proto(otlp.encode_proto([rl]), 99) == [rl]


def one_record(record: dict[str, object]) -> bytes:
    return orjson.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]})


def test_json_hex_ids_are_hex_not_base64() -> None:
    # protobuf's json_format would read this hex as base64 and make a 24-byte id.
    data = one_record({"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "eee19b7ec3c1b174"})
    (r,) = otlp.decode_json(data, 1)[0]["scopeLogs"][0]["logRecords"]
    assert r["traceId"] == "5b8efff798038103d269b633813fc60c"
    assert bytes.fromhex(r["traceId"]) == TRACE.to_bytes(16, "big")


def test_json_numbers_strings_nan_names_and_unknown_fields() -> None:
    data = one_record(
        {
            "timeUnixNano": 1700000000000000000,
            "observedTimeUnixNano": "1700000000000000001",
            "severityNumber": "SEVERITY_NUMBER_ERROR",
            "attributes": [
                {"key": "n", "value": {"intValue": 7}},
                {"key": "s", "value": {"intValue": "-7"}},
                {"key": "nan", "value": {"doubleValue": "NaN"}},
                {"key": "one", "value": {"doubleValue": 1}},
            ],
            "someFutureField": {"x": 1},
        }
    )
    (r,) = otlp.decode_json(data, 1)[0]["scopeLogs"][0]["logRecords"]
    assert r["timeUnixNano"] == "1700000000000000000"
    assert r["severityNumber"] == 17
    assert [kv["value"] for kv in r["attributes"]] == [
        {"intValue": "7"},
        {"intValue": "-7"},
        {"doubleValue": "NaN"},
        {"doubleValue": 1.0},
    ]
    assert "someFutureField" not in r


def test_missing_observed_time_is_the_receive_time() -> None:
    (r,) = otlp.decode_json(one_record({"body": {"stringValue": "x"}}), 42)[0]["scopeLogs"][0][
        "logRecords"
    ]
    assert dict(r) == {"observedTimeUnixNano": "42", "body": {"stringValue": "x"}, "attributes": []}


def test_a_bad_id_keeps_the_record_and_says_so() -> None:
    reasons: dict[str, int] = {}
    data = one_record(
        {"body": {"stringValue": "x"}, "traceId": "abcd", "spanId": "eee19b7ec3c1b174"}
    )
    (r,) = otlp.decode_json(data, 1, reasons)[0]["scopeLogs"][0]["logRecords"]
    assert "traceId" not in r
    assert r["spanId"] == "eee19b7ec3c1b174"
    assert {"key": "gophership.parse_error", "value": {"stringValue": "otlp_invalid_id"}} in r[
        "attributes"
    ]
    assert reasons == {"otlp_invalid_id": 1}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"resourceLogs": 3}', "resourceLogs"),
        (one_record({"attributes": [{"key": "k", "value": {"intValue": "x"}}]}), "intValue"),
        (one_record({"attributes": [{"key": "k", "value": {"boolValue": "yes"}}]}), "boolValue"),
        (one_record({"body": {"bytesValue": "!!"}}), "bytesValue"),
        (one_record({"severityNumber": "LOUD"}), "severityNumber"),
    ],
)
def test_malformed_json_names_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(OtlpDecodeError, match=message):
        otlp.decode_json(data, 1)


def test_malformed_protobuf() -> None:
    with pytest.raises(OtlpDecodeError, match="ExportLogsServiceRequest"):
        otlp.decode_proto(b"\xff\xff\xff\xff", 1)


def test_responses_round_trip() -> None:
    assert otlp.parse_response_proto(otlp.response_proto()) == (0, "")
    assert otlp.parse_response_proto(otlp.response_proto(3, "bad ids")) == (3, "bad ids")
    assert otlp.parse_response_json(otlp.response_json()) == (0, "")
    assert otlp.parse_response_json(otlp.response_json(2, "x")) == (2, "x")

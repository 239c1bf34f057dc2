"""OTLP logs between the wire (protobuf, OTLP/JSON) and the internal form (sans-IO).

The internal form is the OTLP/JSON encoding as Python dicts (:class:`ResourceLogsJSON`), the
same shape the green path builds for NDJSON and syslog, so one ``orjson.dumps`` writes what
the OpenTelemetry Collector's file exporter writes. Both decoders produce exactly one
*normalized* form, so a record compares equal whichever wire it came from:

1. Keys are lowerCamelCase; ``traceId``/``spanId`` are lowercase hex; 64-bit integers
   (``timeUnixNano``, ``observedTimeUnixNano``, ``intValue``) are decimal strings; enums
   (``severityNumber``) are integers; ``bytesValue`` is base64; a double that is not finite
   is the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` (proto3 JSON).
2. Zero and empty fields are left out (proto3 JSON), except: every ``ResourceLogs`` has
   ``resource.attributes``, every ``ScopeLogs`` has ``scope`` and ``logRecords``, every record
   has ``attributes`` and ``observedTimeUnixNano`` (the receive time when the sender left it
   0), and arrays and kvlists always have ``values``.
3. A record whose ``traceId`` is not 16 bytes or ``spanId`` not 8 bytes (or not hex, in JSON)
   keeps everything else; the bad id is left out and the attribute
   ``gophership.parse_error = "otlp_invalid_id"`` added (counted in ``reasons``). The
   receivers reject such records up front (``partial_success``); this is for requests stored
   undecoded in RED.
4. Unknown JSON fields are ignored (the OTLP specification requires it); enum names such as
   ``"SEVERITY_NUMBER_INFO"`` are accepted for ``severityNumber``.

Anything that does not decode raises :class:`~gophership.errors.OtlpDecodeError`.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import TYPE_CHECKING, Any, Final

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from gophership.errors import OtlpDecodeError

if TYPE_CHECKING:
    from gophership.record import (
        AnyValueJSON,
        KeyValueJSON,
        LogRecordJSON,
        ResourceLogsJSON,
        ScopeLogsJSON,
    )

__all__ = [
    "INVALID_ID",
    "count_records",
    "decode_json",
    "decode_proto",
    "encode_json",
    "encode_proto",
    "parse_response_json",
    "parse_response_proto",
    "response_json",
    "response_proto",
]

INVALID_ID: Final = "otlp_invalid_id"
"""``gophership.parse_error`` of a record whose trace or span id had a wrong length."""

_INVALID_ID_ATTR: Final = {"key": "gophership.parse_error", "value": {"stringValue": INVALID_ID}}

# -- protobuf -> internal ---------------------------------------------------------------------


def _any(v: AnyValue) -> AnyValueJSON:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return {"stringValue": v.string_value}
    if kind == "int_value":
        return {"intValue": str(v.int_value)}
    if kind == "bool_value":
        return {"boolValue": v.bool_value}
    if kind == "double_value":
        d = v.double_value
        return {"doubleValue": d if math.isfinite(d) else _NONFINITE[str(d)]}  # type: ignore[typeddict-item]
    if kind == "array_value":
        return {"arrayValue": {"values": [_any(x) for x in v.array_value.values]}}
    if kind == "kvlist_value":
        return {"kvlistValue": {"values": _attrs(v.kvlist_value.values)}}
    if kind == "bytes_value":
        return {"bytesValue": base64.b64encode(v.bytes_value).decode("ascii")}
    return {}


_NONFINITE: Final = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _attrs(kvs: Any) -> list[KeyValueJSON]:
    out: list[KeyValueJSON] = []
    append = out.append
    for kv in kvs:
        v = kv.value
        kind = v.WhichOneof("value")  # the common kinds inline: most attributes are these
        if kind == "string_value":
            append({"key": kv.key, "value": {"stringValue": v.string_value}})
        elif kind == "int_value":
            append({"key": kv.key, "value": {"intValue": str(v.int_value)}})
        else:
            append({"key": kv.key, "value": _any(v)})
    return out


def _scope(s: InstrumentationScope) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.name:
        out["name"] = s.name
    if s.version:
        out["version"] = s.version
    if len(s.attributes):
        out["attributes"] = _attrs(s.attributes)
    if s.dropped_attributes_count:
        out["droppedAttributesCount"] = s.dropped_attributes_count
    return out


def _record(lr: LogRecord, observed: str, reasons: dict[str, int]) -> LogRecordJSON:
    rec: dict[str, Any] = {}
    t = lr.time_unix_nano
    if t:
        rec["timeUnixNano"] = str(t)
    o = lr.observed_time_unix_nano
    rec["observedTimeUnixNano"] = str(o) if o else observed
    if lr.severity_number:
        rec["severityNumber"] = lr.severity_number
    if lr.severity_text:
        rec["severityText"] = lr.severity_text
    if lr.HasField("body"):
        body = lr.body
        if body.WhichOneof("value") == "string_value":
            rec["body"] = {"stringValue": body.string_value}
        else:
            rec["body"] = _any(body)
    attributes = _attrs(lr.attributes)
    rec["attributes"] = attributes
    if lr.dropped_attributes_count:
        rec["droppedAttributesCount"] = lr.dropped_attributes_count
    if lr.flags:
        rec["flags"] = lr.flags
    trace_id, span_id = lr.trace_id, lr.span_id
    bad = False
    if trace_id:
        if len(trace_id) == 16:
            rec["traceId"] = trace_id.hex()
        else:
            bad = True
    if span_id:
        if len(span_id) == 8:
            rec["spanId"] = span_id.hex()
        else:
            bad = True
    if lr.event_name:
        rec["eventName"] = lr.event_name
    if bad:
        attributes.append(_INVALID_ID_ATTR)  # type: ignore[arg-type]
        reasons[INVALID_ID] = reasons.get(INVALID_ID, 0) + 1
    return rec  # type: ignore[return-value]


def decode_proto(
    data: bytes, observed_unix_nano: int, reasons: dict[str, int] | None = None
) -> list[ResourceLogsJSON]:
    """An ``ExportLogsServiceRequest`` in protobuf as internal ``ResourceLogs``.

    ``reasons`` counts records kept with a parse error (rule 3).

    Raises:
        OtlpDecodeError: ``data`` is not a valid ``ExportLogsServiceRequest``.
    """
    try:
        request = ExportLogsServiceRequest.FromString(data)
    except DecodeError as exc:
        raise OtlpDecodeError(f"not an OTLP ExportLogsServiceRequest: {exc}") from exc
    observed = str(observed_unix_nano)
    counts = reasons if reasons is not None else {}
    out: list[ResourceLogsJSON] = []
    for rl in request.resource_logs:
        resource: dict[str, Any] = {"attributes": _attrs(rl.resource.attributes)}
        if rl.resource.dropped_attributes_count:
            resource["droppedAttributesCount"] = rl.resource.dropped_attributes_count
        scope_logs: list[ScopeLogsJSON] = []
        for sl in rl.scope_logs:
            entry: dict[str, Any] = {
                "scope": _scope(sl.scope),
                "logRecords": [_record(lr, observed, counts) for lr in sl.log_records],
            }
            if sl.schema_url:
                entry["schemaUrl"] = sl.schema_url
            scope_logs.append(entry)  # type: ignore[arg-type]
        item: dict[str, Any] = {"resource": resource, "scopeLogs": scope_logs}
        if rl.schema_url:
            item["schemaUrl"] = rl.schema_url
        out.append(item)  # type: ignore[arg-type]
    return out


# -- OTLP/JSON -> internal --------------------------------------------------------------------


def _int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise OtlpDecodeError(f"{what}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise OtlpDecodeError(f"{what}: expected an integer, got {value!r}")


def _j_any(v: object) -> AnyValueJSON:
    if not isinstance(v, dict):
        raise OtlpDecodeError(f"AnyValue: expected an object, got {v!r}")
    if "stringValue" in v:
        s = v["stringValue"]
        if not isinstance(s, str):
            raise OtlpDecodeError(f"stringValue: expected a string, got {s!r}")
        return {"stringValue": s}
    if "intValue" in v:
        return {"intValue": str(_int(v["intValue"], "intValue"))}
    if "boolValue" in v:
        b = v["boolValue"]
        if not isinstance(b, bool):
            raise OtlpDecodeError(f"boolValue: expected true or false, got {b!r}")
        return {"boolValue": b}
    if "doubleValue" in v:
        return {"doubleValue": _double(v["doubleValue"])}  # type: ignore[typeddict-item]
    if "arrayValue" in v:
        arr = v["arrayValue"] or {}
        return {"arrayValue": {"values": [_j_any(x) for x in _list(arr, "values")]}}
    if "kvlistValue" in v:
        kvl = v["kvlistValue"] or {}
        return {"kvlistValue": {"values": _j_attrs(_list(kvl, "values"))}}
    if "bytesValue" in v:
        raw = v["bytesValue"]
        try:
            data = base64.b64decode(raw, validate=True) if isinstance(raw, str) else None
        except binascii.Error:
            data = None
        if data is None:
            raise OtlpDecodeError(f"bytesValue: expected base64, got {raw!r}")
        return {"bytesValue": base64.b64encode(data).decode("ascii")}
    return {}


def _double(x: object) -> float | str:
    if isinstance(x, bool):
        raise OtlpDecodeError(f"doubleValue: expected a number, got {x!r}")
    if isinstance(x, int | float):
        f = float(x)
        return f if math.isfinite(f) else _NONFINITE[str(f)]
    if isinstance(x, str):
        if x in ("NaN", "Infinity", "-Infinity"):
            return x
        try:
            f = float(x)
        except ValueError:
            pass
        else:
            return f if math.isfinite(f) else _NONFINITE[str(f)]
    raise OtlpDecodeError(f"doubleValue: expected a number, got {x!r}")


def _list(obj: object, key: str) -> list[Any]:
    if not isinstance(obj, dict):
        raise OtlpDecodeError(f"expected an object holding {key!r}, got {obj!r}")
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise OtlpDecodeError(f"{key}: expected a list, got {value!r}")
    return value


def _j_attrs(kvs: list[Any]) -> list[KeyValueJSON]:
    out: list[KeyValueJSON] = []
    for kv in kvs:
        if not isinstance(kv, dict) or not isinstance(kv.get("key", ""), str):
            raise OtlpDecodeError(f"KeyValue: expected an object with a string key, got {kv!r}")
        out.append({"key": kv.get("key", ""), "value": _j_any(kv.get("value") or {})})
    return out


def _hex_id(value: object, size: int) -> str | None:
    """Lowercase hex of ``size`` bytes, ``""`` when absent, ``None`` when invalid."""
    if value in (None, ""):
        return ""
    if isinstance(value, str) and len(value) == 2 * size:
        try:
            return bytes.fromhex(value).hex()
        except ValueError:
            return None
    return None


def _severity(value: object) -> int:
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        try:
            return int(SeverityNumber.Value(value))
        except ValueError as exc:
            raise OtlpDecodeError(f"severityNumber: unknown value {value!r}") from exc
    return _int(value, "severityNumber")


def _j_record(r: object, observed: str, reasons: dict[str, int]) -> LogRecordJSON:
    if not isinstance(r, dict):
        raise OtlpDecodeError(f"LogRecord: expected an object, got {r!r}")
    rec: dict[str, Any] = {}
    t = _int(r.get("timeUnixNano") or 0, "timeUnixNano")
    if t:
        rec["timeUnixNano"] = str(t)
    o = _int(r.get("observedTimeUnixNano") or 0, "observedTimeUnixNano")
    rec["observedTimeUnixNano"] = str(o) if o else observed
    sev = _severity(r.get("severityNumber") or 0)
    if sev:
        rec["severityNumber"] = sev
    text = r.get("severityText")
    if text:
        rec["severityText"] = str(text)
    if r.get("body") is not None:
        rec["body"] = _j_any(r["body"])
    attributes = _j_attrs(_list(r, "attributes"))
    rec["attributes"] = attributes
    dropped = _int(r.get("droppedAttributesCount") or 0, "droppedAttributesCount")
    if dropped:
        rec["droppedAttributesCount"] = dropped
    flags = _int(r.get("flags") or 0, "flags")
    if flags:
        rec["flags"] = flags
    trace_id = _hex_id(r.get("traceId"), 16)
    span_id = _hex_id(r.get("spanId"), 8)
    if trace_id:
        rec["traceId"] = trace_id
    if span_id:
        rec["spanId"] = span_id
    if r.get("eventName"):
        rec["eventName"] = str(r["eventName"])
    if trace_id is None or span_id is None:
        attributes.append(_INVALID_ID_ATTR)  # type: ignore[arg-type]
        reasons[INVALID_ID] = reasons.get(INVALID_ID, 0) + 1
    return rec  # type: ignore[return-value]


def _j_scope(s: object) -> dict[str, Any]:
    if s is None:
        return {}
    if not isinstance(s, dict):
        raise OtlpDecodeError(f"scope: expected an object, got {s!r}")
    out: dict[str, Any] = {}
    if s.get("name"):
        out["name"] = str(s["name"])
    if s.get("version"):
        out["version"] = str(s["version"])
    attributes = _j_attrs(_list(s, "attributes"))
    if attributes:
        out["attributes"] = attributes
    dropped = _int(s.get("droppedAttributesCount") or 0, "droppedAttributesCount")
    if dropped:
        out["droppedAttributesCount"] = dropped
    return out


def decode_json(
    data: bytes, observed_unix_nano: int, reasons: dict[str, int] | None = None
) -> list[ResourceLogsJSON]:
    """An OTLP/JSON ``ExportLogsServiceRequest`` as internal ``ResourceLogs`` (rules 1-4).

    Raises:
        OtlpDecodeError: ``data`` is not JSON, or not shaped as the request.
    """
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise OtlpDecodeError(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise OtlpDecodeError("an ExportLogsServiceRequest must be a JSON object")
    observed = str(observed_unix_nano)
    counts = reasons if reasons is not None else {}
    out: list[ResourceLogsJSON] = []
    for rl in _list(doc, "resourceLogs"):
        if not isinstance(rl, dict):
            raise OtlpDecodeError(f"ResourceLogs: expected an object, got {rl!r}")
        res = rl.get("resource") or {}
        resource: dict[str, Any] = {"attributes": _j_attrs(_list(res, "attributes"))}
        dropped = _int(res.get("droppedAttributesCount") or 0, "droppedAttributesCount")
        if dropped:
            resource["droppedAttributesCount"] = dropped
        scope_logs: list[ScopeLogsJSON] = []
        for sl in _list(rl, "scopeLogs"):
            if not isinstance(sl, dict):
                raise OtlpDecodeError(f"ScopeLogs: expected an object, got {sl!r}")
            entry: dict[str, Any] = {
                "scope": _j_scope(sl.get("scope")),
                "logRecords": [_j_record(r, observed, counts) for r in _list(sl, "logRecords")],
            }
            if sl.get("schemaUrl"):
                entry["schemaUrl"] = str(sl["schemaUrl"])
            scope_logs.append(entry)  # type: ignore[arg-type]
        item: dict[str, Any] = {"resource": resource, "scopeLogs": scope_logs}
        if rl.get("schemaUrl"):
            item["schemaUrl"] = str(rl["schemaUrl"])
        out.append(item)  # type: ignore[arg-type]
    return out


# -- internal -> wire -------------------------------------------------------------------------


def _p_any(v: AnyValueJSON | dict[str, Any]) -> AnyValue:
    if "stringValue" in v:
        return AnyValue(string_value=v["stringValue"])
    if "intValue" in v:
        return AnyValue(int_value=int(v["intValue"]))
    if "boolValue" in v:
        return AnyValue(bool_value=v["boolValue"])
    if "doubleValue" in v:
        return AnyValue(double_value=float(v["doubleValue"]))
    if "arrayValue" in v:
        values = v["arrayValue"].get("values", [])
        return AnyValue(array_value=ArrayValue(values=[_p_any(x) for x in values]))
    if "kvlistValue" in v:
        kvs = v["kvlistValue"].get("values", [])
        return AnyValue(kvlist_value=KeyValueList(values=_p_attrs(kvs)))
    if "bytesValue" in v:
        return AnyValue(bytes_value=base64.b64decode(v["bytesValue"]))
    return AnyValue()


def _p_attrs(kvs: list[KeyValueJSON] | list[dict[str, Any]]) -> list[KeyValue]:
    return [KeyValue(key=kv["key"], value=_p_any(kv["value"])) for kv in kvs]


def _p_record(r: LogRecordJSON | dict[str, Any]) -> LogRecord:
    lr = LogRecord(
        time_unix_nano=int(r.get("timeUnixNano", 0)),
        observed_time_unix_nano=int(r.get("observedTimeUnixNano", 0)),
        severity_number=r.get("severityNumber", 0),  # type: ignore[arg-type]
        severity_text=r.get("severityText", ""),
        attributes=_p_attrs(r.get("attributes", [])),
        dropped_attributes_count=int(r.get("droppedAttributesCount", 0)),  # type: ignore[arg-type]
        flags=r.get("flags", 0),
        trace_id=bytes.fromhex(r.get("traceId", "")),
        span_id=bytes.fromhex(r.get("spanId", "")),
        event_name=r.get("eventName", ""),
    )
    body = r.get("body")
    if body is not None:
        lr.body.CopyFrom(_p_any(body))
    return lr


def _p_scope(s: dict[str, Any]) -> InstrumentationScope:
    return InstrumentationScope(
        name=s.get("name", ""),
        version=s.get("version", ""),
        attributes=_p_attrs(s.get("attributes", [])),
        dropped_attributes_count=s.get("droppedAttributesCount", 0),
    )


def encode_proto(resource_logs: list[ResourceLogsJSON]) -> bytes:
    """Internal ``ResourceLogs`` as one protobuf ``ExportLogsServiceRequest``."""
    request = ExportLogsServiceRequest()
    for rl in resource_logs:
        res = rl.get("resource", {})
        item = ResourceLogs(
            resource=Resource(
                attributes=_p_attrs(res.get("attributes", [])),
                dropped_attributes_count=res.get("droppedAttributesCount", 0),
            ),
            schema_url=rl.get("schemaUrl", ""),
        )
        for sl in rl.get("scopeLogs", []):
            item.scope_logs.append(
                ScopeLogs(
                    scope=_p_scope(sl.get("scope", {})),  # type: ignore[arg-type]
                    log_records=[_p_record(r) for r in sl.get("logRecords", [])],
                    schema_url=sl.get("schemaUrl", ""),
                )
            )
        request.resource_logs.append(item)
    return request.SerializeToString()


def encode_json(resource_logs: list[ResourceLogsJSON]) -> bytes:
    """Internal ``ResourceLogs`` as one OTLP/JSON request on one line ending in a newline."""
    return orjson.dumps({"resourceLogs": resource_logs}, option=orjson.OPT_APPEND_NEWLINE)


def count_records(resource_logs: list[ResourceLogsJSON]) -> int:
    """How many log records ``resource_logs`` holds."""
    return sum(
        len(sl.get("logRecords", [])) for rl in resource_logs for sl in rl.get("scopeLogs", [])
    )


# -- responses --------------------------------------------------------------------------------


def response_proto(rejected: int = 0, message: str = "") -> bytes:
    """An ``ExportLogsServiceResponse``, with ``partial_success`` when ``rejected`` > 0."""
    response = ExportLogsServiceResponse()
    if rejected:
        response.partial_success.CopyFrom(
            ExportLogsPartialSuccess(rejected_log_records=rejected, error_message=message)
        )
    return response.SerializeToString()


def response_json(rejected: int = 0, message: str = "") -> bytes:
    """The same response in OTLP/JSON."""
    if not rejected:
        return b"{}"
    return orjson.dumps(
        {"partialSuccess": {"rejectedLogRecords": str(rejected), "errorMessage": message}}
    )


def parse_response_proto(data: bytes) -> tuple[int, str]:
    """``(rejected_log_records, error_message)`` of a protobuf response (0, "" if empty)."""
    try:
        partial = ExportLogsServiceResponse.FromString(data).partial_success
    except DecodeError as exc:
        raise OtlpDecodeError(f"not an ExportLogsServiceResponse: {exc}") from exc
    return partial.rejected_log_records, partial.error_message


def parse_response_json(data: bytes) -> tuple[int, str]:
    """``(rejected_log_records, error_message)`` of an OTLP/JSON response."""
    try:
        doc = orjson.loads(data or b"{}")
    except orjson.JSONDecodeError as exc:
        raise OtlpDecodeError(f"not JSON: {exc}") from exc
    partial = doc.get("partialSuccess") or {} if isinstance(doc, dict) else {}
    return _int(partial.get("rejectedLogRecords") or 0, "rejectedLogRecords"), str(
        partial.get("errorMessage") or ""
    )

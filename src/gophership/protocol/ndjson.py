"""NDJSON lines to OTLP/JSON ``LogRecord`` dicts (sans-IO).

Mapping of one JSON object (keys are matched exactly, first occurrence wins; a second
special key of the same kind stays an ordinary field):

* ``msg`` / ``message`` → ``body`` (any JSON type, as ``AnyValue``). With neither, the body is
  the object's ordinary fields as a ``kvlistValue`` and ``attributes`` stays empty.
* ``ts`` / ``time`` / ``timestamp`` → ``timeUnixNano``: an RFC 3339 string (lenient: ``t``,
  space, lower-case ``z``, any fraction, no offset = UTC) or an epoch number whose magnitude
  gives the unit: < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds.
  A value that is neither stays an ordinary field.
* ``level`` / ``severity`` → ``severityNumber`` + ``severityText``: names (case-insensitive)
  trace, debug, info, notice, warn/warning, error/err, crit/critical, alert, fatal, emerg/panic;
  the text is the value as sent. Numbers: 10/20/30/40/50/60 are pino/bunyan levels
  (trace/debug/info/warn/error/fatal), any other 1..24 is an OTel SeverityNumber. An unknown
  name keeps only ``severityText``.
* ``trace_id`` (32 hex) / ``span_id`` (16 hex) → ``traceId`` / ``spanId`` (lower-case hex);
  ``trace_flags`` (0..255, or 2 hex digits) → ``flags``. Malformed ones stay ordinary fields.
* every other key → an attribute: string → ``stringValue``, bool → ``boolValue``, int →
  ``intValue`` (decimal string; outside int64 → ``doubleValue``), float → ``doubleValue``,
  object → ``kvlistValue``, array → ``arrayValue``, null → an empty ``AnyValue`` (key kept).

A line that is not valid JSON gets ``gophership.parse_error`` = ``invalid_json``; valid JSON
that is not an object gets ``not_an_object``. Both keep the raw line as body (``stringValue``,
or ``bytesValue`` when it is not UTF-8).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Final

import orjson

from gophership.protocol.timestamp import parse_rfc3339

if TYPE_CHECKING:
    from gophership.record import AnyValueJSON, KeyValueJSON, LogRecordJSON

__all__ = ["PARSE_ERRORS", "any_value", "decode_lines"]

PARSE_ERRORS: Final = frozenset({"invalid_json", "not_an_object"})
"""The closed set of ``gophership.parse_error`` values this module produces."""

_MSG: Final = 1
_TIME: Final = 2
_LEVEL: Final = 3
_TRACE: Final = 4
_SPAN: Final = 5
_FLAGS: Final = 6
_SPECIAL: Final = {
    "msg": _MSG,
    "message": _MSG,
    "ts": _TIME,
    "time": _TIME,
    "timestamp": _TIME,
    "level": _LEVEL,
    "severity": _LEVEL,
    "trace_id": _TRACE,
    "span_id": _SPAN,
    "trace_flags": _FLAGS,
}
_LEVEL_NAMES: Final = {
    "trace": 1,
    "debug": 5,
    "info": 9,
    "information": 9,
    "notice": 10,
    "warn": 13,
    "warning": 13,
    "error": 17,
    "err": 17,
    "crit": 18,
    "critical": 18,
    "alert": 19,
    "fatal": 21,
    "emerg": 21,
    "emergency": 21,
    "panic": 21,
}
_PINO: Final = {10: (1, "trace"), 20: (5, "debug"), 30: (9, "info"), 40: (13, "warn"),
                50: (17, "error"), 60: (21, "fatal")}  # fmt: skip
_OTEL_TEXT: Final = ("", *(f"{n}{i}" if i > 1 else n for n in
                           ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
                           for i in (1, 2, 3, 4)))  # fmt: skip
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_PARSE_ERROR: Final = "gophership.parse_error"


def any_value(v: Any) -> AnyValueJSON:
    """A decoded JSON value as an OTLP/JSON ``AnyValue`` (see the module docstring)."""
    t = type(v)
    if t is str:
        return {"stringValue": v}
    if t is bool:
        return {"boolValue": v}
    if t is int:
        if _INT64_MIN <= v <= _INT64_MAX:
            return {"intValue": str(v)}
        return {"doubleValue": float(v)}
    if t is float:
        return {"doubleValue": v}
    if t is dict:
        return {
            "kvlistValue": {"values": [{"key": k, "value": any_value(x)} for k, x in v.items()]}
        }
    if t is list:
        return {"arrayValue": {"values": [any_value(x) for x in v]}}
    return {}


def _epoch_ns(v: float) -> int:
    a = abs(v)
    if a < 1e11:
        return int(v * 1_000_000_000)
    if a < 1e14:
        return int(v * 1_000_000)
    if a < 1e17:
        return int(v * 1_000)
    return int(v)


def _raw_body(line: bytes) -> AnyValueJSON:
    try:
        return {"stringValue": line.decode()}
    except UnicodeDecodeError:
        return {"bytesValue": base64.b64encode(line).decode("ascii")}


def decode_lines(
    lines: list[bytes], observed_ns: int, reasons: dict[str, int]
) -> list[LogRecordJSON]:
    """Records for ``lines`` (one each); parse errors are counted into ``reasons``."""
    observed = str(observed_ns)
    records: list[LogRecordJSON] = []
    append = records.append
    loads = orjson.loads
    special = _SPECIAL
    for line in lines:
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            reason = "invalid_json"
        else:
            if type(obj) is dict:
                attrs: list[KeyValueJSON] = []
                record: LogRecordJSON = {
                    "observedTimeUnixNano": observed,
                    "body": {},
                    "attributes": attrs,
                }
                has_body = False
                seen = 0
                for k, v in obj.items():
                    kind = special.get(k, 0)
                    if kind and not seen & (1 << kind):
                        if kind == _MSG:
                            record["body"] = {"stringValue": v} if type(v) is str else any_value(v)
                            has_body = True
                            seen |= 1 << kind
                            continue
                        if _special(record, kind, v):
                            seen |= 1 << kind
                            continue
                    t = type(v)
                    attrs.append(
                        {"key": k, "value": {"stringValue": v} if t is str else any_value(v)}
                    )
                if not has_body:
                    record["body"] = {"kvlistValue": {"values": attrs}}
                    record["attributes"] = []
                append(record)
                continue
            reason = "not_an_object"
        reasons[reason] = reasons.get(reason, 0) + 1
        append(
            {
                "observedTimeUnixNano": observed,
                "body": _raw_body(line),
                "attributes": [{"key": _PARSE_ERROR, "value": {"stringValue": reason}}],
            }
        )
    return records


def _special(record: LogRecordJSON, kind: int, v: Any) -> bool:
    """Apply a special key to ``record``; False when the value does not fit (kept as field)."""
    t = type(v)
    if kind == _TIME:
        if t is str:
            ns = parse_rfc3339(v, False)
            if ns is None:
                return False
        elif t is int or t is float:
            ns = _epoch_ns(v)
        else:
            return False
        if ns < 0:
            return False
        record["timeUnixNano"] = str(ns)
        return True
    if kind == _LEVEL:
        if t is str:
            number = _LEVEL_NAMES.get(v.lower())
            if number is not None:
                record["severityNumber"] = number
            record["severityText"] = v
            return True
        if t is int:
            if v in _PINO:
                number, text = _PINO[v]
            elif 1 <= v <= 24:
                number, text = v, _OTEL_TEXT[v]
            else:
                return False
            record["severityNumber"] = number
            record["severityText"] = text
            return True
        return False
    if kind in (_TRACE, _SPAN):
        size = 32 if kind == _TRACE else 16
        if t is not str or len(v) != size or not _HEX.issuperset(v):
            return False
        record["traceId" if kind == _TRACE else "spanId"] = v.lower()
        return True
    # _FLAGS
    if t is int and 0 <= v <= 255:
        record["flags"] = v
        return True
    if t is str and len(v) == 2 and _HEX.issuperset(v):
        record["flags"] = int(v, 16)
        return True
    return False

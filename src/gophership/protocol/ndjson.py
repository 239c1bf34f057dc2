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

Speed rules (the output is exactly that of the key-by-key mapping above, :func:`_decode_object`):

1. Logs of one application repeat the same keys in the same order. A key sequence seen twice
   gets a *plan*: a function compiled for that sequence that unpacks ``obj.values()`` and builds
   the record with literals, without per-key dispatch. At most one plan is compiled per
   :func:`decode_lines` call (about 0.1 ms for 7 keys) and only for sequences of at most
   ``PLAN_MAX_KEYS`` keys, so key churn costs at most one compile per chunk; at most
   ``PLAN_ENTRIES`` plans are kept (the cache is cleared when full). Plan code holds no input
   text: keys are closure constants.
2. A plan assumes each special key's value fits; when one does not (a later key of the same
   kind may then apply), the object is mapped the general way.
3. Timestamps ``YYYY-MM-DDTHH:MM:SS.fZ`` (1 to 9 fraction digits, after 1970-01-01T00:00:01)
   skip :func:`parse_rfc3339`: the seconds of the prefix are cached as text
   (``TEXT_CACHE_ENTRIES``, cleared when full) and the padded fraction digits are appended.
   Level strings map through a cache of the same bound. Other forms take the general parse.
4. Lines are parsed one ``orjson.loads`` each: one call for the whole chunk saves ~0.05 us a
   line, but cannot tell a bad line from lines that only parse together (``[1`` then ``2]``)
   without a per-line check that costs as much.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import orjson

from gophership.protocol.timestamp import parse_rfc3339

if TYPE_CHECKING:
    from collections.abc import Callable

    from gophership.record import AnyValueJSON, KeyValueJSON, LogRecordJSON

__all__ = [
    "PARSE_ERRORS",
    "PLAN_ENTRIES",
    "PLAN_MAX_KEYS",
    "TEXT_CACHE_ENTRIES",
    "any_value",
    "decode_lines",
]

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
_INT_SEVERITIES: Final[dict[int, tuple[int, str]]] = {
    **{n: (n, _OTEL_TEXT[n]) for n in range(1, 25)},
    **_PINO,
}
"""Integer levels: pino/bunyan levels first, then any other OTel SeverityNumber 1..24."""

PLAN_ENTRIES: Final = 1024
"""Compiled plans kept (speed rule 1); the cache is cleared when full."""
PLAN_MAX_KEYS: Final = 64
"""Objects with more keys are always mapped the general way."""
TEXT_CACHE_ENTRIES: Final = 4096
"""Timestamp prefixes and level strings cached (each); a cache is cleared when full."""

_NS: Final = 1_000_000_000
_FRACTION_PAD: Final = tuple("0" * (9 - n) for n in range(10))

_Build: TypeAlias = "Callable[[dict[str, Any], str], LogRecordJSON | None]"
_plans: dict[tuple[str, ...], _Build] = {}
_sighted: set[tuple[str, ...]] = set()
_second_texts: dict[str, str | None] = {}
_severities: dict[str, tuple[int | None, str]] = {}


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
    plans = _plans
    compiles = 1  # speed rule 1: at most one plan compiled per call
    for line in lines:
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            reason = "invalid_json"
        else:
            if type(obj) is dict:
                keys = tuple(obj)
                build = plans.get(keys)
                if build is None:
                    if compiles and keys in _sighted:
                        compiles -= 1
                        build = _compile_plan(keys)
                    else:
                        _sight(keys)
                        build = _decode_object
                record = build(obj, observed)
                append(_decode_object(obj, observed) if record is None else record)
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


def _decode_object(obj: dict[str, Any], observed: str) -> LogRecordJSON:
    """The record of one JSON object, key by key: the mapping of the module docstring."""
    attrs: list[KeyValueJSON] = []
    record: LogRecordJSON = {"observedTimeUnixNano": observed, "body": {}, "attributes": attrs}
    has_body = False
    seen = 0
    for k, v in obj.items():
        kind = _SPECIAL.get(k, 0)
        if kind and not seen & (1 << kind):
            if kind == _MSG:
                record["body"] = {"stringValue": v} if type(v) is str else any_value(v)
                has_body = True
                seen |= 1 << kind
                continue
            if _special(record, kind, v):
                seen |= 1 << kind
                continue
        attrs.append({"key": k, "value": {"stringValue": v} if type(v) is str else any_value(v)})
    if not has_body:
        record["body"] = {"kvlistValue": {"values": attrs}}
        record["attributes"] = []
    return record


def _special(record: LogRecordJSON, kind: int, v: Any) -> bool:
    """Apply a special key to ``record``; False when the value does not fit (kept as field)."""
    if kind == _TIME:
        text = _time_text(v)
        if text is None:
            return False
        record["timeUnixNano"] = text
        return True
    if kind == _LEVEL:
        severity = _severity(v)
        if severity is None:
            return False
        number, name = severity
        if number is not None:
            record["severityNumber"] = number
        record["severityText"] = name
        return True
    if kind == _FLAGS:
        flags = _trace_flags(v)
        if flags is None:
            return False
        record["flags"] = flags
        return True
    hex_id = _hex_id(v, 32 if kind == _TRACE else 16)
    if hex_id is None:
        return False
    record["traceId" if kind == _TRACE else "spanId"] = hex_id
    return True


def _time_text(v: Any) -> str | None:
    """``timeUnixNano`` of a time value, or None when it is not a time (or before 1970)."""
    if type(v) is str:
        prefix = v[:19]
        seconds = _second_texts.get(prefix, "")
        if seconds == "":
            seconds = _second_text(prefix)
        if seconds is not None:
            # speed rule 3; the same result as str(parse_rfc3339(v, False)) when seconds >= 1.
            digits = v[20:-1]
            if (
                v[19:20] == "."
                and v[-1] in "Zz"
                and len(digits) <= 9
                and digits.isdigit()
                and digits.isascii()
            ):
                return f"{seconds}{digits}{_FRACTION_PAD[len(digits)]}"
        ns = parse_rfc3339(v, False)
        if ns is None:
            return None
    elif type(v) is int or type(v) is float:
        ns = _epoch_ns(v)
    else:
        return None
    return None if ns < 0 else str(ns)


def _second_text(prefix: str) -> str | None:
    """Epoch seconds of a ``YYYY-MM-DDTHH:MM:SS`` prefix as text; None if invalid or < 1."""
    ns = parse_rfc3339(prefix, False)
    text = str(ns // _NS) if ns is not None and ns >= _NS else None
    if len(_second_texts) >= TEXT_CACHE_ENTRIES:
        _second_texts.clear()
    _second_texts[prefix] = text
    return text


def _severity(v: Any) -> tuple[int | None, str] | None:
    """``(severityNumber or None, severityText)`` of a level value, or None when it is not one."""
    if type(v) is str:
        severity = _severities.get(v)
        if severity is None:
            if len(_severities) >= TEXT_CACHE_ENTRIES:
                _severities.clear()
            severity = _severities[v] = (_LEVEL_NAMES.get(v.lower()), v)
        return severity
    if type(v) is int:
        return _INT_SEVERITIES.get(v)
    return None


def _hex_id(v: Any, size: int) -> str | None:
    if type(v) is not str or len(v) != size or not _HEX.issuperset(v):
        return None
    return v.lower()


def _trace_flags(v: Any) -> int | None:
    if type(v) is int and 0 <= v <= 255:
        return v
    if type(v) is str and len(v) == 2 and _HEX.issuperset(v):
        return int(v, 16)
    return None


def _sight(keys: tuple[str, ...]) -> None:
    if len(_sighted) >= TEXT_CACHE_ENTRIES:
        _sighted.clear()
    _sighted.add(keys)


def _compile_plan(keys: tuple[str, ...]) -> _Build:
    """Compile and cache the plan of ``keys`` (speed rule 1); see :func:`_plan_source`."""
    build: _Build = _decode_object
    if len(keys) <= PLAN_MAX_KEYS:
        source, attr_keys = _plan_source(keys)
        namespace: dict[str, Any] = {
            "any_value": any_value,
            "time_text": _time_text,
            "severity": _severity,
            "severities_get": _severities.get,
            "second_texts_get": _second_texts.get,
            "fraction_pad": _FRACTION_PAD,
            "hex_id": _hex_id,
            "trace_flags": _trace_flags,
        }
        # The source holds only generated names; the keys are passed as closure constants.
        exec(compile(source, "<ndjson plan>", "exec"), namespace)  # noqa: S102
        build = namespace["make"](*attr_keys)
    if len(_plans) >= PLAN_ENTRIES:
        _plans.clear()
    _plans[keys] = build
    return build


def _value_source(v: str) -> str:
    """An expression for the ``AnyValue`` of local ``v``: str and int64 inline, the rest called."""
    return (
        f'{{"stringValue": {v}}} if (t := type({v})) is str else '
        f'{{"intValue": str({v})}} if t is int and {_INT64_MIN} <= {v} <= {_INT64_MAX} '
        f"else any_value({v})"
    )


def _plan_source(keys: tuple[str, ...]) -> tuple[str, list[str]]:
    """Python source of ``make(*attr_keys) -> build(obj, observed)`` for one key sequence.

    ``build`` returns the record :func:`_decode_object` would give, or None when a special
    value does not fit (rule 2). Record keys come in the general path's order: observed time,
    body, attributes, then the special fields in key order.
    """
    code = ["    def build(obj, observed):"]
    if keys:
        code.append(f"        {''.join(f'v{i}, ' for i in range(len(keys)))}= obj.values()")
    attr_keys: list[str] = []
    attrs: list[str] = []
    body = None
    fields: list[str] = []
    level: tuple[int, str] | None = None  # (index in fields, local name)
    seen = 0
    for i, k in enumerate(keys):
        kind = _SPECIAL.get(k, 0)
        if not kind or seen & (1 << kind):
            attrs.append(f'{{"key": k{len(attr_keys)}, "value": {_value_source(f"v{i}")}}}')
            attr_keys.append(k)
            continue
        seen |= 1 << kind
        if kind == _MSG:
            body = f'{{"stringValue": v{i}}} if type(v{i}) is str else any_value(v{i})'
            continue
        if kind == _TIME:
            # speed rule 3 inline; time_text() does the rest (and fills the cache).
            code += [
                f"        s{i} = None",
                f"        if type(v{i}) is str:",
                f"            p = second_texts_get(v{i}[:19])",
                "            if p is not None:",
                f"                d = v{i}[20:-1]",
                f'                if v{i}[19:20] == "." and v{i}[-1] in "Zz" and len(d) <= 9'
                " and d.isdigit() and d.isascii():",
                f'                    s{i} = f"{{p}}{{d}}{{fraction_pad[len(d)]}}"',
                f"        if s{i} is None:",
                f"            s{i} = time_text(v{i})",
            ]
            fields.append(f'"timeUnixNano": s{i}')
        elif kind == _LEVEL:
            code += [
                f"        s{i} = severities_get(v{i}) if type(v{i}) is str else None",
                f"        if s{i} is None:",
                f"            s{i} = severity(v{i})",
            ]
            level = (len(fields), f"s{i}")
            fields.append(f'"severityNumber": s{i}[0], "severityText": s{i}[1]')
        elif kind == _FLAGS:
            code.append(f"        s{i} = trace_flags(v{i})")
            fields.append(f'"flags": s{i}')
        else:
            size, name = (32, "traceId") if kind == _TRACE else (16, "spanId")
            code.append(f"        s{i} = hex_id(v{i}, {size})")
            fields.append(f'"{name}": s{i}')
        code.append(f"        if s{i} is None:")
        code.append("            return None")
    code.append(f"        a = [{', '.join(attrs)}]")
    head = '"observedTimeUnixNano": observed, '
    if body is None:
        head += '"body": {"kvlistValue": {"values": a}}, "attributes": []'
    else:
        head += f'"body": {body}, "attributes": a'
    record = f"{{{', '.join([head, *fields])}}}"
    if level is not None:
        # A level name without a number gives severityText only.
        index, local = level
        text_only = list(fields)
        text_only[index] = f'"severityText": {local}[1]'
        code.append(f"        if {local}[0] is None:")
        code.append(f"            return {{{', '.join([head, *text_only])}}}")
    code.append(f"        return {record}")
    code.append("    return build")
    params = ", ".join(f"k{j}" for j in range(len(attr_keys)))
    return "\n".join([f"def make({params}):", *code]) + "\n", attr_keys

"""The planned NDJSON path gives exactly what the key-by-key reference mapping gives.

``_decode_lines_reference`` is the implementation before plans and caches (commit 07835b9).
Records are compared as ``orjson.dumps`` bytes, so key order counts, line for line.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gophership.protocol import ndjson
from gophership.protocol.decode import decode_chunk
from gophership.protocol.framing import split_frames
from gophership.protocol.ndjson import any_value, decode_lines
from gophership.protocol.timestamp import parse_rfc3339
from gophership.record import Codec

T = 1_795_374_880_000_000_000

# --- the reference: decode_lines as it was, key by key ------------------------------------

_SPECIAL = {"msg": 1, "message": 1, "ts": 2, "time": 2, "timestamp": 2, "level": 3,
            "severity": 3, "trace_id": 4, "span_id": 5, "trace_flags": 6}  # fmt: skip
_LEVEL_NAMES = {"trace": 1, "debug": 5, "info": 9, "information": 9, "notice": 10, "warn": 13,
                "warning": 13, "error": 17, "err": 17, "crit": 18, "critical": 18, "alert": 19,
                "fatal": 21, "emerg": 21, "emergency": 21, "panic": 21}  # fmt: skip
_PINO = {10: (1, "trace"), 20: (5, "debug"), 30: (9, "info"), 40: (13, "warn"),
         50: (17, "error"), 60: (21, "fatal")}  # fmt: skip
_OTEL_TEXT = ("", *(f"{n}{i}" if i > 1 else n for n in
                    ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
                    for i in (1, 2, 3, 4)))  # fmt: skip
_HEX = frozenset("0123456789abcdefABCDEF")


def _raw_body(line: bytes) -> dict[str, Any]:
    try:
        return {"stringValue": line.decode()}
    except UnicodeDecodeError:
        return {"bytesValue": base64.b64encode(line).decode("ascii")}


def _special_reference(record: dict[str, Any], kind: int, v: Any) -> bool:
    t = type(v)
    if kind == 2:
        if t is str:
            ns = parse_rfc3339(v, False)
            if ns is None:
                return False
        elif t is int or t is float:
            ns = ndjson._epoch_ns(v)  # units: tests/unit/test_ndjson.py
        else:
            return False
        if ns < 0:
            return False
        record["timeUnixNano"] = str(ns)
        return True
    if kind == 3:
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
    if kind in (4, 5):
        size = 32 if kind == 4 else 16
        if t is not str or len(v) != size or not _HEX.issuperset(v):
            return False
        record["traceId" if kind == 4 else "spanId"] = v.lower()
        return True
    if t is int and 0 <= v <= 255:
        record["flags"] = v
        return True
    if t is str and len(v) == 2 and _HEX.issuperset(v):
        record["flags"] = int(v, 16)
        return True
    return False


def _decode_line_reference(line: bytes, observed: str, reasons: dict[str, int]) -> Any:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        reason = "invalid_json"
    else:
        if type(obj) is dict:
            attrs: list[Any] = []
            record: dict[str, Any] = {
                "observedTimeUnixNano": observed,
                "body": {},
                "attributes": attrs,
            }
            has_body = False
            seen = 0
            for k, v in obj.items():
                kind = _SPECIAL.get(k, 0)
                if kind and not seen & (1 << kind):
                    if kind == 1:
                        record["body"] = {"stringValue": v} if type(v) is str else any_value(v)
                        has_body = True
                        seen |= 1 << kind
                        continue
                    if _special_reference(record, kind, v):
                        seen |= 1 << kind
                        continue
                attrs.append({"key": k, "value": any_value(v)})
            if not has_body:
                record["body"] = {"kvlistValue": {"values": attrs}}
                record["attributes"] = []
            return record
        reason = "not_an_object"
    reasons[reason] = reasons.get(reason, 0) + 1
    return {
        "observedTimeUnixNano": observed,
        "body": _raw_body(line),
        "attributes": [{"key": "gophership.parse_error", "value": {"stringValue": reason}}],
    }


def _decode_lines_reference(lines: list[bytes], observed_ns: int) -> tuple[bytes, dict[str, int]]:
    reasons: dict[str, int] = {}
    records = [_decode_line_reference(line, str(observed_ns), reasons) for line in lines]
    return orjson.dumps(records), reasons


# --- strategies -----------------------------------------------------------------------------

_digits = st.integers(0, 12).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n))
_timestamps = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, zone: (
        f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{zone}"
    ),
    st.sampled_from([1969, 1970, 2000, 2024, 2026, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["T", "t", " ", "x"]),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
    st.one_of(st.just(""), _digits.map(lambda d: "." + d), st.just(".\u0663\u0664"), st.just(",5")),
    st.sampled_from(["Z", "z", "", "+01:00", "-23:59", "+24:00", "Q", "+0100"]),
)
_good_timestamps = st.builds(
    lambda y, s, digits, zone: f"{y:04d}-11-22T10:00:{s:02d}{digits}{zone}",
    st.sampled_from([1970, 2026]),
    st.integers(0, 59),
    st.one_of(st.just(""), _digits.map(lambda d: "." + d)),
    st.sampled_from(["Z", "z", "", "+01:00"]),
)
_time_values = st.one_of(
    _good_timestamps,
    _timestamps,
    st.sampled_from(
        [
            "1970-01-01T00:00:00Z",
            "1970-01-01T00:00:00.5Z",
            "1970-01-01T00:00:01.000000001Z",
            "2026-11-22T10:00:01.234Z",
            "2026-11-22T10:00:01",
            "2026-11-22T10:00:0",
            "x" * 19,
            "2026-11-22T10:00:01.",
            "2026-11-22T10:00:01.Z",
            "2024-02-29T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "",
            "Z",
        ]
    ),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, 10**11, 10**14, 10**17, -1]),
)
_level_values = st.one_of(
    st.sampled_from([*_LEVEL_NAMES, "INFO", "Warning", "verbose", "", "\u0130nfo", "\u0131nfo"]),
    st.integers(-5, 70),
    st.floats(0, 30),
)
_hex_values = st.one_of(
    st.text("0123456789abcdefABCDEFg", min_size=14, max_size=34),
    st.sampled_from(["5B8EFFF798038103D269B633813FC60C", "eee19b7ec3c1b174", "01", "zz", "FF"]),
    st.integers(-1, 300),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63) - 2, 2**63 + 2),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
_KEYS = [*_SPECIAL, "user", "status", "observedTimeUnixNano", "body", "Msg", ""]


@st.composite
def _pairs(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Keys in any order, duplicates allowed, values shaped to hit the special keys."""
    out: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(0, 8))):
        key = draw(st.sampled_from(_KEYS) | st.text(max_size=4))
        kind = _SPECIAL.get(key, 0)
        if kind == 2:
            value = draw(_time_values | _values)
        elif kind == 3:
            value = draw(_level_values | _values)
        elif kind in (4, 5, 6):
            value = draw(_hex_values | _values)
        else:
            value = draw(_values)
        out.append((key, value))
    return out


def _object_line(pairs: list[tuple[str, Any]], space: str) -> bytes:
    # Written by hand so that duplicate keys and integers beyond 64 bits reach orjson.
    body = f",{space}".join(f"{json.dumps(k)}:{space}{json.dumps(v)}" for k, v in pairs)
    return ("{" + body + "}").encode()


_lines = st.one_of(
    st.builds(_object_line, _pairs(), st.sampled_from(["", " "])),
    st.builds(_object_line, _pairs(), st.sampled_from(["", " "])),
    st.sampled_from(
        [
            b"[1,2]",
            b"42",
            b'"s"',
            b"null",
            b"{oops",
            b"\xff{",
            b'{"a":1}x',
            b"{}",
            b" {} ",
            b'{"msg":"\xff"}',
            b'{"a":NaN}',
            b"\t",
        ]
    ),
    st.binary(min_size=1, max_size=12).filter(lambda b: b"\n" not in b),
)


pytestmark = pytest.mark.usefixtures("fresh_ndjson_caches")


def _check(lines: list[bytes]) -> None:
    expected, expected_reasons = _decode_lines_reference(lines, T)
    reasons: dict[str, int] = {}
    assert orjson.dumps(decode_lines(lines, T, reasons)) == expected
    assert reasons == expected_reasons


@settings(max_examples=300, deadline=None)
@given(st.lists(_lines, max_size=12), st.integers(1, 4))
def test_decode_lines_equals_reference(lines: list[bytes], repeat: int) -> None:
    # Repeated calls go through first sighting, compilation and then the compiled plans.
    for _ in range(repeat + 2):
        _check(lines * repeat)


@settings(max_examples=200, deadline=None)
@given(st.lists(_lines, max_size=12))
def test_every_plan_equals_reference(lines: list[bytes]) -> None:
    for line in lines:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if type(obj) is dict:
            ndjson._compile_plan(tuple(obj))
    _check(lines)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_lines, st.booleans()), max_size=12), st.booleans())
def test_decode_chunk_equals_reference(
    lines: list[tuple[bytes, bool]], final_newline: bool
) -> None:
    # Lines end with LF or CRLF; split_frames drops the CR and empty lines.
    chunk = b"".join(line + (b"\r\n" if cr else b"\n") for line, cr in lines)
    if not final_newline:
        chunk = chunk.removesuffix(b"\n")
    expected, expected_reasons = _decode_lines_reference(split_frames(Codec.NDJSON, chunk), T)
    for _ in range(3):
        result = decode_chunk(Codec.NDJSON, chunk, T)
        assert orjson.dumps(result.records) == expected
        assert result.error_reasons == expected_reasons
        assert result.errors == sum(expected_reasons.values())


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["ts", "time", "timestamp"]), _good_timestamps | _time_values)
def test_time_values_equal_reference(key: str, value: Any) -> None:
    line = _object_line([(key, value), ("msg", "m")], "")
    for _ in range(3):
        _check([line, line])

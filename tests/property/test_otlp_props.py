"""OTLP protobuf and JSON round-trip through the internal form, exactly."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gophership.protocol import otlp

text = st.text(max_size=12)
keys = st.text(min_size=1, max_size=8)
i64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
u64 = st.integers(min_value=1, max_value=2**64 - 1)


def _finite_or_special(x: float) -> float | str:
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    return x


scalars = st.one_of(
    text.map(lambda s: {"stringValue": s}),
    i64.map(lambda n: {"intValue": str(n)}),
    st.booleans().map(lambda b: {"boolValue": b}),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: {"doubleValue": _finite_or_special(f)}
    ),
    st.binary(max_size=8).map(lambda b: {"bytesValue": base64.b64encode(b).decode()}),
    st.just({}),
)


def _kv(value: Any) -> Any:
    return st.builds(lambda k, v: {"key": k, "value": v}, keys, value)


any_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda vs: {"arrayValue": {"values": vs}}),
        st.lists(_kv(inner), max_size=3).map(lambda kvs: {"kvlistValue": {"values": kvs}}),
    ),
    max_leaves=6,
)
attributes = st.lists(_kv(any_values), max_size=4)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    r: dict[str, Any] = {}
    if t := draw(st.one_of(st.just(0), u64)):
        r["timeUnixNano"] = str(t)
    r["observedTimeUnixNano"] = str(draw(u64))
    if sev := draw(st.integers(0, 24)):
        r["severityNumber"] = sev
    if text_ := draw(text):
        r["severityText"] = text_
    if draw(st.booleans()):
        r["body"] = draw(any_values)
    r["attributes"] = draw(attributes)
    if dropped := draw(st.integers(0, 5)):
        r["droppedAttributesCount"] = dropped
    if flags := draw(st.integers(0, 255)):
        r["flags"] = flags
    if draw(st.booleans()):
        r["traceId"] = draw(st.binary(min_size=16, max_size=16)).hex()
    if draw(st.booleans()):
        r["spanId"] = draw(st.binary(min_size=8, max_size=8)).hex()
    if name := draw(text):
        r["eventName"] = name
    return r


@st.composite
def resource_logs(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        scope_logs = []
        for _ in range(draw(st.integers(0, 2))):
            scope: dict[str, Any] = {}
            if name := draw(text):
                scope["name"] = name
            if version := draw(text):
                scope["version"] = version
            if attrs := draw(attributes):
                scope["attributes"] = attrs
            entry: dict[str, Any] = {
                "scope": scope,
                "logRecords": draw(st.lists(records(), max_size=3)),
            }
            if url := draw(text):
                entry["schemaUrl"] = url
            scope_logs.append(entry)
        item: dict[str, Any] = {
            "resource": {"attributes": draw(attributes)},
            "scopeLogs": scope_logs,
        }
        if url := draw(text):
            item["schemaUrl"] = url
        out.append(item)
    return out


@settings(max_examples=300, deadline=None)
@given(resource_logs())
def test_protobuf_round_trip(rls: list[dict[str, Any]]) -> None:
    assert otlp.decode_proto(otlp.encode_proto(rls), 1) == rls  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(resource_logs())
def test_json_round_trip(rls: list[dict[str, Any]]) -> None:
    assert otlp.decode_json(otlp.encode_json(rls), 1) == rls  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(resource_logs())
def test_both_wires_give_one_form(rls: list[dict[str, Any]]) -> None:
    wire = otlp.encode_proto(rls)  # type: ignore[arg-type]
    via_json = otlp.decode_json(otlp.encode_json(otlp.decode_proto(wire, 7)), 7)
    assert otlp.decode_proto(wire, 7) == via_json
    assert otlp.count_records(via_json) == sum(
        len(sl["logRecords"]) for rl in rls for sl in rl["scopeLogs"]
    )

"""OTLP/JSON encoding of ``ExportLogsServiceRequest`` (sans-IO).

The records are already OTLP/JSON ``LogRecord`` dicts (see :mod:`gophership.record`), so
encoding a request is one ``orjson.dumps`` of the envelope: lowerCamelCase field names, hex
``traceId``/``spanId``, 64-bit integers as decimal strings, enums as integers, as the OTLP
specification's JSON encoding and the OpenTelemetry Collector file exporter write it.

Rules:

1. One request is one line: the JSON has no newline of its own and ends with a newline, so a
   file of requests is NDJSON (as the Collector's file exporter writes it).
2. One ``resourceLogs`` entry (this agent's resource), one ``scopeLogs`` entry per
   ``(source, records)`` group, its scope attribute ``gophership.source`` naming the source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

import gophership

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from gophership.record import KeyValueJSON, LogRecordJSON, ResourceLogsJSON, ScopeLogsJSON

__all__ = [
    "agent_resource_logs",
    "attributes_from_mapping",
    "encode_request",
    "encode_resource_logs",
]


def attributes_from_mapping(m: Mapping[str, str]) -> list[KeyValueJSON]:
    """String attributes (e.g. resource ``host.name``, ``service.name``) in mapping order."""
    return [{"key": k, "value": {"stringValue": v}} for k, v in m.items()]


def agent_resource_logs(
    resource_attributes: list[KeyValueJSON],
    groups: Sequence[tuple[str, list[LogRecordJSON]]],
    *,
    scope_name: str = "gophership",
    scope_version: str = gophership.__version__,
) -> ResourceLogsJSON:
    """This agent's ``ResourceLogs``: one ``scopeLogs`` entry per ``(source, records)`` group."""
    scope_logs: list[ScopeLogsJSON] = [
        {
            "scope": {
                "name": scope_name,
                "version": scope_version,
                "attributes": [{"key": "gophership.source", "value": {"stringValue": source}}],
            },
            "logRecords": records,
        }
        for source, records in groups
    ]
    return {"resource": {"attributes": resource_attributes}, "scopeLogs": scope_logs}


def encode_resource_logs(resource_logs: Sequence[ResourceLogsJSON]) -> bytes:
    """One OTLP/JSON ``ExportLogsServiceRequest`` of ``resource_logs``, one line ending in LF."""
    return orjson.dumps({"resourceLogs": resource_logs}, option=orjson.OPT_APPEND_NEWLINE)


def encode_request(
    resource_attributes: list[KeyValueJSON],
    groups: Sequence[tuple[str, list[LogRecordJSON]]],
    *,
    scope_name: str = "gophership",
    scope_version: str = gophership.__version__,
) -> bytes:
    """One OTLP/JSON ``ExportLogsServiceRequest`` as one line ending in a newline."""
    return encode_resource_logs(
        [
            agent_resource_logs(
                resource_attributes, groups, scope_name=scope_name, scope_version=scope_version
            )
        ]
    )

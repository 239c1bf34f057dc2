"""The values that flow through GopherShip.

Two shapes, chosen for the hot path:

* A *chunk* is ``bytes`` holding whole frames exactly as they arrived, tagged with a
  :class:`Codec` that says how to split and parse it. Chunks are what the pivot moves, what the
  Raw Vault stores and what replay yields. There are no per-line objects on the red path.
* A *log record* is a ``dict`` already in the OTLP/JSON shape of ``LogRecord`` (lowerCamelCase
  keys, 64-bit integers as decimal strings, ids as hex), so the green path builds it once and
  the sinks serialise whole batches with one ``orjson.dumps``. :class:`LogRecordJSON` types it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict


class Codec(enum.IntEnum):
    """How a chunk's bytes are framed and parsed; stored as a u8 in vault records (public)."""

    NDJSON = 1
    """Newline-delimited JSON (a line that is not a JSON object is kept as a raw body)."""
    SYSLOG_LINE = 2
    """Syslog, non-transparent framing: each message ends with LF (or NUL), RFC 6587 §3.4.2."""
    SYSLOG_OCTET = 3
    """Syslog, octet counting: ``MSG-LEN SP SYSLOG-MSG``, RFC 6587 §3.4.1 (also UDP batches)."""
    RAW_LINES = 4
    """Plain text lines (``gs-ctl vault import``): each line becomes a record's body."""
    OTLP_PROTO = 5
    """OTLP ``ExportLogsServiceRequest`` protobuf bytes, as received (decompressed). A frame is
    one request; several requests joined are one valid request (protobuf merges repeated
    fields), so the vault may store them as one record."""
    OTLP_JSON = 6
    """An OTLP/JSON ``ExportLogsServiceRequest`` body, as received (decompressed). One request
    per chunk: JSON objects do not join, so the vault never merges these."""


class AnyValueJSON(TypedDict, total=False):
    """OTLP/JSON ``AnyValue``: exactly one key is present."""

    stringValue: str
    boolValue: bool
    intValue: str
    doubleValue: float
    arrayValue: dict[str, list[AnyValueJSON]]
    kvlistValue: dict[str, list[KeyValueJSON]]
    bytesValue: str


class KeyValueJSON(TypedDict):
    """OTLP/JSON ``KeyValue``."""

    key: str
    value: AnyValueJSON


class LogRecordJSON(TypedDict):
    """OTLP/JSON ``LogRecord`` as the green path builds it."""

    timeUnixNano: NotRequired[str]
    observedTimeUnixNano: str
    severityNumber: NotRequired[int]
    severityText: NotRequired[str]
    body: AnyValueJSON
    attributes: list[KeyValueJSON]
    traceId: NotRequired[str]
    spanId: NotRequired[str]
    flags: NotRequired[int]
    eventName: NotRequired[str]


class ResourceJSON(TypedDict, total=False):
    """OTLP/JSON ``Resource``."""

    attributes: list[KeyValueJSON]
    droppedAttributesCount: int


class ScopeJSON(TypedDict, total=False):
    """OTLP/JSON ``InstrumentationScope``."""

    name: str
    version: str
    attributes: list[KeyValueJSON]
    droppedAttributesCount: int


class ScopeLogsJSON(TypedDict, total=False):
    """OTLP/JSON ``ScopeLogs``."""

    scope: ScopeJSON
    logRecords: list[LogRecordJSON]
    schemaUrl: str


class ResourceLogsJSON(TypedDict, total=False):
    """OTLP/JSON ``ResourceLogs``: what an OTLP request holds, and what sinks receive."""

    resource: ResourceJSON
    scopeLogs: list[ScopeLogsJSON]
    schemaUrl: str


@dataclass(frozen=True, slots=True)
class Batch:
    """Log records parsed from chunks of one source, ready for the sinks.

    ``records`` are OTLP/JSON ``LogRecord`` dicts; ``source`` names the configured source
    (or ``vault`` metadata on replay) and becomes the scope attribute ``gophership.source``.
    """

    source: str
    records: list[LogRecordJSON]
    parse_errors: int = 0


JSONValue = Any
"""A value decoded from JSON (kept loose on purpose: it is checked where it is used)."""

"""One chunk in, its OTLP/JSON ``LogRecord`` dicts out: the green path's parse step (sans-IO).

Rules:

1. Frames come from :func:`~gophership.protocol.framing.split_frames`: empty lines are
   skipped (the vault keeps them), so ``len(records)`` can be less than ``Chunk.frames``.
2. Every frame gives exactly one record (an OTLP frame: every record of its request); a
   frame that does not parse keeps the raw frame as its body and carries
   ``gophership.parse_error`` (a reason from :data:`PARSE_ERRORS`).
3. ``observedTimeUnixNano`` is ``observed_unix_nano`` for every record of the chunk: the time
   the chunk was received (replay passes the original receive time).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from gophership.errors import OtlpDecodeError
from gophership.protocol import ndjson, otlp, syslog
from gophership.protocol.framing import split_frames
from gophership.record import Codec

if TYPE_CHECKING:
    from gophership.record import AnyValueJSON, LogRecordJSON, ResourceLogsJSON

__all__ = ["PARSE_ERRORS", "DecodeResult", "decode_chunk"]

OTLP_INVALID: Final = "otlp_invalid"
"""Reason of an OTLP chunk that does not decode (replayed from RED, where nothing is checked)."""

PARSE_ERRORS: Final = syslog.PARSE_ERRORS | ndjson.PARSE_ERRORS | {OTLP_INVALID, otlp.INVALID_ID}
"""Every ``gophership.parse_error`` value (and ``error_reasons`` key): a closed set."""


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """The records of one chunk; ``errors`` frames did not parse, by reason."""

    records: list[LogRecordJSON]
    errors: int = 0
    error_reasons: dict[str, int] = field(default_factory=dict)
    resource_logs: list[ResourceLogsJSON] | None = None
    """OTLP chunks only: the request's own resources and scopes, holding ``records``."""


def _raw_body(line: bytes) -> AnyValueJSON:
    try:
        return {"stringValue": line.decode()}
    except UnicodeDecodeError:
        return {"bytesValue": base64.b64encode(line).decode("ascii")}


def _raw_lines(lines: list[bytes], observed: str) -> list[LogRecordJSON]:
    return [
        {"observedTimeUnixNano": observed, "body": _raw_body(line), "attributes": []}
        for line in lines
    ]


def _decode_otlp(codec: Codec, data: bytes, observed_unix_nano: int) -> DecodeResult:
    """An OTLP request's records; one that does not decode is kept whole as a raw body."""
    reasons: dict[str, int] = {}
    try:
        if codec is Codec.OTLP_PROTO:
            resource_logs = otlp.decode_proto(data, observed_unix_nano, reasons)
        else:
            resource_logs = otlp.decode_json(data, observed_unix_nano, reasons)
    except OtlpDecodeError as exc:
        record: LogRecordJSON = {
            "observedTimeUnixNano": str(observed_unix_nano),
            "body": _raw_body(data),
            "attributes": [
                {"key": "gophership.parse_error", "value": {"stringValue": OTLP_INVALID}},
                {"key": "gophership.parse_error_message", "value": {"stringValue": str(exc)}},
            ],
        }
        return DecodeResult([record], 1, {OTLP_INVALID: 1})
    records = [
        record
        for rl in resource_logs
        for sl in rl.get("scopeLogs", ())
        for record in sl.get("logRecords", ())
    ]
    return DecodeResult(records, sum(reasons.values()), reasons, resource_logs)


def decode_chunk(codec: Codec, data: bytes, observed_unix_nano: int) -> DecodeResult:
    """Parse every frame of ``data`` (a chunk as framed for ``codec``) into records."""
    if codec is Codec.OTLP_PROTO or codec is Codec.OTLP_JSON:
        return _decode_otlp(codec, data, observed_unix_nano)
    reasons: dict[str, int] = {}
    if codec is Codec.SYSLOG_LINE or codec is Codec.SYSLOG_OCTET:
        # Whole-chunk syslog fast paths (syslog.py rule 4).
        decode = (
            syslog.decode_line_chunk if codec is Codec.SYSLOG_LINE else syslog.decode_octet_chunk
        )
        records = decode(data, observed_unix_nano, reasons)
        return DecodeResult(records, sum(reasons.values()), reasons)
    frames = split_frames(codec, data)
    if codec is Codec.NDJSON:
        records = ndjson.decode_lines(frames, observed_unix_nano, reasons)
    else:
        records = _raw_lines(frames, str(observed_unix_nano))
    return DecodeResult(records, sum(reasons.values()), reasons)

"""One chunk in, its OTLP/JSON ``LogRecord`` dicts out: the green path's parse step (sans-IO).

Rules:

1. Frames come from :func:`~gophership.protocol.framing.split_frames`: empty lines are
   skipped (the vault keeps them), so ``len(records)`` can be less than ``Chunk.frames``.
2. Every frame gives exactly one record; a frame that does not parse keeps the raw frame as
   its body and carries ``gophership.parse_error`` (a reason from :data:`PARSE_ERRORS`).
3. ``observedTimeUnixNano`` is ``observed_unix_nano`` for every record of the chunk: the time
   the chunk was received (replay passes the original receive time).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from gophership.protocol import ndjson, syslog
from gophership.protocol.framing import split_frames
from gophership.record import Codec

if TYPE_CHECKING:
    from gophership.record import AnyValueJSON, LogRecordJSON

__all__ = ["PARSE_ERRORS", "DecodeResult", "decode_chunk"]

PARSE_ERRORS: Final = syslog.PARSE_ERRORS | ndjson.PARSE_ERRORS
"""Every ``gophership.parse_error`` value (and ``error_reasons`` key): a closed set."""


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """The records of one chunk; ``errors`` frames did not parse, by reason."""

    records: list[LogRecordJSON]
    errors: int = 0
    error_reasons: dict[str, int] = field(default_factory=dict)


def _raw_lines(lines: list[bytes], observed: str) -> list[LogRecordJSON]:
    records: list[LogRecordJSON] = []
    for line in lines:
        try:
            body: AnyValueJSON = {"stringValue": line.decode()}
        except UnicodeDecodeError:
            body = {"bytesValue": base64.b64encode(line).decode("ascii")}
        records.append({"observedTimeUnixNano": observed, "body": body, "attributes": []})
    return records


def decode_chunk(codec: Codec, data: bytes, observed_unix_nano: int) -> DecodeResult:
    """Parse every frame of ``data`` (a chunk as framed for ``codec``) into records."""
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

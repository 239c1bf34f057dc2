"""Byte layouts of the Raw Vault (sans-IO): segment header, record, footer, manifest, cursor.

The spec is ``docs/VAULT_FORMAT.md``; each ``struct.Struct`` below mirrors one of its tables.

Rules:

1. This module never imports ``asyncio``, ``socket``, ``os`` or ``time``: it turns values into
   bytes and bytes into values, nothing else. The vault package does the I/O.
2. Decoders never trust a length before its checksum: a record is returned only when it is
   complete and its CRC32C matches, so a buffer cut at any byte decodes to a prefix of its
   records (:func:`scan_records`).
3. Decoders raise :class:`~gophership.errors.CorruptRecord` or
   :class:`~gophership.errors.CorruptSegment` for bad bytes and return ``None`` when the buffer
   is merely too short.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

import crc32c
import lz4.block

from gophership.errors import CorruptRecord, CorruptSegment

VERSION: Final = 1
"""Format version written in every structure; higher versions are rejected as corrupt."""

SEGMENT_MAGIC: Final = b"GSVS"
FOOTER_MAGIC: Final = b"GSVF"
MANIFEST_MAGIC: Final = b"GSVM"
CURSOR_MAGIC: Final = b"GSVC"

FLAG_LZ4: Final = 0x01
"""Record flag bit0: the payload is one LZ4 block (no frame header, ``raw_len`` known)."""
KNOWN_FLAGS: Final = FLAG_LZ4

MAX_SOURCE_BYTES: Final = 255
"""Longest source name (UTF-8 bytes); it is length-prefixed with a u8."""
MAX_RECORD_BYTES: Final = 2**31 - 1
"""Largest raw payload of one record; the writer refuses larger ones."""

SEGMENT_HEADER: Final = struct.Struct(
    "<4s"  # magic              b"GSVS"
    "H"  # version              u16, VERSION
    "H"  # header_size          u16, 36: records start here
    "Q"  # segment_index        u64, equals the number in the file name
    "Q"  # first_seq            u64, first sequence number this segment will hold
    "Q"  # created_unix_nano    u64, wall clock at creation
    "I"  # header_crc32c        u32, CRC32C of the 32 bytes before it
)

RECORD_HEADER: Final = struct.Struct(
    "<I"  # crc32c              u32, CRC32C of payload ‖ source ‖ header[4:36]
    "I"  # stored_len           u32, payload bytes as stored
    "I"  # raw_len              u32, payload bytes as appended (before LZ4)
    "Q"  # first_seq            u64, seq of the record's first line/frame
    "I"  # lines                u32, lines/frames in the record
    "B"  # flags                u8, bit0 = LZ4 block; other bits must be 0
    "B"  # codec                u8, gophership.record.Codec, opaque here
    "B"  # source_len           u8, bytes of the UTF-8 source name that follows
    "B"  # reserved             u8, 0
    "Q"  # received_unix_nano   u64, arrival time (0 = unknown)
)
_RECORD_TAIL: Final = struct.Struct("<IIQIBBBBQ")  # RECORD_HEADER without its leading crc32c

FOOTER: Final = struct.Struct(
    "<4s"  # magic              b"GSVF"
    "H"  # version              u16, VERSION
    "H"  # reserved             u16, 0
    "I"  # records              u32, records in the segment
    "Q"  # first_seq            u64, first seq of the segment
    "Q"  # lines                u64, lines in the segment
    "Q"  # raw_bytes            u64, sum of raw_len
    "Q"  # stored_bytes         u64, sum of stored_len
    "Q"  # records_end          u64, offset of this footer (file size - 88)
    "32s"  # sha256             SHA-256 of file bytes [0, records_end)
    "I"  # footer_crc32c        u32, CRC32C of the 84 bytes before it
)

MANIFEST_HEADER: Final = struct.Struct(
    "<4s"  # magic              b"GSVM"
    "H"  # version              u16, VERSION
    "H"  # reserved             u16, 0
    "I"  # count                u32, entries that follow
    "Q"  # next_seq             u64, next sequence number when written
    "Q"  # next_index           u64, next segment index (indices are never reused)
    "Q"  # generation           u64, +1 on every write
)
MANIFEST_ENTRY: Final = struct.Struct(
    "<Q"  # segment_index       u64
    "Q"  # first_seq            u64
    "Q"  # lines                u64
    "I"  # records              u32
    "I"  # flags                u32, bit0 MANIFEST_VERIFIED; other bits written 0, ignored
    "Q"  # raw_bytes            u64
    "Q"  # stored_bytes         u64
    "Q"  # size_bytes           u64, file size including the footer
    "Q"  # created_unix_nano    u64
    "32s"  # sha256             copy of the footer's
)
MANIFEST_VERIFIED: Final = 1
"""Entry flag: the segment's SHA-256 was read back from disk and checked (by a scrub or reader)."""
CRC_TRAILER: Final = struct.Struct(
    "<I"  # crc32c              u32, CRC32C of every byte before it
)

CURSOR: Final = struct.Struct(
    "<4s"  # magic              b"GSVC"
    "H"  # version              u16, VERSION
    "H"  # reserved             u16, 0
    "Q"  # segment_index        u64, segment of the next record to replay
    "Q"  # offset               u64, offset of that record in the segment
    "Q"  # next_seq             u64, first_seq of that record
    "Q"  # records_done         u64, records of that segment already replayed
    "Q"  # raw_done             u64, raw bytes of that segment already replayed
    "I"  # crc32c               u32, CRC32C of the 48 bytes before it
)


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    """The first 36 bytes of a segment file."""

    segment_index: int
    first_seq: int
    created_unix_nano: int


@dataclass(frozen=True, slots=True)
class PreparedPayload:
    """A payload made ready for storage, before it has a sequence number.

    The writer builds it outside the vault lock: compression and the payload CRC are the
    expensive part of an append.
    """

    stored: bytes
    raw_len: int
    flags: int
    payload_crc: int


@dataclass(frozen=True, slots=True)
class RecordHeader:
    """A record header whose CRC was not yet checked (the body follows it)."""

    crc: int
    stored_len: int
    raw_len: int
    first_seq: int
    lines: int
    flags: int
    codec: int
    source_len: int
    received_unix_nano: int

    @property
    def body_len(self) -> int:
        """Bytes after the header: the source name and the stored payload."""
        return self.source_len + self.stored_len


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    """One record read back: ``payload`` is exactly the bytes that were appended."""

    first_seq: int
    lines: int
    codec: int
    flags: int
    source: str
    received_unix_nano: int
    payload: bytes
    stored_len: int
    size: int
    """Bytes the record takes in the segment (header + source + stored payload)."""


@dataclass(frozen=True, slots=True)
class Footer:
    """The 88-byte trailer of a sealed segment."""

    records: int
    first_seq: int
    lines: int
    raw_bytes: int
    stored_bytes: int
    records_end: int
    sha256: bytes


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One sealed segment as the manifest lists it.

    ``verified``: its SHA-256 was once read back from disk and matched (a writable open's
    scrub skips it); stored as flag bit0, so a manifest without it reads as unverified.
    """

    segment_index: int
    first_seq: int
    lines: int
    records: int
    raw_bytes: int
    stored_bytes: int
    size_bytes: int
    created_unix_nano: int
    sha256: bytes
    verified: bool = False


@dataclass(frozen=True, slots=True)
class Manifest:
    """The sealed segments of a vault, ascending by index."""

    next_seq: int
    next_index: int
    generation: int
    entries: tuple[ManifestEntry, ...]


@dataclass(frozen=True, slots=True)
class Cursor:
    """A reader's replay position: the next record to yield."""

    segment_index: int
    offset: int
    next_seq: int
    records_done: int = 0
    raw_done: int = 0


class ScanStop(enum.Enum):
    """Why :func:`scan_records` stopped."""

    END = "end"
    """The buffer ended exactly after a record."""
    TORN = "torn"
    """The buffer ends inside a record (a torn tail when it is the end of the file)."""
    CORRUPT = "corrupt"
    """A complete record failed its CRC or structure check."""


def encode_segment_header(header: SegmentHeader) -> bytes:
    """Encode the 36-byte segment header."""
    head = SEGMENT_HEADER.pack(
        SEGMENT_MAGIC,
        VERSION,
        SEGMENT_HEADER.size,
        header.segment_index,
        header.first_seq,
        header.created_unix_nano,
        0,
    )[:-4]
    return head + CRC_TRAILER.pack(crc32c.crc32c(head))


def decode_segment_header(data: bytes | memoryview) -> SegmentHeader | None:
    """Decode a segment header; ``None`` when fewer than 36 bytes are given.

    Raises:
        CorruptSegment: bad magic, version, size or CRC.
    """
    if len(data) < SEGMENT_HEADER.size:
        return None
    magic, version, size, index, first_seq, created, crc = SEGMENT_HEADER.unpack_from(data)
    if magic != SEGMENT_MAGIC or version != VERSION or size != SEGMENT_HEADER.size:
        raise CorruptSegment("bad segment header magic, version or size")
    if crc32c.crc32c(bytes(data[: SEGMENT_HEADER.size - 4])) != crc:
        raise CorruptSegment("segment header CRC mismatch")
    return SegmentHeader(index, first_seq, created)


def prepare_payload(payload: bytes | bytearray | memoryview, *, compress: bool) -> PreparedPayload:
    """Compress (when it shrinks) and checksum a payload; the CPU-heavy half of an append.

    Raises:
        ValueError: the payload is longer than ``MAX_RECORD_BYTES``.
    """
    raw_len = len(payload)
    if raw_len > MAX_RECORD_BYTES:
        raise ValueError(f"payload of {raw_len} bytes exceeds {MAX_RECORD_BYTES}")
    if compress and raw_len:
        packed: bytes = lz4.block.compress(payload, store_size=False)
        if len(packed) < raw_len:
            return PreparedPayload(packed, raw_len, FLAG_LZ4, crc32c.crc32c(packed))
    stored = payload if isinstance(payload, bytes) else bytes(payload)
    return PreparedPayload(stored, raw_len, 0, crc32c.crc32c(stored))


def encode_record_header(
    prepared: PreparedPayload,
    source: bytes,
    *,
    first_seq: int,
    lines: int,
    codec: int,
    received_unix_nano: int,
) -> bytes:
    """Encode a record header; the record is ``header + source + prepared.stored``.

    Raises:
        ValueError: ``source`` is longer than 255 bytes or a field does not fit its width.
    """
    if len(source) > MAX_SOURCE_BYTES:
        raise ValueError(f"source name of {len(source)} bytes exceeds {MAX_SOURCE_BYTES}")
    try:
        tail = _RECORD_TAIL.pack(
            len(prepared.stored),
            prepared.raw_len,
            first_seq,
            lines,
            prepared.flags,
            codec,
            len(source),
            0,
            received_unix_nano,
        )
    except struct.error as exc:
        raise ValueError(f"record field out of range: {exc}") from exc
    crc = crc32c.crc32c(tail, crc32c.crc32c(source, prepared.payload_crc))
    return CRC_TRAILER.pack(crc) + tail


def encode_record(
    payload: bytes,
    *,
    first_seq: int,
    lines: int,
    codec: int = 0,
    source: str = "",
    received_unix_nano: int = 0,
    compress: bool = True,
) -> bytes:
    """Encode one whole record (convenience for tests and tools)."""
    prepared = prepare_payload(payload, compress=compress)
    src = source.encode()
    header = encode_record_header(
        prepared,
        src,
        first_seq=first_seq,
        lines=lines,
        codec=codec,
        received_unix_nano=received_unix_nano,
    )
    return header + src + prepared.stored


def decode_record_header(data: bytes | memoryview, offset: int = 0) -> RecordHeader | None:
    """Decode a record header at ``offset``; ``None`` when the buffer ends before 36 bytes.

    The CRC is not checked here (it needs the body): call :func:`decode_record_body`.

    Raises:
        CorruptRecord: unknown flags, a non-zero reserved byte or impossible lengths.
    """
    if len(data) - offset < RECORD_HEADER.size:
        return None
    crc, stored, raw, seq, lines, flags, codec, slen, reserved, received = (
        RECORD_HEADER.unpack_from(data, offset)
    )
    if flags & ~KNOWN_FLAGS or reserved:
        raise CorruptRecord("unknown record flags or reserved byte set")
    if raw > MAX_RECORD_BYTES or (not flags & FLAG_LZ4 and stored != raw):
        raise CorruptRecord("impossible record lengths")
    return RecordHeader(crc, stored, raw, seq, lines, flags, codec, slen, received)


def decode_record_body(
    header: RecordHeader, header_bytes: bytes | memoryview, body: bytes | memoryview
) -> DecodedRecord:
    """Check a record's CRC and decode its body (``source ‖ stored payload``).

    Args:
        header: from :func:`decode_record_header`.
        header_bytes: the 36 raw header bytes (the CRC covers bytes 4..36).
        body: exactly ``header.body_len`` bytes.

    Raises:
        CorruptRecord: CRC mismatch, a bad source name or a payload that does not decompress
            to ``raw_len`` bytes.
    """
    assert len(body) == header.body_len
    check_record_body(header, header_bytes, body)
    stored = body[header.source_len :]
    source = body[: header.source_len]
    try:
        name = bytes(source).decode()
    except UnicodeDecodeError as exc:
        raise CorruptRecord("source name is not UTF-8") from exc
    if header.flags & FLAG_LZ4:
        try:
            payload: bytes = lz4.block.decompress(stored, uncompressed_size=header.raw_len)
        except lz4.block.LZ4BlockError as exc:
            raise CorruptRecord("LZ4 payload does not decompress") from exc
        if len(payload) != header.raw_len:
            raise CorruptRecord("LZ4 payload has the wrong length")
    else:
        payload = bytes(stored)
    return DecodedRecord(
        first_seq=header.first_seq,
        lines=header.lines,
        codec=header.codec,
        flags=header.flags,
        source=name,
        received_unix_nano=header.received_unix_nano,
        payload=payload,
        stored_len=header.stored_len,
        size=RECORD_HEADER.size + header.body_len,
    )


def check_record_body(
    header: RecordHeader, header_bytes: bytes | memoryview, body: bytes | memoryview
) -> None:
    """Check a record's CRC without decompressing it (recovery scans use this).

    Raises:
        CorruptRecord: CRC mismatch.
    """
    stored = body[header.source_len :]
    source = body[: header.source_len]
    crc = crc32c.crc32c(
        header_bytes[4 : RECORD_HEADER.size], crc32c.crc32c(source, crc32c.crc32c(stored))
    )
    if crc != header.crc:
        raise CorruptRecord("record CRC32C mismatch")


def decode_record(data: bytes | memoryview, offset: int = 0) -> DecodedRecord | None:
    """Decode the record at ``offset``; ``None`` when the buffer ends inside it.

    Raises:
        CorruptRecord: the record is complete but fails a check.
    """
    header = decode_record_header(data, offset)
    if header is None:
        return None
    start = offset + RECORD_HEADER.size
    end = start + header.body_len
    if end > len(data):
        return None
    view = memoryview(data)
    return decode_record_body(header, view[offset:start], view[start:end])


def scan_records(
    data: bytes | memoryview, offset: int = 0
) -> tuple[list[DecodedRecord], int, ScanStop]:
    """Decode records from ``offset`` until the buffer ends or a record is bad.

    Returns:
        The records, the offset just past the last good one, and why the scan stopped. A
        buffer cut at any byte yields a prefix of the records of the uncut buffer.
    """
    records: list[DecodedRecord] = []
    while offset < len(data):
        try:
            record = decode_record(data, offset)
        except CorruptRecord:
            return records, offset, ScanStop.CORRUPT
        if record is None:
            return records, offset, ScanStop.TORN
        records.append(record)
        offset += record.size
    return records, offset, ScanStop.END


def encode_footer(footer: Footer) -> bytes:
    """Encode the 88-byte footer of a sealed segment."""
    head = FOOTER.pack(
        FOOTER_MAGIC,
        VERSION,
        0,
        footer.records,
        footer.first_seq,
        footer.lines,
        footer.raw_bytes,
        footer.stored_bytes,
        footer.records_end,
        footer.sha256,
        0,
    )[:-4]
    return head + CRC_TRAILER.pack(crc32c.crc32c(head))


def decode_footer(data: bytes | memoryview) -> Footer:
    """Decode a footer from exactly 88 bytes.

    Raises:
        CorruptSegment: bad length, magic, version or CRC.
    """
    if len(data) != FOOTER.size:
        raise CorruptSegment("footer has the wrong size")
    magic, version, reserved, records, seq, lines, raw, stored, end, sha, crc = FOOTER.unpack(data)
    if magic != FOOTER_MAGIC or version != VERSION or reserved:
        raise CorruptSegment("bad footer magic or version")
    if crc32c.crc32c(bytes(data[: FOOTER.size - 4])) != crc:
        raise CorruptSegment("footer CRC mismatch")
    return Footer(records, seq, lines, raw, stored, end, sha)


def encode_manifest(manifest: Manifest) -> bytes:
    """Encode the MANIFEST file."""
    parts = [
        MANIFEST_HEADER.pack(
            MANIFEST_MAGIC,
            VERSION,
            0,
            len(manifest.entries),
            manifest.next_seq,
            manifest.next_index,
            manifest.generation,
        )
    ]
    parts.extend(
        MANIFEST_ENTRY.pack(
            e.segment_index,
            e.first_seq,
            e.lines,
            e.records,
            MANIFEST_VERIFIED if e.verified else 0,
            e.raw_bytes,
            e.stored_bytes,
            e.size_bytes,
            e.created_unix_nano,
            e.sha256,
        )
        for e in manifest.entries
    )
    body = b"".join(parts)
    return body + CRC_TRAILER.pack(crc32c.crc32c(body))


def decode_manifest(data: bytes) -> Manifest:
    """Decode the MANIFEST file.

    Raises:
        CorruptSegment: bad magic, version, length or CRC (the caller rebuilds from footers).
    """
    if len(data) < MANIFEST_HEADER.size + CRC_TRAILER.size:
        raise CorruptSegment("manifest too short")
    magic, version, _reserved, count, next_seq, next_index, generation = (
        MANIFEST_HEADER.unpack_from(data)
    )
    if magic != MANIFEST_MAGIC or version != VERSION:
        raise CorruptSegment("bad manifest magic or version")
    if len(data) != MANIFEST_HEADER.size + count * MANIFEST_ENTRY.size + CRC_TRAILER.size:
        raise CorruptSegment("manifest length does not match its count")
    (crc,) = CRC_TRAILER.unpack_from(data, len(data) - CRC_TRAILER.size)
    if crc32c.crc32c(data[: -CRC_TRAILER.size]) != crc:
        raise CorruptSegment("manifest CRC mismatch")
    entries = []
    for i in range(count):
        idx, seq, lines, records, flags, raw, stored, size, created, sha = (
            MANIFEST_ENTRY.unpack_from(data, MANIFEST_HEADER.size + i * MANIFEST_ENTRY.size)
        )
        entries.append(
            ManifestEntry(
                idx,
                seq,
                lines,
                records,
                raw,
                stored,
                size,
                created,
                sha,
                verified=bool(flags & MANIFEST_VERIFIED),
            )
        )
    return Manifest(next_seq, next_index, generation, tuple(entries))


def encode_cursor(cursor: Cursor) -> bytes:
    """Encode a cursor file."""
    head = CURSOR.pack(
        CURSOR_MAGIC,
        VERSION,
        0,
        cursor.segment_index,
        cursor.offset,
        cursor.next_seq,
        cursor.records_done,
        cursor.raw_done,
        0,
    )[:-4]
    return head + CRC_TRAILER.pack(crc32c.crc32c(head))


def decode_cursor(data: bytes) -> Cursor:
    """Decode a cursor file.

    Raises:
        CorruptSegment: bad length, magic, version or CRC (the caller restarts from the oldest
            segment: replay may repeat, but never skips).
    """
    if len(data) != CURSOR.size:
        raise CorruptSegment("cursor has the wrong size")
    magic, version, _r, index, offset, seq, done, raw_done, crc = CURSOR.unpack(data)
    if magic != CURSOR_MAGIC or version != VERSION:
        raise CorruptSegment("bad cursor magic or version")
    if crc32c.crc32c(data[: CURSOR.size - 4]) != crc:
        raise CorruptSegment("cursor CRC mismatch")
    return Cursor(index, offset, seq, done, raw_done)

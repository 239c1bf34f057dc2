"""Unit tests of the sans-IO vault codec (docs/VAULT_FORMAT.md)."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import crc32c
import pytest

import gophership.protocol.vault_codec as vc
from gophership.errors import CorruptRecord, CorruptSegment


def _records() -> list[bytes]:
    return [
        vc.encode_record(b"a\n", first_seq=0, lines=1, codec=4, source="s1", received_unix_nano=7),
        vc.encode_record(b"x" * 5000 + b"\n", first_seq=1, lines=1, codec=1),
        vc.encode_record(b"", first_seq=2, lines=0),
        vc.encode_record(bytes(range(256)), first_seq=2, lines=3, compress=False, source="é"),
    ]


def test_struct_sizes_match_the_spec() -> None:
    assert vc.SEGMENT_HEADER.size == 36
    assert vc.RECORD_HEADER.size == 36
    assert vc.FOOTER.size == 88
    assert vc.MANIFEST_HEADER.size == 36
    assert vc.MANIFEST_ENTRY.size == 96
    assert vc.CURSOR.size == 52


def test_module_is_sans_io() -> None:
    tree = ast.parse(Path(vc.__file__).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"asyncio", "socket", "os", "time"}


def test_segment_header_round_trip_and_checks() -> None:
    header = vc.SegmentHeader(segment_index=12, first_seq=99, created_unix_nano=123)
    data = vc.encode_segment_header(header)
    assert data[:4] == b"GSVS"
    assert vc.decode_segment_header(data) == header
    assert vc.decode_segment_header(data[:35]) is None
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises(CorruptSegment):
            vc.decode_segment_header(bytes(bad))


def test_record_round_trip_fields() -> None:
    payload = b"2024-01-01 host app[1]: hello world\n" * 100
    data = vc.encode_record(
        payload, first_seq=5, lines=100, codec=2, source="tcp:514", received_unix_nano=2**63
    )
    rec = vc.decode_record(data)
    assert rec is not None
    assert rec.payload == payload
    assert (rec.first_seq, rec.lines, rec.codec, rec.source) == (5, 100, 2, "tcp:514")
    assert rec.received_unix_nano == 2**63
    assert rec.flags & vc.FLAG_LZ4
    assert rec.size == len(data)
    assert rec.stored_len < len(payload)


def test_incompressible_payload_is_stored_raw() -> None:
    payload = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(8))
    prepared = vc.prepare_payload(payload, compress=True)
    assert prepared.flags == 0
    assert prepared.stored == payload
    assert vc.prepare_payload(b"a" * 100, compress=False).flags == 0


def test_record_byte_by_byte_is_none_until_complete() -> None:
    data = _records()[0]
    for cut in range(len(data)):
        assert vc.decode_record(data[:cut]) is None
    assert vc.decode_record(data) is not None


def test_every_flipped_byte_in_a_record_is_detected() -> None:
    for data in _records():
        for i in range(len(data)):
            bad = bytearray(data)
            bad[i] ^= 0x40
            try:
                rec = vc.decode_record(bytes(bad))
            except CorruptRecord:
                continue
            # A flipped length can only make the record look incomplete, never valid.
            assert rec is None


def test_scan_records_whole_trailing_and_corrupt() -> None:
    blob = b"".join(_records())
    recs, end, stop = vc.scan_records(blob)
    assert [r.first_seq for r in recs] == [0, 1, 2, 2]
    assert (end, stop) == (len(blob), vc.ScanStop.END)
    recs, end, stop = vc.scan_records(blob + b"\x01\x02")
    assert (len(recs), end, stop) == (4, len(blob), vc.ScanStop.TORN)
    bad = bytearray(blob)
    bad[len(_records()[0]) + 40] ^= 0xFF
    recs, end, stop = vc.scan_records(bytes(bad))
    assert (len(recs), end, stop) == (1, len(_records()[0]), vc.ScanStop.CORRUPT)


def test_unknown_flag_or_reserved_is_corrupt() -> None:
    data = bytearray(_records()[0])
    data[24] |= 0x80
    with pytest.raises(CorruptRecord):
        vc.decode_record(bytes(data))
    data = bytearray(_records()[0])
    data[27] = 1
    with pytest.raises(CorruptRecord):
        vc.decode_record(bytes(data))


def test_encode_refuses_out_of_range() -> None:
    prepared = vc.prepare_payload(b"x", compress=True)
    with pytest.raises(ValueError, match="source"):
        vc.encode_record_header(
            prepared, b"s" * 256, first_seq=0, lines=1, codec=0, received_unix_nano=0
        )
    with pytest.raises(ValueError, match="range"):
        vc.encode_record_header(prepared, b"", first_seq=-1, lines=1, codec=0, received_unix_nano=0)


def test_footer_round_trip_and_every_byte_checked() -> None:
    footer = vc.Footer(3, 10, 30, 3000, 900, 1000, hashlib.sha256(b"seg").digest())
    data = vc.encode_footer(footer)
    assert vc.decode_footer(data) == footer
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x10
        with pytest.raises(CorruptSegment):
            vc.decode_footer(bytes(bad))
    with pytest.raises(CorruptSegment):
        vc.decode_footer(data[:-1])


def test_manifest_round_trip_and_checks() -> None:
    entries = tuple(
        vc.ManifestEntry(i, i * 10, 10, 2, 500, 200, 424, 1700, hashlib.sha256(bytes([i])).digest())
        for i in range(1, 4)
    )
    manifest = vc.Manifest(next_seq=40, next_index=5, generation=9, entries=entries)
    data = vc.encode_manifest(manifest)
    assert vc.decode_manifest(data) == manifest
    assert vc.decode_manifest(vc.encode_manifest(vc.Manifest(0, 1, 0, ()))).entries == ()
    for cut in (0, 10, len(data) - 1):
        with pytest.raises(CorruptSegment):
            vc.decode_manifest(data[:cut])
    bad = bytearray(data)
    bad[50] ^= 1
    with pytest.raises(CorruptSegment):
        vc.decode_manifest(bytes(bad))
    with pytest.raises(CorruptSegment):
        vc.decode_manifest(b"XXXX" + data[4:])


def test_manifest_verified_flag_round_trips_and_ignores_unknown_bits() -> None:
    sha = hashlib.sha256(b"x").digest()
    entries = (
        vc.ManifestEntry(1, 0, 10, 2, 500, 200, 424, 1700, sha, verified=True),
        vc.ManifestEntry(2, 10, 10, 2, 500, 200, 424, 1700, sha),
    )
    data = vc.encode_manifest(vc.Manifest(20, 3, 1, entries))
    assert [e.verified for e in vc.decode_manifest(data).entries] == [True, False]
    flags_at = vc.MANIFEST_HEADER.size + 28  # the entry's former reserved u32
    assert data[flags_at : flags_at + 4] == b"\x01\x00\x00\x00"
    # Bits 1..31 are reserved: a future writer may set them, this version ignores them.
    body = bytearray(data[: -vc.CRC_TRAILER.size])
    body[flags_at + vc.MANIFEST_ENTRY.size] = 0xFE
    patched = bytes(body) + vc.CRC_TRAILER.pack(crc32c.crc32c(bytes(body)))
    assert [e.verified for e in vc.decode_manifest(patched).entries] == [True, False]


def test_cursor_round_trip_and_checks() -> None:
    cursor = vc.Cursor(segment_index=3, offset=4096, next_seq=77, records_done=5, raw_done=999)
    data = vc.encode_cursor(cursor)
    assert vc.decode_cursor(data) == cursor
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x02
        with pytest.raises(CorruptSegment):
            vc.decode_cursor(bytes(bad))
    with pytest.raises(CorruptSegment):
        vc.decode_cursor(data + b"\x00")


def test_payload_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vc, "MAX_RECORD_BYTES", 10)
    with pytest.raises(ValueError, match="exceeds"):
        vc.prepare_payload(b"x" * 11, compress=True)


def test_bad_lz4_payload_is_corrupt_record() -> None:
    src = b""
    stored = b"\xff" * 20
    prepared = vc.PreparedPayload(stored, 100, vc.FLAG_LZ4, crc32c.crc32c(stored))
    header = vc.encode_record_header(
        prepared, src, first_seq=0, lines=1, codec=0, received_unix_nano=0
    )
    with pytest.raises(CorruptRecord, match="LZ4"):
        vc.decode_record(header + stored)

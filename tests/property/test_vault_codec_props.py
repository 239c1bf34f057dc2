"""Property tests of the vault codec: round trips, and cuts that yield prefixes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gophership.protocol import vault_codec as vc

payloads = st.one_of(
    st.binary(max_size=2000),
    st.lists(st.sampled_from([b"GET /", b"200 ", b"error ", b"\n", b"user=42 "]), max_size=300).map(
        b"".join
    ),
)
records = st.fixed_dictionaries(
    {
        "payload": payloads,
        "lines": st.integers(0, 2**32 - 1),
        "codec": st.integers(0, 255),
        "source": st.text(max_size=60).filter(lambda s: len(s.encode()) <= 255),
        "received_unix_nano": st.integers(0, 2**64 - 1),
        "compress": st.booleans(),
    }
)


@settings(max_examples=150, deadline=None)
@given(records, st.integers(0, 2**63))
def test_decode_encode_record_is_identity(fields: dict[str, object], seq: int) -> None:
    data = vc.encode_record(first_seq=seq, **fields)  # type: ignore[arg-type]  # strategy dict
    rec = vc.decode_record(data)
    assert rec is not None
    assert rec.payload == fields["payload"]
    assert (rec.first_seq, rec.lines, rec.codec) == (seq, fields["lines"], fields["codec"])
    assert (rec.source, rec.received_unix_nano) == (fields["source"], fields["received_unix_nano"])
    assert rec.size == len(data)


@settings(max_examples=150, deadline=None)
@given(st.lists(records, max_size=8), st.data())
def test_a_segment_cut_at_any_byte_yields_a_prefix_of_its_records(
    items: list[dict[str, object]], data: st.DataObject
) -> None:
    blobs = [
        vc.encode_record(first_seq=seq, **fields)  # type: ignore[arg-type]  # strategy dict
        for seq, fields in enumerate(items)
    ]
    header = vc.encode_segment_header(vc.SegmentHeader(1, 0, 0))
    segment = header + b"".join(blobs)
    cut = data.draw(st.integers(0, len(segment)))
    piece = segment[:cut]
    if cut < len(header):
        assert vc.decode_segment_header(piece) is None
        return
    got, end, stop = vc.scan_records(piece, len(header))
    assert [r.payload for r in got] == [f["payload"] for f in items[: len(got)]]
    assert end == len(header) + sum(len(b) for b in blobs[: len(got)])
    assert stop is (vc.ScanStop.END if end == cut else vc.ScanStop.TORN)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**64 - 1),
            st.integers(0, 2**32 - 1),
            st.binary(min_size=32, max_size=32),
        ),
        max_size=20,
    ),
    st.integers(0, 2**64 - 1),
)
def test_manifest_and_cursor_round_trip(rows: list[tuple[int, int, bytes]], next_seq: int) -> None:
    entries = tuple(
        vc.ManifestEntry(i, a, a, b, a, a, a, a, sha) for i, (a, b, sha) in enumerate(rows)
    )
    manifest = vc.Manifest(next_seq, len(rows) + 1, next_seq, entries)
    assert vc.decode_manifest(vc.encode_manifest(manifest)) == manifest
    cursor = vc.Cursor(len(rows), next_seq, next_seq, len(rows), next_seq)
    assert vc.decode_cursor(vc.encode_cursor(cursor)) == cursor


@settings(max_examples=100, deadline=None)
@given(records, st.data())
def test_any_single_byte_flip_is_never_decoded_as_valid(
    fields: dict[str, object], data: st.DataObject
) -> None:
    blob = bytearray(vc.encode_record(first_seq=7, **fields))  # type: ignore[arg-type]  # strategy dict
    pos = data.draw(st.integers(0, len(blob) - 1))
    blob[pos] ^= data.draw(st.integers(1, 255))
    got, _end, _stop = vc.scan_records(bytes(blob))
    assert got == []

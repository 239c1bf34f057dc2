from __future__ import annotations

import pytest

from gophership.errors import ClosedResourceError
from gophership.protocol.framing import (
    Chunk,
    FramerStatistics,
    LineFramer,
    OctetCountFramer,
    SyslogStreamFramer,
    split_frames,
)
from gophership.record import Codec

Framer = LineFramer | OctetCountFramer | SyslogStreamFramer


def run(framer: Framer, pieces: list[bytes], *, view: bool = False) -> list[Chunk]:
    out: list[Chunk] = []
    for p in pieces:
        out += framer.feed(memoryview(bytearray(p)) if view else p)
    out += framer.close()
    return out


def data_of(chunks: list[Chunk]) -> bytes:
    return b"".join(c.data for c in chunks)


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# --- LineFramer -------------------------------------------------------------------------------


@pytest.mark.parametrize("view", [False, True])
def test_line_whole_and_tail(view: bool) -> None:
    f = LineFramer(100)
    chunks = f.feed(memoryview(bytearray(b"a\nbb\ncc")) if view else b"a\nbb\ncc")
    assert chunks == [Chunk(b"a\nbb\n", 2)]
    assert f.feed(b"c\n") == [Chunk(b"ccc\n", 1)]
    assert f.feed(b"") == []
    assert f.close() == []
    assert f.statistics() == FramerStatistics(3, 9, 0, 0, 0)


def test_line_bytewise_equals_whole() -> None:
    data = b"one\ntwo\r\n\nthree\nfour"
    whole = run(LineFramer(100), [data])
    pieces = run(LineFramer(100), bytewise(data))
    assert data_of(whole) == data_of(pieces) == data
    assert sum(c.frames for c in whole) == sum(c.frames for c in pieces) == 5


def test_line_close_flushes_partial_frame_as_is() -> None:
    f = LineFramer(100)
    assert f.feed(b"x\ny") == [Chunk(b"x\n", 1)]
    assert f.close() == [Chunk(b"y", 1)]
    assert f.close() == []
    with pytest.raises(ClosedResourceError):
        f.feed(b"z")


def test_line_buffer_reuse_is_safe() -> None:
    buf = bytearray(b"abc\ndef")
    f = LineFramer(100)
    chunks = f.feed(memoryview(buf))
    buf[:] = b"XXXXXXX"
    assert chunks == [Chunk(b"abc\n", 1)]
    assert f.close() == [Chunk(b"def", 1)]


def test_line_oversized_tail_discarded_until_delimiter() -> None:
    f = LineFramer(5)
    assert f.feed(b"ok\n123456") == [Chunk(b"ok\n", 1)]
    assert f.feed(b"789") == []
    assert f.feed(b"0\nnext\n") == [Chunk(b"next\n", 1)]
    s = f.statistics()
    assert (s.dropped_frames, s.dropped_bytes, s.frames) == (1, 11, 2)


def test_line_oversized_tail_then_eof() -> None:
    f = LineFramer(3)
    assert f.feed(b"abcdef") == []
    assert f.close() == []
    assert f.statistics().dropped_frames == 1


def test_line_oversized_complete_frames_cut_from_chunk() -> None:
    f = LineFramer(4)
    data = b"a\n" + b"x" * 9 + b"\nbb\n" + b"y" * 5 + b"\n" + b"cccc\n"
    assert f.feed(data) == [Chunk(b"a\nbb\ncccc\n", 3)]
    s = f.statistics()
    assert (s.dropped_frames, s.dropped_bytes) == (2, 16)


def test_line_frame_of_exactly_max_is_kept() -> None:
    f = LineFramer(4)
    assert f.feed(b"1234\n1234\n") == [Chunk(b"1234\n1234\n", 2)]
    assert f.feed(b"1234") == []
    assert f.close() == [Chunk(b"1234", 1)]


def test_line_only_oversized_frames_give_no_chunk() -> None:
    f = LineFramer(2)
    assert f.feed(b"abcdef\n") == []
    assert f.statistics().dropped_frames == 1


def test_line_nul_delimiter() -> None:
    f = LineFramer(100, nul_delimiter=True)
    assert f.feed(b"<12>a\x00<14>b\x00<1") == [Chunk(b"<12>a\x00<14>b\x00", 2)]
    assert f.feed(b"5>c\nd") == [Chunk(b"<15>c\n", 1)]
    assert f.close() == [Chunk(b"d", 1)]


def test_line_nul_not_a_delimiter_by_default() -> None:
    f = LineFramer(100)
    assert f.feed(b"a\x00b\n") == [Chunk(b"a\x00b\n", 1)]


def test_line_nul_discarding_ends_at_nul() -> None:
    f = LineFramer(2, nul_delimiter=True)
    assert f.feed(memoryview(bytearray(b"abcd"))) == []
    assert f.feed(memoryview(bytearray(b"e\x00f\n"))) == [Chunk(b"f\n", 1)]
    assert f.statistics().dropped_bytes == 6


def test_line_memoryview_far_delimiter() -> None:
    data = b"a" * 5000 + b"\n" + b"b" * 3000
    f = LineFramer(10_000)
    assert f.feed(memoryview(bytearray(data))) == [Chunk(data[:5001], 1)]
    assert f.close() == [Chunk(b"b" * 3000, 1)]


def test_line_rejects_bad_limit() -> None:
    with pytest.raises(ValueError, match="max_frame_bytes"):
        LineFramer(0)


# --- OctetCountFramer -------------------------------------------------------------------------


def test_octet_three_frames_bytewise() -> None:
    data = b"5 <1>1a3 <2>1 x"
    whole = run(OctetCountFramer(100), [data])
    assert whole == [Chunk(data, 3)]
    pieces = run(OctetCountFramer(100), bytewise(data), view=True)
    assert data_of(pieces) == data
    assert sum(c.frames for c in pieces) == 3


def test_octet_counts_bytes_not_chars() -> None:
    data = "23 <1>1 - - - - - - hellø".encode()
    assert run(OctetCountFramer(100), [data]) == [Chunk(data, 1)]


def test_octet_truncated_frame_at_eof_is_an_error() -> None:
    f = OctetCountFramer(100)
    assert run(f, [b"16 <1>1"]) == []
    s = f.statistics()
    assert (s.errors, s.dropped_bytes, s.frames) == (1, 7, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"16<1>1",
        b"1",
        b"0 x",
        b"01 <",
        b"x\n",
        b"1234567890 <1>",
        b" 1 x",
        b"1_0 abcdefghij",
        b"1\t x",
        b"+1 x",
    ],
)
def test_octet_bad_or_truncated_prefix(raw: bytes) -> None:
    f = OctetCountFramer(100)
    assert run(f, [raw]) == []
    assert f.statistics().errors == 1


def test_octet_garbage_after_frame_keeps_first_frame() -> None:
    f = OctetCountFramer(100)
    assert f.feed(b"16 <1>1 - - - - - -xaaa") == [Chunk(b"16 <1>1 - - - - - -", 1)]
    assert f.feed(b"bbb") == []
    assert f.feed(b"b\n3 abc") == [Chunk(b"3 abc", 1)]
    s = f.statistics()
    assert (s.errors, s.dropped_bytes, s.frames) == (1, 9, 2)


def test_octet_resync_within_one_feed() -> None:
    f = OctetCountFramer(100)
    assert f.feed(b"1 a?bad\n1 b") == [Chunk(b"1 a1 b", 2)]
    assert f.statistics().errors == 1


def test_octet_oversized_frame_skipped_exactly() -> None:
    f = OctetCountFramer(4)
    assert f.feed(b"1 a10 0123") == [Chunk(b"1 a", 1)]
    assert f.feed(b"45") == []
    assert f.feed(b"6789") == []
    assert f.feed(b"2 bc") == [Chunk(b"2 bc", 1)]
    s = f.statistics()
    assert (s.dropped_frames, s.dropped_bytes, s.errors) == (1, 13, 0)


def test_octet_oversized_frame_inside_one_feed() -> None:
    f = OctetCountFramer(4)
    assert f.feed(b"1 a6 abcdef1 b") == [Chunk(b"1 a1 b", 2)]
    assert f.statistics().dropped_frames == 1


def test_octet_lf_inside_count_kept() -> None:
    data = b"6 <1>x\n\n"
    f = OctetCountFramer(100)
    assert f.feed(data[:7]) == []
    assert f.feed(data[7:]) == [Chunk(b"6 <1>x\n\n", 1)]


def test_octet_stray_lf_between_frames_is_an_error_but_frames_survive() -> None:
    f = OctetCountFramer(100)
    assert run(f, [b"1 a\n1 b\n"]) == [Chunk(b"1 a1 b", 2)]
    assert f.statistics().errors == 2


def test_octet_partial_frame_accumulates_without_rescan() -> None:
    f = OctetCountFramer(1000)
    assert f.feed(b"500 ") == []
    for _ in range(49):
        assert f.feed(b"x" * 10) == []
    assert f.feed(b"x" * 10 + b"1 y") == [Chunk(b"500 " + b"x" * 500 + b"1 y", 2)]


def test_octet_close_twice_and_feed_after_close() -> None:
    f = OctetCountFramer(10)
    assert f.close() == []
    assert f.close() == []
    with pytest.raises(ClosedResourceError):
        f.feed(b"1 a")
    with pytest.raises(ValueError, match="max_frame_bytes"):
        OctetCountFramer(0)


# --- SyslogStreamFramer -----------------------------------------------------------------------


def codec_of(f: SyslogStreamFramer) -> Codec | None:
    return f.codec  # a call, so mypy does not keep the narrowing across feed()


def test_detect_octet() -> None:
    f = SyslogStreamFramer(100)
    assert f.codec is None
    assert f.statistics() == FramerStatistics(0, 0, 0, 0, 0)
    assert f.feed(b"1") == []
    assert f.feed(b"0 ") == []
    assert codec_of(f) is None
    assert f.feed(b"<1>1 - - -") == [Chunk(b"10 <1>1 - - -", 1)]
    assert codec_of(f) is Codec.SYSLOG_OCTET
    assert f.feed(b"3 <1") == []
    assert f.close() == []
    assert f.statistics() == FramerStatistics(1, 13, 0, 4, 1)


@pytest.mark.parametrize(
    "head",
    [
        b"<13>hi\n",
        b"081109 203615 x\n",
        b"2015-10-18 x\n",
        b"12 apples\n",
        b"0 <1>\n",
        b"1234567890 <1>\n",
        b"12x\n",
    ],
)
def test_detect_line(head: bytes) -> None:
    f = SyslogStreamFramer(100)
    assert f.feed(head) == [Chunk(head, 1)]
    assert f.codec is Codec.SYSLOG_LINE


def test_detect_line_with_nul() -> None:
    f = SyslogStreamFramer(100)
    assert run(f, [b"<12>a\x00<14>b\x00"]) == [Chunk(b"<12>a\x00<14>b\x00", 2)]


def test_detect_undecided_at_eof_flushes_as_line() -> None:
    f = SyslogStreamFramer(100)
    assert f.feed(b"12") == []
    assert f.close() == [Chunk(b"12", 1)]
    assert f.codec is Codec.SYSLOG_LINE
    g = SyslogStreamFramer(100)
    assert g.close() == []
    with pytest.raises(ValueError, match="max_frame_bytes"):
        SyslogStreamFramer(0)


# --- split_frames -----------------------------------------------------------------------------


def test_split_lines() -> None:
    assert split_frames(Codec.NDJSON, b"a\nb\n") == [b"a", b"b"]
    assert split_frames(Codec.NDJSON, b"a\r\nb\r") == [b"a", b"b"]
    assert split_frames(Codec.NDJSON, b"a\nb") == [b"a", b"b"]
    assert split_frames(Codec.RAW_LINES, b"\n\r\n\na \r\n\r") == [b"a "]
    assert split_frames(Codec.RAW_LINES, b"") == []
    assert split_frames(Codec.RAW_LINES, b"a\x00b\n") == [b"a\x00b"]
    assert split_frames(Codec.SYSLOG_LINE, b"a\x00b\nc") == [b"a", b"b", b"c"]
    assert split_frames(Codec.SYSLOG_LINE, b"a\rb\n") == [b"a\rb"]


def test_split_octet() -> None:
    assert split_frames(Codec.SYSLOG_OCTET, b"3 abc2 d\n") == [b"abc", b"d\n"]
    assert split_frames(Codec.SYSLOG_OCTET, b"3 abc2 d") == [b"abc"]
    assert split_frames(Codec.SYSLOG_OCTET, b"3 abcx d") == [b"abc"]
    assert split_frames(Codec.SYSLOG_OCTET, b"3 abc1234567890") == [b"abc"]
    assert split_frames(Codec.SYSLOG_OCTET, b"") == []

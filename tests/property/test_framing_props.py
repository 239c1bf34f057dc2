from __future__ import annotations

import itertools
from collections.abc import Callable  # noqa: TC003

from hypothesis import given, settings
from hypothesis import strategies as st

from gophership.protocol.framing import (
    Chunk,
    LineFramer,
    OctetCountFramer,
    SyslogStreamFramer,
    cut_frames,
    split_frames,
)
from gophership.record import Codec

Framer = LineFramer | OctetCountFramer | SyslogStreamFramer

MAKERS: dict[str, Callable[[int], Framer]] = {
    "line": lambda m: LineFramer(m),
    "line-nul": lambda m: LineFramer(m, nul_delimiter=True),
    "octet": lambda m: OctetCountFramer(m),
    "stream": lambda m: SyslogStreamFramer(m),
}


def run(framer: Framer, pieces: list[bytes], view: bool) -> tuple[bytes, int]:
    chunks: list[Chunk] = []
    for p in pieces:
        chunks += framer.feed(memoryview(bytearray(p)) if view else p)
    chunks += framer.close()
    for c in chunks:
        assert c.data
        assert c.frames >= 1
    return b"".join(c.data for c in chunks), sum(c.frames for c in chunks)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


line_stream = (
    st.lists(
        st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"").replace(b"\x00", b"")),
        max_size=12,
    )
    .flatmap(
        lambda frames: st.tuples(
            st.just(frames),
            st.lists(
                st.sampled_from([b"\n", b"\x00", b"\r\n"]),
                min_size=len(frames),
                max_size=len(frames),
            ),
        )
    )
    .map(lambda t: b"".join(f + d for f, d in zip(t[0], t[1], strict=True)))
)

octet_stream = st.lists(st.binary(max_size=30), max_size=12).map(
    lambda frames: b"".join(b"%d " % len(f) + f for f in frames)
)

junk = st.binary(max_size=200)
inputs = st.one_of(line_stream, octet_stream, junk, st.tuples(octet_stream, junk).map(b"".join))


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(MAKERS)),
    max_frame=st.integers(1, 40),
    data=inputs,
    points=st.lists(st.integers(0, 10_000), max_size=12),
    view=st.booleans(),
)
def test_any_split_equals_whole(
    kind: str, max_frame: int, data: bytes, points: list[int], view: bool
) -> None:
    whole_framer = MAKERS[kind](max_frame)
    whole = run(whole_framer, [data], view)
    split_framer = MAKERS[kind](max_frame)
    assert run(split_framer, cut(data, points), view) == whole
    assert whole_framer.statistics() == split_framer.statistics()
    s = whole_framer.statistics()
    assert s.bytes == len(whole[0])
    assert s.frames == whole[1]
    # Nothing is invented and nothing vanishes without being counted.
    assert s.bytes + s.dropped_bytes <= len(data)
    if kind.startswith("line"):
        assert s.bytes + s.dropped_bytes == len(data)


@settings(max_examples=200, deadline=None)
@given(
    frames=st.lists(st.binary(min_size=1, max_size=60), max_size=10), max_frame=st.integers(1, 50)
)
def test_octet_oversized_counted(frames: list[bytes], max_frame: int) -> None:
    data = b"".join(b"%d " % len(f) + f for f in frames)
    f = OctetCountFramer(max_frame)
    out, n = run(f, [data], False)
    kept = [x for x in frames if len(x) <= max_frame]
    assert n == len(kept)
    assert split_frames(Codec.SYSLOG_OCTET, out) == kept
    s = f.statistics()
    assert s.dropped_frames == len(frames) - len(kept)
    assert s.errors == 0
    assert s.bytes + s.dropped_bytes == len(data)


@settings(max_examples=200, deadline=None)
@given(
    frames=st.lists(st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")), max_size=10),
    max_frame=st.integers(1, 50),
    points=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_line_oversized_counted(frames: list[bytes], max_frame: int, points: list[int]) -> None:
    data = b"".join(x + b"\n" for x in frames)
    f = LineFramer(max_frame)
    out, n = run(f, cut(data, points), False)
    kept = [x for x in frames if len(x) <= max_frame]
    assert n == len(kept)
    assert out == b"".join(x + b"\n" for x in kept)
    assert f.statistics().dropped_frames == len(frames) - len(kept)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(list(Codec)),
    st.lists(
        st.one_of(
            st.binary(max_size=12),
            st.sampled_from([b"\n", b"\r\n", b"\x00", b"\r", b"\n\n", b"x"]),
            st.binary(max_size=8).map(lambda m: b"%d %s" % (len(m), m)),
        ),
        max_size=30,
    ),
    st.integers(1, 5),
)
def test_cut_frames_parts_rejoin_and_split_like_the_whole(
    codec: Codec, pieces: list[bytes], max_frames: int
) -> None:
    data = b"".join(pieces)
    parts = cut_frames(codec, data, max_frames)
    assert b"".join(part for part, _ in parts) == data
    assert all(part for part, _ in parts)
    frames = [split_frames(codec, part) for part, _ in parts]
    assert [f for fs in frames for f in fs] == split_frames(codec, data)
    for (_, count), fs in zip(parts, frames, strict=True):
        assert len(fs) <= count <= max_frames

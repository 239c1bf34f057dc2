"""Sans-IO stream framing: socket bytes in, chunks of whole frames out (RFC 6587).

A source owns one framer per connection, feeds it whatever the socket returned and gets back
:class:`Chunk` objects: whole frames, bit-identical to what was received (delimiters and octet-count
prefixes included), so the Raw Vault can store a chunk as is and replay it later. The framer
carries the incomplete tail over to the next :meth:`feed`.

Rules:

1. No per-frame Python work on the line path. :class:`LineFramer` finds the last delimiter of
   the new data with one ``rfind`` (the carried tail has none, so nothing is ever rescanned, as
   in h11's ``_receivebuffer``), makes one copy per chunk and counts frames with one
   ``bytes.count``. Oversized complete frames are looked for only when the chunk is longer than
   ``max_frame_bytes``, with at most ``2 * len(chunk) / max_frame_bytes + 2`` ``rfind`` calls.
2. A frame longer than ``max_frame_bytes`` is discarded and counted
   (``dropped_frames``/``dropped_bytes``); the framer never raises on peer bytes and never asks
   for the connection to be closed (Vector ``octet_counting.rs`` ``State::Discarding``).
3. Octet counting (RFC 6587 §3.4.1) walks frame by frame: one ``find`` for the SP, one
   ``int()`` on the prefix, offsets only. A bad prefix (a non-digit where MSG-LEN is expected,
   no SP after at most 9 digits, a leading zero) counts one ``error``; the framer then discards
   up to and including the next LF and expects a prefix again. Frames before the break are
   delivered. Stray bytes are never delivered.
4. Memory held per connection is bounded: the tail is at most ``max_frame_bytes`` (line) or
   ``max_frame_bytes + 10`` (octet counting) bytes.
5. ``data`` passed to :meth:`feed` is only borrowed (it is a view into a reused receive buffer):
   whatever is kept is copied first.
6. After :meth:`close` the framer is finished: :meth:`feed` raises
   :class:`~gophership.errors.ClosedResourceError`, a second :meth:`close` returns ``[]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from gophership.errors import ClosedResourceError
from gophership.record import Codec

__all__ = [
    "Chunk",
    "FramerStatistics",
    "LineFramer",
    "OctetCountFramer",
    "SyslogStreamFramer",
    "cut_frames",
    "split_frames",
]

MAX_LEN_DIGITS: Final = 9
"""MSG-LEN has at most this many digits (RFC 6587 says nothing; 9 digits is < 1 GB)."""

_LF: Final = b"\n"
_NUL: Final = b"\x00"
_SP: Final = b" "
_DIGITS: Final = frozenset(b"0123456789")
_POW10: Final = tuple(10**i if i else 0 for i in range(MAX_LEN_DIGITS))
"""Smallest value of an i+1-digit MSG-LEN without leading zero (0 for one digit)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole frames, exactly as received, in order.

    ``data`` ends with a delimiter except for the last frame flushed by ``close()``.
    """

    data: bytes
    frames: int


@dataclass(frozen=True, slots=True)
class FramerStatistics:
    """Counters of one framer since it was created.

    ``frames``/``bytes`` count what was delivered in chunks; ``dropped_*`` count frames (and
    their bytes, delimiter included) discarded for passing ``max_frame_bytes``, plus bytes
    discarded while resynchronising after a bad octet-count prefix; ``errors`` counts framing
    errors (bad prefix, truncated octet-counted frame at EOF).
    """

    frames: int
    bytes: int
    dropped_frames: int
    dropped_bytes: int
    errors: int


class LineFramer:
    """Frames that end with LF (and NUL too when ``nul_delimiter``), RFC 6587 §3.4.2.

    Python's ``SysLogHandler`` over TCP ends each message with NUL only, hence
    ``nul_delimiter``. A frame is limited to ``max_frame_bytes`` bytes, delimiter not counted:
    a longer one is discarded up to its delimiter and counted, and the connection goes on.
    """

    __slots__ = (
        "_bytes",
        "_closed",
        "_discarding",
        "_dropped_bytes",
        "_dropped_frames",
        "_frames",
        "_max",
        "_nul",
        "_tail",
    )

    def __init__(self, max_frame_bytes: int, *, nul_delimiter: bool = False) -> None:
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be at least 1")
        self._max = max_frame_bytes
        self._nul = nul_delimiter
        self._tail = bytearray()
        self._discarding = False
        self._closed = False
        self._frames = 0
        self._bytes = 0
        self._dropped_frames = 0
        self._dropped_bytes = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[Chunk]:
        """Take received bytes; return the chunk of frames they complete (0 or 1 chunk).

        ``data`` is only read during the call. At most ``max_frame_bytes`` bytes are kept.
        """
        if self._closed:
            raise ClosedResourceError("feed() after close()")
        n = len(data)
        if n == 0:
            return []
        last = _rfind_delimiter(data, self._nul)
        if last == -1:
            if self._discarding:
                self._dropped_bytes += n
            else:
                tail = self._tail
                tail += data
                if len(tail) > self._max:
                    self._start_discarding()
            return []
        start = 0
        if self._discarding:
            first = _find_delimiter(data, 0, self._nul)
            self._dropped_bytes += first + 1
            self._discarding = False
            start = first + 1
        tail = self._tail
        # One copy per chunk (the carried tail has no delimiter, so it is only ever joined).
        chunk = b"".join((tail, data[: last + 1])) if tail else bytes(data[start : last + 1])
        rest = n - last - 1
        if rest:
            self._tail = bytearray(data[last + 1 :])
            if rest > self._max:
                self._start_discarding()
        elif tail:
            self._tail = bytearray()
        if not chunk:
            return []
        if self._nul:
            frames = chunk.count(_LF)
            if chunk.find(_NUL) != -1:
                frames += chunk.count(_NUL)
        else:
            frames = chunk.count(_LF)
        if len(chunk) > self._max + 1:
            chunk, frames = self._cut_oversized(chunk, frames)
            if not chunk:
                return []
        self._frames += frames
        self._bytes += len(chunk)
        return [Chunk(chunk, frames)]

    def close(self) -> list[Chunk]:
        """Flush at EOF: a pending last frame without delimiter becomes its own chunk, as is."""
        if self._closed:
            return []
        self._closed = True
        tail = self._tail
        self._tail = bytearray()
        if self._discarding or not tail:
            return []
        self._frames += 1
        self._bytes += len(tail)
        return [Chunk(bytes(tail), 1)]

    def statistics(self) -> FramerStatistics:
        return FramerStatistics(
            self._frames, self._bytes, self._dropped_frames, self._dropped_bytes, 0
        )

    def _start_discarding(self) -> None:
        self._dropped_frames += 1
        self._dropped_bytes += len(self._tail)
        self._tail = bytearray()
        self._discarding = True

    def _cut_oversized(self, chunk: bytes, frames: int) -> tuple[bytes, int]:
        # Rule 1: a window of max+1 bytes without a delimiter holds an oversized frame. The
        # last delimiter of each window is the next start, so two steps advance > max bytes.
        limit = self._max
        nul = self._nul
        n = len(chunk)
        p = 0
        keep: list[bytes] = []
        kept_from = 0
        while n - p > limit + 1:
            end = p + limit + 1
            q = chunk.rfind(_LF, p, end)
            if nul:
                q = max(q, chunk.rfind(_NUL, p, end))
            if q != -1:
                p = q + 1
                continue
            e = _find_delimiter(chunk, end, nul)
            assert e != -1, "a chunk always ends with a delimiter"
            keep.append(chunk[kept_from:p])
            self._dropped_frames += 1
            self._dropped_bytes += e + 1 - p
            frames -= 1
            p = kept_from = e + 1
        if not keep:
            return chunk, frames
        keep.append(chunk[kept_from:])
        return b"".join(keep), frames


class OctetCountFramer:
    """RFC 6587 §3.4.1 octet counting: ``MSG-LEN SP SYSLOG-MSG``; chunks keep the prefixes.

    A frame whose MSG-LEN passes ``max_frame_bytes`` is skipped (exactly MSG-LEN bytes) and
    counted. A bad prefix counts an error and discards up to the next LF (rule 3). At EOF a
    truncated frame is an error and is not delivered.
    """

    __slots__ = (
        "_bytes",
        "_closed",
        "_discarding",
        "_dropped_bytes",
        "_dropped_frames",
        "_errors",
        "_frames",
        "_max",
        "_need",
        "_skip",
        "_tail",
    )

    def __init__(self, max_frame_bytes: int) -> None:
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be at least 1")
        self._max = max_frame_bytes
        self._tail = bytearray()
        self._need = 0  # bytes the tail must reach before a frame can complete
        self._skip = 0  # bytes of an oversized frame still to skip
        self._discarding = False  # after a bad prefix, until the next LF
        self._closed = False
        self._frames = 0
        self._bytes = 0
        self._dropped_frames = 0
        self._dropped_bytes = 0
        self._errors = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[Chunk]:
        """Take received bytes; return the chunk of frames they complete (0 or 1 chunk).

        ``data`` is only read during the call. At most ``max_frame_bytes + 10`` bytes are kept.
        """
        if self._closed:
            raise ClosedResourceError("feed() after close()")
        n = len(data)
        start = 0
        if self._skip:
            k = min(self._skip, n)
            self._skip -= k
            self._dropped_bytes += k
            start = k
        if self._discarding and start < n:
            lf = _find_delimiter(data, start, False)
            if lf == -1:
                self._dropped_bytes += n - start
                return []
            self._dropped_bytes += lf + 1 - start
            self._discarding = False
            start = lf + 1
        if start >= n:
            return []
        tail = self._tail
        if tail:
            if len(tail) + n < self._need:
                tail += data
                return []
            buf = b"".join((tail, data))
            self._tail = bytearray()
        else:
            buf = bytes(data[start:]) if start or not isinstance(data, bytes) else data
        return self._scan(buf)

    def _scan(self, b: bytes) -> list[Chunk]:
        self._need = 0
        n = len(b)
        limit = self._max
        pos = seg = 0
        frames = 0
        parts: list[bytes] = []
        find = b.find
        pow10 = _POW10
        while pos < n:
            # RFC 6587 §3.4.1: MSG-LEN = NONZERO-DIGIT *DIGIT, then SP. The first byte is
            # checked here, the rest by int() plus a digit-count check (rejects "1_0", "1\t").
            sp = find(b" ", pos, pos + 10)
            c = b[pos]
            length = -1
            if 0x31 <= c <= 0x39:
                if sp != -1:
                    try:
                        length = int(b[pos:sp])
                    except ValueError:
                        length = -1
                    else:
                        if length < pow10[sp - pos - 1]:
                            length = -1
                elif n - pos <= MAX_LEN_DIGITS and b[pos:n].isdigit():
                    break  # an incomplete prefix: wait for more
            if length < 0:
                # Rule 3: resynchronise at the next LF.
                self._errors += 1
                if pos > seg:
                    parts.append(b[seg:pos])
                lf = find(_LF, pos)
                if lf == -1:
                    self._dropped_bytes += n - pos
                    self._discarding = True
                    pos = seg = n
                    break
                self._dropped_bytes += lf + 1 - pos
                pos = seg = lf + 1
                continue
            end = sp + 1 + length
            if length > limit:
                if pos > seg:
                    parts.append(b[seg:pos])
                self._dropped_frames += 1
                if end > n:
                    self._dropped_bytes += n - pos
                    self._skip = end - n
                    pos = seg = n
                    break
                self._dropped_bytes += end - pos
                pos = seg = end
                continue
            if end > n:
                self._need = end - pos
                break
            frames += 1
            pos = end
        if pos < n:
            self._tail = bytearray(b[pos:])
        if pos > seg:
            if seg == 0 and pos == n:
                parts.append(b)
            else:
                parts.append(b[seg:pos])
        if not frames:
            return []
        chunk = parts[0] if len(parts) == 1 else b"".join(parts)
        self._frames += frames
        self._bytes += len(chunk)
        return [Chunk(chunk, frames)]

    def close(self) -> list[Chunk]:
        """Finish at EOF: a truncated frame (or prefix) is counted as an error, never delivered."""
        if self._closed:
            return []
        self._closed = True
        if self._tail:
            self._errors += 1
            self._dropped_bytes += len(self._tail)
            self._tail = bytearray()
        return []

    def statistics(self) -> FramerStatistics:
        return FramerStatistics(
            self._frames, self._bytes, self._dropped_frames, self._dropped_bytes, self._errors
        )


class SyslogStreamFramer:
    """Detects the syslog framing of one TCP connection from its first bytes (RFC 6587 §3.4).

    Octet counting when the stream starts with ``[1-9][0-9]{0,8} SP <``, otherwise
    :class:`LineFramer` with ``nul_delimiter=True``. Until the answer is known (at most 11
    bytes) the bytes are held and :attr:`codec` is ``None``; a chunk is only ever returned
    after the decision, so :attr:`codec` is set whenever :meth:`feed` returns chunks.
    """

    __slots__ = ("_framer", "_max", "_pending", "codec")

    codec: Codec | None

    def __init__(self, max_frame_bytes: int) -> None:
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be at least 1")
        self._max = max_frame_bytes
        self._framer: LineFramer | OctetCountFramer | None = None
        self._pending = b""
        self.codec = None

    def feed(self, data: bytes | bytearray | memoryview) -> list[Chunk]:
        """As :meth:`LineFramer.feed`; decides the framing on the first bytes."""
        framer = self._framer
        if framer is not None:
            return framer.feed(data)
        pending = self._pending + bytes(data)
        decided = _detect(pending)
        if decided is None:
            self._pending = pending
            return []
        self._pending = b""
        return self._decide(decided).feed(pending)

    def close(self) -> list[Chunk]:
        """As :meth:`LineFramer.close`; undecided pending bytes are flushed as one line."""
        framer = self._framer
        if framer is None:
            framer = self._decide(Codec.SYSLOG_LINE)
            if self._pending:
                framer.feed(self._pending)
                self._pending = b""
        return framer.close()

    def statistics(self) -> FramerStatistics:
        if self._framer is None:
            return FramerStatistics(0, 0, 0, 0, 0)
        return self._framer.statistics()

    def _decide(self, codec: Codec) -> LineFramer | OctetCountFramer:
        framer: LineFramer | OctetCountFramer
        if codec is Codec.SYSLOG_OCTET:
            framer = OctetCountFramer(self._max)
        else:
            framer = LineFramer(self._max, nul_delimiter=True)
        self._framer = framer
        self.codec = codec
        return framer


_WINDOW: Final = 1024


def _rfind_delimiter(data: bytes | bytearray | memoryview, nul: bool) -> int:
    """Index of the last LF (or NUL when ``nul``) in ``data``, or -1.

    A ``memoryview`` has no ``rfind``: it is searched from its end in growing windows, each
    copied once, so finding a delimiter near the end costs about one small copy.
    """
    if not isinstance(data, memoryview):
        r = data.rfind(_LF)
        return max(r, data.rfind(_NUL)) if nul else r
    hi = len(data)
    width = _WINDOW
    while hi > 0:
        lo = max(0, hi - width)
        seg = bytes(data[lo:hi])
        r = seg.rfind(_LF)
        if nul:
            r = max(r, seg.rfind(_NUL))
        if r != -1:
            return lo + r
        hi = lo
        width *= 4
    return -1


def _find_delimiter(data: bytes | bytearray | memoryview, start: int, nul: bool) -> int:
    """Index of the first LF (or NUL when ``nul``) in ``data[start:]``, or -1."""
    if not isinstance(data, memoryview):
        lf = data.find(_LF, start)
        if not nul:
            return lf
        r = data.find(_NUL, start, lf if lf != -1 else len(data))
        return lf if r == -1 else r
    n = len(data)
    width = _WINDOW
    while start < n:
        hi = min(n, start + width)
        r = _find_delimiter(bytes(data[start:hi]), 0, nul)
        if r != -1:
            return start + r
        start = hi
        width *= 4
    return -1


def _detect(head: bytes) -> Codec | None:
    """``SYSLOG_OCTET`` for ``[1-9][0-9]{0,8} SP <``, ``SYSLOG_LINE`` otherwise, None if unsure."""
    if not head:
        return None
    if head[0] not in _DIGITS or head[0] == 0x30:
        return Codec.SYSLOG_LINE
    for i in range(1, min(len(head), MAX_LEN_DIGITS + 2)):
        c = head[i]
        if c in _DIGITS:
            if i == MAX_LEN_DIGITS:
                return Codec.SYSLOG_LINE
            continue
        if c != 0x20:
            return Codec.SYSLOG_LINE
        if i + 1 >= len(head):
            return None
        return Codec.SYSLOG_OCTET if head[i + 1] == 0x3C else Codec.SYSLOG_LINE
    return None


def split_frames(codec: Codec, data: bytes) -> list[bytes]:
    """The frames of one chunk without delimiters or prefixes, for the green path.

    Line codecs (``NDJSON``, ``SYSLOG_LINE``, ``RAW_LINES``): frames end with LF (and NUL for
    ``SYSLOG_LINE``); a CR right before the LF is part of the line ending and removed; the end
    of ``data`` also ends a frame; empty frames are skipped (the vault keeps them, the green
    path does not). ``OTLP_PROTO``/``OTLP_JSON``: the whole chunk, one (maybe merged) request.
    ``SYSLOG_OCTET``: the SYSLOG-MSG of each frame exactly as counted (a
    trailing LF inside the count is kept); the walk stops at the first bad prefix, so a chunk
    the framer did not make yields the frames before the break.
    """
    if codec is Codec.SYSLOG_OCTET:
        return _split_octet(data)
    if codec is Codec.OTLP_PROTO or codec is Codec.OTLP_JSON:
        return [data] if data else []
    # Single-byte finds only: CPython's two-byte find is slow when LF is frequent.
    if codec is Codec.SYSLOG_LINE and data.find(_NUL) != -1:
        data = data.replace(_NUL, _LF)
    if data.find(b"\r") != -1:
        data = data.replace(b"\r\n", _LF)
    parts = data.split(_LF)
    last = parts[-1]
    if not last or last == b"\r":
        parts.pop()
    elif last[-1] == 0x0D:
        parts[-1] = last[:-1]
    if not all(parts):
        parts = [p for p in parts if p]
    return parts


def _split_octet(b: bytes) -> list[bytes]:
    return [b[start:end] for start, end in _octet_frames(b)]


def _octet_frames(b: bytes) -> list[tuple[int, int]]:
    """(start, end) of each SYSLOG-MSG of ``b``, up to the first bad prefix."""
    out: list[tuple[int, int]] = []
    n = len(b)
    pos = 0
    while pos < n:
        sp = b.find(_SP, pos, pos + MAX_LEN_DIGITS + 1)
        if sp == -1:
            break
        prefix = b[pos:sp]
        if not prefix.isdigit():
            break
        end = sp + 1 + int(prefix)
        if end > n:
            break
        out.append((sp + 1, end))
        pos = end
    return out


_DELIMITERS: Final = {
    Codec.NDJSON: re.compile(b"\n"),
    Codec.RAW_LINES: re.compile(b"\n"),
    Codec.SYSLOG_LINE: re.compile(b"[\n\x00]"),
}


def cut_frames(codec: Codec, data: bytes, max_frames: int) -> list[tuple[bytes, int]]:
    """``data`` cut after frame ends into (part, frames) with ``frames`` <= ``max_frames``.

    The parts joined are ``data``, and :func:`split_frames` of each part, in order, gives the
    frames of ``data``.

    ``frames`` counts delimiters (empty lines too, so it bounds the records a part decodes
    to) plus one for an undelimited tail. Bytes after a bad octet-counting prefix stay in
    the last part, as :func:`split_frames` ignores them there too. O(frames) in Python: meant
    for the rare chunk larger than a batch. OTLP chunks are never cut.
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")
    if codec is Codec.OTLP_PROTO or codec is Codec.OTLP_JSON:  # one part: never cut
        return [(data, 1)] if data else []
    if codec is Codec.SYSLOG_OCTET:
        ends = [end for _, end in _octet_frames(data)]
        tail = 0
    else:
        ends = [m.end() for m in _DELIMITERS[codec].finditer(data)]
        tail = 1 if (ends[-1] if ends else 0) < len(data) else 0
    parts: list[tuple[bytes, int]] = []
    start = 0
    for i in range(max_frames - 1, len(ends), max_frames):
        parts.append((data[start : ends[i]], max_frames))
        start = ends[i]
    rest = len(ends) % max_frames + tail
    if start < len(data):
        if parts and rest == 0:  # only bytes after a bad prefix: they join the last part
            last, frames = parts.pop()
            parts.append((last + data[start:], frames))
        else:
            parts.append((data[start:], rest))
    return parts

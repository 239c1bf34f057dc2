"""The chunk fast path of ``decode_line_chunk`` gives exactly the per-frame parser's records."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gophership.protocol.framing import split_frames
from gophership.protocol.syslog import decode_line_chunk, decode_octet_chunk, parse_frame
from gophership.protocol.timestamp import unix_seconds
from gophership.record import Codec, LogRecordJSON

NS = 1_000_000_000


def _ns(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    secs = unix_seconds(y, mo, d, h, mi, s)
    assert secs is not None
    return secs * NS


OBSERVED = st.sampled_from(
    [
        1_795_374_880_000_000_000,  # 2026-11-22
        _ns(2027, 1, 1, 0, 0, 5),
        _ns(2026, 12, 31, 23, 59, 50),
        _ns(2024, 2, 29, 12),
        _ns(2025, 6, 15, 8),
        _ns(1970, 1, 2),
    ]
)


def strict(frames: list[bytes], observed_ns: int) -> tuple[list[LogRecordJSON], dict[str, int]]:
    """The reference: the strict per-frame parser, frame by frame."""
    reasons: dict[str, int] = {}
    records = []
    for frame in frames:
        record, reason = parse_frame(frame, observed_ns, str(observed_ns))
        records.append(record)
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    return records, reasons


def reference(data: bytes, observed_ns: int) -> tuple[list[LogRecordJSON], dict[str, int]]:
    return strict(split_frames(Codec.SYSLOG_LINE, data), observed_ns)


def check(data: bytes, observed_ns: int) -> None:
    reasons: dict[str, int] = {}
    got = decode_line_chunk(data, observed_ns, reasons)
    assert_same(got, reasons, reference(data, observed_ns))


def assert_same(
    got: list[LogRecordJSON], reasons: dict[str, int],
    want: tuple[list[LogRecordJSON], dict[str, int]],
) -> None:  # fmt: skip
    assert got == want[0]
    # Same keys in the same order (the JSON the sinks write), records and attributes alike.
    assert [list(r) for r in got] == [list(r) for r in want[0]]
    assert reasons == want[1]


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.integers(0, 10**n - 1).map(lambda i: str(i).zfill(n))


PRINTABLE = "".join(chr(c) for c in range(33, 127))
WORD = st.text(
    alphabet=st.sampled_from([*'aZ09-._:[]="\\@', "é", "\t", " ", "\ufeff", "\x7f"]),
    min_size=0,
    max_size=6,
)


def _field(limit: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("-"),
        st.sampled_from(["host", "a", "web-1.example.com", "42", "ID47", "su", "é", "-x"]),
        WORD,
        st.integers(0, 2).map(lambda d: "h" * (limit - 1 + d)),
        st.text(alphabet=PRINTABLE, min_size=1, max_size=12),
    )


PRI = st.one_of(
    st.integers(0, 191).map(str),
    st.sampled_from(["192", "01", "1x", "", "999", "00"]),
)
VERSION = st.sampled_from(["1", "1", "1", "2", "10", "999", "0", "01", "1000", "", "a"])
FRACTION = st.one_of(
    st.just(""),
    st.integers(0, 10).flatmap(lambda n: _digits(n).map(lambda d: "." + d if n else ".")),
)
ZONE = st.one_of(
    st.sampled_from(["Z", "Z", "z", "", "+0700", "+07:0", "-24:00"]),
    st.tuples(st.sampled_from("+-"), st.integers(0, 25), st.integers(0, 61)).map(
        lambda t: f"{t[0]}{t[1]:02d}:{t[2]:02d}"
    ),
)
TIMESTAMP = st.one_of(
    st.just("-"),
    st.builds(
        lambda y, mo, d, sep, h, mi, s, frac, zone: (
            f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{zone}"
        ),
        st.sampled_from([1969, 1970, 2000, 2003, 2016, 2024, 2026, 9999]),
        st.integers(0, 13),
        st.integers(0, 32),
        st.sampled_from(["T", "T", "T", "t", " "]),
        st.integers(0, 25),
        st.integers(0, 60),
        st.integers(0, 61),
        FRACTION,
        ZONE,
    ),
    st.sampled_from(
        ["1970-01-01T00:00:00Z", "1970-01-01T00:00:01.5Z", "1970-01-01T00:00:00+01:00"]
    ),
    st.sampled_from(["2003-10-11T22:14:15.003Z", "1985-04-12T19:20:50.52-04:00"]),
)
PARAM_VALUE = st.lists(
    st.sampled_from([*'ab1 ="]\\', "é", "\\]", '\\"', "\\\\", "\\n"]), max_size=5
).map("".join)
SD_NAME = st.one_of(
    st.sampled_from(["a", "meta", "exampleSDID@32473", "x@1", "origin", "a" * 32, "a" * 33]),
    WORD,
)
SD_ELEMENT = st.builds(
    lambda sd_id, params, close: (
        "[" + sd_id + "".join(f' {n}="{v}"' for n, v in params) + ("]" if close else "")
    ),
    SD_NAME,
    st.lists(st.tuples(SD_NAME, PARAM_VALUE), max_size=3),
    st.sampled_from([True, True, True, False]),
)
SD = st.one_of(
    st.just("-"),
    st.lists(SD_ELEMENT, min_size=1, max_size=3).map("".join),
    st.sampled_from(["", "-x", "[]", "[a][a]", "X", '[a i="x"]x', "[a i=x]"]),
)
MSG = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(["request served", "\ufeffAn event", "\ufeff", "é x", "a\rb", " lead"]),
    st.text(max_size=8),
)
SEP = st.sampled_from([" ", " ", " ", " ", "", "  "])


@st.composite
def rfc5424_lines(draw: st.DrawFn) -> bytes:
    parts = [
        draw(TIMESTAMP),
        draw(_field(255)),
        draw(_field(48)),
        draw(_field(128)),
        draw(_field(32)),
        draw(SD),
    ]
    line = f"<{draw(PRI)}>{draw(VERSION)}"
    for part in parts:
        line += draw(SEP) + part
    msg = draw(MSG)
    if msg is not None:
        line += draw(SEP) + msg
    return line.encode()


MONTH = st.sampled_from(["Nov", "Jan", "Dec", "Feb", "nov", "Xyz", "NOV"])
DAY = st.sampled_from(["22", " 5", "5", "05", "29", "31", "00", "32", "1"])
HMS = st.builds(
    lambda h, m, s: f"{h:02d}:{m:02d}:{s:02d}",
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
)
HOST = st.sampled_from(["web-1", "2023", "20234", "root:", "h[1]", "0002::", "", "é", "10.0.0.9"])
TAG = st.sampled_from(
    ["sshd[4242]:", "sshd:", "sshd[1]", "su", "a[b]x:", "[x]:", "", "a[]:", "a:b:", "x[1]:y"]
)


@st.composite
def rfc3164_lines(draw: st.DrawFn) -> bytes:
    line = f"<{draw(PRI)}>{draw(st.sampled_from(['', '', ' ']))}{draw(MONTH)} {draw(DAY)} "
    line += draw(st.sampled_from(["", "", "2023 "])) + draw(HMS)
    line += draw(st.sampled_from(["", "", " 2024", ":"]))
    for part in (
        draw(HOST),
        draw(TAG),
        draw(st.one_of(st.none(), MSG.filter(lambda m: m is not None))),
    ):
        if part is None:
            break
        line += draw(SEP) + part
    return line.encode()


ANY_LINE = st.one_of(
    rfc5424_lines(),
    rfc3164_lines(),
    st.binary(max_size=20),
    st.sampled_from([b"plain", b"<13>stdlib msg", b"\xff\xfe", b"", b"\r", b"<1>1"]),
)


@settings(max_examples=800, deadline=None)
@given(rfc5424_lines(), OBSERVED)
@example(b'<165>1 2003-10-11T22:14:15.003Z host app - ID47 [a i="1"] \xef\xbb\xbfmsg', 0)
@example(b"<14>1 2016-02-30T00:00:00Z - - - - -", 0)
@example(b'<14>1 - - - - - [a][b x="1"][a]', 0)
def test_rfc5424_line_matches_reference(line: bytes, observed_ns: int) -> None:
    check(line, observed_ns)
    check(line + b"\n", observed_ns)
    check(line + b"\r\n", observed_ns)


@settings(max_examples=800, deadline=None)
@given(rfc3164_lines(), OBSERVED)
def test_rfc3164_line_matches_reference(line: bytes, observed_ns: int) -> None:
    check(line + b"\n", observed_ns)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(ANY_LINE, st.sampled_from([b"\n", b"\r\n", b"\x00", b"\n\n", b"\r\r\n"])),
        max_size=12,
    ),
    OBSERVED,
    st.booleans(),
)
def test_mixed_chunk_matches_reference(
    lines: list[tuple[bytes, bytes]], observed_ns: int, cut_last: bool
) -> None:
    data = b"".join(line + end for line, end in lines)
    if cut_last and data:
        data = data[:-1]
    check(data, observed_ns)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(ANY_LINE, st.sampled_from([b"", b"", b"\n", b"\r\n", b"\x00", b"\r"])),
        max_size=8,
    ),
    OBSERVED,
)
def test_octet_chunk_matches_reference(lines: list[tuple[bytes, bytes]], observed_ns: int) -> None:
    data = b"".join(b"%d %s" % (len(line + end), line + end) for line, end in lines)
    # A frame's trailing NULs are its trailer, dropped before parsing.
    frames = [f.rstrip(b"\0") for f in split_frames(Codec.SYSLOG_OCTET, data)]
    reasons: dict[str, int] = {}
    got = decode_octet_chunk(data, observed_ns, reasons)
    assert_same(got, reasons, strict(frames, observed_ns))

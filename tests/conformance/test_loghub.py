"""All 16 loghub samples through the syslog and NDJSON codecs: no crash, one record per line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gophership.protocol.decode import PARSE_ERRORS, decode_chunk
from gophership.protocol.framing import LineFramer, SyslogStreamFramer
from gophership.record import Codec

DATA = Path("/work/shared/data/loghub")
pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not DATA.is_dir(), reason="shared test data not present"),
]
LOGS = sorted(DATA.glob("*/*_2k.log")) if DATA.is_dir() else []
OBSERVED = 1_700_000_000_000_000_000


def test_sixteen_systems() -> None:
    assert len(LOGS) == 16


@pytest.mark.parametrize("path", LOGS, ids=[p.parent.name for p in LOGS])
@pytest.mark.parametrize("codec", [Codec.SYSLOG_LINE, Codec.NDJSON, Codec.RAW_LINES])
def test_one_record_per_line(path: Path, codec: Codec) -> None:
    data = path.read_bytes()
    framer = LineFramer(64 * 1024, nul_delimiter=codec is Codec.SYSLOG_LINE)
    chunks = []
    for i in range(0, len(data), 8192):
        chunks += framer.feed(memoryview(data)[i : i + 8192])
    chunks += framer.close()
    assert b"".join(c.data for c in chunks) == data
    assert sum(c.frames for c in chunks) == 2000
    records = []
    errors = 0
    for c in chunks:
        result = decode_chunk(codec, c.data, OBSERVED)
        assert set(result.error_reasons) <= PARSE_ERRORS
        errors += result.errors
        records += result.records
    assert len(records) == 2000
    for r in records:
        assert r["observedTimeUnixNano"] == str(OBSERVED)
        assert not r["body"].get("stringValue", "x").endswith("\r")
    if codec is Codec.NDJSON:
        assert errors == 2000  # plain text: every line is kept raw with invalid_json
    if codec is Codec.SYSLOG_LINE:
        assert errors == 2000  # no <PRI>: kept raw, missing_pri, user.notice by default
        assert all(r["severityNumber"] == 10 for r in records)


@pytest.mark.parametrize("path", LOGS[:4], ids=[p.parent.name for p in LOGS[:4]])
def test_stream_framer_detects_lines(path: Path) -> None:
    data = path.read_bytes()
    framer = SyslogStreamFramer(64 * 1024)
    chunks = framer.feed(data) + framer.close()
    assert framer.codec is Codec.SYSLOG_LINE
    assert sum(c.frames for c in chunks) == 2000


def test_bsd_lines_with_pri_parse() -> None:
    # Linux/OpenSSH/Mac lines are BSD-syslog shaped without PRI: add one, as a relay would.
    for system in ("Linux", "OpenSSH", "Mac", "Thunderbird"):
        path = next(DATA.glob(f"{system}/*_2k.log"))
        lines = path.read_bytes().replace(b"\r\n", b"\n").split(b"\n")
        if system == "Thunderbird":
            # "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond[2915]: ..."
            lines = [line.split(b" ", 4)[4] for line in lines]
        chunk = b"".join(b"<13>" + line + b"\n" for line in lines)
        result = decode_chunk(Codec.SYSLOG_LINE, chunk, OBSERVED)
        assert len(result.records) == 2000
        assert result.errors == 0, system
        with_time = sum("timeUnixNano" in r for r in result.records)
        assert with_time == 2000, system

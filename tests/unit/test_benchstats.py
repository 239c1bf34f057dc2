"""The benchmark suite's pure helpers: load generation, the loss check, statistics, README."""

from __future__ import annotations

import orjson
import pytest

from gophership.protocol.decode import decode_chunk
from gophership.record import Codec
from gophership.testing.benchstats import (
    LINE_BYTES,
    README_END,
    README_START,
    burst_block,
    burst_bodies,
    line_hash,
    ndjson_lines,
    render_readme_section,
    render_table,
    replace_between_markers,
    rfc5424_lines,
    summarize,
)


@pytest.mark.parametrize("make", [ndjson_lines, rfc5424_lines])
def test_lines_are_deterministic_and_exactly_200_bytes(make) -> None:  # type: ignore[no-untyped-def]
    data = make(500)
    assert data == make(500)
    assert data != make(500, seed=99)
    lines = data.splitlines(keepends=True)
    assert len(lines) == 500
    assert {len(line) for line in lines} == {LINE_BYTES}


def test_generated_lines_parse_cleanly() -> None:
    nd = decode_chunk(Codec.NDJSON, ndjson_lines(200), 1)
    sy = decode_chunk(Codec.SYSLOG_LINE, rfc5424_lines(200), 1)
    assert (len(nd.records), nd.errors) == (200, 0)
    assert (len(sy.records), sy.errors) == (200, 0)
    assert sy.records[7]["attributes"][-1]["key"] == "structured_data"


def test_burst_lines_and_their_bodies_agree() -> None:
    block = burst_block(10, 5)
    lines = block.splitlines()
    assert len(lines) == 5
    assert {len(line) + 1 for line in lines} == {LINE_BYTES}
    bodies = [orjson.loads(line)["msg"].encode() for line in burst_block(0, 30).splitlines()]
    assert bodies == burst_bodies(30)


def test_line_hash_is_order_independent_and_sees_changes() -> None:
    lines = [b"a", b"b", b"c", b"c"]
    assert line_hash(lines) == line_hash(list(reversed(lines)))
    assert line_hash(lines) != line_hash([b"a", b"b", b"c"])  # a lost duplicate
    assert line_hash(lines) != line_hash([b"a", b"b", b"c", b"d"])  # a changed line
    assert line_hash(["é"]) == line_hash(["é".encode()])
    assert line_hash([]) == 0


def test_summary_statistics_and_the_spread_flag() -> None:
    s = summarize([100.0, 90.0, 110.0])
    assert (s.median, s.min, s.max, s.runs) == (100.0, 90.0, 110.0, 3)
    assert s.spread == pytest.approx(0.2)
    assert not s.wide  # 20 % exactly is not wide
    assert summarize([100.0, 70.0, 110.0]).wide
    assert not summarize([5.0]).wide
    assert summarize([5.0]).as_dict()["spread_wide"] is False
    with pytest.raises(ValueError, match="no measurements"):
        summarize([])


RESULTS = {
    "date": "2026-11-23T04:00:00Z",
    "mode": "full, 3 runs",
    "commit": "0123456789abcdef",
    "machine": {"cpu_model": "Some CPU", "cores": 2, "kernel": "6.1.0", "python": "3.11.7"},
    "scenarios": [
        {
            "scenario": "red",
            "lines_per_s": 1_500_000,
            "lines_per_s_runs": {
                "min": 1_400_000,
                "max": 1_900_000,
                "runs": 3,
                "spread_wide": True,
            },
            "cpu_seconds_per_million_lines": 0.61,
            "peak_rss_bytes": 90 << 20,
            "target": "≥ 2x the best peer",
            "notes": "forced RED",
        },
        {"scenario": "latency", "status": "p50 25 µs, p99 204 µs", "notes": "red run"},
    ],
}


def test_table_shows_median_range_and_spread() -> None:
    table = render_table(RESULTS)
    assert "| red | 1.500 M/s [1.400 M/s-1.900 M/s], 3 (spread wide) | 0.61 | 90 MiB |" in table
    assert "| ≥ 2x the best peer | forced RED |" in table
    assert "| latency | p50 25 µs, p99 204 µs |" in table


def test_readme_section_is_replaced_between_markers_only() -> None:
    readme = f"# Title\n\nbefore\n{README_START}\nold numbers\n{README_END}\nafter\n"
    out = replace_between_markers(readme, render_readme_section(RESULTS))
    assert out.startswith("# Title\n\nbefore\n" + README_START + "\n")
    assert out.endswith(README_END + "\nafter\n")
    assert "old numbers" not in out
    assert "Some CPU, 2 cores" in out
    assert "`0123456789`" in out
    with pytest.raises(ValueError, match="bench:start"):
        replace_between_markers("no markers", "x")

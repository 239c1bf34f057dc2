"""Pure helpers of the benchmark suite (``bench/suite.py``): load, checks, statistics, README.

Nothing here measures time: the suite does. These are the parts that must be right for the
numbers to mean anything, so they are unit-tested (``tests/unit/test_benchstats.py``).
"""

from __future__ import annotations

import hashlib
import random
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

LINE_BYTES: Final = 200
"""Every generated line is exactly this long, LF included."""

SPREAD_WIDE: Final = 0.20
"""(max - min) / median above this is reported as a wide spread."""

_WORD_TEXT: Final = (
    "user login logout request response cache miss hit timeout retry upstream downstream"
    " connect disconnect payment order cart checkout shard replica leader follower error warn"
    " info debug slow fast healthy degraded abort commit"
)
WORDS: Final = tuple(_WORD_TEXT.split(" "))

README_START: Final = "<!-- bench:start -->"
README_END: Final = "<!-- bench:end -->"


def _text(rng: random.Random, size: int) -> str:
    out = ""
    while len(out) < size:
        out += rng.choice(WORDS) + " "
    return out[:size].rstrip().ljust(size, "x")


def ndjson_lines(n: int, seed: int = 1, start: int = 0) -> bytes:
    """``n`` NDJSON lines of exactly :data:`LINE_BYTES` bytes; ``msg`` starts with the seq."""
    rng = random.Random(seed)  # noqa: S311 - load, not secrets
    out = []
    for i in range(start, start + n):
        level = ("info", "warn", "error", "debug")[i % 4]
        head = (
            f'{{"ts":"2026-11-23T10:00:00.{i % 1_000_000:06d}Z","level":"{level}",'
            f'"service":"web","msg":"{i} '
        )
        tail = '"}\n'
        out.append(head + _text(rng, LINE_BYTES - len(head) - len(tail)) + tail)
    return "".join(out).encode()


def rfc5424_lines(n: int, seed: int = 2, start: int = 0) -> bytes:
    """``n`` RFC 5424 lines (LF framed) of exactly :data:`LINE_BYTES` bytes, with SD."""
    rng = random.Random(seed)  # noqa: S311 - load, not secrets
    out = []
    for i in range(start, start + n):
        head = (
            f"<134>1 2026-11-23T10:00:00.{i % 1_000_000:06d}Z web-{i % 7} app {1000 + i % 9000}"
            f' ID{i % 50} [req@32473 id="{i}"] {i} '
        )
        out.append(head + _text(rng, LINE_BYTES - len(head) - 1) + "\n")
    return "".join(out).encode()


_BURST_HEAD: Final = b'{"level":"info","msg":"burst %010d '
_BURST_TAIL: Final = b'"}\n'
_BURST_PAD: Final = b"x" * (LINE_BYTES - len(_BURST_HEAD % 0) - len(_BURST_TAIL))
_BURST_LINE: Final = _BURST_HEAD + _BURST_PAD + _BURST_TAIL


def burst_block(start: int, n: int) -> bytes:
    """Lines ``start`` .. ``start + n - 1`` of the burst load (fast: one format per line)."""
    line = _BURST_LINE
    return b"".join([line % i for i in range(start, start + n)])


def burst_bodies(n: int) -> list[bytes]:
    """The bodies (``msg``) the first ``n`` burst lines must come out with."""
    pad = _BURST_PAD
    return [b"burst %010d " % i + pad for i in range(n)]


def line_hash(lines: Iterable[bytes | str]) -> int:
    """Order-independent hash of a multiset of lines: sum of 64-bit BLAKE2b digests mod 2**64.

    The same lines in any order give the same value; a lost, duplicated or changed line
    changes it (with probability 1 - 2**-64).
    """
    total = 0
    for line in lines:
        data = line.encode() if isinstance(line, str) else line
        total += int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")
    return total % (1 << 64)


@dataclass(frozen=True, slots=True)
class Summary:
    """Median, min and max of repeated measurements, and whether they spread wide."""

    median: float
    min: float
    max: float
    runs: int

    @property
    def spread(self) -> float:
        return (self.max - self.min) / self.median if self.median else 0.0

    @property
    def wide(self) -> bool:
        return self.runs > 1 and self.spread > SPREAD_WIDE

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "runs": self.runs,
            "spread": round(self.spread, 3),
            "spread_wide": self.wide,
        }


def summarize(values: Sequence[float]) -> Summary:
    """Summary of ``values`` (at least one)."""
    if not values:
        raise ValueError("no measurements")
    return Summary(statistics.median(values), min(values), max(values), len(values))


def cpu_seconds_per_million(cpu_seconds: float, lines: int) -> float:
    """Daemon CPU time (user + system) per million lines: comparable across machines."""
    return cpu_seconds / lines * 1e6 if lines else 0.0


def _fmt_rate(v: float) -> str:
    return f"{v / 1e6:.3f} M/s" if v >= 1e4 else f"{v:,.0f}/s"


def render_table(results: dict[str, Any]) -> str:
    """The suite's results as a Markdown table (what the README shows and the suite prints)."""
    rows = [
        "| scenario | lines/s (median [min-max], runs) | CPU s / M lines | peak RSS | target |"
        " notes |",
        "|---|---|---|---|---|---|",
    ]
    for s in results["scenarios"]:
        rate = s.get("lines_per_s")
        if rate is None:
            cell = s.get("status", "n/a")
        else:
            r = s.get("lines_per_s_runs") or {}
            spread = " (spread wide)" if r.get("spread_wide") else ""
            if r.get("runs", 1) > 1:
                cell = (
                    f"{_fmt_rate(rate)} [{_fmt_rate(r['min'])}-{_fmt_rate(r['max'])}],"
                    f" {r['runs']}{spread}"
                )
            else:
                cell = f"{_fmt_rate(rate)}, 1"
        cpu = s.get("cpu_seconds_per_million_lines")
        rss = s.get("peak_rss_bytes")
        rows.append(
            f"| {s['scenario']} | {cell} | {'' if cpu is None else f'{cpu:.2f}'} | "
            f"{'' if rss is None else f'{rss / 2**20:.0f} MiB'} | {s.get('target', '')} |"
            f" {s.get('notes', '')} |"
        )
    return "\n".join(rows)


def render_readme_section(results: dict[str, Any]) -> str:
    """The README's performance section body, naming the machine and the commit."""
    m = results["machine"]
    head = (
        f"From `make bench` ({results['mode']}) on {results['date']}, commit"
        f" `{results['commit'][:10]}`: {m['cpu_model']}, {m['cores']} cores, Linux"
        f" {m['kernel']}, Python {m['python']}. The daemon runs on one core and the load"
        " generator on the other. Results file: `bench/results/latest.json`."
    )
    return head + "\n\n" + render_table(results) + "\n"


def replace_between_markers(text: str, body: str) -> str:
    """``text`` with what lies between the README markers replaced by ``body``.

    Raises:
        ValueError: The markers are missing or out of order.
    """
    start = text.find(README_START)
    end = text.find(README_END)
    if start == -1 or end == -1 or end < start:
        raise ValueError(f"README needs {README_START} ... {README_END} in that order")
    return text[: start + len(README_START)] + "\n" + body + text[end:]

"""Per-second rates from monotonically growing totals: pure, the clock passed in.

The control server samples the engine's totals about once a second; ``rates()`` is the change
over the last window (at least ``min_window_seconds``), so a status read between samples never
divides by a tiny interval. A total that goes backwards (a restart) reads as rate 0.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


class RateMeter:
    """Keeps the last few samples of named totals; at most ``keep`` samples are held."""

    def __init__(self, *, min_window_seconds: float = 1.0, keep: int = 8) -> None:
        self._samples: deque[tuple[float, dict[str, float]]] = deque(maxlen=keep)
        self._min_window = min_window_seconds

    def observe(self, now: float, totals: Mapping[str, float]) -> None:
        """Record ``totals`` at time ``now`` (seconds, monotonic)."""
        self._samples.append((now, dict(totals)))

    def rates(self) -> dict[str, float]:
        """Per-second change of each total over the newest window; empty before two samples."""
        if len(self._samples) < 2:
            return {}
        now, newest = self._samples[-1]
        base_t, base = self._samples[0]
        for t, sample in reversed(self._samples):  # the newest sample old enough to compare
            if now - t >= self._min_window:
                base_t, base = t, sample
                break
        dt = now - base_t
        if dt <= 0:
            return {}
        return {k: max(0.0, (v - base.get(k, v)) / dt) for k, v in newest.items()}

"""The lazy sensing policy ("stochastic awareness"): when to read the expensive signals.

Rules:

1. The hot path calls :meth:`SensePolicy.due` once per chunk with a clock reading it already
   has; the answer costs an int decrement and two compares.
2. Sensing is due every ``every_chunks`` chunks, or once ``interval_seconds`` have passed
   since the last sense, whichever comes first; the first call is always due (nothing has
   been sensed yet).
3. The caller calls :meth:`SensePolicy.mark` after it sensed; until then ``due`` stays true.
4. Pure: the clock is passed in (any monotonic float, in seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SensePolicyStatistics:
    """Numbers of a :class:`SensePolicy` at one instant."""

    every_chunks: int
    interval_seconds: float
    chunks_since_sense: int
    senses_total: int
    last_sense_seconds: float


class SensePolicy:
    """Says when the next sense is due: every N chunks or every T seconds.

    Raises:
        ValueError: Unless ``every_chunks >= 1`` and ``interval_seconds > 0`` (``math.inf``
            turns the timer off).
    """

    def __init__(self, every_chunks: int, interval_seconds: float) -> None:
        if every_chunks < 1:
            raise ValueError(f"every_chunks must be >= 1, got {every_chunks!r}")
        if not interval_seconds > 0:
            raise ValueError(f"interval_seconds must be > 0, got {interval_seconds!r}")
        self._every = every_chunks
        self._interval = interval_seconds
        self._countdown = every_chunks
        self._deadline = -math.inf
        self._last = -math.inf
        self._senses = 0

    def due(self, now: float) -> bool:
        """Count one chunk; True when a sense is due (call :meth:`mark` after sensing)."""
        self._countdown -= 1
        return self._countdown <= 0 or now >= self._deadline

    def mark(self, now: float) -> None:
        """Record that a sense happened at ``now``: both the chunk and the time count restart."""
        self._countdown = self._every
        self._deadline = now + self._interval
        self._last = now
        self._senses += 1

    def statistics(self) -> SensePolicyStatistics:
        return SensePolicyStatistics(
            every_chunks=self._every,
            interval_seconds=self._interval,
            chunks_since_sense=self._every - self._countdown,
            senses_total=self._senses,
            last_sense_seconds=self._last,
        )

"""A token bucket for replay throttling: pure, with the clock injected."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class RateLimiter:
    """Token bucket in bytes per second; the caller sleeps for what :meth:`delay_for` says.

    ``rate_bytes_per_second`` of ``0`` or ``None`` means unlimited (every delay is 0). The
    bucket holds at most ``burst_bytes`` (default: one second of rate); a request larger than
    the bucket is allowed and leaves a debt that later requests wait out.
    """

    def __init__(
        self,
        rate_bytes_per_second: float | None,
        *,
        burst_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_bytes_per_second is not None and rate_bytes_per_second < 0:
            raise ValueError("rate_bytes_per_second must not be negative")
        self._rate = float(rate_bytes_per_second or 0.0)
        self._burst = float(burst_bytes if burst_bytes is not None else max(self._rate, 1.0))
        if self._burst <= 0:
            raise ValueError("burst_bytes must be positive")
        self._clock = clock
        self._tokens = self._burst
        self._last = clock()

    @property
    def rate_bytes_per_second(self) -> float:
        """The configured rate (0.0 = unlimited)."""
        return self._rate

    def delay_for(self, nbytes: int) -> float:
        """Consume ``nbytes`` tokens; returns the seconds to wait before using them (>= 0)."""
        if self._rate <= 0:
            return 0.0
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._tokens -= nbytes
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self._rate

"""Fakes for tests: a clock you advance by hand and a sink that remembers what it got.

Fakes over mocks: these behave like the real thing (the sinks pass
:func:`gophership.testing.conformance.check_sink`), with knobs to make them fail or block.
"""

from __future__ import annotations

import asyncio

from gophership.errors import ClosedResourceError
from gophership.sinks.base import ExportBatch, SinkCounters, SinkStatistics


class FakeClock:
    """A monotonic clock that only moves when told (trio ``MockClock``).

    ``clock()`` and ``clock.monotonic()`` read it, so it fits wherever a
    ``Callable[[], float]`` or an object with ``monotonic()`` is expected.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def monotonic(self) -> float:
        return self._now

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward; moving it backwards is a bug in the test (ValueError)."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back ({seconds!r} s)")
        self._now += seconds


class MemorySink:
    """Keeps every delivered batch in :attr:`batches`; can fail or block on demand.

    * :meth:`fail_next` makes the next ``n`` sends raise a given exception (counted as
      failures, nothing kept).
    * :meth:`hold` makes sends wait until :meth:`release`; :attr:`waiting` says how many wait.
    """

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.batches: list[ExportBatch] = []
        self._counters = SinkCounters()
        self._closed = False
        self._failures: list[BaseException] = []
        self._open_gate = asyncio.Event()
        self._open_gate.set()
        self._waiting = 0

    @property
    def payload(self) -> bytes:
        """Every delivered payload, concatenated in order."""
        return b"".join(b.payload for b in self.batches)

    @property
    def waiting(self) -> int:
        """How many sends are blocked by :meth:`hold`."""
        return self._waiting

    def fail_next(self, times: int, error: BaseException) -> None:
        """Make the next ``times`` sends raise ``error`` (after any failures already queued)."""
        self._failures.extend([error] * times)

    def hold(self) -> None:
        """Block sends from now on until :meth:`release`."""
        self._open_gate.clear()

    def release(self) -> None:
        """Let blocked and later sends through."""
        self._open_gate.set()

    async def send(self, batch: ExportBatch) -> None:
        if self._closed:
            raise ClosedResourceError(f"sink {self.name!r} is closed")
        self._counters.attempted(batch)
        if not self._open_gate.is_set():
            self._waiting += 1
            try:
                await self._open_gate.wait()
            finally:
                self._waiting -= 1
        if self._failures:
            error = self._failures.pop(0)
            self._counters.failed(batch)
            raise error.with_traceback(None)
        self.batches.append(batch)
        self._counters.sent(batch)

    async def aclose(self) -> None:
        self._closed = True
        self.release()

    def statistics(self) -> SinkStatistics:
        return self._counters.snapshot()

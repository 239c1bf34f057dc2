"""The blackhole sink: counts batches and discards them (for benchmarks and dry runs)."""

from __future__ import annotations

from gophership.errors import ClosedResourceError
from gophership.sinks.base import ExportBatch, SinkCounters, SinkStatistics


class BlackholeSink:
    """Accepts every batch at once, keeps nothing but the counts."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._counters = SinkCounters()
        self._closed = False

    async def send(self, batch: ExportBatch) -> None:
        if self._closed:
            raise ClosedResourceError(f"sink {self.name!r} is closed")
        self._counters.attempted(batch)
        self._counters.sent(batch)

    async def aclose(self) -> None:
        self._closed = True

    def statistics(self) -> SinkStatistics:
        return self._counters.snapshot()

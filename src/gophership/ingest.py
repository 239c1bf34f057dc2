"""The ingester: the somatic pivot between the green queue and the Raw Vault.

Rules:

1. :meth:`Ingester.route` is the hot path. It runs once per chunk (never per line), reads the
   cached zone, and either puts the chunk on the green queue (``put_nowait``) or hands it to the
   vault spiller. It never awaits and never does I/O.
2. Sensing is lazy (:class:`~gophership.pivot.sensor.SensePolicy`): the expensive reads (RSS,
   cgroup files) happen every ``sense_every_chunks`` chunks or once ``sense_interval_seconds``
   have passed, whichever comes first; a loop timer calls :meth:`Ingester.tick` so an idle
   engine still notices memory going down or a sink recovering.
3. A chunk is never dropped here. When the spiller is over its budget the chunk is still taken,
   and ``route`` returns False so the source pauses reading (TCP and unix streams push back).
"""

from __future__ import annotations

import logging
import time
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gophership.buffer import ChunkQueue, QueuedChunk
from gophership.errors import BufferFull
from gophership.pivot.controller import Sample, ZoneController
from gophership.pivot.modes import Zone
from gophership.pivot.probe import MemoryProbe
from gophership.pivot.sensor import SensePolicy

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from gophership.record import Codec

log = logging.getLogger(__name__)

LATENCY_WINDOW = 4096
"""How many recent pivot latencies are kept for the p50/p99/p999 in ``status``."""


class Spill(Protocol):
    """Where red-path chunks go (the vault spiller; a list in tests)."""

    def submit(self, item: QueuedChunk) -> bool:
        """Take ``item``; False asks the sender to pause."""
        ...

    @property
    def pending_bytes(self) -> int:
        """Bytes taken but not yet durable."""
        ...

    @property
    def pressured(self) -> bool:
        """True while senders that can be pushed back should be."""
        ...


class Probe(Protocol):
    """Memory readings (``MemoryProbe``; a fake in tests)."""

    def rss_bytes(self) -> int: ...

    def cgroup(self) -> tuple[int, int | None] | None: ...


@dataclass(frozen=True, slots=True)
class IngesterStatistics:
    """Numbers of the ingester at one instant."""

    zone: Zone
    forced: Zone | None
    pivots_total: int
    green_chunks_total: int
    red_chunks_total: int
    green_frames_total: int
    red_frames_total: int
    memory_bytes: int
    memory_budget_bytes: int
    cgroup_current_bytes: int | None
    cgroup_max_bytes: int | None
    senses_total: int
    latency_p50_seconds: float
    latency_p99_seconds: float
    latency_p999_seconds: float
    latency_samples: int


class Ingester:
    """Routes chunks to the green queue or the vault according to the current zone."""

    def __init__(
        self,
        queue: ChunkQueue,
        spiller: Spill,
        controller: ZoneController,
        *,
        memory_budget_bytes: int,
        sense_every_chunks: int,
        sense_interval_seconds: float = 0.1,
        probe: Probe | None = None,
        unhealthy_sinks: Callable[[], int] = lambda: 0,
    ) -> None:
        self.queue = queue
        self.spiller = spiller
        self.controller = controller
        self._probe = probe or MemoryProbe()
        self._memory_budget = memory_budget_bytes
        self._policy = SensePolicy(sense_every_chunks, sense_interval_seconds)
        self._unhealthy_sinks = unhealthy_sinks
        self.zone = controller.zone
        self._pivots = 0
        self._green_chunks = 0
        self._red_chunks = 0
        self._green_frames = 0
        self._red_frames = 0
        self._senses = 0
        self._memory = 0
        self._cgroup: tuple[int, int | None] | None = None
        self._latency = array("q", bytes(8 * LATENCY_WINDOW))
        self._latency_i = 0
        self._latency_n = 0
        self._paused: set[asyncio.BaseTransport] = set()
        self._on_zone_change: list[Callable[[Zone], None]] = []

    # -- hot path -----------------------------------------------------------------------

    def route(self, codec: Codec, source: str, data: bytes, frames: int, started_ns: int) -> bool:
        """Send one chunk of whole frames on its way; False asks the caller to pause reading.

        ``started_ns`` is ``time.perf_counter_ns()`` taken when the bytes were handed to the
        source; the pivot latency (received to enqueued or handed to the vault) is recorded.
        """
        if self._policy.due(started_ns * 1e-9):
            self.sense()
        item = QueuedChunk(codec, source, data, frames, time.time_ns())
        ok = True
        if self.zone is not Zone.RED:
            try:
                self.queue.put_nowait(item)
            except BufferFull:
                self._pivots += 1
                self._red_chunks += 1
                self._red_frames += frames
                ok = self.spiller.submit(item)
            else:
                self._green_chunks += 1
                self._green_frames += frames
        else:
            self._pivots += 1
            self._red_chunks += 1
            self._red_frames += frames
            ok = self.spiller.submit(item)
        i = self._latency_i
        self._latency[i] = time.perf_counter_ns() - started_ns
        self._latency_i = (i + 1) % LATENCY_WINDOW
        self._latency_n += 1
        return ok

    # -- sensing ------------------------------------------------------------------------

    def sense(self) -> Zone:
        """Read the signals, update the zone; cheap enough for every N chunks, not per line."""
        self._senses += 1
        self._policy.mark(time.perf_counter())
        self._memory = self._probe.rss_bytes()
        self._cgroup = self._probe.cgroup()
        current, limit = self._cgroup or (None, None)
        sample = Sample(
            queued_bytes=self.queue.queued_bytes + self.spiller.pending_bytes,
            queue_budget_bytes=self.queue.max_bytes,
            memory_bytes=self._memory,
            memory_budget_bytes=self._memory_budget,
            cgroup_current_bytes=current,
            cgroup_max_bytes=limit,
            unhealthy_sinks=self._unhealthy_sinks(),
        )
        zone = self.controller.observe(sample)
        if zone is not self.zone:
            old, self.zone = self.zone, zone
            log.info(
                "Zone changed.",
                extra={
                    "from": old.name,
                    "to": zone.name,
                    "queued_bytes": sample.queued_bytes,
                    "memory_bytes": sample.memory_bytes,
                },
            )
            for callback in self._on_zone_change:
                callback(zone)
        return zone

    def tick(self) -> None:
        """Loop timer: sense if nothing did for ``sense_interval_seconds``."""
        if self._policy.due(time.perf_counter()):
            self.sense()

    def force(self, zone: Zone | None, *, who: str = "config") -> None:
        """Force a zone (None = back to auto); audited in the log."""
        target = zone.name if zone else "auto"
        log.warning("Zone override.", extra={"zone": target, "by": who, "audit": True})
        self.controller.force(zone)
        self.sense()

    def on_zone_change(self, callback: Callable[[Zone], None]) -> None:
        self._on_zone_change.append(callback)

    # -- pushback -----------------------------------------------------------------------

    def pause(self, transport: asyncio.BaseTransport) -> None:
        """Stop reading from ``transport`` until the vault spiller has room again."""
        if transport in self._paused or transport.is_closing():
            return
        pause = getattr(transport, "pause_reading", None)
        if pause is not None:
            pause()
            self._paused.add(transport)

    def forget(self, transport: asyncio.BaseTransport) -> None:
        self._paused.discard(transport)

    def on_pressure(self, pressured: bool) -> None:
        """Spiller callback (on the loop thread): resume paused sources when relieved."""
        if pressured:
            return
        paused, self._paused = self._paused, set()
        for transport in paused:
            if not transport.is_closing():
                resume = getattr(transport, "resume_reading", None)
                if resume is not None:
                    resume()

    @property
    def accepting(self) -> bool:
        """False while the vault spiller is over budget or the vault is full.

        For senders that cannot be paused but can be told to retry (OTLP): their requests
        are refused with a retryable answer rather than taken into unbounded memory.
        """
        return not self.spiller.pressured

    @property
    def paused_transports(self) -> int:
        return len(self._paused)

    def statistics(self) -> IngesterStatistics:
        n = min(self._latency_n, LATENCY_WINDOW)
        p50 = p99 = p999 = 0.0
        if n:
            window = sorted(self._latency[:n])
            p50 = window[n // 2] / 1e9
            p99 = window[min(n - 1, (n * 99) // 100)] / 1e9
            p999 = window[min(n - 1, (n * 999) // 1000)] / 1e9
        current, limit = self._cgroup or (None, None)
        return IngesterStatistics(
            zone=self.zone,
            forced=self.controller.statistics().forced,
            pivots_total=self._pivots,
            green_chunks_total=self._green_chunks,
            red_chunks_total=self._red_chunks,
            green_frames_total=self._green_frames,
            red_frames_total=self._red_frames,
            memory_bytes=self._memory,
            memory_budget_bytes=self._memory_budget,
            cgroup_current_bytes=current,
            cgroup_max_bytes=limit,
            senses_total=self._senses,
            latency_p50_seconds=p50,
            latency_p99_seconds=p99,
            latency_p999_seconds=p999,
            latency_samples=self._latency_n,
        )

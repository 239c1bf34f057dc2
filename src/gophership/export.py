"""Sink runners: one task per sink, each with a small bounded queue, retry and health.

Rules:

1. Every batch is retried until it is delivered (backoff from :mod:`gophership.sinks.retry`,
   capped): a failing sink never loses data. While it fails, it reports itself unhealthy and
   the zone goes RED, so new chunks go to the vault instead of piling up in memory.
2. A send that takes longer than ``timeout_seconds`` also makes the sink unhealthy, but it is
   not abandoned: a write stuck on a blocked pipe or disk may still complete, and cancelling it
   could duplicate or tear the batch.
3. ``max_batches`` bounds what waits for each sink; past it, ``submit`` waits, the green queue
   stops draining and the pivot sends new chunks to the vault.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from gophership.errors import GopherShipError
from gophership.sinks.retry import backoff

if TYPE_CHECKING:
    from collections.abc import Callable

    from gophership.buffer import QueuedChunk
    from gophership.config import SinkConfig
    from gophership.sinks.base import ExportBatch, Sink

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Delivery:
    """One encoded batch on its way to every sink, with the chunks it was made from."""

    batch: ExportBatch
    chunks: list[QueuedChunk]
    remaining: int
    on_delivered: Callable[[Delivery], None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def sink_done(self) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            self.done.set()
            if self.on_delivered is not None:
                self.on_delivered(self)


@dataclass(frozen=True, slots=True)
class RunnerStatistics:
    """Health of one sink runner."""

    name: str
    healthy: bool
    consecutive_failures: int
    queued_batches: int
    queued_bytes: int
    retries_total: int


class SinkRunner:
    """Delivers batches to one sink in order, retrying each until it succeeds."""

    def __init__(self, sink: Sink, config: SinkConfig, *, max_batches: int = 4) -> None:
        self.sink = sink
        self.config = config
        self.name = config.name
        self._queue: deque[Delivery] = deque()
        self._max = max_batches
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._failures = 0
        self._retries = 0
        self._send_started: float | None = None
        self._stopping = False
        self._rng = random.Random()  # noqa: S311 - jitter, not security

    async def submit(self, delivery: Delivery) -> None:
        """Queue ``delivery``; waits while ``max_batches`` are already queued."""
        while len(self._queue) >= self._max:
            self._room.clear()
            await self._room.wait()
        self._queue.append(delivery)
        self._queued_bytes += len(delivery.batch.payload)
        self._wake.set()

    def submit_nowait(self, delivery: Delivery) -> None:
        """Queue ``delivery`` even past ``max_batches`` (the caller checked :attr:`has_room`)."""
        self._queue.append(delivery)
        self._queued_bytes += len(delivery.batch.payload)
        self._wake.set()

    @property
    def has_room(self) -> bool:
        """Fewer than ``max_batches`` deliveries wait: :meth:`submit` would not wait."""
        return len(self._queue) < self._max

    @property
    def healthy(self) -> bool:
        if self._failures >= self.config.unhealthy_after_failures:
            return False
        started = self._send_started
        return started is None or time.monotonic() - started < self.config.timeout_seconds

    def pending(self) -> list[Delivery]:
        """Deliveries this sink has not completed (for the drain)."""
        return list(self._queue)

    async def run(self) -> None:
        """Send queued batches until :meth:`stop` (or cancellation)."""
        while not self._stopping:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            delivery = self._queue[0]
            await self._send(delivery.batch)
            self._queue.popleft()
            self._queued_bytes -= len(delivery.batch.payload)
            self._room.set()
            delivery.sink_done()

    def stop(self) -> None:
        """Finish the send in progress (if any), then leave :meth:`run` without starting another.

        For the drain: a write already handed to the sink completes rather than being
        abandoned, so its batch is not stored in the vault a second time.
        """
        self._stopping = True
        self._wake.set()

    async def _send(self, batch: ExportBatch) -> None:
        attempt = 0
        while True:
            self._send_started = time.monotonic()
            try:
                await self.sink.send(batch if attempt == 0 else replace(batch, attempt=attempt))
            except GopherShipError as exc:
                self._failures += 1
                self._retries += 1
                delay = backoff(
                    attempt,
                    self._rng,
                    initial=self.config.retry_initial_backoff_seconds,
                    maximum=self.config.retry_max_backoff_seconds,
                )
                hint = getattr(exc, "retry_after", None)
                if hint is not None:  # the receiver asked: at least that, at most an hour
                    delay = max(delay, min(float(hint), 3600.0))
                attempt += 1
                if attempt == 1 or attempt % 20 == 0:
                    log.warning(
                        "Sink request failed; retrying.",
                        extra={
                            "sink": self.name,
                            "attempt": attempt,
                            "error": str(exc),
                            "retry_in_seconds": round(delay, 3),
                        },
                    )
                self._send_started = None
                await asyncio.sleep(delay)
            else:
                if self._failures >= self.config.unhealthy_after_failures:
                    log.info("Sink recovered.", extra={"sink": self.name})
                self._failures = 0
                self._send_started = None
                return

    def statistics(self) -> RunnerStatistics:
        return RunnerStatistics(
            name=self.name,
            healthy=self.healthy,
            consecutive_failures=self._failures,
            queued_batches=len(self._queue),
            queued_bytes=self._queued_bytes,
            retries_total=self._retries,
        )

"""Vault replay: the deferred parsing debt, paid through the green path when there is room.

Rules:

1. Replay runs only in GREEN, and only while the green queue is under half its budget; it
   pauses in YELLOW and RED (the hot path always has priority).
2. It is throttled to ``rate_bytes_per_second`` of raw payload by a token bucket.
3. A record's chunk carries its vault position; the cursor moves past it only once the batch
   holding it has been delivered to every sink (at-least-once: a crash replays the tail of what
   was in flight, never skips it). Cursor commits are written at most every
   ``commit_interval_seconds`` and at stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gophership.buffer import ChunkQueue, QueuedChunk
from gophership.pivot.modes import Zone
from gophership.record import Codec
from gophership.vault import RateLimiter, Vault, VaultRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from gophership.export import Delivery

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplayStatistics:
    """Numbers of the replayer at one instant."""

    enabled: bool
    paused: bool
    queued_records_total: int
    queued_bytes_total: int
    delivered_records_total: int
    delivered_lines_total: int
    pending_bytes: int


class Replayer:
    """Feeds vault records back into the green queue, in order, throttled."""

    def __init__(
        self,
        vault: Vault,
        queue: ChunkQueue,
        zone: Callable[[], Zone],
        *,
        rate_bytes_per_second: int,
        enabled: bool = True,
        poll_seconds: float = 0.1,
        commit_interval_seconds: float = 0.2,
    ) -> None:
        self._vault = vault
        self._queue = queue
        self._zone = zone
        self._limiter = RateLimiter(rate_bytes_per_second or None)
        self.enabled = enabled
        self.paused_by_operator = False
        self._poll = poll_seconds
        self._commit_interval = commit_interval_seconds
        self._reader = vault.reader("replay")
        self._to_commit: VaultRecord | None = None
        self._committed: VaultRecord | None = None
        self._queued_records = 0
        self._queued_bytes = 0
        self._delivered_records = 0
        self._delivered_lines = 0
        self._wake = asyncio.Event()
        self._pending_bytes = 0
        # one thread owns the reader's I/O, so close() can wait for it before the vault closes
        self._io = ThreadPoolExecutor(1, thread_name_prefix="vault-replay")

    def _may_run(self) -> bool:
        return (
            self.enabled
            and not self.paused_by_operator
            and self._zone() is Zone.GREEN
            and self._queue.queued_bytes < self._queue.max_bytes // 2
        )

    def poke(self) -> None:
        """Wake the replayer (the zone changed or an operator asked)."""
        self._wake.set()

    async def _idle(self) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._poll)

    async def run(self) -> None:
        """Replay forever (cancel to stop); commits the cursor in the background."""
        committer = asyncio.create_task(self._commit_loop(), name="replay-commit")
        try:
            await self._replay()
        finally:
            committer.cancel()

    async def _replay(self) -> None:
        reader = self._reader
        while True:
            if not self._may_run():
                await self._idle()
                continue
            loop = asyncio.get_running_loop()
            record = await loop.run_in_executor(self._io, reader.next_record)
            self._pending_bytes = await loop.run_in_executor(self._io, reader.pending_bytes)
            if record is None:
                await self._idle()
                continue
            delay = self._limiter.delay_for(len(record.payload))
            if delay > 0:
                await asyncio.sleep(delay)
            chunk = QueuedChunk(
                Codec(record.codec),
                record.source,
                record.payload,
                record.lines,
                record.received_unix_nano,
                replay_token=record,
            )
            await self._queue.put(chunk)
            self._queued_records += 1
            self._queued_bytes += len(record.payload)

    def delivered(self, delivery: Delivery) -> None:
        """Delivery callback: remember the newest replayed record every sink now has."""
        for chunk in delivery.chunks:
            token = chunk.replay_token
            if isinstance(token, VaultRecord):
                self._to_commit = token
                self._delivered_records += 1
                self._delivered_lines += token.lines

    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(self._commit_interval)
            await self.commit()

    async def commit(self) -> None:
        """Persist the cursor past the newest delivered record, if it moved."""
        record = self._to_commit
        if record is None or record is self._committed:
            return
        self._committed = record
        await asyncio.get_running_loop().run_in_executor(self._io, self._reader.commit, record)

    def close(self) -> None:
        """Wait for the reader's thread to finish its current call (call after cancelling)."""
        self._io.shutdown(wait=True)

    def statistics(self) -> ReplayStatistics:
        return ReplayStatistics(
            enabled=self.enabled,
            paused=not self._may_run(),
            queued_records_total=self._queued_records,
            queued_bytes_total=self._queued_bytes,
            delivered_records_total=self._delivered_records,
            delivered_lines_total=self._delivered_lines,
            pending_bytes=self._pending_bytes,
        )

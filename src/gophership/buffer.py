"""The green queue: a bounded FIFO of chunks, measured in bytes.

Rules:

1. ``put_nowait`` never waits: it raises :class:`~gophership.errors.BufferFull` when the item
   would take the queue past ``max_bytes`` (an empty queue always takes one item, so a chunk
   larger than the budget still moves). The pivot catches that and sends the chunk to the vault.
2. ``put`` (used by replay, which may wait) waits until there is room.
3. One consumer awaits ``get``; ``statistics()`` is what the zone controller and the metrics read.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from gophership.errors import BufferFull, ClosedResourceError

if TYPE_CHECKING:
    from gophership.record import Codec


@dataclass(slots=True)
class QueuedChunk:
    """Whole frames of one source on their way to the green path or the vault.

    ``replay_token`` is set when the chunk comes from vault replay: once the batch holding it is
    delivered to every sink, the replay cursor moves past it.
    """

    codec: Codec
    source: str
    data: bytes
    frames: int
    received_unix_nano: int
    replay_token: object | None = None


@dataclass(frozen=True, slots=True)
class ChunkQueueStatistics:
    """Numbers of a :class:`ChunkQueue` at one instant."""

    queued_bytes: int
    queued_chunks: int
    max_bytes: int
    put_total: int
    rejected_total: int


_WAKE: Final = None


class ChunkQueue:
    """Bounded FIFO of :class:`QueuedChunk` with one consumer; bound is ``max_bytes`` of data."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self._max_bytes = max_bytes
        self._items: deque[QueuedChunk] = deque()
        self._bytes = 0
        self._put_total = 0
        self._rejected_total = 0
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    def put_nowait(self, item: QueuedChunk) -> None:
        """Append ``item`` or raise :class:`BufferFull` (the queue is unchanged then)."""
        if self._closed:
            raise ClosedResourceError("queue is closed")
        size = len(item.data)
        if self._items and self._bytes + size > self._max_bytes:
            self._rejected_total += 1
            raise BufferFull
        self._items.append(item)
        self._bytes += size
        self._put_total += 1
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(_WAKE)

    async def put(self, item: QueuedChunk) -> None:
        """Append ``item``, waiting while the queue is over budget."""
        while True:
            try:
                self.put_nowait(item)
            except BufferFull:
                self._rejected_total -= 1  # waiting is not a rejection
                fut = asyncio.get_running_loop().create_future()
                self._putters.append(fut)
                try:
                    await fut
                finally:
                    if fut in self._putters:
                        self._putters.remove(fut)
            else:
                return

    def get_nowait(self) -> QueuedChunk | None:
        """Pop the oldest item, or return None when empty."""
        if not self._items:
            return None
        item = self._items.popleft()
        self._bytes -= len(item.data)
        while self._putters:
            fut = self._putters.popleft()
            if not fut.done():
                fut.set_result(_WAKE)
                break
        return item

    async def get(self) -> QueuedChunk:
        """Pop the oldest item, waiting for one; ClosedResourceError once closed and empty."""
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            if self._closed:
                raise ClosedResourceError("queue is closed")
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None

    def close(self) -> None:
        """Refuse new items; a waiting consumer wakes up and drains what is left."""
        self._closed = True
        if self._getter is not None and not self._getter.done():
            self._getter.set_result(_WAKE)

    def drain_nowait(self) -> list[QueuedChunk]:
        """Remove and return everything queued (for the drain on shutdown)."""
        items = list(self._items)
        self._items.clear()
        self._bytes = 0
        return items

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    def __len__(self) -> int:
        return len(self._items)

    def statistics(self) -> ChunkQueueStatistics:
        return ChunkQueueStatistics(
            queued_bytes=self._bytes,
            queued_chunks=len(self._items),
            max_bytes=self._max_bytes,
            put_total=self._put_total,
            rejected_total=self._rejected_total,
        )

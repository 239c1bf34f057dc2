import asyncio

import pytest

from gophership.buffer import ChunkQueue, QueuedChunk
from gophership.errors import BufferFull, ClosedResourceError
from gophership.record import Codec


def chunk(n: int, source: str = "s") -> QueuedChunk:
    return QueuedChunk(Codec.NDJSON, source, b"x" * (n - 1) + b"\n", 1, 0)


def test_put_nowait_respects_the_byte_budget() -> None:
    q = ChunkQueue(max_bytes=100)
    q.put_nowait(chunk(60))
    with pytest.raises(BufferFull):
        q.put_nowait(chunk(60))
    q.put_nowait(chunk(40))
    s = q.statistics()
    assert (s.queued_bytes, s.queued_chunks, s.rejected_total, s.put_total) == (100, 2, 1, 2)


def test_an_empty_queue_takes_one_oversized_chunk() -> None:
    q = ChunkQueue(max_bytes=10)
    q.put_nowait(chunk(50))
    assert q.queued_bytes == 50
    with pytest.raises(BufferFull):
        q.put_nowait(chunk(1))


def test_fifo_order_and_accounting() -> None:
    q = ChunkQueue(max_bytes=1000)
    items = [chunk(10 + i, source=str(i)) for i in range(5)]
    for it in items:
        q.put_nowait(it)
    out = [q.get_nowait() for _ in range(5)]
    assert out == items
    assert q.get_nowait() is None
    assert q.queued_bytes == 0


async def test_get_waits_for_a_put() -> None:
    q = ChunkQueue(max_bytes=1000)
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    item = chunk(10)
    q.put_nowait(item)
    assert await asyncio.wait_for(getter, 1) is item


async def test_put_waits_for_room_and_is_not_counted_as_rejected() -> None:
    q = ChunkQueue(max_bytes=100)
    q.put_nowait(chunk(80))
    putter = asyncio.create_task(q.put(chunk(50)))
    await asyncio.sleep(0)
    assert not putter.done()
    q.get_nowait()
    await asyncio.wait_for(putter, 1)
    assert q.queued_bytes == 50
    assert q.statistics().rejected_total == 0


async def test_close_drains_then_raises() -> None:
    q = ChunkQueue(max_bytes=100)
    item = chunk(10)
    q.put_nowait(item)
    q.close()
    assert await q.get() is item
    with pytest.raises(ClosedResourceError):
        await q.get()
    with pytest.raises(ClosedResourceError):
        q.put_nowait(chunk(1))


async def test_close_wakes_a_waiting_consumer() -> None:
    q = ChunkQueue(max_bytes=100)
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.close()
    with pytest.raises(ClosedResourceError):
        await asyncio.wait_for(getter, 1)


def test_drain_nowait_empties() -> None:
    q = ChunkQueue(max_bytes=100)
    a, b = chunk(10), chunk(20)
    q.put_nowait(a)
    q.put_nowait(b)
    assert q.drain_nowait() == [a, b]
    assert (q.queued_bytes, len(q)) == (0, 0)


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ChunkQueue(0)

import asyncio
from pathlib import Path

import orjson
import pytest

from gophership.buffer import ChunkQueue, QueuedChunk
from gophership.config import SinkConfig
from gophership.errors import RetryableSinkError
from gophership.export import Delivery, SinkRunner
from gophership.green import REPLAYED_PART, GreenPath
from gophership.record import Codec
from gophership.sinks.base import ExportBatch
from gophership.testing.fakes import MemorySink


def sink_config(**kw: object) -> SinkConfig:
    base: dict[str, object] = {
        "name": "mem",
        "type": "blackhole",
        "path": Path("/dev/null"),
        "retry_initial_backoff_seconds": 0.001,
        "retry_max_backoff_seconds": 0.002,
        "unhealthy_after_failures": 2,
    }
    base.update(kw)
    return SinkConfig(**base)  # type: ignore[arg-type]


def delivery(payload: bytes = b"{}\n", sinks: int = 1) -> Delivery:
    return Delivery(ExportBatch(payload, 1), [], remaining=sinks)


async def test_runner_retries_until_delivered_and_reports_health() -> None:
    sink = MemorySink()
    sink.fail_next(3, RetryableSinkError("down"))
    runner = SinkRunner(sink, sink_config())
    task = asyncio.create_task(runner.run())
    d = delivery()
    await runner.submit(d)
    health: list[bool] = []
    while not d.done.is_set():
        health.append(runner.healthy)
        await asyncio.sleep(0.001)
    task.cancel()
    assert [b.payload for b in sink.batches] == [d.batch.payload]
    assert sink.batches[0].attempt == 3
    assert False in health  # two consecutive failures made it unhealthy on the way
    assert runner.healthy
    stats = runner.statistics()
    assert stats.retries_total == 3
    assert sink.statistics().retries >= 1  # later attempts are marked as retries


async def test_runner_delivers_in_order_and_bounds_its_queue() -> None:
    sink = MemorySink()
    sink.hold()
    runner = SinkRunner(sink, sink_config(), max_batches=2)
    task = asyncio.create_task(runner.run())
    ds = [delivery(b"%d\n" % i) for i in range(4)]
    await runner.submit(ds[0])
    await runner.submit(ds[1])
    third = asyncio.create_task(runner.submit(ds[2]))
    await asyncio.sleep(0.01)
    assert not third.done()  # the queue is full while the sink holds
    sink.release()
    await third
    await runner.submit(ds[3])
    await asyncio.wait_for(ds[3].done.wait(), 2)
    task.cancel()
    assert [b.payload for b in sink.batches] == [d.batch.payload for d in ds]


async def test_a_stuck_send_turns_the_sink_unhealthy_without_cancelling_it() -> None:
    sink = MemorySink()
    sink.hold()
    runner = SinkRunner(sink, sink_config(timeout_seconds=0.01))
    task = asyncio.create_task(runner.run())
    d = delivery()
    await runner.submit(d)
    await asyncio.sleep(0.05)
    assert runner.statistics().healthy is False
    sink.release()
    await asyncio.wait_for(d.done.wait(), 2)
    assert runner.statistics().healthy is True
    assert len(sink.batches) == 1
    task.cancel()


async def test_green_path_decodes_batches_and_fans_out_to_every_sink() -> None:
    queue = ChunkQueue(1 << 20)
    sinks = [MemorySink("a"), MemorySink("b")]
    runners = [SinkRunner(s, sink_config(name=s.name)) for s in sinks]
    delivered: list[Delivery] = []
    green = GreenPath(
        queue,
        runners,
        [],
        batch_max_records=100,
        batch_max_bytes=1 << 20,
        on_delivered=delivered.append,
    )
    tasks = [asyncio.create_task(r.run()) for r in runners]
    queue.put_nowait(QueuedChunk(Codec.NDJSON, "app", b'{"msg":"a"}\n{"msg":"b"}\n', 2, 5))
    queue.put_nowait(QueuedChunk(Codec.SYSLOG_LINE, "sys", b"<13>1 - h a - - - hi\n", 1, 6))
    queue.close()
    await green.run()
    while len(delivered) < 1:
        await asyncio.sleep(0.001)
    for t in tasks:
        t.cancel()
    for sink in sinks:
        (batch,) = sink.batches
        assert batch.records == 3
        request = orjson.loads(batch.payload)
        scopes = request["resourceLogs"][0]["scopeLogs"]
        by_source = {
            s["scope"]["attributes"][0]["value"]["stringValue"]: s["logRecords"] for s in scopes
        }
        assert [r["body"]["stringValue"] for r in by_source["app"]] == ["a", "b"]
        assert by_source["sys"][0]["body"]["stringValue"] == "hi"
        assert by_source["app"][0]["observedTimeUnixNano"] == "5"
    assert green.statistics().decoded_records_total == 3
    assert green.undelivered_chunks() == []


async def test_green_path_reports_undelivered_chunks_while_a_sink_holds() -> None:
    queue = ChunkQueue(1 << 20)
    sink = MemorySink()
    sink.hold()
    runner = SinkRunner(sink, sink_config())
    green = GreenPath(queue, [runner], [], batch_max_records=10, batch_max_bytes=1 << 20)
    rtask = asyncio.create_task(runner.run())
    gtask = asyncio.create_task(green.run())
    chunk = QueuedChunk(Codec.NDJSON, "app", b'{"msg":"a"}\n', 1, 1)
    queue.put_nowait(chunk)
    while sink.waiting == 0:
        await asyncio.sleep(0.001)
    assert green.undelivered_chunks() == [chunk]
    gtask.cancel()
    rtask.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gtask


async def test_green_path_waits_batch_timeout_for_a_batch_to_fill() -> None:
    queue = ChunkQueue(1 << 20)
    sink = MemorySink()
    runner = SinkRunner(sink, sink_config())
    green = GreenPath(
        queue, [runner], [], batch_max_records=3, batch_max_bytes=1 << 20,
        batch_timeout_seconds=5.0,
    )  # fmt: skip
    tasks = [asyncio.create_task(runner.run()), asyncio.create_task(green.run())]
    for i in range(3):
        queue.put_nowait(QueuedChunk(Codec.NDJSON, "app", b'{"msg":"%d"}\n' % i, 1, 1))
        await asyncio.sleep(0.01)  # a trickle: each arrives after the batch was started
    while not sink.batches:
        await asyncio.sleep(0.001)
    assert [b.records for b in sink.batches] == [3]  # filled, well before the 5 s timeout
    queue.put_nowait(QueuedChunk(Codec.NDJSON, "app", b'{"msg":"late"}\n', 1, 1))
    queue.close()  # closing ends the wait: the partial batch goes out at once
    await asyncio.wait_for(tasks[1], 2)
    while len(sink.batches) < 2:
        await asyncio.sleep(0.001)
    assert [b.records for b in sink.batches] == [3, 1]
    tasks[0].cancel()


async def test_green_path_cuts_a_big_chunk_into_requests_within_both_limits() -> None:
    queue = ChunkQueue(1 << 20)
    sink = MemorySink()
    runner = SinkRunner(sink, sink_config())
    delivered: list[Delivery] = []
    green = GreenPath(
        queue, [runner], [], batch_max_records=100, batch_max_bytes=8192,
        on_delivered=delivered.append,
    )  # fmt: skip
    task = asyncio.create_task(runner.run())
    app = b"".join(b'{"msg":"a%d"}\n' % i for i in range(250))
    wide = b"".join(b'{"msg":"%s"}\n' % (b"w" * 400) for _ in range(30))
    token = object()  # as if replayed: only the last part may move the cursor
    queue.put_nowait(QueuedChunk(Codec.NDJSON, "app", app, 250, 1))
    queue.put_nowait(QueuedChunk(Codec.NDJSON, "wide", wide, 30, 1, replay_token=token))
    queue.close()
    await green.run()
    while green.statistics().in_flight_deliveries:
        await asyncio.sleep(0.001)
    task.cancel()
    bodies = []
    for batch in sink.batches:
        assert batch.records <= 100
        assert len(batch.payload) <= 8192
        request = orjson.loads(batch.payload)
        records = [r for s in request["resourceLogs"][0]["scopeLogs"] for r in s["logRecords"]]
        assert len(records) == batch.records
        bodies += [r["body"]["stringValue"] for r in records]
    assert bodies == [f"a{i}" for i in range(250)] + ["w" * 400] * 30  # in order, each once
    # Each request carries exactly the parts it was made from: cut at frame ends, in order.
    parts = [c for d in delivered for c in d.chunks]
    assert [sum(c.frames for c in d.chunks) for d in delivered] == [b.records for b in sink.batches]
    assert b"".join(c.data for c in parts if c.source == "app") == app
    assert b"".join(c.data for c in parts if c.source == "wide") == wide
    tokens = [c.replay_token for c in parts if c.source == "wide"]
    assert tokens[-1] is token
    assert tokens[:-1] and all(t is REPLAYED_PART for t in tokens[:-1])
    assert green.statistics().decoded_records_total == 280
    assert green.statistics().batches_total == len(sink.batches) > 4

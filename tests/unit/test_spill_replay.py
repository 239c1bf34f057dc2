import asyncio
from pathlib import Path

from gophership.buffer import ChunkQueue, QueuedChunk
from gophership.export import Delivery
from gophership.pivot.modes import Zone
from gophership.record import Codec
from gophership.replay import Replayer
from gophership.sinks.base import ExportBatch
from gophership.spill import VaultSpiller
from gophership.vault import Vault, VaultOptions


def chunk(i: int, source: str = "app") -> QueuedChunk:
    data = b"".join(b'{"n":%d}\n' % (i * 10 + k) for k in range(10))
    return QueuedChunk(Codec.NDJSON, source, data, 10, 1000 + i)


async def test_spiller_appends_everything_in_order_and_closes_the_vault(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path / "v", VaultOptions(fsync="never"))
    pressure: list[bool] = []
    spiller = VaultSpiller(vault, max_pending_bytes=1 << 20, on_pressure=pressure.append)
    spiller.start(asyncio.get_running_loop())
    chunks = [chunk(i, source="a" if i < 5 else "b") for i in range(10)]
    for c in chunks:
        assert spiller.submit(c)
    assert await asyncio.to_thread(spiller.flush, 5)
    await asyncio.to_thread(spiller.close)
    reopened = Vault.open(tmp_path / "v", VaultOptions(fsync="never"))
    reader = reopened.reader("check")
    records = []
    while (rec := reader.next_record()) is not None:
        records.append(rec)
    assert b"".join(r.payload for r in records) == b"".join(c.data for c in chunks)
    assert sum(r.lines for r in records) == 100
    assert {r.source for r in records} == {"a", "b"}  # runs of one source are coalesced
    assert all(r.codec == Codec.NDJSON for r in records)
    assert records[0].received_unix_nano == 1000
    assert reopened.statistics().appended_lines_total == 0  # counters are per process
    reopened.close()


async def test_spiller_reports_pressure_past_its_budget(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path / "v", VaultOptions(fsync="never"))
    seen: list[bool] = []
    spiller = VaultSpiller(vault, max_pending_bytes=50, on_pressure=seen.append)
    # not started: nothing drains, so the second chunk goes over budget
    assert spiller.submit(chunk(0)) is False
    assert spiller.pressured
    assert spiller.statistics().pending_chunks == 1
    spiller.start(asyncio.get_running_loop())
    assert await asyncio.to_thread(spiller.flush, 5)
    for _ in range(100):
        if seen and seen[-1] is False:
            break
        await asyncio.sleep(0.01)
    assert seen[-1] is False  # relieved once the backlog drained
    await asyncio.to_thread(spiller.close)


async def test_replay_feeds_records_back_in_order_and_resumes_after_restart(
    tmp_path: Path,
) -> None:
    vault = Vault.open(tmp_path / "v", VaultOptions(fsync="never", segment_bytes=64 * 1024))
    payloads = [chunk(i).data for i in range(20)]
    for i, p in enumerate(payloads):
        vault.append(p, lines=10, codec=int(Codec.NDJSON), source="app", received_unix_nano=i)
    zone = Zone.GREEN
    queue = ChunkQueue(1 << 20)
    replayer = Replayer(vault, queue, lambda: zone, rate_bytes_per_second=0, poll_seconds=0.01)
    task = asyncio.create_task(replayer.run())
    got: list[QueuedChunk] = []
    while len(got) < 8:
        got.append(await asyncio.wait_for(queue.get(), 5))
    # deliver the first 8, then "crash": the cursor is committed past them only
    replayer.delivered(Delivery(ExportBatch(b"", 80), got, remaining=0))
    await replayer.commit()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    replayer.close()
    assert [c.data for c in got] == payloads[:8]
    assert [c.received_unix_nano for c in got] == list(range(8))
    vault.close()

    vault = Vault.open(tmp_path / "v", VaultOptions(fsync="never", segment_bytes=64 * 1024))
    queue = ChunkQueue(1 << 20)
    replayer = Replayer(vault, queue, lambda: zone, rate_bytes_per_second=0, poll_seconds=0.01)
    task = asyncio.create_task(replayer.run())
    rest = [await asyncio.wait_for(queue.get(), 5) for _ in range(12)]
    assert [c.data for c in rest] == payloads[8:]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    replayer.close()
    vault.close()


async def test_replay_waits_outside_green(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path / "v", VaultOptions(fsync="never"))
    vault.append(b"x\n", lines=1, codec=int(Codec.NDJSON), source="app")
    zone = Zone.RED
    queue = ChunkQueue(1 << 20)
    replayer = Replayer(vault, queue, lambda: zone, rate_bytes_per_second=0, poll_seconds=0.01)
    task = asyncio.create_task(replayer.run())
    await asyncio.sleep(0.05)
    assert len(queue) == 0
    assert replayer.statistics().paused
    zone = Zone.GREEN
    replayer.poke()
    item = await asyncio.wait_for(queue.get(), 5)
    assert item.data == b"x\n"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    replayer.close()
    vault.close()


async def test_a_full_vault_pauses_senders_and_never_drops_silently(tmp_path: Path) -> None:
    vault = Vault.open(
        tmp_path / "v",
        VaultOptions(fsync="never", compress=False, segment_bytes=64 * 1024, max_bytes=1 << 20),
    )
    seen: list[bool] = []
    spiller = VaultSpiller(
        vault, max_pending_bytes=1 << 30, on_pressure=seen.append, retry_seconds=0.01
    )
    spiller.start(asyncio.get_running_loop())
    big = QueuedChunk(Codec.NDJSON, "app", b"y" * 65_535 + b"\n", 1, 0)
    for _ in range(40):  # 2.5 MiB into a 1 MiB vault
        spiller.submit(big)
    for _ in range(500):
        if spiller.statistics().full:
            break
        await asyncio.sleep(0.01)
    stats = spiller.statistics()
    assert stats.full
    assert True in seen  # the senders were told to stop
    assert vault.statistics().rejected_full_total >= 1
    assert stats.pending_chunks > 0  # kept, not dropped
    await asyncio.to_thread(spiller.close, 0.1)
    lost = spiller.statistics().lost_frames_total
    assert lost > 0  # what could not be stored is counted, never silent
    appended = Vault.open(tmp_path / "v", VaultOptions(fsync="never", max_bytes=1 << 20))
    assert appended.statistics().lines + lost == 40
    appended.close()

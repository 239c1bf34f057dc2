import time
from dataclasses import dataclass, field

from gophership.buffer import ChunkQueue, QueuedChunk
from gophership.ingest import Ingester
from gophership.pivot.controller import ZoneController
from gophership.pivot.modes import Zone
from gophership.record import Codec


@dataclass
class ListSpill:
    items: list[QueuedChunk] = field(default_factory=list)
    accept: bool = True
    pending: int = 0

    def submit(self, item: QueuedChunk) -> bool:
        self.items.append(item)
        return self.accept

    @property
    def pending_bytes(self) -> int:
        return self.pending

    @property
    def pressured(self) -> bool:
        return not self.accept


@dataclass
class FakeProbe:
    rss: int = 10 * 2**20
    reads: int = 0

    def rss_bytes(self) -> int:
        self.reads += 1
        return self.rss

    def cgroup(self) -> tuple[int, int | None] | None:
        return None


def make(queue_bytes: int = 1000, forced: Zone | None = None, every: int = 4):  # type: ignore[no-untyped-def]
    queue = ChunkQueue(queue_bytes)
    spill = ListSpill()
    probe = FakeProbe()
    ing = Ingester(
        queue,
        spill,
        ZoneController(forced=forced),
        memory_budget_bytes=100 * 2**20,
        sense_every_chunks=every,
        probe=probe,
    )
    return ing, queue, spill, probe


def route(ing: Ingester, data: bytes = b"a\nb\n", frames: int = 2) -> bool:
    return ing.route(Codec.NDJSON, "app", data, frames, time.perf_counter_ns())


def test_green_chunks_go_to_the_queue() -> None:
    ing, queue, spill, _ = make()
    assert route(ing)
    assert len(queue) == 1 and not spill.items
    s = ing.statistics()
    assert (s.green_chunks_total, s.green_frames_total, s.pivots_total) == (1, 2, 0)
    item = queue.get_nowait()
    assert item is not None and item.data == b"a\nb\n" and item.source == "app"


def test_full_queue_pivots_to_the_vault_without_losing_the_chunk() -> None:
    ing, _queue, spill, _ = make(queue_bytes=6)
    assert route(ing, b"12345\n", 1)
    assert route(ing, b"678\n", 1)
    assert [c.data for c in spill.items] == [b"678\n"]
    assert ing.statistics().pivots_total == 1


def test_forced_red_sends_everything_to_the_vault() -> None:
    ing, queue, spill, _ = make(forced=Zone.RED)
    for _ in range(10):
        route(ing)
    assert len(queue) == 0 and len(spill.items) == 10
    assert ing.statistics().red_frames_total == 20


def test_spill_backpressure_is_reported_to_the_caller() -> None:
    ing, _, spill, _ = make(forced=Zone.RED)
    spill.accept = False
    assert route(ing) is False
    assert len(spill.items) == 1  # taken anyway: never dropped


def test_sensing_is_lazy_every_n_chunks() -> None:
    ing, _, _, probe = make(every=4)
    for _ in range(12):
        route(ing)
    assert probe.reads == 3


def test_memory_pressure_turns_red_and_recovers() -> None:
    ing, _queue, spill, probe = make(every=1)
    probe.rss = 95 * 2**20  # 95 % of the budget
    route(ing)
    assert ing.zone is Zone.RED
    route(ing)
    assert len(spill.items) >= 1
    probe.rss = 10 * 2**20
    ing.sense()
    assert ing.statistics().zone is Zone.GREEN


def test_override_is_audited_and_wins(caplog) -> None:  # type: ignore[no-untyped-def]
    ing, _, _, _ = make()
    seen: list[Zone] = []
    ing.on_zone_change(seen.append)
    ing.force(Zone.RED, who="test")
    assert ing.zone is Zone.RED and seen == [Zone.RED]
    assert any(r.getMessage() == "Zone override." for r in caplog.records)
    ing.force(None, who="test")
    assert ing.statistics().zone is Zone.GREEN


def test_latency_quantiles_are_recorded() -> None:
    ing, _, _, _ = make()
    for _ in range(100):
        route(ing)
    s = ing.statistics()
    assert s.latency_samples == 100
    assert 0 < s.latency_p50_seconds <= s.latency_p99_seconds < 1

"""The engine: wiring only. Sources → ingester (pivot) → green queue | vault spiller → sinks.

Start order: vault (recovery), sinks, green path, sources, metrics, control; then the ready
line. Stop (SIGTERM, SIGINT or ``gs-ctl drain``) is the drain:

1. stop accepting; let open connections finish what they already sent (until EOF, or
   quiet for 250 ms, for at most 2 s), then close them, routing what each framer still holds;
2. stop replay (what it had queued stays in the vault, past the cursor);
3. let the green path empty the queue into the sinks, for at most ``drain_timeout``;
4. let a sink write already in progress complete (at most 1 s), then append whatever is left
   (queued, or not yet delivered to every sink) to the vault;
5. commit the replay cursor, seal the active segment, close everything.

Nothing received is lost by a graceful stop: each chunk ends in a sink or in the vault.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Final

import orjson

from gophership import __version__
from gophership.buffer import ChunkQueue
from gophership.control.server import ControlServer
from gophership.export import SinkRunner
from gophership.green import GreenPath
from gophership.ingest import Ingester
from gophership.lanes import SinkLane
from gophership.metrics import MetricsServer
from gophership.pivot.controller import Thresholds, ZoneController
from gophership.pivot.modes import Zone
from gophership.pivot.probe import release_free_memory
from gophership.protocol.otlp_json import attributes_from_mapping
from gophership.replay import Replayer
from gophership.sinks import build_sink
from gophership.sources.otlp import OtlpGrpcSource, OtlpHttpSource
from gophership.sources.stream import StreamSource
from gophership.sources.udp import UdpSource
from gophership.spill import VaultSpiller
from gophership.tls import TlsStore
from gophership.vault import Vault, VaultOptions

if TYPE_CHECKING:
    import ssl

    from gophership.buffer import QueuedChunk
    from gophership.config import Config, SourceConfig

log = logging.getLogger(__name__)

ZONE_NAMES = {"green": Zone.GREEN, "yellow": Zone.YELLOW, "red": Zone.RED}
TRIM_INTERVAL_SECONDS: Final = 2.0
"""At most one ``malloc_trim`` per this interval, only out of GREEN with low queues."""


class Engine:
    """One GopherShip daemon's worth of parts, and their start and drain."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.started_at = time.time()
        self.stopping = asyncio.Event()
        vc = config.vault
        self.vault = Vault.open(vc.dir, self._vault_options())
        sc = config.somatic
        self.queue = ChunkQueue(sc.queue_budget_bytes)
        forced = ZONE_NAMES.get(sc.zone)
        self.controller = ZoneController(
            Thresholds(yellow=sc.yellow_threshold, red=sc.red_threshold, hysteresis=sc.hysteresis),
            forced=forced,
        )
        self.runners = [
            SinkRunner(build_sink(s.type, s.name, **_sink_options(s)), s)
            for s in config.sinks.values()
        ]
        host_name = config.resource.host_name or socket.gethostname()
        resource = {"host.name": host_name, **dict(config.resource.attributes)}
        resource.setdefault("service.name", "gophership")
        resource_attributes = attributes_from_mapping(resource)
        pc = config.pipeline
        self.lanes: dict[str, SinkLane] = {}
        if len(self.runners) > 1:  # one sink has nobody to be isolated from
            for runner in self.runners:
                self.lanes[runner.name] = SinkLane(
                    runner,
                    Vault.open(vc.dir / "sinks" / runner.name, self._vault_options()),
                    resource_attributes,
                    queue_bytes=max(1, sc.queue_budget_bytes // 4),
                    batch_max_records=pc.batch_max_records,
                    batch_max_bytes=pc.batch_max_bytes,
                    batch_timeout_seconds=pc.batch_timeout_seconds,
                    replay_rate_bytes_per_second=vc.replay.rate_bytes_per_second,
                    max_pending_bytes=max(1, sc.queue_budget_bytes // 4),
                )
        self.spiller = VaultSpiller(
            self.vault,
            max_pending_bytes=max(1, sc.queue_budget_bytes // 2),
            on_pressure=self._on_spill_pressure,
        )
        self.ingester = Ingester(
            self.queue,
            self.spiller,
            self.controller,
            memory_budget_bytes=sc.memory_budget_bytes,
            sense_every_chunks=sc.sense_every_chunks,
            sense_interval_seconds=sc.sense_interval_seconds,
            unhealthy_sinks=self._unhealthy_sinks,
        )
        self.replayer = Replayer(
            self.vault,
            self.queue,
            lambda: self.ingester.zone,
            rate_bytes_per_second=vc.replay.rate_bytes_per_second,
            enabled=vc.replay.enabled,
        )
        self.green = GreenPath(
            self.queue,
            self.runners,
            resource_attributes,
            batch_max_records=pc.batch_max_records,
            batch_max_bytes=pc.batch_max_bytes,
            batch_timeout_seconds=pc.batch_timeout_seconds,
            lanes=self.lanes,
            on_delivered=self.replayer.delivered,
        )
        self.tls = TlsStore()  # TLS files are read here: a bad one fails the start (ConfigError)
        self.sources: list[Source] = [
            _source(s, self.ingester, self.tls.context(s.tls)) for s in config.sources.values()
        ]
        self.metrics = MetricsServer(
            self,
            config.metrics.host,
            config.metrics.port,
            self.tls.context(config.metrics.tls) if config.metrics.enabled else None,
        )
        tcp = config.control.tcp
        self.control = ControlServer(
            self, config.control, self.tls.context(tcp.tls) if tcp is not None else None
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._runner_tasks: list[asyncio.Task[None]] = []
        self._green_task: asyncio.Task[None] | None = None
        self._replay_task: asyncio.Task[None] | None = None
        self.ingester.on_zone_change(lambda zone: self.replayer.poke())

    def _vault_options(self) -> VaultOptions:
        vc = self.config.vault
        return VaultOptions(
            segment_bytes=vc.segment_bytes,
            max_bytes=vc.max_bytes,
            segment_max_age_seconds=vc.segment_max_age_seconds,
            fsync=vc.fsync,
            compress=vc.compression == "lz4",
            delete_replayed=vc.replay.delete_replayed,
        )

    def _unhealthy_sinks(self) -> int:
        """Unhealthy sinks that hold the pipeline back (a sink with a free lane does not)."""
        bad = [r for r in self.runners if not r.healthy]
        if not self.lanes or len(bad) == len(self.runners):
            return len(bad)
        return sum(1 for r in bad if self.lanes[r.name].blocked)

    def _on_spill_pressure(self, pressured: bool) -> None:
        self.ingester.on_pressure(pressured)

    async def start(self) -> dict[str, Any]:
        """Bind everything and start the tasks; returns the ready line's object."""
        loop = asyncio.get_running_loop()
        self.spiller.start(loop)
        for runner in self.runners:
            task = asyncio.create_task(runner.run(), name=f"sink-{runner.name}")
            self._runner_tasks.append(task)
        for lane in self.lanes.values():
            lane.start(loop)
        self._green_task = asyncio.create_task(self.green.run(), name="green")
        listeners: dict[str, str] = {}
        for source in self.sources:
            listeners[source.name] = await source.start()
        self.ingester.sense()
        self._tasks.append(asyncio.create_task(self._sense_loop(), name="sense"))
        self._replay_task = asyncio.create_task(self.replayer.run(), name="replay")
        ready: dict[str, Any] = {"event": "ready", "pid": os.getpid(), "listeners": listeners}
        ready["metrics"] = await self.metrics.start() if self.config.metrics.enabled else None
        ready.update(await self.control.start())  # "control", and "control_tcp" if enabled
        ready["version"] = __version__
        ready["zone"] = self.ingester.zone.name.lower()
        return ready

    async def _sense_loop(self) -> None:
        interval = self.config.somatic.sense_interval_seconds / 2
        trimmed = 0.0
        while True:
            await asyncio.sleep(interval)
            ingester = self.ingester
            ingester.tick()
            # Out of GREEN with the queues low: memory is what holds the zone, and after a
            # burst much of RSS is freed heap the allocator kept. Hand it back and look again.
            queued = self.queue.queued_bytes + self.spiller.pending_bytes
            now = time.monotonic()
            if (
                ingester.zone is not Zone.GREEN
                and queued < self.queue.max_bytes // 4
                and now - trimmed >= TRIM_INTERVAL_SECONDS
            ):
                trimmed = now
                if await asyncio.to_thread(release_free_memory):
                    ingester.sense()

    def request_stop(self, why: str = "signal") -> None:
        if not self.stopping.is_set():
            log.info("Stopping: draining.", extra={"by": why})
            self.stopping.set()

    async def drain(self) -> dict[str, int]:
        """The graceful stop; returns what went where (for the final log line)."""
        deadline = time.monotonic() + self.config.pipeline.drain_timeout_seconds
        for source in self.sources:
            source.stop_accepting()
        grace = min(2.0, self.config.pipeline.drain_timeout_seconds / 4)
        await asyncio.gather(*(source.close(grace) for source in self.sources))
        if self._replay_task is not None:
            self._replay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replay_task
        self.queue.close()
        delivered = True
        if self._green_task is not None:
            try:
                await asyncio.wait_for(self._wait_green(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                delivered = False
                log.warning("Drain deadline reached; the rest goes to the vault.")
        if self._green_task is not None and not self._green_task.done():
            self._green_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._green_task
        for lane in self.lanes.values():  # its replay stops; what it held stays in its vault
            await lane.stop()
        # A send in progress gets a moment to complete, so its batch is not vaulted twice.
        for runner in self.runners:
            runner.stop()
        if self._runner_tasks:
            _, stuck = await asyncio.wait(self._runner_tasks, timeout=SEND_GRACE_SECONDS)
            for task in stuck:  # a sink blocked for good: its batches go to the vault
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        # Oldest first, so replay keeps the order they arrived in.
        leftovers, to_lanes = self._undelivered()
        leftovers += self.queue.drain_nowait()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        spilled = 0
        for name, chunks in to_lanes.items():
            self.lanes[name].spill(chunks)
            spilled += sum(c.frames for c in chunks)
        seen: set[int] = set()
        for chunk in leftovers:
            if chunk.replay_token is None and id(chunk) not in seen:
                seen.add(id(chunk))
                self.spiller.submit(chunk)
                spilled += chunk.frames
        await self.replayer.commit()
        self.replayer.close()
        lost = await asyncio.to_thread(self.spiller.close)
        for lane in self.lanes.values():
            lost += await asyncio.to_thread(lane.close)
        for runner in self.runners:
            with contextlib.suppress(Exception):
                await runner.sink.aclose()
        result = {"spilled_frames": spilled, "lost_frames": lost, "delivered_all": int(delivered)}
        await self.control.close(result)  # `gs-ctl drain` waits for this report
        await self.metrics.close()
        return result

    def _undelivered(self) -> tuple[list[QueuedChunk], dict[str, list[QueuedChunk]]]:
        """What the drain hands back: chunks for the main vault, and chunks per sink lane.

        A chunk that every sink lacks goes to the main vault; one that only some sinks lack
        goes to their lanes. A replayed chunk stays where it is (in the main vault, before
        the cursor): replay gives it to every sink again (at-least-once).
        """
        if not self.lanes:
            return self.green.undelivered_chunks(), {}
        main: list[QueuedChunk] = []
        to_lanes: dict[str, list[QueuedChunk]] = {}
        seen: set[int] = set()
        for chunk, lacking in self.green.held_by(self.runners):
            if id(chunk) in seen or not lacking:
                continue
            seen.add(id(chunk))
            if len(lacking) == len(self.runners):
                main.append(chunk)
            elif chunk.replay_token is None:
                for name in lacking:
                    to_lanes.setdefault(name, []).append(chunk)
        main.extend(c for c in self.green.unsent_chunks() if id(c) not in seen)
        return main, to_lanes

    async def _wait_green(self) -> None:
        assert self._green_task is not None
        await self._green_task
        for delivery in list(self.green._in_flight):
            await delivery.done.wait()

    # -- views for status and metrics -------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything ``gs-ctl status`` shows, as plain data."""
        ing = self.ingester.statistics()
        return {
            "version": __version__,
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - self.started_at, 3),
            "zone": ing.zone.name.lower(),
            "forced": ing.forced.name.lower() if ing.forced is not None else None,
            "ingester": _plain(asdict(ing)),
            "queue": asdict(self.queue.statistics()),
            "spill": asdict(self.spiller.statistics()),
            "vault": asdict(self.vault.statistics()),
            "replay": asdict(self.replayer.statistics()),
            "green": asdict(self.green.statistics()),
            "sources": {s.name: asdict(s.statistics()) for s in self.sources},
            "sinks": {
                r.name: {
                    **asdict(r.statistics()),
                    **asdict(r.sink.statistics()),
                    "lane": asdict(self.lanes[r.name].statistics())
                    if r.name in self.lanes
                    else None,
                }
                for r in self.runners
            },
        }


SEND_GRACE_SECONDS: Final = 1.0
"""At the drain deadline, how long a sink write already in progress may take to complete."""

GC_THRESHOLDS: Final = (50_000, 20, 100)
"""Generation-0 threshold raised from 700: the green path builds ~10 containers per line and
holds none in cycles, so the default collector ran every ~70 lines and cost 30-50 % of the
green path's CPU (bench/parse_bench-style loop, gc on vs this setting)."""


def tune_gc() -> None:
    """Move start-up objects out of the collector's sight and collect far less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.name.lower() if isinstance(v, Zone) else v) for k, v in d.items()}


Source = StreamSource | UdpSource | OtlpGrpcSource | OtlpHttpSource


def _source(cfg: SourceConfig, ingester: Ingester, tls: ssl.SSLContext | None) -> Source:
    if cfg.type == "syslog_udp":
        return UdpSource(cfg, ingester)
    if cfg.type == "otlp_grpc":
        return OtlpGrpcSource(cfg, ingester, tls)
    if cfg.type == "otlp_http":
        return OtlpHttpSource(cfg, ingester, tls)
    return StreamSource(cfg, ingester, tls)


def _sink_options(cfg: Any) -> dict[str, Any]:
    if cfg.type == "otlp":
        return {"config": cfg}
    if cfg.type == "file":
        return {"path": cfg.path, "max_file_bytes": cfg.max_file_bytes, "max_files": cfg.max_files}
    return {}


async def serve(config: Config) -> int:
    """Run the daemon until SIGTERM/SIGINT or ``gs-ctl drain``; returns the exit status."""
    engine = Engine(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, engine.request_stop, sig.name)
    loop.add_signal_handler(signal.SIGHUP, engine.tls.reload)
    ready = await engine.start()
    tune_gc()
    os.write(1, (_json(ready) + "\n").encode())
    log.info("Ready.", extra={k: v for k, v in ready.items() if k != "event"})
    await engine.stopping.wait()
    result = await engine.drain()
    log.info("Stopped.", extra=result)
    return 0


def _json(obj: Any) -> str:
    return orjson.dumps(obj).decode()

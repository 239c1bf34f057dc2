"""Per-sink lanes: a sink that cannot keep up spills to its own vault; the others go on.

With two sinks or more, every sink has a lane: a vault of its own
(``<vault.dir>/sinks/<sink name>``) with a spiller, a small queue, a replayer and a green path
that feeds only this sink. The shared green path hands each batch to every sink; for a sink
whose runner is unhealthy or full it writes the batch's raw chunks to that sink's lane
instead, and counts the batch as done for that sink. So one dead or slow sink never holds
the others back, and nothing it should have received is lost.

Rules:

1. A lane starts *spilling* when its runner is unhealthy or has no room. From then on, every
   batch for this sink goes to the lane's vault, in order, so the sink sees its data in the
   order it arrived.
2. The lane replays its vault to the sink whenever the runner is healthy and has room,
   throttled like the main replay (``vault.replay.rate``), and resumes across restarts.
3. The lane goes back to *live* once the runner is healthy with room, everything spilled is
   appended, and everything appended was delivered and its cursor committed.
4. A lane whose vault is full (or whose spiller is over budget) is *blocked*: the shared
   green path waits for this sink as it does with one sink, the green queue fills, and new
   chunks go to the main vault (RED). Nothing is dropped.
5. At a drain, a batch that some sinks have and others do not goes to the lanes of those
   that do not (the main vault would give it to every sink again).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gophership.buffer import ChunkQueue
from gophership.green import GreenPath
from gophership.pivot.modes import Zone
from gophership.replay import Replayer
from gophership.spill import VaultSpiller

if TYPE_CHECKING:
    from gophership.buffer import QueuedChunk
    from gophership.export import SinkRunner
    from gophership.record import KeyValueJSON
    from gophership.vault import Vault

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LaneStatistics:
    """One sink lane at one instant."""

    spilling: bool
    blocked: bool
    spill_episodes_total: int
    spilled_chunks_total: int
    spilled_frames_total: int
    backlog_records: int
    backlog_bytes: int
    replayed_records_total: int


class SinkLane:
    """One sink's own vault, spiller, replayer and green path."""

    def __init__(
        self,
        runner: SinkRunner,
        vault: Vault,
        resource_attributes: list[KeyValueJSON],
        *,
        queue_bytes: int,
        batch_max_records: int,
        batch_max_bytes: int,
        batch_timeout_seconds: float,
        replay_rate_bytes_per_second: int,
        max_pending_bytes: int,
    ) -> None:
        self.runner = runner
        self.name = runner.name
        self.vault = vault
        self.spiller = VaultSpiller(
            vault, max_pending_bytes=max_pending_bytes, on_pressure=self._on_pressure
        )
        self.queue = ChunkQueue(queue_bytes)
        self.replayer = Replayer(
            vault, self.queue, self._zone, rate_bytes_per_second=replay_rate_bytes_per_second
        )
        self.green = GreenPath(
            self.queue,
            [runner],
            resource_attributes,
            batch_max_records=batch_max_records,
            batch_max_bytes=batch_max_bytes,
            batch_timeout_seconds=batch_timeout_seconds,
            on_delivered=self.replayer.delivered,
        )
        self.spilling = vault.statistics().records > 0  # a backlog from before a restart
        self._episodes = 0
        self._chunks = 0
        self._frames = 0
        self._tasks: list[asyncio.Task[None]] = []

    def _zone(self) -> Zone:
        """The lane's replay runs while its sink is healthy and has room."""
        return Zone.GREEN if self.runner.healthy and self.runner.has_room else Zone.RED

    def _on_pressure(self, pressured: bool) -> None:
        if pressured:
            log.warning(
                "Sink lane is over budget; the sink now holds the pipeline back.",
                extra={"sink": self.name},
            )

    @property
    def blocked(self) -> bool:
        """True while the lane cannot take more (rule 4)."""
        return self.spiller.pressured

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.spiller.start(loop)
        self._tasks = [
            loop.create_task(self.green.run(), name=f"lane-green-{self.name}"),
            loop.create_task(self.replayer.run(), name=f"lane-replay-{self.name}"),
            loop.create_task(self._watch(), name=f"lane-watch-{self.name}"),
        ]

    def admit(self) -> bool:
        """True: hand the next batch to the runner. False: spill it (rules 1 and 3)."""
        runner = self.runner
        if self.spilling and not self._back_to_live():
            return False
        if runner.healthy and runner.has_room:
            return True
        self.spilling = True
        self._episodes += 1
        log.warning(
            "Sink cannot keep up; its batches go to its own vault lane until it recovers.",
            extra={"sink": self.name, "healthy": runner.healthy},
        )
        return False

    def _back_to_live(self) -> bool:
        """Leave *spilling* if rule 3 holds; True when the lane is live."""
        runner = self.runner
        if runner.healthy and runner.has_room and self._caught_up():
            self.spilling = False
            log.info("Sink caught up; back to live delivery.", extra={"sink": self.name})
        return not self.spilling

    async def _watch(self, interval: float = 0.1) -> None:
        """Go back to live once caught up, even when no new batch comes to ask."""
        while True:
            await asyncio.sleep(interval)
            if self.spilling:
                self._back_to_live()

    def _caught_up(self) -> bool:
        return (
            self.spiller.pending_bytes == 0
            and self.queue.queued_bytes == 0
            and not self.green.busy
            and self.vault.statistics().records == 0
        )

    def spill(self, chunks: list[QueuedChunk]) -> None:
        """Append ``chunks`` to this lane's vault (as new data: no replay token)."""
        for chunk in chunks:
            self.spiller.submit(dataclasses.replace(chunk, replay_token=None))
            self._chunks += 1
            self._frames += chunk.frames

    async def stop(self) -> None:
        """Stop replay and the lane's green path (what they held stays in the lane's vault)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.queue.close()
        await self.replayer.commit()
        self.replayer.close()

    def close(self) -> int:
        """Flush and close the lane's vault; returns frames that could not be stored."""
        return self.spiller.close()

    def statistics(self) -> LaneStatistics:
        vault = self.vault.statistics()
        return LaneStatistics(
            spilling=self.spilling,
            blocked=self.blocked,
            spill_episodes_total=self._episodes,
            spilled_chunks_total=self._chunks,
            spilled_frames_total=self._frames,
            backlog_records=vault.records,
            backlog_bytes=vault.raw_bytes,
            replayed_records_total=self.replayer.statistics().delivered_records_total,
        )

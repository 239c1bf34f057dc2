"""The green path: decode chunks into OTLP log records, batch them, hand them to the sinks.

Rules:

1. One consumer task takes chunks from the green queue into a batch until it holds
   ``batch_max_records`` frames or ``batch_max_bytes``, or its first chunk has waited
   ``batch_timeout_seconds`` (under load batches fill at once; at a trickle, a record waits at
   most that long).
2. Chunks are decoded one at a time, yielding to the event loop in between, so sources keep
   reading while the green path works.
3. One batch is encoded once (one OTLP/JSON ``ExportLogsServiceRequest`` line) and shared by
   every sink; when every sink has it, replayed chunks in it move the replay cursor.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gophership.errors import ClosedResourceError
from gophership.export import Delivery, SinkRunner
from gophership.protocol.decode import decode_chunk
from gophership.protocol.otlp_json import encode_request
from gophership.sinks.base import ExportBatch

if TYPE_CHECKING:
    from collections.abc import Callable

    from gophership.buffer import ChunkQueue, QueuedChunk
    from gophership.record import KeyValueJSON, LogRecordJSON

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GreenStatistics:
    """Numbers of the green path at one instant."""

    decoded_chunks_total: int
    decoded_records_total: int
    parse_errors_total: int
    parse_errors_by_reason: dict[str, int]
    batches_total: int
    batched_bytes_total: int
    in_flight_deliveries: int


class GreenPath:
    """Consumes the green queue and fans encoded batches out to the sink runners."""

    def __init__(
        self,
        queue: ChunkQueue,
        runners: list[SinkRunner],
        resource_attributes: list[KeyValueJSON],
        *,
        batch_max_records: int,
        batch_max_bytes: int,
        batch_timeout_seconds: float = 0.2,
        on_delivered: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.queue = queue
        self.runners = runners
        self._resource = resource_attributes
        self._max_records = batch_max_records
        self._max_bytes = batch_max_bytes
        self._timeout = batch_timeout_seconds
        self._on_delivered = on_delivered
        self._chunks = 0
        self._records = 0
        self._errors = 0
        self._reasons: Counter[str] = Counter()
        self._batches = 0
        self._batched_bytes = 0
        self._in_flight: list[Delivery] = []
        self._current: list[QueuedChunk] = []

    async def run(self) -> None:
        """Consume until the queue is closed and empty."""
        queue = self.queue
        while True:
            try:
                first = await queue.get()
            except ClosedResourceError:
                return
            chunks = [first]
            self._current = chunks
            frames, size = first.frames, len(first.data)
            deadline = asyncio.get_running_loop().time() + self._timeout
            while frames < self._max_records and size < self._max_bytes:
                nxt = queue.get_nowait()
                if nxt is None:
                    remaining = deadline - asyncio.get_running_loop().time()
                    if remaining <= 0:
                        break
                    try:
                        nxt = await asyncio.wait_for(queue.get(), remaining)
                    except (TimeoutError, ClosedResourceError):
                        break
                chunks.append(nxt)
                frames += nxt.frames
                size += len(nxt.data)
            await self._deliver(chunks)
            self._current = []

    async def _deliver(self, chunks: list[QueuedChunk]) -> None:
        groups: dict[str, list[LogRecordJSON]] = {}
        total = 0
        for i, chunk in enumerate(chunks):
            result = decode_chunk(chunk.codec, chunk.data, chunk.received_unix_nano)
            records = result.records
            total += len(records)
            group = groups.get(chunk.source)
            if group is None:
                groups[chunk.source] = records
            else:
                group.extend(records)
            if result.errors:
                self._errors += result.errors
                self._reasons.update(result.error_reasons)
            if i + 1 < len(chunks):
                await asyncio.sleep(0)
        self._chunks += len(chunks)
        self._records += total
        payload = encode_request(self._resource, list(groups.items()))
        self._batches += 1
        self._batched_bytes += len(payload)
        delivery = Delivery(
            ExportBatch(payload=payload, records=total),
            chunks,
            remaining=len(self.runners),
            on_delivered=self._delivered,
        )
        self._in_flight.append(delivery)
        for runner in self.runners:
            await runner.submit(delivery)

    def _delivered(self, delivery: Delivery) -> None:
        if delivery in self._in_flight:
            self._in_flight.remove(delivery)
        if self._on_delivered is not None:
            self._on_delivered(delivery)

    def undelivered_chunks(self) -> list[QueuedChunk]:
        """Chunks taken from the queue but not yet delivered to every sink (for the drain)."""
        seen: set[int] = set()
        out: list[QueuedChunk] = []
        for delivery in self._in_flight:
            for chunk in delivery.chunks:
                if id(chunk) not in seen:
                    seen.add(id(chunk))
                    out.append(chunk)
        for chunk in self._current:
            if id(chunk) not in seen:
                seen.add(id(chunk))
                out.append(chunk)
        return out

    def statistics(self) -> GreenStatistics:
        return GreenStatistics(
            decoded_chunks_total=self._chunks,
            decoded_records_total=self._records,
            parse_errors_total=self._errors,
            parse_errors_by_reason=dict(self._reasons),
            batches_total=self._batches,
            batched_bytes_total=self._batched_bytes,
            in_flight_deliveries=len(self._in_flight),
        )

"""The green path: decode chunks into OTLP log records, batch them, hand them to the sinks.

Rules:

1. One consumer task takes chunks from the green queue into a batch until the next chunk
   would take it past ``batch_max_records`` frames or its encoding past :data:`FILL` of
   ``batch_max_bytes`` (estimated from the raw bytes by the last batch's encoded/raw ratio), or its
   first chunk has waited ``batch_timeout_seconds`` (under load batches fill at once; at a
   trickle, a record waits at most that long). A chunk with more frames than a batch may hold
   is cut at frame ends into parts (:func:`~gophership.protocol.framing.cut_frames`).
2. Chunks are decoded one at a time, yielding to the event loop in between, so sources keep
   reading while the green path works.
3. A batch whose encoding exceeds ``batch_max_bytes`` is sent as several requests, cut
   between chunks or, for one chunk, at its frame ends; a single frame larger than that goes
   alone. Each request is encoded once (one OTLP/JSON ``ExportLogsServiceRequest`` line) and
   shared by every sink, and carries exactly the chunks it was made from: at a drain every
   chunk is either delivered to every sink or handed back whole (:meth:`undelivered_chunks`).
4. The parts of a replayed chunk but the last are marked :data:`REPLAYED_PART`: only the
   last one moves the replay cursor, once every sink has all of them (sinks deliver in order).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from gophership.errors import ClosedResourceError
from gophership.export import Delivery, SinkRunner
from gophership.protocol.decode import decode_chunk
from gophership.protocol.framing import cut_frames
from gophership.protocol.otlp_json import agent_resource_logs, encode_resource_logs
from gophership.record import Codec
from gophership.sinks.base import ExportBatch

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from gophership.buffer import ChunkQueue, QueuedChunk
    from gophership.lanes import SinkLane
    from gophership.record import KeyValueJSON, LogRecordJSON, ResourceLogsJSON

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
    decode_seconds_total: float
    """Time spent decoding chunks (wall clock on the loop thread; CPU-bound, so near CPU)."""
    encode_seconds_total: float
    """Time spent encoding requests to OTLP/JSON."""
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
        lanes: Mapping[str, SinkLane] | None = None,
    ) -> None:
        self.queue = queue
        self.runners = runners
        self._lanes = lanes or {}
        self._resource = resource_attributes
        self._resource_keys = frozenset(kv["key"] for kv in resource_attributes)
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
        self._decode_seconds = 0.0
        self._encode_seconds = 0.0
        self._in_flight: list[Delivery] = []
        self._current: list[QueuedChunk] = []
        self._expansion = 2.0  # encoded bytes per raw byte, as the last request measured
        self._pending: deque[QueuedChunk] = deque()  # parts of a cut chunk, then a pushed-back one

    async def run(self) -> None:
        """Consume until the queue is closed and empty."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                first = self._pending.popleft() if self._pending else await self._get()
            except ClosedResourceError:
                return
            chunks = [first]
            self._current = chunks
            frames, size = first.frames, len(first.data)
            deadline = loop.time() + self._timeout
            target = self._max_bytes * FILL
            while frames < self._max_records and size * self._expansion < target:
                nxt = self._pending.popleft() if self._pending else self._get_nowait()
                if nxt is None:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        nxt = await asyncio.wait_for(self._get(), remaining)
                    except (TimeoutError, ClosedResourceError):
                        break
                if (
                    frames + nxt.frames > self._max_records
                    or (size + len(nxt.data)) * self._expansion > target
                ):
                    self._pending.appendleft(nxt)  # it starts the next batch
                    break
                chunks.append(nxt)
                frames += nxt.frames
                size += len(nxt.data)
            await self._deliver(chunks)
            self._current = []

    async def _get(self) -> QueuedChunk:
        return self._admit(await self.queue.get())

    def _get_nowait(self) -> QueuedChunk | None:
        chunk = self.queue.get_nowait()
        return None if chunk is None else self._admit(chunk)

    def _admit(self, chunk: QueuedChunk) -> QueuedChunk:
        """``chunk``, or its first part when it has more frames than a batch may hold."""
        if chunk.frames <= self._max_records or chunk.codec in _UNCUT:
            return chunk
        first, *rest = _cut(chunk, self._max_records)
        self._pending.extendleft(reversed(rest))
        return first

    async def _deliver(self, chunks: list[QueuedChunk]) -> None:
        decoded: list[_Decoded] = []
        for i, chunk in enumerate(chunks):
            if i:
                await asyncio.sleep(0)
            decoded.append(self._decode(chunk))
        self._chunks += len(chunks)
        for resource_logs, payload, part in self._requests(decoded):
            self._batches += 1
            self._batched_bytes += len(payload)
            delivery = Delivery(
                ExportBatch(
                    payload=payload,
                    records=sum(len(d.records) for d in part),
                    resource_logs=resource_logs,
                ),
                [d.chunk for d in part],
                remaining=len(self.runners),
                on_delivered=self._delivered,
            )
            self._in_flight.append(delivery)
            for runner in self.runners:
                lane = self._lanes.get(runner.name)
                if lane is None or lane.blocked:
                    await runner.submit(delivery)
                elif lane.admit():
                    runner.submit_nowait(delivery)
                else:
                    lane.spill(delivery.chunks)
                    delivery.sink_done()

    def _decode(self, chunk: QueuedChunk, *, count: bool = True) -> _Decoded:
        started = time.perf_counter()
        result = decode_chunk(chunk.codec, chunk.data, chunk.received_unix_nano)
        self._decode_seconds += time.perf_counter() - started
        if count:
            self._records += len(result.records)
            if result.errors:
                self._errors += result.errors
                self._reasons.update(result.error_reasons)
        foreign = result.resource_logs
        if foreign is not None:
            for resource_logs in foreign:
                self._enrich(resource_logs)
        return _Decoded(chunk, result.records, foreign)

    def _enrich(self, resource_logs: ResourceLogsJSON) -> None:
        """Insert the configured resource attributes the sender's resource lacks."""
        resource = resource_logs.setdefault("resource", {})
        attributes = resource.setdefault("attributes", [])
        have = {kv["key"] for kv in attributes}
        if self._resource_keys <= have:
            return
        attributes.extend(kv for kv in self._resource if kv["key"] not in have)

    def _requests(
        self, decoded: list[_Decoded]
    ) -> list[tuple[list[ResourceLogsJSON], bytes, list[_Decoded]]]:
        """Encoded requests, each within ``batch_max_bytes`` unless it holds one record."""
        groups: dict[str, list[LogRecordJSON]] = {}
        foreign: list[ResourceLogsJSON] = []
        for d in decoded:  # copied: a split below needs each chunk's own list
            if d.resource_logs is None:
                groups.setdefault(d.chunk.source, []).extend(d.records)
            else:
                foreign.extend(d.resource_logs)
        resource_logs = (
            [agent_resource_logs(self._resource, list(groups.items()))] if groups else []
        )
        resource_logs.extend(foreign)
        started = time.perf_counter()
        payload = encode_resource_logs(resource_logs)
        self._encode_seconds += time.perf_counter() - started
        raw = sum(len(d.chunk.data) for d in decoded)
        if raw:
            self._expansion = len(payload) / raw
        count = sum(len(d.records) for d in decoded)
        if len(payload) <= self._max_bytes or count <= 1:
            return [(resource_logs, payload, decoded)]
        if len(decoded) > 1:  # cut between chunks, near the middle record
            half, seen = 1, len(decoded[0].records)
            while half < len(decoded) - 1 and seen + len(decoded[half].records) <= count // 2:
                seen += len(decoded[half].records)
                half += 1
            return self._requests(decoded[:half]) + self._requests(decoded[half:])
        # One chunk: encoded size is near linear in records, cut it into as many parts.
        chunk, parts = decoded[0].chunk, math.ceil(len(payload) / self._max_bytes)
        pieces = (
            [] if chunk.codec in _UNCUT else _cut(chunk, max(1, math.ceil(chunk.frames / parts)))
        )
        if len(pieces) <= 1:  # a single frame (or OTLP request): it goes alone, whatever its size
            return [(resource_logs, payload, decoded)]
        # Decoded again part by part (rare: one chunk over batch_max_bytes); counted once above.
        return self._requests([self._decode(p, count=False) for p in pieces])

    def _delivered(self, delivery: Delivery) -> None:
        if delivery in self._in_flight:
            self._in_flight.remove(delivery)
        if self._on_delivered is not None:
            self._on_delivered(delivery)

    @property
    def busy(self) -> bool:
        """True while chunks are taken from the queue and not yet delivered to every sink."""
        return bool(self._in_flight or self._current or self._pending)

    def held_by(self, runners: list[SinkRunner]) -> list[tuple[QueuedChunk, list[str]]]:
        """Chunks of in-flight deliveries with the names of the sinks that still lack them.

        For the drain with sink lanes: a chunk every sink lacks goes back to the main vault,
        one that only some lack goes to those sinks' lanes.
        """
        out: list[tuple[QueuedChunk, list[str]]] = []
        pending = {r.name: {id(d) for d in r.pending()} for r in runners}
        for delivery in self._in_flight:
            lacking = [name for name, ids in pending.items() if id(delivery) in ids]
            out.extend((chunk, lacking) for chunk in delivery.chunks)
        return out

    def unsent_chunks(self) -> list[QueuedChunk]:
        """Chunks taken from the queue and not yet made into a delivery."""
        return [*self._current, *self._pending]

    def undelivered_chunks(self) -> list[QueuedChunk]:
        """Chunks taken from the queue but not yet delivered to every sink (for the drain)."""
        seen: set[int] = set()
        out: list[QueuedChunk] = []
        for delivery in self._in_flight:
            for chunk in delivery.chunks:
                if id(chunk) not in seen:
                    seen.add(id(chunk))
                    out.append(chunk)
        for chunk in [*self._current, *self._pending]:
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
            decode_seconds_total=self._decode_seconds,
            encode_seconds_total=self._encode_seconds,
            in_flight_deliveries=len(self._in_flight),
        )


@dataclass(frozen=True, slots=True)
class _Decoded:
    """One chunk and its records; ``resource_logs`` when it came as OTLP (its own resources)."""

    chunk: QueuedChunk
    records: list[LogRecordJSON]
    resource_logs: list[ResourceLogsJSON] | None


FILL: Final = 0.9
"""Batches are filled to this share of ``batch_max_bytes`` by the estimate, so the estimate's
error (the encoded/raw ratio varies from batch to batch) rarely makes a request go over and
be encoded again in parts."""

_UNCUT: Final = frozenset({Codec.OTLP_PROTO, Codec.OTLP_JSON})
"""Codecs whose chunks are one request each: never cut into parts."""


class _ReplayedPart:
    """Token of a replayed chunk's part but the last: moves no cursor, stays in the vault."""

    def __repr__(self) -> str:
        return "REPLAYED_PART"


REPLAYED_PART: Final = _ReplayedPart()


def _cut(chunk: QueuedChunk, max_frames: int) -> list[QueuedChunk]:
    """``chunk`` cut at frame ends into parts of at most ``max_frames`` frames."""
    parts = [
        dataclasses.replace(chunk, data=data, frames=frames)
        for data, frames in cut_frames(chunk.codec, chunk.data, max_frames)
    ]
    if chunk.replay_token is not None:
        for part in parts[:-1]:
            part.replay_token = REPLAYED_PART
    return parts

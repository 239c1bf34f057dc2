"""Prometheus metrics, read from every part's ``statistics()`` at scrape time.

Names follow ``gophership_<component>_<name>_<unit>`` (see ``docs/METRICS.md``, a public
contract). Components never import ``prometheus_client``: the hot path only bumps plain ints,
and :class:`EngineCollector` turns the statistics into metric families when scraped.

The HTTP server is a minimal asyncio one on the engine's loop (so a scrape sees one consistent
instant) serving ``GET /metrics``, ``/healthz`` (the process is up) and ``/readyz`` (the engine
started and is not draining). Requests are bounded: 8 KiB of headers, 5 s to send them. With
``metrics.tls`` the same is served over HTTPS (TLS 1.3; the handshake also gets 5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gophership.protocol.decode import PARSE_ERRORS
from gophership.sources.otlp import OtlpGrpcSource, OtlpHttpSource

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterator

    from gophership.pipeline import Engine

log = logging.getLogger(__name__)

DROP_REASONS: Final = ("frame_too_large", "framing_error")
"""The closed set of reasons a source drops a frame (pre-created for every source)."""


def _counter(name: str, doc: str, labels: list[str] | None = None) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=labels)


class EngineCollector(Collector):
    """Yields every GopherShip metric from the engine's statistics."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        e = self._engine
        ing = e.ingester.statistics()
        yield GaugeMetricFamily(
            "gophership_ingester_zone",
            "Current zone: 0 green, 1 yellow, 2 red.",
            value=int(ing.zone),
        )
        forced = GaugeMetricFamily(
            "gophership_ingester_zone_forced",
            "1 when an operator or the config forces the zone.",
            value=0 if ing.forced is None else 1,
        )
        yield forced
        c = _counter("gophership_somatic_pivots", "Chunks the pivot sent to the vault.")
        c.add_metric([], ing.pivots_total)
        yield c
        ctl = e.controller.statistics()
        c = _counter("gophership_somatic_zone_transitions", "Zone changes.")
        c.add_metric([], ctl.transitions_total)
        yield c
        c = _counter("gophership_ingester_chunks", "Chunks routed, by path.", ["path"])
        c.add_metric(["green"], ing.green_chunks_total)
        c.add_metric(["red"], ing.red_chunks_total)
        yield c
        c = _counter("gophership_ingester_lines", "Lines (frames) routed, by path.", ["path"])
        c.add_metric(["green"], ing.green_frames_total)
        c.add_metric(["red"], ing.red_frames_total)
        yield c
        g = GaugeMetricFamily(
            "gophership_ingester_pivot_latency_seconds",
            "Chunk received to enqueued or handed to the vault, over the last 4096 chunks.",
            labels=["quantile"],
        )
        g.add_metric(["0.5"], ing.latency_p50_seconds)
        g.add_metric(["0.99"], ing.latency_p99_seconds)
        g.add_metric(["0.999"], ing.latency_p999_seconds)
        yield g
        yield GaugeMetricFamily(
            "gophership_memory_budget_bytes",
            "Configured memory budget.",
            value=ing.memory_budget_bytes,
        )
        yield GaugeMetricFamily(
            "gophership_memory_usage_bytes",
            "Process RSS at the last sense.",
            value=ing.memory_bytes,
        )
        if ing.cgroup_current_bytes is not None:
            yield GaugeMetricFamily(
                "gophership_memory_cgroup_usage_bytes",
                "cgroup v2 memory.current at the last sense.",
                value=ing.cgroup_current_bytes,
            )
        if ing.cgroup_max_bytes is not None:
            yield GaugeMetricFamily(
                "gophership_memory_cgroup_limit_bytes",
                "cgroup v2 memory.max.",
                value=ing.cgroup_max_bytes,
            )
        yield from self._sources()
        q = e.queue.statistics()
        yield GaugeMetricFamily(
            "gophership_queue_queued_bytes", "Bytes in the green queue.", value=q.queued_bytes
        )
        yield GaugeMetricFamily(
            "gophership_queue_queued_chunks", "Chunks in the green queue.", value=q.queued_chunks
        )
        yield GaugeMetricFamily(
            "gophership_queue_budget_bytes", "The green queue's byte budget.", value=q.max_bytes
        )
        yield from self._vault()
        yield from self._green()
        yield from self._sinks()

    def _sources(self) -> Iterator[Metric]:
        e = self._engine
        lines = _counter("gophership_source_received_lines", "Frames received.", ["source"])
        nbytes = _counter("gophership_source_received_bytes", "Bytes received.", ["source"])
        dropped = _counter(
            "gophership_source_dropped_frames", "Frames dropped, by reason.", ["source", "reason"]
        )
        dropped_bytes = _counter(
            "gophership_source_dropped_bytes", "Bytes dropped with those frames.", ["source"]
        )
        conns = GaugeMetricFamily(
            "gophership_source_connections", "Open connections.", labels=["source"]
        )
        paused = _counter(
            "gophership_source_accept_paused",
            "Times the source stopped accepting at max_connections (new ones wait).",
            ["source"],
        )
        for source in e.sources:
            s = source.statistics()
            lines.add_metric([s.name], s.received_frames_total)
            nbytes.add_metric([s.name], s.received_bytes_total)
            dropped.add_metric([s.name, "frame_too_large"], s.dropped_frames_total)
            dropped.add_metric([s.name, "framing_error"], s.framing_errors_total)
            dropped_bytes.add_metric([s.name], s.dropped_bytes_total)
            conns.add_metric([s.name], s.connections)
            paused.add_metric([s.name], s.accept_paused_total)
        yield from (lines, nbytes, dropped, dropped_bytes, conns, paused)
        requests = _counter(
            "gophership_otlp_requests",
            "OTLP export requests by outcome (accepted, partial, refused, invalid, too_large).",
            ["source", "outcome"],
        )
        rejected = _counter(
            "gophership_otlp_rejected_records",
            "Records rejected inside accepted OTLP requests (reported in partial_success).",
            ["source"],
        )
        for source in e.sources:
            if isinstance(source, OtlpGrpcSource | OtlpHttpSource):
                o = source.intake.statistics()
                for outcome, n in o.requests_by_outcome.items():
                    requests.add_metric([source.name, outcome], n)
                rejected.add_metric([source.name], o.rejected_records_total)
        yield from (requests, rejected)

    def _vault(self) -> Iterator[Metric]:
        e = self._engine
        v = e.vault.statistics()
        sp = e.spiller.statistics()
        rp = e.replayer.statistics()
        yield GaugeMetricFamily("gophership_vault_bytes", "Segment bytes on disk.", value=v.bytes)
        yield GaugeMetricFamily("gophership_vault_segments", "Segments on disk.", value=v.segments)
        yield GaugeMetricFamily(
            "gophership_vault_max_bytes", "The vault's byte cap.", value=v.max_bytes
        )
        yield GaugeMetricFamily(
            "gophership_vault_lines", "Lines stored and not yet replayed.", value=v.lines
        )
        yield GaugeMetricFamily(
            "gophership_vault_full", "1 while the byte cap refuses appends.", value=int(sp.full)
        )
        yield GaugeMetricFamily(
            "gophership_vault_pending_bytes",
            "Bytes handed to the vault writer, not yet appended.",
            value=sp.pending_bytes,
        )
        for name, doc, value in (
            ("gophership_vault_appended_records", "Records appended.", v.appended_records_total),
            ("gophership_vault_appended_bytes", "Raw bytes appended.", v.appended_bytes_total),
            ("gophership_vault_appended_lines", "Lines appended.", v.appended_lines_total),
            (
                "gophership_vault_replayed_records",
                "Records read back by replay.",
                v.replayed_records_total,
            ),
            (
                "gophership_vault_replayed_bytes",
                "Raw bytes read back by replay.",
                v.replayed_bytes_total,
            ),
            (
                "gophership_vault_replayed_lines",
                "Lines delivered from replay.",
                rp.delivered_lines_total,
            ),
            (
                "gophership_vault_corrupt_records",
                "Records that failed their CRC.",
                v.corrupt_records_total,
            ),
            (
                "gophership_vault_quarantined_segments",
                "Segments moved to quarantine/.",
                v.quarantined_segments_total,
            ),
            ("gophership_vault_torn_tails", "Torn tails truncated on open.", v.torn_tails_total),
            (
                "gophership_vault_rejected_full",
                "Appends refused at the byte cap.",
                v.rejected_full_total,
            ),
            (
                "gophership_vault_lost_lines",
                "Lines the vault could not take at shutdown.",
                sp.lost_frames_total,
            ),
        ):
            c = _counter(name, doc)
            c.add_metric([], value)
            yield c

    def _green(self) -> Iterator[Metric]:
        g = self._engine.green.statistics()
        c = _counter("gophership_green_records", "Log records decoded by the green path.")
        c.add_metric([], g.decoded_records_total)
        yield c
        c = _counter("gophership_green_batches", "Batches encoded.")
        c.add_metric([], g.batches_total)
        yield c
        c = _counter("gophership_green_decode_seconds", "Time spent decoding chunks.")
        c.add_metric([], g.decode_seconds_total)
        yield c
        c = _counter("gophership_green_encode_seconds", "Time spent encoding OTLP/JSON requests.")
        c.add_metric([], g.encode_seconds_total)
        yield c
        c = _counter(
            "gophership_green_parse_errors",
            "Lines kept raw because they did not parse.",
            ["reason"],
        )
        for reason in sorted(PARSE_ERRORS | g.parse_errors_by_reason.keys()):
            c.add_metric([reason], g.parse_errors_by_reason.get(reason, 0))
        yield c

    def _sinks(self) -> Iterator[Metric]:
        sent = _counter("gophership_sink_sent_records", "Records delivered.", ["sink"])
        sent_b = _counter("gophership_sink_sent_bytes", "Encoded bytes delivered.", ["sink"])
        batches = _counter("gophership_sink_sent_batches", "Batches delivered.", ["sink"])
        failed = _counter("gophership_sink_failed_batches", "Failed send attempts.", ["sink"])
        healthy = GaugeMetricFamily("gophership_sink_healthy", "1 when healthy.", labels=["sink"])
        queued = GaugeMetricFamily(
            "gophership_sink_queued_bytes", "Encoded bytes waiting.", labels=["sink"]
        )
        rejected = _counter(
            "gophership_sink_rejected_records",
            "Records the receiver refused for good (dropped, logged).",
            ["sink"],
        )
        for runner in self._engine.runners:
            r = runner.statistics()
            s = runner.sink.statistics()
            sent.add_metric([r.name], s.sent_records)
            sent_b.add_metric([r.name], s.sent_bytes)
            batches.add_metric([r.name], s.sent_batches)
            failed.add_metric([r.name], s.failed_batches)
            healthy.add_metric([r.name], int(r.healthy))
            queued.add_metric([r.name], r.queued_bytes)
            rejected.add_metric([r.name], s.rejected_records)
        yield from (sent, sent_b, batches, failed, healthy, queued, rejected)
        yield from self._lanes()

    def _lanes(self) -> Iterator[Metric]:
        lanes = self._engine.lanes
        if not lanes:
            return
        spilling = GaugeMetricFamily(
            "gophership_sink_lane_spilling",
            "1 while the sink's batches go to its own vault lane.",
            labels=["sink"],
        )
        episodes = _counter(
            "gophership_sink_lane_spill_episodes", "Times the sink fell behind.", ["sink"]
        )
        chunks = _counter(
            "gophership_sink_lane_spilled_chunks", "Chunks written to the sink's lane.", ["sink"]
        )
        frames = _counter(
            "gophership_sink_lane_spilled_lines", "Lines written to the sink's lane.", ["sink"]
        )
        backlog = GaugeMetricFamily(
            "gophership_sink_lane_backlog_records",
            "Vault records in the sink's lane not yet delivered to it.",
            labels=["sink"],
        )
        backlog_b = GaugeMetricFamily(
            "gophership_sink_lane_backlog_bytes",
            "Raw bytes in the sink's lane not yet delivered to it.",
            labels=["sink"],
        )
        replayed = _counter(
            "gophership_sink_lane_replayed_records",
            "Lane vault records delivered to the sink.",
            ["sink"],
        )
        for name, lane in lanes.items():
            st = lane.statistics()
            spilling.add_metric([name], int(st.spilling))
            episodes.add_metric([name], st.spill_episodes_total)
            chunks.add_metric([name], st.spilled_chunks_total)
            frames.add_metric([name], st.spilled_frames_total)
            backlog.add_metric([name], st.backlog_records)
            backlog_b.add_metric([name], st.backlog_bytes)
            replayed.add_metric([name], st.replayed_records_total)
        yield from (spilling, episodes, chunks, frames, backlog, backlog_b, replayed)


class MetricsServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` over HTTP/1.1 on the engine's loop."""

    def __init__(
        self, engine: Engine, host: str, port: int, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._engine = engine
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(EngineCollector(engine))
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        if self._ssl is None:  # uvloop refuses a handshake timeout without ssl
            self._server = await asyncio.start_server(self._handle, self._host, self._port)
        else:
            self._server = await asyncio.start_server(
                self._handle, self._host, self._port, ssl=self._ssl, ssl_handshake_timeout=5.0
            )
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
        ):
            writer.close()
            return
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
        status, ctype, body = "404 Not Found", "text/plain", b"not found\n"
        if parts and parts[0] not in ("GET", "HEAD"):
            status, body = "405 Method Not Allowed", b"method not allowed\n"
        elif path == "/metrics":
            status, ctype = "200 OK", "text/plain; version=0.0.4; charset=utf-8"
            body = generate_latest(self.registry)
        elif path == "/healthz":
            status, body = "200 OK", b"ok\n"
        elif path == "/readyz":
            if self._engine.stopping.is_set():
                status, body = "503 Service Unavailable", b"draining\n"
            else:
                status, body = "200 OK", b"ready\n"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n".encode()
            + (body if parts and parts[0] != "HEAD" else b"")
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

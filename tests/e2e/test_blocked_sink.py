"""A sink blocked for 30 s under full load: no disconnect, memory under budget, no loss, no dupes.

The file sink writes into a FIFO that nobody reads at first, so every write blocks. One TCP
sender streams NDJSON as fast as it can for 30 s (at most ``MAX_LINES``). The daemon must keep
reading (spilling to the vault), stay under its memory budget, and, once a reader drains the
FIFO, deliver every line exactly once (the vault's replay included).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from gophership.testing.daemon import rss_bytes, run_daemon, wait_until

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(360)]

BLOCKED_SECONDS = 30
MAX_LINES = 3_000_000
BLOCK = 10_000
BUDGET = 256 << 20
ID = re.compile(rb'"stringValue":"id (\d+)"')


class Sender(threading.Thread):
    """Streams NDJSON lines with increasing ids on one connection until told to stop."""

    def __init__(self, addr: tuple[str, int], deadline: float) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(addr, timeout=120)
        self.deadline = deadline
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while self.sent < MAX_LINES and time.monotonic() < self.deadline:
                n = self.sent
                block = b"".join(b'{"msg":"id %d","id":%d}\n' % (i, i) for i in range(n, n + BLOCK))
                self.sock.sendall(block)  # must never fail: the daemon keeps the connection
                self.sent = n + BLOCK
            self.sock.shutdown(socket.SHUT_WR)
            assert self.sock.recv(1) == b""  # the daemon read everything, then closed
        except BaseException as exc:  # noqa: BLE001 (re-raised by the test thread)
            self.error = exc
        finally:
            self.sock.close()


class FifoReader(threading.Thread):
    """Drains the FIFO, counting each exported line id."""

    def __init__(self, fifo: Path, copy: Path) -> None:
        super().__init__(daemon=True)
        self.fifo = fifo
        self.copy = copy
        self.counts = bytearray(MAX_LINES)
        self.records = 0
        self.first: bytes | None = None
        self.last: bytes | None = None

    def run(self) -> None:
        with open(self.fifo, "rb") as f, open(self.copy, "wb") as out:
            for line in f:
                out.write(line)
                if self.first is None:
                    self.first = line
                self.last = line
                ids = ID.findall(line)
                for i in map(int, ids):
                    self.counts[i] = min(self.counts[i] + 1, 255)
                self.records += len(ids)


def test_a_sink_blocked_for_30s_loses_nothing_and_stays_under_budget(tmp_path: Path) -> None:
    fifo = tmp_path / "sink.fifo"
    os.mkfifo(fifo)
    overrides: dict[str, Any] = {
        "sinks": {"archive": {"type": "file", "path": str(fifo), "timeout": "1s"}},
        "somatic": {"memory_budget": "256MiB", "queue_budget": "64MiB"},
        "vault": {"replay": {"rate": "256MiB"}},
    }
    with run_daemon(tmp_path, **overrides) as gs:
        started = time.monotonic()
        sender = Sender(gs.addr("app"), started + BLOCKED_SECONDS)
        sender.start()
        peak_rss = 0
        zones: set[float] = set()
        healthy: set[float] = set()
        while time.monotonic() - started < BLOCKED_SECONDS:  # sample while the sink is blocked
            peak_rss = max(peak_rss, rss_bytes(gs.pid))
            zones.add(gs.metric("gophership_ingester_zone"))
            healthy.add(gs.metric("gophership_sink_healthy", sink="archive"))
            time.sleep(0.1)
        assert sender.error is None, f"sender failed after {sender.sent} lines: {sender.error!r}"
        assert gs.metric("gophership_sink_sent_records_total", sink="archive") == 0
        appended = gs.metric("gophership_vault_appended_lines_total")
        assert appended > 0, "nothing spilled to the vault while the sink was blocked"
        assert 2.0 in zones, f"the zone never turned RED: {zones}"
        assert 0.0 in healthy, "the blocked sink was never marked unhealthy"

        reader = FifoReader(fifo, tmp_path / "received.jsonl")
        reader.start()
        sender.join(120)
        assert not sender.is_alive()
        assert sender.error is None, f"sender failed after {sender.sent} lines: {sender.error!r}"
        total = sender.sent
        assert total >= 500_000, f"only {total} lines in {BLOCKED_SECONDS}s"
        peak_rss = max(peak_rss, rss_bytes(gs.pid))
        wait_until(
            lambda: reader.records,
            lambda n: n >= total,
            180,
            f"{total} records out of the FIFO",
        )
        assert gs.metric("gophership_source_received_lines_total", source="app") == total
    reader.join(60)
    assert not reader.is_alive()
    assert peak_rss < BUDGET, f"RSS peaked at {peak_rss >> 20} MiB, budget {BUDGET >> 20} MiB"
    counts = reader.counts[:total]
    missing = counts.count(0)
    dupes = total - missing - counts.count(1)
    assert reader.records == total, f"{reader.records} records for {total} lines sent"
    assert missing == 0, f"{missing} ids never came out"
    assert dupes == 0, f"{dupes} ids came out more than once"
    assert not any(reader.counts[total:])
    for line in (reader.first, reader.last):  # the batches are real OTLP/JSON
        assert line is not None
        request = orjson.loads(line)
        scope_logs = request["resourceLogs"][0]["scopeLogs"][0]
        assert scope_logs["scope"]["attributes"][0]["value"] == {"stringValue": "app"}
        rec = scope_logs["logRecords"][0]
        i = int(rec["body"]["stringValue"].removeprefix("id "))
        assert rec["attributes"] == [{"key": "id", "value": {"intValue": str(i)}}]

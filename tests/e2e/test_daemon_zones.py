"""Forced RED, replay back to GREEN, and a sink that blocks under full load."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from gsdaemon import GS_CTL, body, read_records, run_daemon, send_tcp, wait_for

pytestmark = pytest.mark.e2e


def ndjson_lines(n: int, start: int = 0) -> bytes:
    return b"".join(b'{"msg":"line %d","n":%d}\n' % (i, i) for i in range(start, start + n))


def test_forced_red_vaults_the_exact_bytes_then_replays_each_line_once(tmp_path: Path) -> None:
    n = 50_000
    data = ndjson_lines(n)
    with run_daemon(tmp_path, {"somatic": {"zone": "auto"}}) as gs:
        gs.ctl("override", "--zone", "red", "--socket", gs.control)
        assert gs.metric("gophership_ingester_zone") == 2
        send_tcp(gs.addr("app"), data)
        gs.wait_metric("gophership_vault_appended_lines_total", n)
        assert gs.metric("gophership_somatic_pivots_total") >= 1
        assert not Path(gs.sink_path).exists()
        cat = subprocess.run(
            [GS_CTL, "vault", "cat", "--dir", gs.vault_dir], capture_output=True, check=True
        )
        assert cat.stdout == data  # bit-identical while the daemon runs
        received_at = time.time_ns()
        gs.ctl("override", "--zone", "auto", "--socket", gs.control)
        records = wait_for(gs.records, lambda r: len(r) >= n, 60, f"{n} records")
        gs.wait_metric("gophership_vault_replayed_lines_total", n)
        assert gs.metric("gophership_ingester_zone") == 0
    assert sorted(body(r) for r in records) == sorted(f"line {i}" for i in range(n))
    assert all(int(r["observedTimeUnixNano"]) < received_at for r in records)


def test_config_forced_red_survives_restart_and_replays_after(tmp_path: Path) -> None:
    n = 20_000
    data = ndjson_lines(n)
    with run_daemon(tmp_path, {"somatic": {"zone": "red"}}) as gs:
        send_tcp(gs.addr("app"), data)
        gs.wait_metric("gophership_vault_appended_lines_total", n)
    vault = str(tmp_path / "data" / "vault")
    cat = subprocess.run([GS_CTL, "vault", "cat", "--dir", vault], capture_output=True, check=True)
    assert cat.stdout == data  # after a graceful stop too (sealed segment)
    verify = subprocess.run([GS_CTL, "vault", "verify", "--dir", vault], capture_output=True)
    assert verify.returncode == 0
    with run_daemon(tmp_path, {"somatic": {"zone": "auto"}}) as gs:
        records = wait_for(gs.records, lambda r: len(r) >= n, 60, f"{n} records")
    assert sorted(body(r) for r in records) == sorted(f"line {i}" for i in range(n))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_a_sink_blocked_for_30s_loses_nothing_and_stays_under_budget(tmp_path: Path) -> None:
    out = tmp_path / "data" / "out"
    out.mkdir(parents=True)
    fifo = out / "fifo"
    os.mkfifo(fifo)
    budget_mib = 256
    extra = {
        "sinks": {"archive": {"type": "file", "path": str(fifo), "timeout": "1s"}},
        "somatic": {"memory_budget": f"{budget_mib}MiB", "queue_budget": "64MiB"},
        "vault": {"replay": {"rate": "512MiB"}},
    }
    total_lines = 0
    peak = 0.0
    with run_daemon(tmp_path, extra) as gs:
        sock = socket.create_connection(gs.addr("app"))
        block = 10_000
        rate = 100_000  # lines/s for 30 s: steady load, and a total CI can replay quickly
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < 30:
            sock.sendall(ndjson_lines(block, total_lines))  # never fails: not disconnected
            total_lines += block
            peak = max(peak, rss_mib(gs.proc.pid))
            ahead = total_lines / rate - elapsed
            if ahead > 0:
                time.sleep(ahead)
        wait_for(
            lambda: (gs.metric('gophership_sink_healthy{sink="archive"}'),
                     gs.metric("gophership_ingester_zone")),
            lambda v: v == (0.0, 2.0), 10, "the stuck sink to turn the zone RED",
        )  # fmt: skip
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(60)
        assert sock.recv(1) == b""  # the daemon read everything, then closed its side
        sock.close()
        lines: list[bytes] = []

        def drain_fifo() -> None:
            with open(fifo, "rb") as f:
                lines.extend(f)

        reader = threading.Thread(target=drain_fifo, daemon=True)
        reader.start()
        gs.wait_metric('gophership_sink_sent_records_total{sink="archive"}', total_lines, 240)
        assert peak < budget_mib, f"RSS peaked at {peak:.0f} MiB"
        gs.stop()
    reader.join(30)
    fifo_copy = tmp_path / "received.jsonl"
    fifo_copy.write_bytes(b"".join(lines))
    seen = [body(r) for r in read_records(str(fifo_copy))]
    assert len(seen) == total_lines
    assert len(set(seen)) == total_lines  # each line exactly once

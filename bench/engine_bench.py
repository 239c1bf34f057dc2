"""End-to-end throughput of the real daemon: one core sends, one core runs the daemon.

Scenarios (200-byte lines over loopback TCP):

* ``red``: zone forced RED, NDJSON lines straight into the vault;
* ``ndjson``: NDJSON through the green path to the file sink;
* ``rfc5424``: RFC 5424 syslog (LF framed) through the green path to the file sink.

For each: lines/s from the first byte sent until the last line is accounted for (in the vault
for ``red``, in the file sink for the others, replay included when the pivot spilled), the
pivot latency p50/p99 reported by the daemon, and its RSS idle and at peak.

Usage: ``python bench/engine_bench.py [--scenario red|ndjson|rfc5424|all] [--lines N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

LINE_BYTES = 200
WORDS = [
    "user",
    "login",
    "logout",
    "request",
    "response",
    "cache",
    "miss",
    "hit",
    "db",
    "query",
    "slow",
    "timeout",
    "retry",
    "connect",
    "disconnect",
    "upstream",
    "downstream",
    "payment",
    "order",
    "item",
    "cart",
    "session",
    "token",
    "error",
    "warning",
    "healthy",
    "degraded",
    "shard",
    "replica",
    "leader",
    "follower",
    "commit",
    "abort",
]


def _pad(prefix: str, suffix: str, rng: random.Random) -> str:
    room = LINE_BYTES - 1 - len(prefix) - len(suffix)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < room:
        words.append(rng.choice(WORDS))
    text = " ".join(words)[:room]
    return prefix + text.ljust(room) + suffix


def ndjson_lines(n: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ts = f"2026-11-22T10:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 1000:03d}Z"
        level = rng.choice(("info", "warn", "error", "debug"))
        prefix = (
            f'{{"ts":"{ts}","level":"{level}","user":"u{rng.randrange(10**5)}",'
            f'"latency_ms":{rng.randrange(1000)},"msg":"'
        )
        out.append(_pad(prefix, '"}', rng) + "\n")
    data = "".join(out).encode()
    assert len(data) == n * LINE_BYTES
    return data


def rfc5424_lines(n: int, seed: int = 2) -> bytes:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ts = f"2026-11-22T10:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 1000:03d}Z"
        host = rng.randrange(20)  # 20 hosts, one app process each, 10 message ids
        prefix = (
            f"<{rng.choice((134, 131, 132, 135))}>1 {ts} web-{host} app {4000 + 37 * host} "
            f'ID{rng.randrange(10)} [req@32473 id="{rng.randrange(10**6)}"] '
        )
        out.append(_pad(prefix, "", rng) + "\n")
    data = "".join(out).encode()
    assert len(data) == n * LINE_BYTES
    return data


SENDER = r"""
import socket, sys
host, port, path, repeat = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
data = open(path, 'rb').read()
view = memoryview(data)
s = socket.create_connection((host, port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 2**20)
for _ in range(repeat):
    for i in range(0, len(view), 1 << 20):
        s.sendall(view[i:i + (1 << 20)])
s.shutdown(socket.SHUT_WR)
s.recv(1)
"""


def scrape(address: str) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def taskset(cpu: int) -> list[str]:
    return (
        ["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []
    )


def run_scenario(name: str, lines: int, workdir: Path) -> dict[str, object]:
    data_dir = workdir / name
    source_type, gen = {
        "red": ("ndjson_tcp", ndjson_lines),
        "ndjson": ("ndjson_tcp", ndjson_lines),
        "rfc5424": ("syslog_tcp", rfc5424_lines),
    }[name]
    unique = min(lines, 100_000)
    payload = data_dir / "payload"
    data_dir.mkdir(parents=True)
    payload.write_bytes(gen(unique))
    repeat = lines // unique
    total = unique * repeat
    config = data_dir / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "data_dir": str(data_dir),
                "sources": {"in": {"type": source_type, "address": "127.0.0.1:0"}},
                "sinks": {
                    "out": {
                        "type": "file",
                        "path": str(data_dir / "out.jsonl"),
                        "max_file_bytes": "1GiB",
                        "max_files": 2,
                    }
                },
                "somatic": {"zone": "red" if name == "red" else "auto"},
                "vault": {"fsync": "1s", "replay": {"rate": "1GiB"}},
                "metrics": {"address": "127.0.0.1:0"},
            }
        )
    )
    daemon = subprocess.Popen(
        [*taskset(1), sys.executable, "-m", "gophership", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=open(data_dir / "daemon.log", "wb"),  # noqa: SIM115
    )
    try:
        assert daemon.stdout is not None
        ready = json.loads(daemon.stdout.readline())
        host, port = ready["listeners"]["in"].rsplit(":", 1)
        metrics = ready["metrics"]
        time.sleep(1.0)
        rss_idle = rss_bytes(daemon.pid)
        key = (
            "gophership_vault_appended_lines_total"
            if name == "red"
            else 'gophership_sink_sent_records_total{sink="out"}'
        )
        started = time.perf_counter()
        sender = subprocess.Popen(
            [*taskset(0), sys.executable, "-c", SENDER, host, port, str(payload), str(repeat)]
        )
        peak = rss_idle
        done = 0.0
        deadline = started + 600
        while time.perf_counter() < deadline:
            peak = max(peak, rss_bytes(daemon.pid))
            done = scrape(metrics).get(key, 0.0)
            if done >= total:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        sender.wait(timeout=60)
        m = scrape(metrics)
        return {
            "scenario": name,
            "lines": total,
            "delivered": int(done),
            "seconds": round(elapsed, 3),
            "lines_per_second": round(total / elapsed),
            "mib_per_second": round(total * LINE_BYTES / elapsed / 2**20, 1),
            "pivots": int(m.get("gophership_somatic_pivots_total", 0)),
            "pivot_latency_p50_us": round(
                m.get('gophership_ingester_pivot_latency_seconds{quantile="0.5"}', 0) * 1e6, 1
            ),
            "pivot_latency_p99_us": round(
                m.get('gophership_ingester_pivot_latency_seconds{quantile="0.99"}', 0) * 1e6, 1
            ),
            "rss_idle_mib": round(rss_idle / 2**20, 1),
            "rss_peak_mib": round(peak / 2**20, 1),
        }
    finally:
        daemon.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("red", "ndjson", "rfc5424", "all"), default="all")
    parser.add_argument("--lines", type=int, default=3_000_000)
    args = parser.parse_args()
    names = ["red", "ndjson", "rfc5424"] if args.scenario == "all" else [args.scenario]
    cpus, python = os.cpu_count(), platform.python_version()
    print(f"# machine: {platform.node()} {platform.machine()} {cpus} cpus, python {python}")
    with tempfile.TemporaryDirectory(prefix="gs-bench-") as tmp:
        for name in names:
            result = run_scenario(name, args.lines, Path(tmp))
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The benchmark suite behind ``make bench`` and ``make bench-quick``.

Every scenario runs the real daemon (``python -m gophership run``) pinned to one core, with our
own load generator (deterministic lines, big ``sendall`` batches, several connections) pinned
to the other when the machine has two. A scenario ends when the last line is accounted for
(in the vault for ``red``, in the file sink for the others, replay included).

Scenarios: ``red`` (forced RED, NDJSON into the vault), ``ndjson`` and ``rfc5424`` (green path
to the file sink), ``otlp_grpc`` (512-record requests to the file sink), ``allocations``
(tracemalloc over the red path in process), ``burst`` (a slow sink under a burst: peak RSS
against the budget, time per zone, lines lost by count and by hash), ``idle`` (RSS). With
``--peers`` (``PEERS=1 make bench``) rsyslog and syslog-ng receive the same RFC 5424 load over
TCP into a file, and are reported as ratios to GopherShip measured in the same run.

Statistics: one warm-up run, then ``--runs`` measured runs (3; 1 with ``--quick``): median,
min, max, and a flag when (max - min) / median > 20 %. No number is asserted anywhere: targets
are printed beside the results. Results: ``bench/results/latest.json`` (and a dated copy).

Usage: ``python bench/suite.py [--quick] [--peers] [--runs N] [--only NAME ...] [--readme]``;
``python bench/readme.py`` renders the README section from the latest results afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from gophership.testing.benchstats import (
    burst_bodies,
    line_hash,
    ndjson_lines,
    render_readme_section,
    render_table,
    replace_between_markers,
    rfc5424_lines,
    summarize,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEPS = ("orjson", "lz4", "crc32c", "uvloop", "grpcio", "protobuf", "aiohttp", "prometheus-client")
TARGETS = {
    "red": "≥ 2x the best peer",
    "ndjson": "≥ 0.6 M lines/s",
    "rfc5424": "≥ rsyslog",
    "otlp_grpc": "0.3 M records/s (aim)",
    "latency": "p99 < 200 µs",
    "allocations": "net growth 0",
    "burst": "peak RSS ≤ budget + 10 %, 0 lost",
}

SENDER = r"""
import socket, sys, threading
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
repeat, conns = int(sys.argv[4]), int(sys.argv[5])
data = open(path, "rb").read()
def send(share):
    s = socket.create_connection((host, port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    view = memoryview(data)
    for _ in range(share):
        for i in range(0, len(view), 1 << 20):
            s.sendall(view[i:i + (1 << 20)])
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
shares = [repeat // conns + (1 if i < repeat % conns else 0) for i in range(conns)]
threads = [threading.Thread(target=send, args=(n,)) for n in shares if n]
for t in threads: t.start()
for t in threads: t.join()
"""

OTLP_SENDER = r"""
import asyncio, sys, grpc
host_port, path, requests, conc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
body = open(path, "rb").read()
async def main():
    async with grpc.aio.insecure_channel(host_port) as ch:
        call = ch.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export")
        left = [requests]
        async def worker():
            while left[0] > 0:
                left[0] -= 1
                await call(body, timeout=60)
        await asyncio.gather(*(worker() for _ in range(conc)))
asyncio.run(main())
"""


# -- the machine and the daemon ---------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dep in DEPS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dep] = importlib.metadata.version(dep)
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "libraries": versions,
        "hostname": platform.node(),
    }


def commit() -> str:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() or "unknown"


def pin(cpu: int) -> list[str]:
    """``taskset -c cpu`` when there are two cores or more (one for the daemon, one to send)."""
    if (os.cpu_count() or 1) > 1 and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu)]
    return []


def sender_argv(script: str, *args: object) -> list[str]:
    """A load generator process on core 0: this interpreter running ``script`` with ``args``."""
    return [*pin(0), sys.executable, "-c", script, *map(str, args)]


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def scrape(address: str) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    ready: dict[str, Any]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def addr(self, source: str) -> tuple[str, int]:
        host, port = self.ready["listeners"][source].rsplit(":", 1)
        return host, int(port)

    def metrics(self) -> dict[str, float]:
        return scrape(self.ready["metrics"])

    def stop(self) -> None:
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=120)


@contextlib.contextmanager
def daemon(workdir: Path, config: dict[str, Any]) -> Any:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(json.dumps(config))
    with open(workdir / "daemon.log", "wb") as log:
        proc = subprocess.Popen(
            [*pin(1), sys.executable, "-m", "gophership", "run", "--config", str(path)],
            stdout=subprocess.PIPE,
            stderr=log,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError(f"daemon did not start: {(workdir / 'daemon.log').read_text()[-2000:]}")
    d = Daemon(proc, json.loads(line))
    try:
        yield d
    finally:
        d.stop()


def base_config(workdir: Path, source: dict[str, Any], *, zone: str = "auto") -> dict[str, Any]:
    return {
        "data_dir": str(workdir),
        "sources": {"in": {**source, "address": "127.0.0.1:0"}},
        "sinks": {
            "out": {
                "type": "file",
                "path": str(workdir / "out.jsonl"),
                "max_file_bytes": "1GiB",
                "max_files": 2,
            }
        },
        "somatic": {"zone": zone},
        "vault": {"fsync": "1s", "replay": {"rate": "1GiB"}},
        "metrics": {"address": "127.0.0.1:0"},
    }


# -- one measured run -------------------------------------------------------------------------


@dataclass
class Run:
    lines: int
    seconds: float
    cpu_seconds: float
    peak_rss: int
    idle_rss: int
    metrics: dict[str, float]

    @property
    def rate(self) -> float:
        return self.lines / self.seconds


def run_stream(
    workdir: Path, source_type: str, payload: bytes, repeat: int, *, zone: str, conns: int = 4
) -> Run:
    """One daemon, one load: ``payload`` sent ``repeat`` times over ``conns`` connections."""
    lines = payload.count(b"\n") * repeat
    config = base_config(workdir, {"type": source_type}, zone=zone)
    payload_path = workdir / "payload"
    workdir.mkdir(parents=True, exist_ok=True)
    payload_path.write_bytes(payload)
    key = (
        "gophership_vault_appended_lines_total"
        if zone == "red"
        else 'gophership_sink_sent_records_total{sink="out"}'
    )
    with daemon(workdir, config) as d:
        time.sleep(0.5)
        idle = rss_bytes(d.pid)
        host, port = d.addr("in")
        cpu0 = proc_cpu_seconds(d.pid)
        started = time.perf_counter()
        sender = subprocess.Popen(sender_argv(SENDER, host, port, payload_path, repeat, conns))
        peak = idle
        deadline = started + 1800
        while time.perf_counter() < deadline:
            peak = max(peak, rss_bytes(d.pid))
            if d.metrics().get(key, 0.0) >= lines:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        cpu = proc_cpu_seconds(d.pid) - cpu0
        sender.wait(timeout=120)
        return Run(lines, elapsed, cpu, peak, idle, d.metrics())


def otlp_request(records: int = 512) -> bytes:
    """One ``ExportLogsServiceRequest`` as the Python SDK sends it: ~100 B body, 8 attributes."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    for k, v in (("service.name", "bench"), ("service.instance.id", "i-1")):
        kv = rl.resource.attributes.add()
        kv.key, kv.value.string_value = k, v
    sl = rl.scope_logs.add()
    sl.scope.name, sl.scope.version = "bench", "1.0"
    for i in range(records):
        lr = sl.log_records.add()
        lr.time_unix_nano = 1_700_000_000_000_000_000 + i
        lr.observed_time_unix_nano = lr.time_unix_nano + 500
        lr.severity_number = 9  # type: ignore[assignment]
        lr.severity_text = "INFO"
        lr.body.string_value = f"request {i} served " + "x" * 80
        for j in range(4):
            kv = lr.attributes.add()
            kv.key, kv.value.string_value = f"attr.s{j}", "value"
        kv = lr.attributes.add()
        kv.key, kv.value.int_value = "attr.n", i
        kv = lr.attributes.add()
        kv.key, kv.value.double_value = "attr.d", i / 3
        kv = lr.attributes.add()
        kv.key, kv.value.bool_value = "attr.b", True
        kv = lr.attributes.add()
        kv.key = "attr.a"
        kv.value.array_value.values.add().string_value = "z"
        lr.trace_id, lr.span_id, lr.flags = bytes(range(16)), bytes(range(8)), 1
    return request.SerializeToString()


def run_otlp(workdir: Path, requests: int) -> Run:
    lines = requests * 512
    config = base_config(workdir, {"type": "otlp_grpc"})
    workdir.mkdir(parents=True, exist_ok=True)
    body = workdir / "request.bin"
    body.write_bytes(otlp_request())
    key = 'gophership_sink_sent_records_total{sink="out"}'
    with daemon(workdir, config) as d:
        time.sleep(0.5)
        idle = rss_bytes(d.pid)
        host, port = d.addr("in")
        cpu0 = proc_cpu_seconds(d.pid)
        started = time.perf_counter()
        sender = subprocess.Popen(sender_argv(OTLP_SENDER, f"{host}:{port}", body, requests, 8))
        peak = idle
        while time.perf_counter() < started + 1800:
            peak = max(peak, rss_bytes(d.pid))
            if d.metrics().get(key, 0.0) >= lines:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        cpu = proc_cpu_seconds(d.pid) - cpu0
        sender.wait(timeout=120)
        return Run(lines, elapsed, cpu, peak, idle, d.metrics())


def repeated(
    name: str, runs: int, one: Any, *, warmup: Any = None, notes: str = ""
) -> dict[str, Any]:
    """A warm-up, then ``runs`` measured runs, summarized."""
    if warmup is not None:
        warmup()
    results: list[Run] = [one(i) for i in range(runs)]
    rate = summarize([r.rate for r in results])
    median_run = sorted(results, key=lambda r: r.rate)[len(results) // 2]
    entry: dict[str, Any] = {
        "scenario": name,
        "lines": median_run.lines,
        "lines_per_s": round(rate.median),
        "lines_per_s_runs": rate.as_dict(),
        "cpu_seconds_per_million_lines": round(median_run.cpu_seconds / median_run.lines * 1e6, 3),
        "peak_rss_bytes": max(r.peak_rss for r in results),
        "idle_rss_bytes": median_run.idle_rss,
        "target": TARGETS.get(name, ""),
        "notes": notes,
    }
    q = median_run.metrics
    for quantile, label in (("0.5", "p50"), ("0.99", "p99"), ("0.999", "p999")):
        value = q.get(f'gophership_ingester_pivot_latency_seconds{{quantile="{quantile}"}}')
        if value is not None:
            entry[f"pivot_latency_{label}_us"] = round(value * 1e6, 1)
    return entry


# -- allocations and burst --------------------------------------------------------------------


def allocations(lines: int) -> dict[str, Any]:
    """tracemalloc over the red path in process: framer → pivot → vault writer, forced RED."""
    import asyncio

    from gophership.buffer import ChunkQueue
    from gophership.ingest import Ingester
    from gophership.pivot.controller import Thresholds, ZoneController
    from gophership.pivot.modes import Zone
    from gophership.protocol.framing import LineFramer
    from gophership.record import Codec
    from gophership.spill import VaultSpiller
    from gophership.vault import Vault, VaultOptions

    chunk = ndjson_lines(320)  # 64,000 bytes: one read of a 64 KiB buffer
    per_chunk = chunk.count(b"\n")
    rounds = max(1, lines // per_chunk)

    async def main() -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="gs-alloc-") as tmp:
            vault = Vault.open(Path(tmp), VaultOptions(fsync="never", max_bytes=1 << 40))
            spiller = VaultSpiller(vault, max_pending_bytes=1 << 30, on_pressure=lambda p: None)
            spiller.start(asyncio.get_running_loop())
            controller = ZoneController(Thresholds(0.7, 0.9, 0.1), forced=Zone.RED)
            ingester = Ingester(
                ChunkQueue(64 << 20),
                spiller,
                controller,
                memory_budget_bytes=1 << 40,
                sense_every_chunks=64,
            )
            framer = LineFramer(64 * 1024)

            def feed(n: int) -> None:
                for _ in range(n):
                    for c in framer.feed(chunk):
                        ingester.route(Codec.NDJSON, "in", c.data, c.frames, time.perf_counter_ns())
                spiller.flush()

            feed(200)  # warm-up: caches, the vault's first segment
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.take_snapshot()
            blocks0 = sys.getallocatedblocks()
            feed(rounds)
            gc.collect()
            after = tracemalloc.take_snapshot()
            blocks1 = sys.getallocatedblocks()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            diffs = after.compare_to(before, "lineno")
            growth = sum(s.size_diff for s in diffs)
            top = [
                f"{Path(d.traceback[0].filename).name}:{d.traceback[0].lineno} {d.size_diff:+d} B"
                for d in sorted(diffs, key=lambda d: -abs(d.size_diff))[:3]
            ]
            spiller.close()
            n = rounds * per_chunk
            return {
                "scenario": "allocations",
                "lines": n,
                "net_growth_bytes": growth,
                "net_blocks_per_line": round((blocks1 - blocks0) / n, 6),
                "traced_peak_bytes": peak,
                "largest_growth": top,
                "target": TARGETS["allocations"],
                "notes": "in process, forced RED, tracemalloc",
            }

    return asyncio.run(main())


BURST_SENDER = r"""
import socket, sys, time
from gophership.testing.benchstats import burst_block
host, port, seconds, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
s = socket.create_connection((host, port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
sent, block, start = 0, 5000, time.perf_counter()
while (now := time.perf_counter()) - start < seconds:
    ahead = sent / rate - (now - start)
    if ahead > 0:
        time.sleep(ahead)
    s.sendall(burst_block(sent, block))
    sent += block
s.shutdown(socket.SHUT_WR)
s.recv(1)
print(sent, round(time.perf_counter() - start, 3))
"""


SLOW_SINK_BYTES_PER_S: Final = 64 * 1024 * 20
"""What the burst's sink takes while slow: about 1.3 MB/s of OTLP/JSON, ~1,700 records/s."""


def burst(workdir: Path, seconds: float, rate: int, budget: int = 256 << 20) -> dict[str, Any]:
    """``rate`` lines/s for ``seconds`` against a sink draining slowly through a FIFO.

    The sink's pace sets the green path's capacity during the burst (~1,700 records/s), so the
    default rate of 40,000 lines/s is over 20 times it. The file sink writes into a FIFO this
    process reads at a crawl during the burst (the sink blocks, turns unhealthy, the zone goes
    RED, the vault takes the load), then at full speed until every line is delivered. Lost
    lines are checked by count and by an order-independent hash of the message bodies.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    fifo = workdir / "sink.fifo"
    os.mkfifo(fifo)
    config = base_config(workdir, {"type": "ndjson_tcp"})
    config["sinks"]["out"] = {"type": "file", "path": str(fifo), "timeout": "1s"}
    config["somatic"].update({"memory_budget": budget, "queue_budget": "64MiB"})
    received: list[bytes] = []
    slow = threading.Event()
    slow.set()

    def reader() -> None:
        with open(fifo, "rb") as f:
            while True:
                if slow.is_set():
                    time.sleep(0.05)
                    data = f.read1(SLOW_SINK_BYTES_PER_S // 20)
                else:
                    data = f.read1(4 << 20)
                if not data:
                    return
                received.append(data)

    zone_time = {"green": 0.0, "yellow": 0.0, "red": 0.0}
    names = {0.0: "green", 1.0: "yellow", 2.0: "red"}
    with daemon(workdir, config) as d:
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        host, port = d.addr("in")
        peak = rss_bytes(d.pid)
        started = last = time.perf_counter()
        sender = subprocess.Popen(
            sender_argv(BURST_SENDER, host, port, seconds, rate), stdout=subprocess.PIPE
        )
        delivered = slow_delivered = 0.0
        slow_bytes = 0
        sent_lines: int | None = None
        send_seconds = seconds
        while time.perf_counter() < started + seconds + 900:
            time.sleep(0.1)
            now = time.perf_counter()
            m = d.metrics()
            zone_time[names.get(m.get("gophership_ingester_zone", 2.0), "red")] += now - last
            last = now
            peak = max(peak, rss_bytes(d.pid))
            delivered = m.get('gophership_sink_sent_records_total{sink="out"}', 0.0)
            if sent_lines is None and sender.poll() is not None:
                assert sender.stdout is not None
                count, sending = sender.stdout.read().split()
                sent_lines, send_seconds = int(count), float(sending)
                slow_bytes = sum(map(len, received))
                slow_delivered = delivered
                slow.clear()  # the burst is over: the sink recovers, everything must arrive
            if sent_lines is not None and delivered >= sent_lines:
                break
        drained = time.perf_counter() - started
    t.join(timeout=60)
    sent = sent_lines or 0
    bodies = _bodies_of_output(b"".join(received))
    lost = sent - len(set(bodies))
    return {
        "scenario": "burst",
        "lines": sent,
        "burst_seconds": round(send_seconds, 1),
        "sent_lines_per_s": round(sent / send_seconds),
        "seconds_until_all_delivered": round(drained, 1),
        "peak_rss_bytes": peak,
        "memory_budget_bytes": budget,
        "peak_rss_over_budget": round(peak / budget, 3),
        "zone_seconds": {k: round(v, 1) for k, v in zone_time.items()},
        "lines_lost": lost,
        "duplicates": len(bodies) - len(set(bodies)),
        "hash_match": line_hash(bodies) == line_hash(burst_bodies(sent)),
        "target": TARGETS["burst"],
        "delivered_while_slow": int(slow_delivered),
        "sink_bytes_while_slow": slow_bytes,
        "notes": f"{rate} lines/s; the sink drains ~1.3 MB/s during the burst, then at full speed",
    }


def _bodies_of_output(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    for line in data.splitlines():
        if not line.strip():
            continue
        for rl in orjson.loads(line)["resourceLogs"]:
            for sl in rl["scopeLogs"]:
                out.extend(r["body"]["stringValue"].encode() for r in sl["logRecords"])
    return out


# -- peers ------------------------------------------------------------------------------------


def ensure_peers() -> dict[str, list[str]]:
    """rsyslogd installed from Debian; syslog-ng unpacked beside it (the packages conflict)."""
    found: dict[str, list[str]] = {}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not shutil.which("rsyslogd"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "rsyslog"], env=env, check=False)
    if shutil.which("rsyslogd"):
        found["rsyslog"] = ["rsyslogd"]
    sng = Path("/tmp/gs-bench-sng/root")
    binary = sng / "usr/sbin/syslog-ng"
    if not binary.exists():
        deps = ["libivykis0", "libnet1", "libjson-c5", "libpcre3", "libwrap0"]
        subprocess.run(["apt-get", "install", "-y", "-qq", *deps], env=env, check=False)
        sng.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["apt-get", "download", "syslog-ng-core"],
            cwd=sng.parent,
            env=env,
            check=False,
        )
        for deb in sng.parent.glob("syslog-ng-core_*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(sng)], check=False)
    if binary.exists():
        modules = next((sng / "usr/lib/syslog-ng").glob("3.*"), sng / "usr/lib/syslog-ng")
        found["syslog-ng"] = [str(binary), f"--module-path={modules}"]
    return found


RSYSLOG_CONF = """
global(workDirectory="{work}")
module(load="imtcp" MaxSessions="1000")
input(type="imtcp" port="{port}" address="127.0.0.1")
template(name="raw" type="string" string="%rawmsg%\\n")
action(type="omfile" file="{out}" template="raw" asyncWriting="on" ioBufferSize="4m"
       flushOnTXEnd="off" queue.type="linkedlist" queue.size="200000"
       queue.dequeueBatchSize="4096")
"""

SYSLOG_NG_CONF = """@version: 3.38
options {{ log-fetch-limit(10000); flush-lines(10000); log-fifo-size(1000000);
          stats-freq(0); keep-hostname(yes); chain-hostnames(no); }};
source s_in {{ network(ip("127.0.0.1") port({port}) transport("tcp") flags(no-parse)
              log-iw-size(1000000) max-connections(100) log-fetch-limit(10000)); }};
destination d_out {{ file("{out}" template("${{MESSAGE}}\\n") flush-lines(10000)); }};
log {{ source(s_in); destination(d_out); }};
"""


def run_peer(name: str, command: list[str], workdir: Path, payload: bytes, repeat: int) -> Run:
    """One peer on the same RFC 5424 load, to a file; done when the file has every line."""
    workdir.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = workdir / "out.log"
    if name == "rsyslog":
        conf = workdir / "rsyslog.conf"
        conf.write_text(RSYSLOG_CONF.format(work=workdir, port=port, out=out))
        argv = [*command, "-n", "-f", str(conf), "-i", str(workdir / "pid")]
        env = dict(os.environ)
    else:
        conf = workdir / "syslog-ng.conf"
        conf.write_text(SYSLOG_NG_CONF.format(port=port, out=out))
        binary_root = Path(command[0]).parents[2]
        env = {**os.environ, "LD_LIBRARY_PATH": str(binary_root / "usr/lib/syslog-ng")}
        argv = [*command, "-F", "-f", str(conf), "-p", str(workdir / "pid")]
        argv += ["-R", str(workdir / "persist"), "-c", str(workdir / "ctl")]
    payload_path = workdir / "payload"
    payload_path.write_bytes(payload)
    lines = payload.count(b"\n") * repeat
    with open(workdir / "peer.log", "wb") as log:
        proc = subprocess.Popen([*pin(1), *argv], stdout=log, stderr=log, env=env)
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        cpu0 = proc_cpu_seconds(proc.pid)
        started = time.perf_counter()
        sender = subprocess.Popen(sender_argv(SENDER, "127.0.0.1", port, payload_path, repeat, 4))
        peak = 0
        done = 0
        while time.perf_counter() < started + 900:
            peak = max(peak, rss_bytes(proc.pid))
            done = _count_lines(out)
            if done >= lines:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        cpu = proc_cpu_seconds(proc.pid) - cpu0
        sender.wait(timeout=120)
        if done < lines:
            raise RuntimeError(f"{name}: {done} of {lines} lines after {elapsed:.0f}s")
        return Run(lines, elapsed, cpu, peak, 0, {})
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


# -- the suite --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer lines, one run: < 2 min")
    parser.add_argument("--peers", action="store_true", default=os.environ.get("PEERS") == "1")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--readme", action="store_true", help="rewrite the README section")
    args = parser.parse_args()
    quick = args.quick
    runs = args.runs or (1 if quick else 3)
    n = 300_000 if quick else 2_000_000
    unique = 100_000
    selected = set(args.only or ["red", "ndjson", "rfc5424", "otlp_grpc", "allocations", "burst"])
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": "quick" if quick else f"full, {runs} runs",
        "commit": commit(),
        "machine": machine(),
        "scenarios": [],
    }
    print(f"# {results['machine']['cpu_model']}, {results['machine']['cores']} cores", flush=True)
    ndjson = ndjson_lines(unique)
    syslog = rfc5424_lines(unique)
    repeat = max(1, n // unique)
    by_name: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="gs-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        counter = iter(range(10**6))

        def fresh(name: str) -> Path:
            return tmp / f"{name}-{next(counter)}"

        stream = {
            "red": ("ndjson_tcp", ndjson, "red", "forced RED, NDJSON into the vault"),
            "ndjson": ("ndjson_tcp", ndjson, "auto", "NDJSON to the file sink"),
            "rfc5424": ("syslog_tcp", syslog, "auto", "RFC 5424 to the file sink"),
        }
        for name, (source, payload, zone, notes) in stream.items():
            if name not in selected:
                continue

            def one(
                _: int,
                name: str = name,
                source: str = source,
                payload: bytes = payload,
                zone: str = zone,
            ) -> Run:
                return run_stream(fresh(name), source, payload, repeat, zone=zone)

            def warm(source: str = source, payload: bytes = payload, zone: str = zone) -> Run:
                return run_stream(fresh("warm"), source, payload[: len(payload) // 4], 1, zone=zone)

            entry = repeated(name, runs, one, warmup=warm, notes=notes)
            by_name[name] = entry
            results["scenarios"].append(entry)
            print(json.dumps(entry), flush=True)
        if "otlp_grpc" in selected:
            requests = 200 if quick else 1000
            entry = repeated(
                "otlp_grpc",
                runs,
                lambda _: run_otlp(fresh("otlp"), requests),
                warmup=lambda: run_otlp(fresh("warm"), 20),
                notes="512-record requests, 8 in flight, to the file sink",
            )
            results["scenarios"].append(entry)
            print(json.dumps(entry), flush=True)
        if "red" in by_name:
            red = by_name["red"]
            results["scenarios"].append(
                {
                    "scenario": "latency",
                    "pivot_latency_p50_us": red.get("pivot_latency_p50_us"),
                    "pivot_latency_p99_us": red.get("pivot_latency_p99_us"),
                    "pivot_latency_p999_us": red.get("pivot_latency_p999_us"),
                    "target": TARGETS["latency"],
                    "notes": "chunk received to appended, red run at full load (last 4096)",
                    "status": "p50 {} µs, p99 {} µs, p999 {} µs".format(
                        red.get("pivot_latency_p50_us"),
                        red.get("pivot_latency_p99_us"),
                        red.get("pivot_latency_p999_us"),
                    ),
                }
            )
            results["idle_rss_bytes"] = red["idle_rss_bytes"]
        if "allocations" in selected:
            entry = allocations(300_000 if quick else 3_000_000)
            entry["status"] = (
                f"net {entry['net_growth_bytes']} B, {entry['net_blocks_per_line']} blocks/line"
            )
            results["scenarios"].append(entry)
            print(json.dumps(entry), flush=True)
        if "burst" in selected:
            entry = burst(fresh("burst"), 10 if quick else 60, 40_000)
            entry["status"] = (
                f"peak RSS {entry['peak_rss_over_budget']:.2f} of budget, lost"
                f" {entry['lines_lost']}, hash {'ok' if entry['hash_match'] else 'MISMATCH'}"
            )
            results["scenarios"].append(entry)
            print(json.dumps(entry), flush=True)
        if args.peers:
            peers = ensure_peers()
            for peer, command in peers.items():

                def peer_run(_: int, peer: str = peer, command: list[str] = command) -> Run:
                    return run_peer(peer, command, fresh(peer), syslog, repeat)

                try:
                    entry = repeated(peer, runs, peer_run, notes="RFC 5424 over TCP to a file")
                except RuntimeError as exc:
                    entry = {"scenario": peer, "status": f"failed: {exc}"}
                else:
                    for ref in ("rfc5424", "red"):
                        if ref in by_name:
                            ratio = entry["lines_per_s"] / by_name[ref]["lines_per_s"]
                            key = "ratio_to_gophership" if ref == "rfc5424" else "ratio_to_red"
                            entry[key] = round(ratio, 3)
                    entry["notes"] = (
                        f"RFC 5424 to a file; {entry.get('ratio_to_gophership', '?')}x our RFC"
                        f" 5424 green path, {entry.get('ratio_to_red', '?')}x our red path"
                    )
                results["scenarios"].append(entry)
                print(json.dumps(entry), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2) + "\n"
    (RESULTS / "latest.json").write_text(text)
    (RESULTS / f"{results['date'].replace(':', '')}.json").write_text(text)
    print()
    print(render_table(results))
    for s in results["scenarios"]:
        if s.get("lines_per_s_runs", {}).get("spread_wide"):
            print(f"note: {s['scenario']}: runs spread wide (> 20 %); the machine is noisy")
    if args.readme:
        readme = ROOT / "README.md"
        readme.write_text(
            replace_between_markers(readme.read_text(), render_readme_section(results))
        )
        print("README.md performance section rewritten from bench/results/latest.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

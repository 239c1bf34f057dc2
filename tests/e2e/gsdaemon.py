"""Run the real daemon as a subprocess for end-to-end tests (nats-server style harness).

The daemon gets a config with every port 0 and every path under a temporary directory,
prints its ready line, and is stopped with SIGTERM (asserting exit status 0) at the end.
"""

from __future__ import annotations

import glob
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

VENV_BIN = Path(sys.executable).parent
GS_CTL = str(VENV_BIN / "gs-ctl")


def base_config(root: Path) -> dict[str, Any]:
    data = root / "data"
    return {
        "data_dir": str(data),
        "sources": {
            "app": {"type": "ndjson_tcp", "address": "127.0.0.1:0"},
            "app_unix": {"type": "ndjson_unix", "path": str(data / "ndjson.sock")},
            "syslog": {"type": "syslog_tcp", "address": "127.0.0.1:0"},
            "syslog_udp": {"type": "syslog_udp", "address": "127.0.0.1:0"},
        },
        "sinks": {"archive": {"type": "file", "path": str(data / "out" / "logs.jsonl")}},
        "somatic": {"zone": "auto", "sense_interval": "50ms"},
        "vault": {"dir": str(data / "vault"), "fsync": "100ms"},
        "metrics": {"address": "127.0.0.1:0"},
        "control": {"socket": str(data / "control.sock")},
        "resource": {"attributes": {"service.name": "e2e"}},
    }


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Daemon:
    """A running daemon and what its ready line said."""

    proc: subprocess.Popen[bytes]
    ready: dict[str, Any]
    config: dict[str, Any]
    root: Path
    stderr_path: Path
    stopped: bool = field(default=False)

    def addr(self, source: str) -> tuple[str, int]:
        host, port = self.ready["listeners"][source].rsplit(":", 1)
        return host, int(port)

    @property
    def vault_dir(self) -> str:
        return str(self.config["vault"]["dir"])

    @property
    def sink_path(self) -> str:
        return str(self.config["sinks"]["archive"]["path"])

    @property
    def control(self) -> str:
        return str(self.ready["control"])

    def metrics(self) -> dict[str, float]:
        url = f"http://{self.ready['metrics']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as resp:
            text = resp.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def metric(self, name: str) -> float:
        return self.metrics().get(name, 0.0)

    def wait_metric(self, name: str, at_least: float, timeout: float = 60.0) -> float:
        value: float = wait_for(lambda: self.metric(name), lambda v: v >= at_least, timeout, name)
        return value

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GS_CTL, *args], capture_output=True, text=True, timeout=60, check=check
        )

    def status(self) -> dict[str, Any]:
        out = self.ctl("status", "--socket", self.control, "--output", "json").stdout
        result: dict[str, Any] = json.loads(out)
        return result

    def records(self) -> list[dict[str, Any]]:
        """Every log record in the file sink (rotated files included), oldest file first."""
        return read_records(self.sink_path)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.stopped:
            return self.proc.returncode or 0
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self.stopped = True
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return rc

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def read_records(path: str) -> list[dict[str, Any]]:
    files = sorted(glob.glob(path + ".*"), key=lambda p: -int(p.rsplit(".", 1)[1]))
    if os.path.exists(path):
        files.append(path)
    out: list[dict[str, Any]] = []
    for name in files:
        with open(name, "rb") as f:
            for line in f:
                if not line.strip():
                    continue
                request = json.loads(line)
                for rl in request["resourceLogs"]:
                    resource = {a["key"]: a["value"] for a in rl["resource"]["attributes"]}
                    for sl in rl["scopeLogs"]:
                        source = sl["scope"]["attributes"][0]["value"]["stringValue"]
                        for rec in sl["logRecords"]:
                            rec = dict(rec)
                            rec["_source"] = source
                            rec["_resource"] = resource
                            rec["_attrs"] = {a["key"]: a["value"] for a in rec["attributes"]}
                            out.append(rec)
    return out


def wait_for(
    probe: Callable[[], Any], done: Callable[[Any], bool], timeout: float, what: str
) -> Any:
    deadline = time.monotonic() + timeout
    value = probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: last value {value!r}")
        time.sleep(0.05)
        value = probe()
    return value


@contextmanager
def run_daemon(root: Path, extra: dict[str, Any] | None = None) -> Iterator[Daemon]:
    """Start the daemon on a fresh config under ``root``; SIGTERM it (exit 0) at the end."""
    root.mkdir(parents=True, exist_ok=True)
    config = merge(base_config(root), extra or {})
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    stderr_path = root / "daemon.stderr"
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gophership", "run", "--config", str(path)],
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    ready = sel.select(timeout=30)
    sel.close()
    line = proc.stdout.readline() if ready else b""
    if not line:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
        raise AssertionError("no ready line: " + stderr_path.read_text())
    daemon = Daemon(proc, json.loads(line), config, root, stderr_path)
    try:
        yield daemon
    finally:
        if not daemon.stopped:
            rc = daemon.stop()
            assert rc == 0, daemon.stderr()[-4000:]


def send_tcp(addr: tuple[str, int], data: bytes) -> None:
    with socket.create_connection(addr, timeout=30) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(30)
        s.recv(1)  # wait for the daemon to close its side: everything was read


def send_unix(path: str, data: bytes) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(30)
        s.recv(1)


def send_udp(addr: tuple[str, int], datagrams: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, addr)


def body(rec: dict[str, Any]) -> Any:
    value = rec["body"]
    return value.get("stringValue", value)

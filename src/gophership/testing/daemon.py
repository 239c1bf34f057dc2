"""Run the real daemon as a subprocess for end-to-end tests (nats-server's harness, in Python).

``run_daemon(root, **overrides)`` writes a config with every port 0 and every path under
``root``, starts ``python -m gophership run``, reads the one ready line from stdout (with a
deadline), and yields a ``Daemon`` that knows the bound addresses. On exit the daemon gets
SIGTERM and must exit 0 within a deadline, with nothing more on stdout and only JSON lines on
stderr; stderr is printed when anything fails, so pytest shows it with the failure.

Rules: nothing here sleeps to wait for an outcome. Waiting is ``wait_until(probe, done,
timeout)``, which polls until the condition holds or fails the test at the deadline.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import orjson
import yaml

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

T = TypeVar("T")

VENV_BIN: Final = Path(sys.executable).parent
GS_CTL: Final = str(VENV_BIN / "gs-ctl")
READY_TIMEOUT_SECONDS: Final = 30.0
STOP_TIMEOUT_SECONDS: Final = 90.0
POLL_SECONDS: Final = 0.05
SUN_PATH_MAX: Final = 107

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def base_config(root: Path) -> dict[str, Any]:
    """The e2e config: four sources, one file sink, every port 0, every path under ``root``."""
    data = root / "data"
    sock_dir = data
    if len(str(data / "control.sock")) > SUN_PATH_MAX - 8:  # keep unix paths under sun_path
        sock_dir = Path(tempfile.mkdtemp(prefix="gs-e2e-"))
    return {
        "data_dir": str(data),
        "sources": {
            "app": {"type": "ndjson_tcp", "address": "127.0.0.1:0", "max_frame_bytes": "64KiB"},
            "app_unix": {"type": "ndjson_unix", "path": str(sock_dir / "ndjson.sock")},
            "syslog": {"type": "syslog_tcp", "address": "127.0.0.1:0"},
            "syslog_udp": {"type": "syslog_udp", "address": "127.0.0.1:0"},
        },
        "sinks": {"archive": {"type": "file", "path": str(data / "out" / "logs.jsonl")}},
        "somatic": {
            "zone": "auto",
            "memory_budget": "256MiB",
            "queue_budget": "64MiB",
            "sense_interval": "50ms",
        },
        "vault": {
            "dir": str(data / "vault"),
            "fsync": "100ms",
            "replay": {"enabled": True, "rate": "64MiB", "delete_replayed": True},
        },
        "pipeline": {"drain_timeout": "10s", "batch_timeout": "50ms"},
        "metrics": {"address": "127.0.0.1:0"},
        "control": {"socket": str(sock_dir / "control.sock")},
        "resource": {"attributes": {"service.name": "e2e"}},
    }


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``extra`` into a copy of ``base``; a ``None`` value removes the key."""
    out = dict(base)
    for key, value in extra.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def wait_until(probe: Callable[[], T], done: Callable[[T], bool], timeout: float, what: str) -> T:
    """Poll ``probe`` until ``done(value)``; fail with the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}: {value!r}")
        time.sleep(POLL_SECONDS)


def plain(value: dict[str, Any] | None) -> Any:
    """An OTLP/JSON ``AnyValue`` as a Python value (``intValue`` strings become ``int``)."""
    if value is None or not value:
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"])
    if "kvlistValue" in value:
        return {kv["key"]: plain(kv.get("value")) for kv in value["kvlistValue"].get("values", [])}
    if "arrayValue" in value:
        return [plain(v) for v in value["arrayValue"].get("values", [])]
    raise AssertionError(f"not an OTLP AnyValue: {value!r}")


@dataclass(frozen=True, slots=True)
class Exported:
    """One exported ``LogRecord`` with the scope and resource it was sent under."""

    record: dict[str, Any]
    source: str
    scope: dict[str, Any]
    resource: dict[str, Any]

    @property
    def body(self) -> Any:
        return plain(self.record.get("body"))

    @property
    def attrs(self) -> dict[str, Any]:
        """Attributes as plain Python values."""
        return {a["key"]: plain(a.get("value")) for a in self.record.get("attributes", [])}

    @property
    def raw_attrs(self) -> dict[str, Any]:
        """Attributes as OTLP/JSON ``AnyValue`` objects (to check the JSON types)."""
        return {a["key"]: a.get("value") for a in self.record.get("attributes", [])}

    @property
    def severity(self) -> tuple[int | None, str | None]:
        return self.record.get("severityNumber"), self.record.get("severityText")

    @property
    def time_ns(self) -> int | None:
        t = self.record.get("timeUnixNano")
        return None if t is None else int(t)

    @property
    def observed_ns(self) -> int | None:
        t = self.record.get("observedTimeUnixNano")
        return None if t is None else int(t)


def sink_files(path: str | Path) -> list[Path]:
    """The live file and its rotated siblings (``path.N``), oldest first."""
    p = Path(path)
    rotated = [q for q in p.parent.glob(p.name + ".*") if q.suffix[1:].isdigit()]
    files = sorted(rotated, key=lambda q: -int(q.suffix[1:]))
    if p.exists():
        files.append(p)
    return files


def iter_requests(paths: list[Path]) -> Iterator[dict[str, Any]]:
    """Every complete ``ExportLogsServiceRequest`` line in ``paths`` (a torn tail is skipped)."""
    for name in paths:
        with open(name, "rb") as f:
            for line in f:
                if line.endswith(b"\n") and line.strip():
                    yield orjson.loads(line)


def flatten(requests: Iterator[dict[str, Any]]) -> list[Exported]:
    """Flatten requests into log records with their scope's source and their resource."""
    out: list[Exported] = []
    for request in requests:
        for rl in request["resourceLogs"]:
            resource = plain({"kvlistValue": {"values": rl["resource"]["attributes"]}})
            for sl in rl["scopeLogs"]:
                scope = sl["scope"]
                scope_attrs = plain({"kvlistValue": {"values": scope.get("attributes", [])}})
                source = scope_attrs.get("gophership.source") or ""  # none on OTLP scopes
                out.extend(Exported(r, source, scope, resource) for r in sl["logRecords"])
    return out


def read_records(path: str | Path) -> list[Exported]:
    """Every record in a file sink's output (rotated files included), in file order."""
    return flatten(iter_requests(sink_files(path)))


@dataclass
class Daemon:
    """A running ``gophership run`` process and what its ready line said."""

    proc: subprocess.Popen[bytes]
    ready: dict[str, Any]
    config: dict[str, Any]
    config_path: Path
    root: Path
    stderr_path: Path
    returncode: int | None = field(default=None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def addr(self, source: str) -> tuple[str, int]:
        """The bound ``(host, port)`` of a TCP or UDP source."""
        host, port = self.ready["listeners"][source].rsplit(":", 1)
        return host.strip("[]"), int(port)

    def unix_path(self, source: str) -> str:
        """The socket path of a unix source."""
        listener: str = self.ready["listeners"][source]
        assert listener.startswith("unix:"), listener
        return listener.removeprefix("unix:")

    @property
    def metrics_url(self) -> str:
        return f"http://{self.ready['metrics']}"

    @property
    def control(self) -> str:
        return str(self.ready["control"])

    @property
    def data_dir(self) -> Path:
        return Path(self.config["data_dir"])

    @property
    def vault_dir(self) -> str:
        return str(self.config["vault"]["dir"])

    @property
    def sink_path(self) -> str:
        return str(self.config["sinks"]["archive"]["path"])

    def records(self) -> list[Exported]:
        """Every record the file sink ``archive`` wrote so far."""
        return read_records(self.sink_path)

    def http_get(self, path: str) -> tuple[int, bytes]:
        """GET ``path`` from the metrics listener: status and body (HTTP errors included)."""
        try:
            url = self.metrics_url + path  # always http://host:port from the ready line
            with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310
                return int(resp.status), bytes(resp.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def metrics_text(self) -> str:
        status, body = self.http_get("/metrics")
        assert status == 200, status
        return body.decode()

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Scrape ``/metrics``: ``(name, frozenset(labels))`` to value."""
        return parse_metrics(self.metrics_text())

    def metric(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels``; fails if it has none."""
        found = [
            v for (n, ls), v in self.metrics().items() if n == name and set(labels.items()) <= ls
        ]
        assert found, f"no sample of {name}{labels or ''} in /metrics"
        return sum(found)

    def wait_metric(self, name: str, at_least: float, timeout: float = 60, **labels: str) -> float:
        """Poll ``metric(name, **labels)`` until it reaches ``at_least``."""
        return wait_until(
            lambda: self.metric(name, **labels),
            lambda v: v >= at_least,
            timeout,
            f"{name}{labels or ''} >= {at_least}",
        )

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``gs-ctl ARGS --socket <control>``."""
        return gs_ctl(*args, "--socket", self.control, check=check)

    def status(self) -> dict[str, Any]:
        """``gs-ctl status --output json``, parsed."""
        result: dict[str, Any] = json.loads(self.ctl("status", "--output", "json").stdout)
        return result

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log(self) -> list[dict[str, Any]]:
        """The daemon's stderr, one JSON object per line (fails on a line that is not JSON)."""
        out = []
        for n, line in enumerate(self.stderr_text().splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    raise AssertionError(f"stderr line {n} is not JSON: {line!r}") from None
        return out

    @property
    def running(self) -> bool:
        return self.returncode is None and self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """Wait for the exit; check stdout had nothing after the ready line. Returns the code."""
        if self.returncode is not None:
            return self.returncode
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            self.returncode = -9
            self._close()
            raise AssertionError(
                f"the daemon did not exit within {timeout:.0f}s; killed. stderr tail:\n"
                + self.stderr_text()[-4000:]
            ) from None
        self.returncode = rc
        assert self.proc.stdout is not None
        rest = self.proc.stdout.read()
        self._close()
        assert rest == b"", f"stdout after the ready line: {rest[:500]!r}"
        return rc

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """Send ``sig`` (SIGTERM) and wait for the exit. Returns the exit code."""
        if self.returncode is None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def _close(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Prometheus text exposition to ``(name, frozenset(labels))`` → value."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(_LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def gs_ctl(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``gs-ctl`` with text output captured."""
    proc = subprocess.run(  # noqa: S603 (our own console script; args from tests)
        [GS_CTL, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"gs-ctl {' '.join(args)} exited {proc.returncode}: {proc.stderr}{proc.stdout}"
        )
    return proc


def vault_cat(vault_dir: str) -> bytes:
    """``gs-ctl vault cat --dir``: every raw byte stored, in order."""
    proc = subprocess.run(  # noqa: S603 (our own console script)
        [GS_CTL, "vault", "cat", "--dir", vault_dir], capture_output=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def _read_ready_line(proc: subprocess.Popen[bytes], stderr_path: Path) -> dict[str, Any]:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if sel.select(timeout=min(left, 0.5)):
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
    line, _, rest = buf.partition(b"\n")
    if not line:
        rc = proc.poll()
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
        raise AssertionError(
            f"no ready line within {READY_TIMEOUT_SECONDS:.0f}s (exit {rc}); stderr:\n"
            + stderr_path.read_text(errors="replace")[-4000:]
        )
    assert rest == b"", f"more than one line on stdout at start: {buf!r}"
    ready: dict[str, Any] = json.loads(line)
    return ready


@contextlib.contextmanager
def run_daemon(root: Path, check_exit: bool = True, **overrides: Any) -> Iterator[Daemon]:
    """Start the daemon on ``base_config(root)`` merged with ``overrides``; stop it at the end.

    At the end the daemon is SIGTERMed unless the test already stopped it; with
    ``check_exit`` it must exit 0 with only JSON lines on stderr. Reusing ``root`` restarts a
    daemon on the same data directory.
    """
    root.mkdir(parents=True, exist_ok=True)
    config = merge(base_config(root), overrides)
    config_path = root / "gophership.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    n = 0
    while (stderr_path := root / f"daemon-{n}.stderr").exists():
        n += 1
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
            [sys.executable, "-m", "gophership", "run", "--config", str(config_path)],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    ready = _read_ready_line(proc, stderr_path)
    daemon = Daemon(proc, ready, config, config_path, root, stderr_path)
    try:
        yield daemon
    except BaseException:
        # The test failed: stop the daemon without masking the failure; pytest shows this
        # under "Captured stderr".
        try:
            daemon.stop(timeout=30)
        except AssertionError as exc:
            sys.stderr.write(f"{exc}\n")
        else:
            sys.stderr.write(daemon.stderr_text()[-8000:])
        raise
    rc = daemon.stop()
    if check_exit:
        assert rc == 0, f"exit status {rc}; stderr tail:\n{daemon.stderr_text()[-4000:]}"
        daemon.log()  # every stderr line is JSON


# Clients ------------------------------------------------------------------------------------


def send_stream(sock: socket.socket, data: bytes, timeout: float = 60) -> None:
    """Send ``data``, half-close, and wait until the daemon closes its side (it read all)."""
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(timeout)
    rest = sock.recv(1)
    assert rest == b"", f"the daemon sent bytes back: {rest!r}"


def send_tcp(addr: tuple[str, int], data: bytes, timeout: float = 60) -> None:
    """One TCP connection: send, half-close, wait for the daemon's close."""
    with socket.create_connection(addr, timeout=timeout) as s:
        send_stream(s, data, timeout)


def send_unix(path: str, data: bytes, timeout: float = 60) -> None:
    """One unix stream connection: send, half-close, wait for the daemon's close."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        send_stream(s, data, timeout)


def send_udp(addr: tuple[str, int], datagrams: list[bytes]) -> None:
    """One datagram per item, from one socket."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, addr)


def rss_bytes(pid: int) -> int:
    """``VmRSS`` of ``pid`` from ``/proc/<pid>/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")

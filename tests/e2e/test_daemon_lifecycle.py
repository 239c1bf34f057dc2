"""Start, stop, SIGTERM under load, restarts, metrics, control socket, bad configs."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from gsdaemon import GS_CTL, body, read_records, run_daemon, send_tcp, wait_for

pytestmark = pytest.mark.e2e


def lines(n: int, start: int = 0) -> bytes:
    return b"".join(b'{"msg":"line %d"}\n' % i for i in range(start, start + n))


def vault_lines(vault: str) -> list[bytes]:
    out = subprocess.run([GS_CTL, "vault", "cat", "--dir", vault], capture_output=True, check=True)
    return out.stdout.splitlines()


def test_sigterm_under_load_keeps_every_line_in_the_sink_or_the_vault(tmp_path: Path) -> None:
    n = 1_500_000
    extra = {"pipeline": {"drain_timeout": "100ms"}}
    with run_daemon(tmp_path, extra) as gs:
        send_tcp(gs.addr("app"), lines(n))  # returns once the daemon has read everything
        assert gs.stop(signal.SIGTERM) == 0
        sunk = [body(r) for r in gs.records()]
    vaulted = [json.loads(x)["msg"] for x in vault_lines(str(tmp_path / "data" / "vault"))]
    assert vaulted, "the 100 ms drain deadline should leave work for the vault"
    assert len(sunk) + len(vaulted) == n
    assert set(sunk) | set(vaulted) == {f"line {i}" for i in range(n)}
    # a restart replays the vault into the sink: every line, once
    with run_daemon(tmp_path) as gs:
        wait_for(gs.records, lambda r: len(r) >= n, 120, f"{n} records")
    everything = [body(r) for r in read_records(str(tmp_path / "data" / "out" / "logs.jsonl"))]
    assert len(everything) == n
    assert set(everything) == {f"line {i}" for i in range(n)}


def test_sigint_and_gs_ctl_drain_also_stop_cleanly(tmp_path: Path) -> None:
    with run_daemon(tmp_path / "a") as gs:
        send_tcp(gs.addr("app"), lines(10))
        assert gs.stop(signal.SIGINT) == 0
        assert len(gs.records()) == 10
    with run_daemon(tmp_path / "b") as gs:
        send_tcp(gs.addr("app"), lines(10))
        assert "draining" in gs.ctl("drain", "--socket", gs.control).stdout
        assert gs.proc.wait(30) == 0
        gs.stopped = True
        gs.proc.stdout.close()  # type: ignore[union-attr]
        assert len(gs.records()) == 10
        assert not Path(gs.control).exists()


def test_metrics_health_and_control(tmp_path: Path) -> None:
    with run_daemon(tmp_path) as gs:
        send_tcp(gs.addr("app"), lines(100) + b"not json\n")
        wait_for(gs.records, lambda r: len(r) >= 101, 30, "101 records")
        m = gs.metrics()
        for name in (
            "gophership_ingester_zone",
            "gophership_somatic_pivots_total",
            'gophership_source_received_lines_total{source="app"}',
            'gophership_source_received_bytes_total{source="app"}',
            'gophership_source_dropped_frames_total{reason="frame_too_large",source="app"}',
            "gophership_queue_queued_bytes",
            "gophership_vault_bytes",
            "gophership_vault_segments",
            "gophership_vault_appended_lines_total",
            "gophership_vault_replayed_lines_total",
            "gophership_vault_corrupt_records_total",
            'gophership_sink_sent_records_total{sink="archive"}',
            'gophership_sink_failed_batches_total{sink="archive"}',
            "gophership_memory_budget_bytes",
            "gophership_memory_usage_bytes",
            'gophership_green_parse_errors_total{reason="invalid_json"}',
        ):
            assert name in m, name
        assert m['gophership_source_received_lines_total{source="app"}'] == 101
        assert m['gophership_sink_sent_records_total{sink="archive"}'] == 101
        assert m['gophership_green_parse_errors_total{reason="invalid_json"}'] == 1
        assert m["gophership_memory_usage_bytes"] > 1 << 20
        base = f"http://{gs.ready['metrics']}"
        for path in ("/healthz", "/readyz"):
            with urllib.request.urlopen(base + path, timeout=5) as resp:
                assert resp.status == 200
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "/nope", timeout=5)

        assert (Path(gs.control).stat().st_mode & 0o777) == 0o600
        status = gs.status()
        assert status["zone"] == "green"
        assert status["sources"]["app"]["received_frames_total"] == 101
        assert status["sinks"]["archive"]["sent_records"] == 101
        as_yaml = yaml.safe_load(gs.ctl("status", "--socket", gs.control, "-o", "yaml").stdout)
        assert as_yaml["zone"] == "green"
        table = gs.ctl("status", "--socket", gs.control).stdout
        assert "GREEN" in table
        assert "archive" in table

        gs.ctl("override", "--zone", "red", "--socket", gs.control)
        assert gs.metric("gophership_ingester_zone") == 2
        assert gs.metric("gophership_ingester_zone_forced") == 1
        assert gs.status()["forced"] == "red"
        gs.ctl("override", "--zone", "auto", "--socket", gs.control)
        assert gs.metric("gophership_ingester_zone") == 0
        assert '"Zone override."' in gs.stderr()  # audited
        paused = json.loads(gs.ctl("replay", "pause", "--socket", gs.control, "-o", "json").stdout)
        assert paused["paused"] is True
        bad = gs.ctl("override", "--zone", "purple", "--socket", gs.control, check=False)
        assert bad.returncode != 0


def test_gs_ctl_without_a_daemon_fails_clearly(tmp_path: Path) -> None:
    out = subprocess.run(
        [GS_CTL, "status", "--socket", str(tmp_path / "none.sock")], capture_output=True, text=True
    )
    assert out.returncode == 1
    assert "cannot reach the daemon" in out.stderr


def test_bad_config_fails_at_start_naming_file_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(
        "sources:\n  app: {type: ndjson_tcp, addres: '127.0.0.1:0'}\n"
        "sinks:\n  out: {type: blackhole}\nvault: {max_bytes: 10 gigs}\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "gophership", "run", "--config", str(cfg)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert run.returncode != 0
    assert str(cfg) in run.stderr
    assert "sources.app.addres" in run.stderr
    assert "vault.max_bytes" in run.stderr
    validate = subprocess.run(
        [sys.executable, "-m", "gophership", "validate", str(cfg)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert validate.returncode != 0
    assert "sources.app.addres" in validate.stderr
    good = tmp_path / "good.yaml"
    good.write_text("sinks:\n  out: {type: blackhole}\n")
    ok = subprocess.run(
        [sys.executable, "-m", "gophership", "validate", str(good)], capture_output=True, text=True
    )
    assert ok.returncode == 0


def test_oversized_frames_are_dropped_counted_and_the_connection_survives(tmp_path: Path) -> None:
    extra = {"sources": {"app": {"max_frame_bytes": "1KiB"}, "syslog": {"max_frame_bytes": "1KiB"}}}
    with run_daemon(tmp_path, extra) as gs:
        big = b'{"msg":"' + b"x" * 5000 + b'"}\n'
        send_tcp(gs.addr("app"), b'{"msg":"before"}\n' + big + b'{"msg":"after"}\n')

        def frame(msg: bytes) -> bytes:
            return b"%d %s" % (len(msg), msg)

        stream = frame(b"<13>1 - - - - - - first") + b"3000 " + b"y" * 3000
        send_tcp(gs.addr("syslog"), stream + frame(b"<13>1 - - - - - - after"))
        recs = wait_for(gs.records, lambda r: len(r) >= 4, 30, "records around the big frames")
        assert (
            gs.metric(
                'gophership_source_dropped_frames_total{reason="frame_too_large",source="app"}'
            )
            == 1
        )
        assert (
            gs.metric(
                'gophership_source_dropped_frames_total{reason="frame_too_large",source="syslog"}'
            )
            == 1
        )
    assert [body(r) for r in recs if r["_source"] == "app"] == ["before", "after"]
    assert [body(r) for r in recs if r["_source"] == "syslog"] == ["first", "after"]


def test_hundreds_of_connections_and_slow_clients_do_not_block_others(tmp_path: Path) -> None:
    with run_daemon(tmp_path) as gs:
        addr = gs.addr("app")
        slow = socket.create_connection(addr)
        silent = socket.create_connection(addr)
        silent.sendall(b'{"msg":"never ends')  # no newline, ever
        stop = threading.Event()

        def dribble() -> None:
            for ch in b'{"msg":"slow"}':
                if stop.wait(0.05):
                    return
                slow.sendall(bytes([ch]))

        t = threading.Thread(target=dribble)
        t.start()
        conns = [socket.create_connection(addr) for _ in range(300)]
        for i, c in enumerate(conns):
            c.sendall(b"".join(b'{"msg":"c%d-%d"}\n' % (i, k) for k in range(10)))
        for c in conns:
            c.close()
        recs = wait_for(gs.records, lambda r: len(r) >= 3000, 60, "3000 records")
        assert slow.fileno() != -1  # still connected while the others went through
        t.join()
        slow.sendall(b"\n")
        slow.close()
        silent.close()
        recs = wait_for(gs.records, lambda r: len(r) >= 3002, 30, "the slow ones too")
        stop.set()
    got = {body(r) for r in recs}
    assert {f"c{i}-{k}" for i in range(300) for k in range(10)} <= got
    assert "slow" in got
    assert '{"msg":"never ends' in got  # the partial last frame is kept at close, raw

"""The control API end to end: peer check, audit log, override, status, drain, replay, TCP mTLS."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from gophership.testing.daemon import GS_CTL, gs_ctl, run_daemon, send_tcp, wait_until
from gophership.testing.pki import make_pki

if TYPE_CHECKING:
    from collections.abc import Iterator

    from gophership.testing.daemon import Daemon
    from gophership.testing.pki import Pki

pytestmark = pytest.mark.e2e

NOBODY = 65534


def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``gs-ctl ARGS`` as uid/gid 65534 with no supplementary groups."""
    return subprocess.run(
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            GS_CTL,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HOME": "/"},
    )


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    """A short private directory for the control socket (the test opens it up on purpose)."""
    path = Path(tempfile.mkdtemp(prefix="gs-ctl-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def audit(gs: Daemon) -> list[dict[str, Any]]:
    path = gs.data_dir / "audit.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def lines(n: int, tag: str) -> bytes:
    return b"".join(b'{"msg":"%s%d"}\n' % (tag.encode(), i) for i in range(n))


def test_socket_is_0600_and_other_uids_are_refused_by_the_peer_check(
    tmp_path: Path, sock_dir: Path
) -> None:
    with run_daemon(tmp_path, control={"socket": str(sock_dir / "control.sock")}) as gs:
        sock = Path(gs.control)
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        assert gs.status()["pid"] == gs.pid  # root (the owner here) gets answers
        # nobody can't even open the 0600 socket: the error names the socket and the cause
        denied = as_nobody("status", "--socket", str(sock))
        assert denied.returncode == 1
        assert str(sock) in denied.stderr
        assert "permission denied" in denied.stderr
        # open the file up, so only SO_PEERCRED stands between nobody and the daemon
        sock_dir.chmod(0o711)
        sock.chmod(0o666)
        refused = as_nobody("status", "--socket", str(sock))
        assert refused.returncode == 1
        assert "refused by the daemon's peer check" in refused.stderr
        assert f"uid {NOBODY}" in refused.stderr
        assert str(sock) in refused.stderr
        override = as_nobody("override", "--zone", "red", "--socket", str(sock))
        assert override.returncode == 1
        assert gs.status()["zone"] == "green"  # the refused override did nothing
        logged = wait_until(
            lambda: [e for e in gs.log() if e.get("msg") == "Control request refused."],
            bool,
            30,
            "the refusal in the daemon's log",
        )
        assert logged[0]["peer_uid"] == NOBODY
        assert audit(gs) == []  # nothing changed, nothing audited


def test_allowed_uids_admits_another_uid(tmp_path: Path, sock_dir: Path) -> None:
    control = {"socket": str(sock_dir / "control.sock"), "allowed_uids": [NOBODY]}
    with run_daemon(tmp_path, control=control) as gs:
        sock_dir.chmod(0o711)
        Path(gs.control).chmod(0o666)
        ok = as_nobody("status", "--output", "json", "--socket", gs.control)
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["pid"] == gs.pid
        as_nobody("override", "--zone", "yellow", "--socket", gs.control)
        entries = audit(gs)
        assert [(e["command"], e["who"]["uid"], e["via"]) for e in entries] == [
            ("override", NOBODY, "unix")
        ]


def test_override_red_sends_new_data_to_the_vault_and_auto_returns(gs: Daemon) -> None:
    send_tcp(gs.addr("app"), lines(20, "g"))
    gs.wait_metric("gophership_sink_sent_records_total", 20, sink="archive")
    gs.ctl("replay", "pause")  # keep what goes to the vault there while we look
    out = yaml.safe_load(gs.ctl("override", "--zone", "red").stdout)
    assert out == {"zone": "red", "forced": "red"}
    assert gs.metric("gophership_ingester_zone") == 2
    assert gs.metric("gophership_ingester_zone_forced") == 1
    send_tcp(gs.addr("app"), lines(30, "r"))
    gs.wait_metric("gophership_vault_appended_lines_total", 30)
    status = gs.status()
    assert (status["zone"], status["forced"]) == ("red", "red")
    assert status["why"]["reason"].startswith("forced red")
    assert status["vault"]["lines"] == 30
    assert gs.metric("gophership_sink_sent_records_total", sink="archive") == 20
    gs.ctl("override", "--zone", "auto")
    wait_until(lambda: gs.metric("gophership_ingester_zone"), lambda z: z == 0, 30, "GREEN")
    gs.ctl("replay", "resume")
    gs.wait_metric("gophership_sink_sent_records_total", 50, sink="archive")
    entries = [e for e in audit(gs) if e["command"] == "override"]
    assert [e["args"] for e in entries] == [{"zone": "red"}, {"zone": "auto"}]
    for e in entries:
        assert e["who"] == {"uid": 0, "pid": e["who"]["pid"]}
        assert e["via"] == "unix"
        assert e["result"] == "ok"
        assert e["time"].endswith("Z")
    replay = [e for e in audit(gs) if e["command"] == "replay"]
    assert [e["args"]["action"] for e in replay] == ["pause", "resume"]
    requests = [e for e in gs.log() if e.get("msg") == "Control request."]
    assert {e["command"] for e in requests} >= {"override", "replay", "status"}


def test_status_json_and_yaml_carry_every_field(gs: Daemon) -> None:
    send_tcp(gs.addr("app"), lines(10, "s"))
    gs.wait_metric("gophership_sink_sent_records_total", 10, sink="archive")
    for output in ("json", "yaml"):
        text = gs.ctl("status", "--output", output).stdout
        s = json.loads(text) if output == "json" else yaml.safe_load(text)
        assert s["zone"] == "green"
        assert s["why"]["signal"] in ("none", "queue", "memory", "cgroup", "sinks")
        assert isinstance(s["why"]["reason"], str)
        assert s["queue"]["max_bytes"] == 64 << 20
        assert s["ingester"]["memory_budget_bytes"] == 256 << 20
        assert s["ingester"]["memory_bytes"] > 0
        assert {"segments", "bytes", "oldest_age_seconds", "lines"} <= set(s["vault"])
        assert {"remaining_bytes", "rate_bytes_per_second", "paused"} <= set(s["replay"])
        assert s["sinks"]["archive"]["healthy"] is True
        assert "received_lines_per_second" in s["rates"]
        assert s["sources"]["app"]["received_frames_total"] == 10


def test_status_table_fits_80_columns(gs: Daemon) -> None:
    proc = subprocess.run(
        [GS_CTL, "status", "--socket", gs.control],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    rows = proc.stdout.splitlines()
    assert any("zone" in r for r in rows)
    assert any("archive" in r for r in rows)
    assert max(len(r) for r in rows) <= 80, proc.stdout


def test_socket_from_the_environment_and_errors_name_the_socket(gs: Daemon, tmp_path: Path) -> None:
    env = {**os.environ, "GOPHERSHIP_SOCKET": gs.control}
    proc = subprocess.run(
        [GS_CTL, "status", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["pid"] == gs.pid
    missing = tmp_path / "gone.sock"
    proc = gs_ctl("status", "--socket", str(missing), check=False)
    assert proc.returncode == 1
    assert str(missing) in proc.stderr
    assert "not running" in proc.stderr


def test_drain_waits_and_reports_sinks_and_vault(tmp_path: Path) -> None:
    with run_daemon(tmp_path, vault={"replay": {"enabled": False}}) as gs:
        send_tcp(gs.addr("app"), lines(15, "g"))
        gs.wait_metric("gophership_sink_sent_records_total", 15, sink="archive")
        gs.ctl("override", "--zone", "red")
        send_tcp(gs.addr("app"), lines(25, "r"))
        gs.wait_metric("gophership_vault_appended_lines_total", 25)
        report = json.loads(gs.ctl("drain", "--output", "json").stdout)
        assert report["drained"] is True
        assert report["sinks"]["archive"]["sent_records"] == 15
        assert report["vault"]["lines"] == 25
        assert report["lost_frames"] == 0
        assert gs.wait() == 0
        commands = [e["command"] for e in audit(gs)]
        assert commands == ["override", "drain"]


def test_replay_starts_now_with_a_rate_and_follows_progress(tmp_path: Path) -> None:
    with run_daemon(tmp_path, vault={"replay": {"enabled": False}}) as gs:
        gs.ctl("override", "--zone", "red")
        send_tcp(gs.addr("app"), lines(40, "v"))
        gs.wait_metric("gophership_vault_appended_lines_total", 40)
        gs.ctl("override", "--zone", "auto")
        wait_until(lambda: gs.metric("gophership_ingester_zone"), lambda z: z == 0, 30, "GREEN")
        assert gs.status()["replay"]["remaining_lines"] == 40  # disabled: nothing replays
        done = json.loads(gs.ctl("replay", "--rate", "1MiB", "--output", "json").stdout)
        assert done["remaining_bytes"] == 0
        assert done["rate_bytes_per_second"] == 1 << 20
        gs.wait_metric("gophership_sink_sent_records_total", 40, sink="archive")
        entry = [e for e in audit(gs) if e["command"] == "replay"][-1]
        assert entry["args"] == {"action": "start", "rate": 1 << 20}


def test_offline_replay_of_a_vault_directory(tmp_path: Path) -> None:
    dead = tmp_path / "dead-node-vault"
    data = tmp_path / "lines.ndjson"
    data.write_bytes(lines(25, "dead"))
    gs_ctl("vault", "import", "--dir", str(dead), str(data))
    out = tmp_path / "out" / "replayed.jsonl"
    config = tmp_path / "replay.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "unused"),
                "sinks": {"archive": {"type": "file", "path": str(out)}},
                "pipeline": {"batch_timeout": "50ms"},
            }
        )
    )
    proc = gs_ctl("replay", "--vault", str(dead), "--config", str(config), "--output", "json")
    summary = json.loads(proc.stdout)
    assert summary["complete"] is True
    assert summary["replayed_lines"] == 25
    assert summary["sinks"]["archive"]["sent_records"] == 25
    written = out.read_text()
    assert all(f"dead{i}" in written for i in range(25))
    again = json.loads(
        gs_ctl("replay", "--vault", str(dead), "--config", str(config), "--output", "json").stdout
    )
    assert again["replayed_lines"] == 0  # the cursor moved: nothing is sent twice


def control_tcp(pki: Pki) -> dict[str, Any]:
    return {"tcp": {"address": "127.0.0.1:0", "tls": pki.server_tls(mutual=True)}}


def tls_args(gs: Daemon, pki: Pki) -> list[str]:
    return [
        "--addr",
        gs.ready["control_tcp"],
        "--cert",
        str(pki.client_cert_file),
        "--key",
        str(pki.client_key_file),
        "--ca",
        str(pki.ca_file),
    ]


def test_control_over_tcp_with_mutual_tls(tmp_path: Path, pki: Pki) -> None:
    with run_daemon(tmp_path, control=control_tcp(pki)) as gs:
        assert gs.ready["control_tcp"].startswith("127.0.0.1:")
        status = json.loads(gs_ctl("status", "--output", "json", *tls_args(gs, pki)).stdout)
        assert status["pid"] == gs.pid
        gs_ctl("override", "--zone", "red", *tls_args(gs, pki))
        assert gs.metric("gophership_ingester_zone") == 2
        (entry,) = audit(gs)
        assert entry["who"]["subject"].startswith("CN=operator,")
        assert entry["via"] == "tcp"
        # a certificate from another CA is refused at the handshake
        stranger = make_pki(tmp_path / "stranger")
        args = tls_args(gs, pki)
        args[args.index("--cert") + 1] = str(stranger.client_cert_file)
        args[args.index("--key") + 1] = str(stranger.client_key_file)
        refused = gs_ctl("status", *args, check=False)
        assert refused.returncode == 1
        assert gs.ready["control_tcp"] in refused.stderr
        # gs-ctl will not try without a certificate
        usage = gs_ctl("status", "--addr", gs.ready["control_tcp"], check=False)
        assert usage.returncode == 2
        old = subprocess.run(
            ["openssl", "s_client", "-connect", gs.ready["control_tcp"], "-tls1_2"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
        assert old.returncode != 0

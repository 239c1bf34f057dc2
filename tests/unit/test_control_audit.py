from __future__ import annotations

import json
import stat
from typing import TYPE_CHECKING

import pytest

from gophership.control.audit import AuditLog, Peer, audit_entry, is_state_changing, subject_of
from gophership.control.rates import RateMeter

if TYPE_CHECKING:
    from pathlib import Path


def test_state_changing_requests() -> None:
    assert is_state_changing({"command": "override", "zone": "red"})
    assert is_state_changing({"command": "drain"})
    assert is_state_changing({"command": "replay", "action": "pause"})
    assert not is_state_changing({"command": "replay"})
    assert not is_state_changing({"command": "replay", "action": "status"})
    assert not is_state_changing({"command": "status"})
    assert not is_state_changing({})


def test_audit_entry_format() -> None:
    unix = audit_entry(Peer("unix", uid=0, pid=7), {"command": "override", "zone": "red"}, "ok", 0)
    assert json.loads(unix) == {
        "time": "1970-01-01T00:00:00.000Z",
        "who": {"uid": 0, "pid": 7},
        "via": "unix",
        "command": "override",
        "args": {"zone": "red"},
        "result": "ok",
    }
    assert unix.endswith(b"\n")
    tcp = json.loads(audit_entry(Peer("tcp", subject="CN=a"), {"command": "drain"}, "ok", 1.5))
    assert (tcp["who"], tcp["via"], tcp["time"]) == (
        {"subject": "CN=a"},
        "tcp",
        "1970-01-01T00:00:01.500Z",
    )


def test_subject_of_a_peer_certificate() -> None:
    cert = {"subject": ((("organizationName", "Example"),), (("commonName", "op"),))}
    assert subject_of(cert) == "CN=op,O=Example"
    assert subject_of(None) == "unknown"
    assert subject_of({"subject": ()}) == "unknown"


def test_audit_log_appends_0600(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "sub" / "audit.log")
    log.write(b"a\n")
    log.write(b"b\n")
    assert log.path.read_bytes() == b"a\nb\n"
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_rates_over_the_last_window() -> None:
    meter = RateMeter(min_window_seconds=1.0)
    assert meter.rates() == {}
    meter.observe(0.0, {"x": 0})
    assert meter.rates() == {}
    meter.observe(0.5, {"x": 50})
    assert meter.rates() == {"x": 100.0}  # not a second yet: since the first sample
    meter.observe(2.0, {"x": 250})
    assert meter.rates() == {"x": pytest.approx(200 / 1.5)}  # since the newest >= 1 s old
    meter.observe(3.0, {"x": 0})  # a total that went backwards reads as 0
    assert meter.rates() == {"x": 0.0}

"""The operator's surfaces: /metrics, /healthz, /readyz and gs-ctl over the control socket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from gophership.testing.daemon import (
    gs_ctl,
    parse_metrics,
    run_daemon,
    send_tcp,
    send_udp,
    send_unix,
    wait_until,
)

if TYPE_CHECKING:
    from gophership.testing.daemon import Daemon

pytestmark = pytest.mark.e2e

SOURCES = ("app", "app_unix", "syslog", "syslog_udp")
PARSE_ERROR_REASONS = (
    "invalid_json",
    "not_an_object",
    "missing_pri",
    "invalid_pri",
    "invalid_header",
    "invalid_timestamp",
    "invalid_structured_data",
)
# (name, label sets that must each have a sample) from the public contract
CONTRACT: list[tuple[str, list[dict[str, str]]]] = [
    ("gophership_ingester_zone", [{}]),
    ("gophership_somatic_pivots_total", [{}]),
    ("gophership_source_received_lines_total", [{"source": s} for s in SOURCES]),
    ("gophership_source_received_bytes_total", [{"source": s} for s in SOURCES]),
    (
        "gophership_source_dropped_frames_total",
        [{"source": s, "reason": r} for s in SOURCES for r in ("frame_too_large", "framing_error")],
    ),
    ("gophership_queue_queued_bytes", [{}]),
    ("gophership_vault_bytes", [{}]),
    ("gophership_vault_segments", [{}]),
    ("gophership_vault_appended_lines_total", [{}]),
    ("gophership_vault_replayed_lines_total", [{}]),
    ("gophership_vault_corrupt_records_total", [{}]),
    ("gophership_sink_sent_records_total", [{"sink": "archive"}]),
    ("gophership_sink_failed_batches_total", [{"sink": "archive"}]),
    ("gophership_memory_budget_bytes", [{}]),
    ("gophership_memory_usage_bytes", [{}]),
    ("gophership_green_parse_errors_total", [{"reason": r} for r in PARSE_ERROR_REASONS]),
]


def missing_samples(gs: Daemon) -> list[str]:
    samples = gs.metrics()
    missing = []
    for name, label_sets in CONTRACT:
        for labels in label_sets:
            want = frozenset(labels.items())
            if (name, want) not in samples:
                missing.append(name + json.dumps(labels, sort_keys=True))
    return missing


def test_every_contract_metric_has_a_sample_from_the_start(gs: Daemon) -> None:
    # A fresh daemon: closed label sets are created at start (STYLE §8.6, docs/METRICS.md),
    # so dashboards and alerts see 0, not "no data".
    assert missing_samples(gs) == []
    assert gs.metric("gophership_memory_budget_bytes") == 256 << 20
    assert gs.metric("gophership_memory_usage_bytes") > 1 << 20
    assert gs.metric("gophership_ingester_zone") == 0


def test_health_endpoints(gs: Daemon) -> None:
    assert gs.http_get("/healthz")[0] == 200
    assert gs.http_get("/readyz")[0] == 200
    assert gs.http_get("/no-such-page")[0] == 404
    status, body = gs.http_get("/metrics")
    assert status == 200
    assert parse_metrics(body.decode())  # parses as Prometheus text


def test_status_reflects_the_traffic_sent(gs: Daemon) -> None:
    app = b"".join(b'{"msg":"m%d"}\n' % i for i in range(100)) + b"not json\n"
    send_tcp(gs.addr("app"), app)
    send_unix(gs.unix_path("app_unix"), b'{"msg":"u1"}\n{"msg":"u2"}\n')
    send_udp(gs.addr("syslog_udp"), [b"<13>1 - h a - - - d%d" % i for i in range(3)])
    total = 101 + 2 + 3
    gs.wait_metric("gophership_sink_sent_records_total", total, sink="archive")
    # every part of the pipeline counted the same traffic
    m = gs.metric
    assert m("gophership_source_received_lines_total", source="app") == 101
    assert m("gophership_source_received_bytes_total", source="app") == len(app)
    assert m("gophership_source_received_lines_total", source="app_unix") == 2
    assert m("gophership_source_received_lines_total", source="syslog_udp") == 3
    assert m("gophership_source_received_lines_total", source="syslog") == 0
    assert m("gophership_sink_sent_records_total", sink="archive") == total
    assert m("gophership_sink_failed_batches_total", sink="archive") == 0
    assert m("gophership_green_parse_errors_total", reason="invalid_json") == 1
    assert m("gophership_vault_appended_lines_total") == 0

    status = gs.status()
    assert status["zone"] == "green"
    assert status["forced"] is None
    assert status["pid"] == gs.pid
    assert status["sources"]["app"]["received_frames_total"] == 101
    assert status["sources"]["app"]["received_bytes_total"] == len(app)
    assert status["sources"]["app"]["dropped_frames_total"] == 0
    assert status["sources"]["app"]["connections"] == 0
    assert status["sources"]["app_unix"]["received_frames_total"] == 2
    assert status["sources"]["syslog_udp"]["received_frames_total"] == 3
    assert status["sinks"]["archive"]["sent_records"] == total
    assert status["sinks"]["archive"]["healthy"] is True
    assert status["queue"]["queued_bytes"] == 0
    assert status["vault"]["segments"] == 0
    assert status["vault"]["appended_lines_total"] == 0

    as_yaml = yaml.safe_load(gs.ctl("status", "--output", "yaml").stdout)
    assert as_yaml["zone"] == "green"
    assert as_yaml["sources"]["app"]["received_frames_total"] == 101
    assert as_yaml["sinks"]["archive"]["sent_records"] == total
    table = gs.ctl("status").stdout  # the default output, for people
    for name in (*SOURCES, "archive"):
        assert name in table


def test_override_changes_the_zone_and_auto_returns_it(gs: Daemon) -> None:
    assert gs.metric("gophership_ingester_zone") == 0
    gs.ctl("override", "--zone", "red")
    assert gs.metric("gophership_ingester_zone") == 2
    status = gs.status()
    assert (status["zone"], status["forced"]) == ("red", "red")
    gs.ctl("override", "--zone", "yellow")
    assert gs.metric("gophership_ingester_zone") == 1
    gs.ctl("override", "--zone", "auto")
    wait_until(lambda: gs.metric("gophership_ingester_zone"), lambda z: z == 0, 10, "GREEN")
    status = gs.status()
    assert (status["zone"], status["forced"]) == ("green", None)
    bad = gs.ctl("override", "--zone", "purple", check=False)
    assert bad.returncode == 2  # usage error
    assert gs.metric("gophership_ingester_zone") == 0


def test_every_override_is_audited_in_the_log(gs: Daemon) -> None:
    for zone in ("red", "yellow", "auto"):
        gs.ctl("override", "--zone", zone)
    audit = [e for e in gs.log() if e.get("msg") == "Zone override."]
    assert [str(e.get("zone")).lower() for e in audit] == ["red", "yellow", "auto"], audit
    for e in audit:  # who did it (SO_PEERCRED)
        assert "uid=" in str(e.get("by")), e


def test_replay_pause_resume_status(gs: Daemon) -> None:
    out = json.loads(gs.ctl("replay", "pause", "--output", "json").stdout)
    assert out["paused"] is True
    out = json.loads(gs.ctl("replay", "status", "--output", "json").stdout)
    assert out["paused"] is True
    out = json.loads(gs.ctl("replay", "resume", "--output", "json").stdout)
    assert out["paused"] is False


def test_gs_ctl_drain_stops_the_daemon_with_exit_0(tmp_path: Path) -> None:
    with run_daemon(tmp_path) as gs:
        send_tcp(gs.addr("app"), b"".join(b'{"msg":"d%d"}\n' % i for i in range(50)))
        gs.ctl("drain")
        assert gs.wait() == 0
        assert sorted(str(r.body) for r in gs.records()) == sorted(f"d{i}" for i in range(50))
        assert not Path(gs.control).exists()  # the socket file is removed on exit


def test_gs_ctl_without_a_daemon_exits_1(tmp_path: Path) -> None:
    proc = gs_ctl("status", "--socket", str(tmp_path / "none.sock"), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip()

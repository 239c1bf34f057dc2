"""RED: every byte goes to the vault untouched; back to GREEN, it replays through the sink once."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gophership.testing.daemon import (
    gs_ctl,
    run_daemon,
    send_tcp,
    send_udp,
    vault_cat,
    wait_until,
)

if TYPE_CHECKING:
    from gophership.testing.daemon import Daemon, Exported

pytestmark = pytest.mark.e2e

N = 20_000


def ndjson(n: int, start: int = 0) -> bytes:
    return b"".join(
        b'{"msg":"id %d","id":%d,"level":"info"}\n' % (i, i) for i in range(start, start + n)
    )


def assert_each_id_once(records: list[Exported], n: int) -> None:
    counts = Counter(r.attrs["id"] for r in records)
    dupes = {k: v for k, v in counts.items() if v > 1}
    assert not dupes, f"{len(dupes)} ids exported more than once, e.g. {list(dupes.items())[:5]}"
    assert set(counts) == set(range(n)), f"missing ids: {sorted(set(range(n)) - set(counts))[:10]}"


def sink_is_empty(gs: Daemon) -> bool:
    return not Path(gs.sink_path).exists() or Path(gs.sink_path).stat().st_size == 0


def test_override_red_vaults_exact_bytes_then_auto_replays_each_line_once(gs: Daemon) -> None:
    gs.ctl("override", "--zone", "red")
    assert gs.metric("gophership_ingester_zone") == 2
    data = ndjson(N)
    t_send = time.time_ns()
    send_tcp(gs.addr("app"), data)
    gs.wait_metric("gophership_vault_appended_lines_total", N)
    t_vaulted = time.time_ns()
    assert gs.metric("gophership_vault_appended_lines_total") == N
    assert gs.metric("gophership_somatic_pivots_total") >= 1
    assert gs.metric("gophership_sink_sent_records_total", sink="archive") == 0
    assert sink_is_empty(gs)
    assert vault_cat(gs.vault_dir) == data  # bit-identical, while the daemon runs
    status = gs.status()
    assert status["zone"] == "red"
    assert status["vault"]["lines"] == N

    gs.ctl("override", "--zone", "auto")
    gs.wait_metric("gophership_vault_replayed_lines_total", N, timeout=60)
    gs.wait_metric("gophership_sink_sent_records_total", N, timeout=60, sink="archive")
    assert gs.metric("gophership_ingester_zone") == 0
    records = gs.records()
    assert len(records) == N
    assert_each_id_once(records, N)
    for r in records:  # replayed records keep the time they were received, not replayed
        assert r.observed_ns is not None
        assert t_send <= r.observed_ns <= t_vaulted
        assert r.source == "app"
        assert r.body == f"id {r.attrs['id']}"
        assert r.severity == (9, "info")
    assert gs.metric("gophership_vault_replayed_lines_total") == N
    # delete_replayed: the vault empties once everything is delivered
    wait_until(lambda: gs.status()["vault"]["lines"], lambda v: v == 0, 30, "an empty vault")


def test_config_forced_red_keeps_the_vault_across_a_stop_and_replays_after_restart(
    tmp_path: Path,
) -> None:
    data = ndjson(N)
    with run_daemon(tmp_path, somatic={"zone": "red"}) as gs:
        assert gs.metric("gophership_ingester_zone") == 2
        assert gs.status()["forced"] == "red"
        send_tcp(gs.addr("app"), data)
        gs.wait_metric("gophership_vault_appended_lines_total", N)
        assert vault_cat(gs.vault_dir) == data
        vault = gs.vault_dir
        sink = gs.sink_path
    # stopped: the sealed vault still gives back exactly the bytes, and verifies
    assert vault_cat(vault) == data
    gs_ctl("vault", "verify", "--dir", vault)
    segments = json.loads(gs_ctl("vault", "ls", "--dir", vault, "--output", "json").stdout)
    assert sum(s["lines"] for s in segments) == N
    assert sum(s["raw_bytes"] for s in segments) == len(data)
    assert not Path(sink).exists() or Path(sink).stat().st_size == 0
    with run_daemon(tmp_path, somatic={"zone": "auto"}) as gs:
        gs.wait_metric("gophership_sink_sent_records_total", N, timeout=60, sink="archive")
        gs.wait_metric("gophership_vault_replayed_lines_total", N)
        records = gs.records()
    assert len(records) == N
    assert_each_id_once(records, N)


def test_red_keeps_syslog_framing_bytes_and_replays_with_the_right_source(gs: Daemon) -> None:
    gs.ctl("override", "--zone", "red")

    def octet(msg: bytes) -> bytes:
        return b"%d %s" % (len(msg), msg)

    tcp_msgs = [
        b"<165>1 2003-10-11T22:14:15.003Z host app 1 ID%d - tcp %d" % (i, i) for i in range(50)
    ]
    tcp_bytes = b"".join(octet(m) for m in tcp_msgs)
    send_tcp(gs.addr("syslog"), tcp_bytes)
    gs.wait_metric("gophership_vault_appended_lines_total", 50)
    udp_msgs = [b"<13>1 - host udpapp - - - udp %d" % i for i in range(30)]
    send_udp(gs.addr("syslog_udp"), udp_msgs)
    gs.wait_metric("gophership_vault_appended_lines_total", 80)
    lf_bytes = b"".join(b"<14>Oct 11 22:14:15 host lfapp: lf %d\n" % i for i in range(20))
    send_tcp(gs.addr("syslog"), lf_bytes)
    gs.wait_metric("gophership_vault_appended_lines_total", 100)
    # octet-counted TCP keeps its LEN SP prefixes; UDP is stored octet-counted; LF as sent
    assert vault_cat(gs.vault_dir) == tcp_bytes + b"".join(octet(m) for m in udp_msgs) + lf_bytes
    assert sink_is_empty(gs)

    gs.ctl("override", "--zone", "auto")
    gs.wait_metric("gophership_sink_sent_records_total", 100, sink="archive")
    records = gs.records()
    assert len(records) == 100
    by_body = {r.body: r for r in records}
    assert len(by_body) == 100
    for i in range(50):
        r = by_body[f"tcp {i}"]
        assert r.source == "syslog"
        assert r.attrs["msg_id"] == f"ID{i}"
        assert r.attrs["facility"] == 20
        assert r.severity == (10, "notice")
        assert r.time_ns == 1065910455003000000
    for i in range(30):
        r = by_body[f"udp {i}"]
        assert r.source == "syslog_udp"
        assert r.attrs["appname"] == "udpapp"
    for i in range(20):
        r = by_body[f"lf {i}"]
        assert r.source == "syslog"
        assert r.attrs["appname"] == "lfapp"
        assert "gophership.parse_error" not in r.attrs

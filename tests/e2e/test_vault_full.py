"""At the vault's byte cap, TCP senders are pushed back (never dropped, never disconnected).

docs/CONFIG.md vault.max_bytes: at the cap, sources that can be pushed back stop being read;
nothing is dropped silently. Once replay frees space, reading resumes and every line arrives.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from gophership.testing.daemon import run_daemon, send_stream, send_tcp, wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from gophership.testing.daemon import Daemon

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

N = 500_000  # ~15 MB of NDJSON against a 1 MiB vault (stored uncompressed)
VAULT = {"max_bytes": "1MiB", "segment_bytes": "64KiB", "compression": "none"}
# the vault writer's backlog may hold half the queue budget before sources are paused
SOMATIC = {"queue_budget": "1MiB"}


def test_a_full_vault_pushes_tcp_back_and_delivers_everything_after(tmp_path: Path) -> None:
    with run_daemon(tmp_path, vault=VAULT, somatic=SOMATIC) as gs:
        check_pushback(gs)


def check_pushback(gs: Daemon) -> None:
    gs.ctl("override", "--zone", "red")
    data = b"".join(b'{"msg":"id %d","id":%d}\n' % (i, i) for i in range(N))
    errors: list[BaseException] = []
    sock = socket.create_connection(gs.addr("app"), timeout=120)

    def send() -> None:
        try:
            send_stream(sock, data, timeout=120)
        except BaseException as exc:  # noqa: BLE001 (checked by the test)
            errors.append(exc)
        finally:
            sock.close()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    gs.wait_metric("gophership_vault_full", 1, timeout=60)
    appended = gs.metric("gophership_vault_appended_lines_total")
    assert appended < N
    assert gs.metric("gophership_vault_bytes") <= 1 << 20
    last = [-1.0]

    def reading_stopped() -> bool:  # two scrapes, one poll interval apart, agree
        now = gs.metric("gophership_source_received_bytes_total", source="app")
        same, last[0] = now == last[0], now
        return same

    wait_until(reading_stopped, bool, 30, "reading to pause")
    received = gs.metric("gophership_source_received_bytes_total", source="app")
    assert received < len(data)
    assert sender.is_alive()  # blocked by TCP backpressure, not cut off
    assert not errors
    status = gs.status()
    assert status["sources"]["app"]["connections"] == 1

    gs.ctl("override", "--zone", "auto")  # replay frees space, reading resumes
    sender.join(120)
    assert not sender.is_alive()
    assert not errors, errors
    gs.wait_metric("gophership_sink_sent_records_total", N, timeout=120, sink="archive")
    records = gs.records()
    counts = Counter(r.attrs["id"] for r in records)
    assert set(counts) == set(range(N))
    assert max(counts.values()) == 1
    assert len(records) == N
    assert gs.metric("gophership_vault_full") == 0
    assert gs.metric("gophership_source_received_bytes_total", source="app") == len(data)


def test_sigterm_with_a_full_vault_exits_0_counting_what_it_could_not_store(
    tmp_path: Path,
) -> None:
    # docs/GUARANTEES.md: a graceful stop ends in exit 0; what the vault could not take at
    # the stop is counted (gophership_vault_lost_lines_total), never waited for forever.
    n = 150_000  # 4.5 MB: read whole into the writer backlog, 1 MiB of it fits the vault
    with run_daemon(tmp_path, vault=VAULT, somatic={"zone": "red"}) as gs:
        send_tcp(gs.addr("app"), b"".join(b'{"msg":"id %d"}\n' % i for i in range(n)))
        gs.wait_metric("gophership_vault_full", 1)
        assert gs.metric("gophership_vault_pending_bytes") > 0
        assert gs.stop(timeout=30) == 0
    stopped = [e for e in gs.log() if e.get("msg") == "Stopped."]
    assert stopped, "no Stopped. line"

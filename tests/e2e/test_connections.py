"""Many concurrent connections, and slow or silent clients that must not hold up the others."""

from __future__ import annotations

import random
import socket
import threading
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from gophership.testing.daemon import send_stream, wait_until

if TYPE_CHECKING:
    from gophership.testing.daemon import Daemon

pytestmark = pytest.mark.e2e

CONNECTIONS = 300
LINES = 10


def test_300_concurrent_connections_each_sending_10_lines_all_arrive(gs: Daemon) -> None:
    addr = gs.addr("app")
    conns = [socket.create_connection(addr, timeout=30) for _ in range(CONNECTIONS)]
    try:
        gs.wait_metric("gophership_source_connections", CONNECTIONS, source="app")
        # Interleave: every connection gets each line in two pieces cut at a random byte,
        # so 300 framers hold a partial line at the same time.
        rng = random.Random(7)
        for k in range(LINES):
            cuts = []
            for i, c in enumerate(conns):
                line = b'{"msg":"c%d-%d","conn":%d}\n' % (i, k, i)
                cut = rng.randrange(1, len(line))
                c.sendall(line[:cut])
                cuts.append(line[cut:])
            for c, rest in zip(conns, cuts, strict=True):
                c.sendall(rest)
        for c in conns:
            c.shutdown(socket.SHUT_WR)
        for c in conns:  # the daemon read everything and closed its side
            assert c.recv(1) == b""
    finally:
        for c in conns:
            c.close()
    total = CONNECTIONS * LINES
    gs.wait_metric("gophership_sink_sent_records_total", total, sink="archive")
    records = gs.records()
    counts = Counter(r.body for r in records)
    assert len(records) == total
    assert set(counts) == {f"c{i}-{k}" for i in range(CONNECTIONS) for k in range(LINES)}
    assert max(counts.values()) == 1
    for r in records:
        assert r.body == f"c{r.attrs['conn']}-{str(r.body).split('-')[1]}"
    assert gs.metric("gophership_source_received_lines_total", source="app") == total
    wait_until(
        lambda: gs.metric("gophership_source_connections", source="app"),
        lambda v: v == 0,
        30,
        "every connection closed",
    )


def test_slow_and_silent_clients_do_not_block_the_others(gs: Daemon) -> None:
    addr = gs.addr("app")
    slow_line = b'{"msg":"slow ' + b"s" * 120 + b'"}'  # ~135 bytes at 50 ms each: ~7 s
    stop = threading.Event()
    progress = {"sent": 0}
    with (
        socket.create_connection(addr, timeout=30) as slow,
        socket.create_connection(addr, timeout=30) as silent,
    ):
        check_slow_and_silent(gs, slow, silent, slow_line, stop, progress)


def check_slow_and_silent(
    gs: Daemon,
    slow: socket.socket,
    silent: socket.socket,
    slow_line: bytes,
    stop: threading.Event,
    progress: dict[str, int],
) -> None:
    addr = gs.addr("app")
    silent.sendall(b'{"msg":"never ends')  # no newline, ever, until it closes

    def dribble() -> None:
        for ch in slow_line:
            if stop.wait(0.05):
                return
            slow.sendall(bytes([ch]))
            progress["sent"] += 1

    dribbler = threading.Thread(target=dribble, daemon=True)
    dribbler.start()
    try:
        wait_until(lambda: progress["sent"], lambda n: n >= 3, 10, "the slow client to start")
        for round_ in range(5):  # fast clients come and go while the slow one dribbles
            for i in range(20):
                with socket.create_connection(addr, timeout=30) as c:
                    lines = (b'{"msg":"r%d-c%d-%d"}\n' % (round_, i, k) for k in range(5))
                    send_stream(c, b"".join(lines))
            want = (round_ + 1) * 100
            wait_until(gs.records, lambda r: len(r) >= want, 30, f"{want} fast records")  # noqa: B023
        # all 500 fast lines are through while the slow line is still incomplete
        assert dribbler.is_alive(), "the slow client finished first: make its line longer"
        assert progress["sent"] < len(slow_line)
        fast_bodies = [r.body for r in gs.records()]
        assert len(fast_bodies) == 500
        assert not any(str(b).startswith("slow") for b in fast_bodies)
    except BaseException:
        stop.set()  # let the dribbler end with the test
        raise
    finally:
        dribbler.join(30)
    assert progress["sent"] == len(slow_line)
    send_stream(slow, b"\n")
    slow.close()
    records = wait_until(gs.records, lambda r: len(r) >= 501, 30, "the slow line")
    assert records[-1].body == "slow " + "s" * 120  # whole, not cut by the pauses
    # the silent client's partial line comes out when it closes, raw (it is not JSON)
    send_stream(silent, b"")
    silent.close()
    records = wait_until(gs.records, lambda r: len(r) >= 502, 30, "the silent client's tail")
    tail = records[-1]
    assert tail.body == '{"msg":"never ends'
    assert tail.attrs["gophership.parse_error"] == "invalid_json"
    assert len(records) == 502

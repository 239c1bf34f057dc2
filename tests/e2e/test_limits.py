"""Configured limits seen from outside: max_connections, file rotation, framing errors, IPv6."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pytest

from gophership.testing.daemon import (
    flatten,
    run_daemon,
    send_stream,
    send_tcp,
    sink_files,
    wait_until,
)

if TYPE_CHECKING:
    from gophership.testing.daemon import Daemon

pytestmark = pytest.mark.e2e


def test_connections_past_max_connections_wait_and_lose_nothing(tmp_path: Path) -> None:
    # docs/CONFIG.md sources.<name>.max_connections: "beyond it new connections wait in the
    # listen backlog". A client whose connect() succeeded and whose bytes were accepted by
    # the kernel must not lose them.
    with run_daemon(tmp_path, sources={"app": {"max_connections": 3}}) as gs:
        with contextlib.ExitStack() as stack:
            conns = [
                stack.enter_context(socket.create_connection(gs.addr("app"), timeout=30))
                for _ in range(6)
            ]
            for i, c in enumerate(conns):
                c.sendall(b'{"msg":"c%d"}\n' % i)
            wait_until(gs.records, lambda r: len(r) >= 3, 30, "the first three lines")
            for c in conns:  # the first three leave; the others are admitted and read
                send_stream(c, b"")
        records = wait_until(gs.records, lambda r: len(r) >= 6, 30, "all six lines")
        assert sorted(str(r.body) for r in records) == [f"c{i}" for i in range(6)]


def test_file_sink_rotation_keeps_whole_lines_and_max_files(tmp_path: Path) -> None:
    sink = {"archive": {"max_file_bytes": "8KiB", "max_files": 50}}
    with run_daemon(tmp_path, sinks=sink) as gs:
        n = 0
        for _ in range(100):  # one connection (one chunk, one or more batches) at a time
            send_tcp(gs.addr("app"), b"".join(b'{"msg":"r%d"}\n' % i for i in range(n, n + 20)))
            n += 20
            gs.wait_metric("gophership_sink_sent_records_total", n, sink="archive")
        files = sink_files(gs.sink_path)
        assert len(files) > 3, "no rotation happened"
        for f in files:
            data = f.read_bytes()
            assert data.endswith(b"\n")
            assert len(data) <= 8192, (f, len(data))
        records = gs.records()  # oldest file first: the order is kept across files
        assert [r.body for r in records] == [f"r{i}" for i in range(n)]
    few = {"archive": {"max_file_bytes": "1KiB", "max_files": 2}}
    with run_daemon(tmp_path / "few", sinks=few) as gs:
        for k in range(20):
            send_tcp(gs.addr("app"), b'{"msg":"x%d"}\n' % k)
            gs.wait_metric("gophership_sink_sent_records_total", k + 1, sink="archive")
        names = sorted(p.name for p in Path(gs.sink_path).parent.iterdir())
        assert names == ["logs.jsonl", "logs.jsonl.1", "logs.jsonl.2"]


def test_batch_limits_bound_each_exported_request(tmp_path: Path) -> None:
    # docs/CONFIG.md pipeline.batch_max_records / batch_max_bytes: "A batch is sent to the
    # sinks at this many records ... or this many bytes"; one file sink line is one batch.
    pipeline = {"batch_max_records": 100, "batch_max_bytes": "64KiB"}
    with run_daemon(tmp_path, pipeline=pipeline) as gs:
        n = 2000  # ~36 KB: one read, one chunk
        send_tcp(gs.addr("app"), b"".join(b'{"msg":"b%d"}\n' % i for i in range(n)))
        gs.wait_metric("gophership_sink_sent_records_total", n, sink="archive")
        sizes = [len(list(flatten(iter([orjson.loads(line)]))))
                 for line in Path(gs.sink_path).read_bytes().splitlines()]  # fmt: skip
        assert sum(sizes) == n
        assert max(sizes) <= 100, f"{len(sizes)} batches, the largest with {max(sizes)} records"


def test_octet_counting_errors_are_counted_and_the_stream_resyncs(gs: Daemon) -> None:
    # '16 <1>...' is a good frame, then 'x' where MSG-LEN is expected: skip to the next LF
    stream = b"16 <1>1 - - - - - -xaaa\n" + b"18 <2>1 - h a - - - b"
    send_tcp(gs.addr("syslog"), stream)
    records = wait_until(gs.records, lambda r: len(r) >= 2, 30, "two frames")
    assert len(records) == 2
    assert records[0].severity == (19, "alert")
    assert records[1].body == "b"
    assert records[1].attrs["hostname"] == "h"
    assert (
        gs.metric("gophership_source_dropped_frames_total", source="syslog", reason="framing_error")
        == 1
    )
    assert gs.status()["sources"]["syslog"]["framing_errors_total"] == 1


def test_an_ipv6_listener(tmp_path: Path) -> None:
    if not socket.has_ipv6:
        pytest.fail("this machine has no IPv6")
    with run_daemon(tmp_path, sources={"v6": {"type": "ndjson_tcp", "address": "[::1]:0"}}) as gs:
        assert gs.ready["listeners"]["v6"].startswith("[::1]:")
        with socket.create_connection(gs.addr("v6"), timeout=30) as s:
            send_stream(s, b'{"msg":"over v6"}\n')
        records = wait_until(gs.records, lambda r: len(r) >= 1, 30, "the v6 line")
        assert [(r.source, r.body) for r in records] == [("v6", "over v6")]

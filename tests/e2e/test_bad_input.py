"""Bad peer bytes are counted and skipped on a connection that stays open; bad config fails.

STYLE §3: bad peer bytes: count, skip the frame, keep the connection; bad config: fail at
startup naming the file and the key. Lines that do not parse are exported raw, never lost.
"""

from __future__ import annotations

import base64
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gophership.testing.daemon import (
    Exported,
    run_daemon,
    send_stream,
    send_tcp,
    send_udp,
    wait_until,
)

if TYPE_CHECKING:
    from gophership.testing.daemon import Daemon

pytestmark = pytest.mark.e2e

DROPPED = "gophership_source_dropped_frames_total"


def bodies(gs: Daemon, source: str) -> list[object]:
    return [r.body for r in gs.records() if r.source == source]


def wait_bodies(gs: Daemon, source: str, n: int) -> list[object]:
    return wait_until(lambda: bodies(gs, source), lambda b: len(b) >= n, 30, f"{n} from {source}")


def still_open(sock: socket.socket) -> bool:
    """True when the peer has neither closed nor reset the connection (nothing to read)."""
    sock.setblocking(False)
    try:
        data = sock.recv(1)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)
    raise AssertionError(f"the daemon closed the connection or sent {data!r}")


def test_oversized_frames_are_dropped_counted_and_the_same_connection_keeps_working(
    tmp_path: Path,
) -> None:
    limit = {"max_frame_bytes": "1KiB"}
    with run_daemon(tmp_path, sources={"app": limit, "syslog": limit, "syslog_udp": limit}) as gs:
        # NDJSON: a 5,000-byte line and a 300 KiB line (longer than a read buffer)
        with socket.create_connection(gs.addr("app"), timeout=30) as s:
            s.sendall(b'{"msg":"before"}\n' + b'{"msg":"' + b"x" * 5000 + b'"}\n')
            gs.wait_metric(DROPPED, 1, source="app", reason="frame_too_large")
            assert wait_bodies(gs, "app", 1) == ["before"]
            assert still_open(s)
            s.sendall(b'{"msg":"middle"}\n')
            assert wait_bodies(gs, "app", 2) == ["before", "middle"]
            big = b'{"msg":"' + b"y" * 300_000 + b'"}\n'
            for i in range(0, len(big), 7000):  # many reads while discarding
                s.sendall(big[i : i + 7000])
            gs.wait_metric(DROPPED, 2, source="app", reason="frame_too_large")
            assert still_open(s)
            send_stream(s, b'{"msg":"after"}\n')
        assert wait_bodies(gs, "app", 3) == ["before", "middle", "after"]
        assert gs.metric(DROPPED, source="app", reason="frame_too_large") == 2
        assert gs.metric(DROPPED, source="app", reason="framing_error") == 0

        # syslog, octet counted: a declared 3,000-byte frame is discarded, the next one kept
        def frame(msg: bytes) -> bytes:
            return b"%d %s" % (len(msg), msg)

        with socket.create_connection(gs.addr("syslog"), timeout=30) as s:
            s.sendall(
                frame(b"<13>1 - h app - - - first") + frame(b"<13>1 - h app - - - " + b"z" * 3000)
            )
            gs.wait_metric(DROPPED, 1, source="syslog", reason="frame_too_large")
            assert still_open(s)
            send_stream(s, frame(b"<13>1 - h app - - - after"))
        # syslog, LF framed: the same on its own connection
        long_line = b"<13>1 - h app - - - " + b"w" * 2000 + b"\n"
        send_tcp(
            gs.addr("syslog"),
            b"<13>1 - h app - - - lf before\n" + long_line + b"<13>1 - h app - - - lf after\n",
        )
        assert wait_bodies(gs, "syslog", 4) == ["first", "after", "lf before", "lf after"]
        assert gs.metric(DROPPED, source="syslog", reason="frame_too_large") == 2
        # UDP: a datagram over the limit is dropped and counted too
        send_udp(
            gs.addr("syslog_udp"),
            [b"<13>1 - h app - - - " + b"v" * 2000, b"<13>1 - h app - - - small"],
        )
        assert wait_bodies(gs, "syslog_udp", 1) == ["small"]
        gs.wait_metric(DROPPED, 1, source="syslog_udp", reason="frame_too_large")
        assert len(gs.records()) == 8  # nothing of the big frames came out


def parse_error(r: Exported) -> object:
    return r.attrs.get("gophership.parse_error")


def test_lines_that_do_not_parse_are_exported_raw_with_a_reason(gs: Daemon) -> None:
    ndjson = [
        b'{"msg": "broken',
        b"not json at all",
        b"[1,2,3]",
        b'"just a string"',
        b'\xff\xfe{"msg":"latin"}',
    ]
    send_tcp(gs.addr("app"), b"".join(x + b"\n" for x in ndjson) + b'{"msg":"good"}\n')
    syslog = [
        b"no pri here",
        b"<999>1 - - - - - - bad pri",
        b"<13>1 2026-13-45T99:00:00Z h a - - - bad time",
    ]
    send_tcp(gs.addr("syslog"), b"".join(x + b"\n" for x in syslog))
    records = wait_until(gs.records, lambda r: len(r) >= 9, 30, "9 records")
    assert len(records) == 9
    app = [r for r in records if r.source == "app"]
    assert [r.body for r in app[:4]] == [x.decode() for x in ndjson[:4]]
    assert app[4].record["body"] == {"bytesValue": base64.b64encode(ndjson[4]).decode()}
    assert app[5].body == "good"
    assert parse_error(app[5]) is None
    reasons = [parse_error(r) for r in app[:5]]
    assert reasons == [
        "invalid_json",
        "invalid_json",
        "not_an_object",
        "not_an_object",
        "invalid_json",
    ]
    for r in app[:5]:
        assert r.attrs.keys() == {"gophership.parse_error"}
    sys_recs = [r for r in records if r.source == "syslog"]
    assert [r.body for r in sys_recs] == [x.decode() for x in syslog]
    assert [parse_error(r) for r in sys_recs] == ["missing_pri", "invalid_pri", "invalid_timestamp"]
    m = gs.metric
    assert m("gophership_green_parse_errors_total", reason="invalid_json") == 3
    assert m("gophership_green_parse_errors_total", reason="not_an_object") == 2
    assert m("gophership_green_parse_errors_total", reason="missing_pri") == 1
    assert m("gophership_sink_sent_records_total", sink="archive") == 9


BAD_CONFIG = """\
sources:
  app: {type: ndjson_tcp, address: "127.0.0.1:0", max_frame_bytes: 64 lots}
  other: {type: ndjson_tcp, addres: "127.0.0.1:0"}
sinks:
  out: {type: blackhole}
vault: {max_bytes: 10 gigs, segmnt_bytes: 64MiB}
"""


def gophership(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gophership", *args], capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_bad_config_is_refused_naming_the_file_and_every_bad_key(
    tmp_path: Path, command: str
) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(BAD_CONFIG)
    args = ["run", "--config", str(cfg)] if command == "run" else ["validate", str(cfg)]
    proc = gophership(*args)
    assert proc.returncode != 0
    assert proc.stdout == ""  # no ready line
    for key, line in [
        ("sources.app.max_frame_bytes", 2),
        ("sources.other.addres", 3),
        ("vault.max_bytes", 6),
        ("vault.segmnt_bytes", 6),
    ]:
        assert f"{cfg}:{line}: {key}:" in proc.stderr, (key, proc.stderr)
    assert "did you mean 'address'" in proc.stderr
    missing = gophership(*args[:-1], str(tmp_path / "missing.yaml"))
    assert missing.returncode != 0
    assert str(tmp_path / "missing.yaml") in missing.stderr


def test_validate_accepts_the_config_the_daemon_runs_with(tmp_path: Path) -> None:
    with run_daemon(tmp_path) as gs:
        proc = gophership("validate", str(gs.config_path))
        assert proc.returncode == 0, proc.stderr


def test_socket_modes(gs: Daemon) -> None:
    control = Path(gs.control).stat()
    assert stat.S_ISSOCK(control.st_mode)
    assert stat.S_IMODE(control.st_mode) == 0o600
    unix = Path(gs.unix_path("app_unix")).stat()
    assert stat.S_ISSOCK(unix.st_mode)
    assert stat.S_IMODE(unix.st_mode) == 0o660  # docs/CONFIG.md default socket_mode

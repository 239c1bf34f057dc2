"""``gs-ctl``: the operator's command line.

``gs-ctl vault ...`` and ``gs-ctl replay --vault DIR --config FILE`` work without a daemon;
``status``, ``top``, ``override``, ``replay`` and ``drain`` talk to the daemon's control API:
over its unix socket (``--socket PATH``, else the ``control.socket`` of ``--config FILE``, else
``$GOPHERSHIP_SOCKET``, else ``./gophership-data/control.sock``) or, with ``--addr HOST:PORT``,
over TCP with mutual TLS (``--cert``, ``--key``, ``--ca``). Output is a table by default,
``--output json`` or ``--output yaml`` for scripts.

Exit status: 0 success; 1 the daemon cannot be reached (not running, permission denied), refused
the request (peer check, TLS) or answered an error, or an offline replay left records in the
vault; 2 usage or configuration errors.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson
import yaml

from gophership.control import client
from gophership.control.client import Endpoint
from gophership.errors import ConfigError, ControlError, VaultError
from gophership.vault import cli as vault_cli

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

DEFAULT_SOCKET: Final = "./gophership-data/control.sock"
SOCKET_ENV: Final = "GOPHERSHIP_SOCKET"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


def _socket_path(args: argparse.Namespace) -> Path:
    if args.socket:
        return Path(args.socket)
    if args.config:
        from gophership.config import load_config

        return Path(load_config(args.config).control.socket)
    if os.environ.get(SOCKET_ENV):
        return Path(os.environ[SOCKET_ENV])
    return Path(DEFAULT_SOCKET)


def _endpoint(args: argparse.Namespace) -> Endpoint:
    if args.addr:
        return Endpoint(
            address=args.addr,
            cert_file=Path(args.cert),
            key_file=Path(args.key),
            ca_file=Path(args.ca),
        )
    return Endpoint(socket=_socket_path(args))


def _emit(data: Any, output: str, table: Any = None) -> None:
    if output == "json":
        sys.stdout.write(
            orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode() + "\n"
        )
    elif output == "yaml":
        sys.stdout.write(
            yaml.safe_dump(orjson.loads(orjson.dumps(data, default=str)), sort_keys=False)
        )
    elif table is not None:
        from rich.console import Console

        Console().print(table)
    else:
        sys.stdout.write(
            orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode() + "\n"
        )


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def status_table(s: dict[str, Any]) -> Any:
    """The ``status`` snapshot as rich tables, each narrower than 80 columns."""
    from rich.console import Group
    from rich.table import Table

    zone_style = {"green": "bold green", "yellow": "bold yellow", "red": "bold red"}[s["zone"]]
    up = _human_duration(s["uptime_seconds"])
    top = Table(title=f"GopherShip {s['version']} (pid {s['pid']}, up {up})", show_header=False)
    ing, q, v = s["ingester"], s["queue"], s["vault"]
    forced = f" (forced {s['forced']})" if s["forced"] else ""
    top.add_row("zone", f"[{zone_style}]{s['zone'].upper()}[/]{forced}")
    if "why" in s:
        top.add_row("why", s["why"]["reason"])
    top.add_row(
        "memory",
        f"{_human_bytes(ing['memory_bytes'])} / {_human_bytes(ing['memory_budget_bytes'])}",
    )
    top.add_row("queue", f"{_human_bytes(q['queued_bytes'])} / {_human_bytes(q['max_bytes'])}")
    top.add_row("lines green/red", f"{ing['green_frames_total']} / {ing['red_frames_total']}")
    top.add_row("pivots", str(ing["pivots_total"]))
    top.add_row(
        "pivot p50/p99",
        f"{ing['latency_p50_seconds'] * 1e6:.0f} µs / {ing['latency_p99_seconds'] * 1e6:.0f} µs",
    )
    rates = s.get("rates") or {}
    if rates:
        top.add_row(
            "rates in",
            f"{rates['received_lines_per_second']:.0f} lines/s,"
            f" {_human_bytes(rates['received_bytes_per_second'])}/s",
        )
        top.add_row(
            "rates out",
            f"{rates['sent_records_per_second']:.0f} records/s to sinks,"
            f" {_human_bytes(rates['vault_appended_bytes_per_second'])}/s to vault",
        )
    top.add_row(
        "vault",
        f"{v['segments']} segments, {_human_bytes(v['bytes'])} of {_human_bytes(v['max_bytes'])}",
    )
    oldest = v.get("oldest_age_seconds")
    top.add_row(
        "to replay",
        f"{v['lines']} lines, {_human_bytes(v['raw_bytes'])}"
        + (f", oldest {_human_duration(oldest)} ago" if oldest is not None else ""),
    )
    r = s["replay"]
    state = "paused" if r["paused"] else "running"
    if "rate_bytes_per_second" in r:
        rate = r["rate_bytes_per_second"]
        state += f", limit {_human_bytes(rate)}/s" if rate else ", no limit"
        if rates:
            state += f", {_human_bytes(rates['replayed_bytes_per_second'])}/s now"
    top.add_row("replay", state)
    sources = Table("source", "type", "lines", "bytes", "dropped", "conns")
    for name, src in s["sources"].items():
        sources.add_row(
            name,
            src["type"],
            str(src["received_frames_total"]),
            _human_bytes(src["received_bytes_total"]),
            str(src["dropped_frames_total"] + src["framing_errors_total"]),
            str(src["connections"]),
        )
    sinks = Table("sink", "healthy", "records sent", "failed batches", "queued", "lane")
    for name, sink in s["sinks"].items():
        sinks.add_row(
            name,
            "yes" if sink["healthy"] else "[red]no[/]",
            str(sink["sent_records"]),
            str(sink["failed_batches"]),
            _human_bytes(sink["queued_bytes"]),
            _lane(sink.get("lane")),
        )
    return Group(top, sources, sinks)


def _lane(lane: dict[str, Any] | None) -> str:
    """A sink's vault lane in a few characters: ``-`` without one, else live or its backlog."""
    if not lane:
        return "-"
    if lane["spilling"] or lane["backlog_records"]:
        state = "[red]blocked[/]" if lane["blocked"] else "[yellow]spilling[/]"
        return f"{state} {_human_bytes(lane['backlog_bytes'])}"
    return "live"


def cmd_status(args: argparse.Namespace) -> int:
    """``gs-ctl status``: one snapshot."""
    snapshot = client.request(_endpoint(args), "status")
    _emit(snapshot, args.output, status_table(snapshot) if args.output == "table" else None)
    return EXIT_OK


class _Keys:
    """Single key presses from a terminal (cbreak mode, restored on exit); none otherwise."""

    def __init__(self) -> None:
        self._fd = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else None
        self._saved: Any = None

    def __enter__(self) -> _Keys:
        if self._fd is not None:
            import termios
            import tty

            self._saved = termios.tcgetattr(self._fd)
            tty.setcbreak(self._fd)  # keys arrive one by one; Ctrl-C still sends SIGINT
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None and self._saved is not None:
            import termios

            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)

    def quit_within(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True as soon as q (or Q) is pressed."""
        if self._fd is None:
            time.sleep(seconds)
            return False
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                key = os.read(self._fd, 32)
                if not key or b"q" in key.lower():
                    return True
        return False


def cmd_top(args: argparse.Namespace) -> int:
    """``gs-ctl top``: the snapshot, refreshed every ``--interval`` seconds; q or Ctrl-C quits."""
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    endpoint = _endpoint(args)
    footer = Text(f"refresh {args.interval:g}s - press q to quit", style="dim")

    def view() -> Any:
        return Group(status_table(client.request(endpoint, "status")), footer)

    rounds = args.iterations
    try:
        with _Keys() as keys, Live(view(), refresh_per_second=4, screen=keys_screen()) as live:
            n = 1
            while rounds is None or n < rounds:
                if keys.quit_within(args.interval):
                    break
                live.update(view())
                n += 1
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def keys_screen() -> bool:
    """Use the terminal's alternate screen only on a terminal (like ``top``)."""
    return sys.stdout.isatty() and sys.stdin.isatty()


def cmd_override(args: argparse.Namespace) -> int:
    """``gs-ctl override --zone Z``: force a zone, or ``auto``."""
    result = client.request(_endpoint(args), "override", zone=args.zone)
    _emit(result, args.output if args.output != "table" else "yaml")
    return EXIT_OK


def _progress_bar(total: int) -> Any:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("replay"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=_stderr_console(),
    )


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def _progress(total: int, show: bool) -> Iterator[Any]:
    """Yields ``update(done, total)``; draws a bar with ETA on stderr when it is a terminal."""
    if not show or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    with _progress_bar(total) as bar:
        task = bar.add_task("replay", total=total)
        yield lambda done, total: bar.update(task, completed=done, total=max(total, 1))


def cmd_replay(args: argparse.Namespace) -> int:
    """``gs-ctl replay [start|pause|resume|status]``, or offline with ``--vault``."""
    if args.vault:
        return _replay_offline(args)
    rate = args.rate
    if args.action in ("pause", "status"):
        if rate is not None:
            raise ControlError("--rate goes with start or resume, not with " + args.action)
        result = client.request(_endpoint(args), "replay", action=args.action)
        _emit(result, args.output if args.output != "table" else "yaml")
        return EXIT_OK
    endpoint = _endpoint(args)
    extra = {} if rate is None else {"rate": rate}
    result = client.request(endpoint, "replay", action=args.action or "start", **extra)
    if args.action is None and not args.no_wait:
        start = result["replayed_bytes_total"]
        total = result["remaining_bytes"]
        with _progress(total, True) as update:
            while result["remaining_bytes"] > 0:
                time.sleep(args.interval)
                result = client.request(endpoint, "replay", action="status")
                done = result["replayed_bytes_total"] - start
                update(done, done + result["remaining_bytes"])
    _emit(result, args.output if args.output != "table" else "yaml")
    return EXIT_OK


def _replay_offline(args: argparse.Namespace) -> int:
    import asyncio

    from gophership.config import load_config
    from gophership.offline import replay_vault

    if not args.config:
        raise ConfigError("replay --vault needs --config FILE (the sinks to replay into)")
    config = load_config(args.config)
    with _progress(0, True) as update:
        summary = asyncio.run(
            replay_vault(
                config,
                Path(args.vault),
                rate=args.rate,
                timeout_seconds=args.timeout,
                progress=lambda p: update(p["replayed_bytes"], p["total_bytes"]),
            )
        )
    _emit(summary, args.output if args.output != "table" else "yaml")
    return EXIT_OK if summary["complete"] and not summary["lost_frames"] else EXIT_FAILED


def cmd_drain(args: argparse.Namespace) -> int:
    """``gs-ctl drain``: graceful stop; waits for the daemon's report unless ``--no-wait``."""
    if args.no_wait:
        result = client.request(_endpoint(args), "drain")
    else:
        result = client.request(_endpoint(args), "drain", timeout=args.timeout, wait=True)
    _emit(result, args.output if args.output != "table" else "yaml")
    return EXIT_OK


def _rate(text: str) -> int:
    return vault_cli.parse_size(text.strip().removesuffix("/s"))


def build_parser() -> argparse.ArgumentParser:
    """The ``gs-ctl`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="gs-ctl",
        description="Operate GopherShip.",
        epilog="Exit status: 0 ok; 1 daemon unreachable, refused or failed; 2 usage error.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--socket",
        "-s",
        help=f"control socket (default ${SOCKET_ENV}, else {DEFAULT_SOCKET})",
    )
    common.add_argument("--config", "-c", help="read control.socket from this config file")
    common.add_argument("--addr", metavar="HOST:PORT", help="control over TCP (mutual TLS)")
    common.add_argument("--cert", metavar="PEM", help="client certificate for --addr")
    common.add_argument("--key", metavar="PEM", help="client key for --addr")
    common.add_argument("--ca", metavar="PEM", help="CA that signed the daemon's certificate")
    common.add_argument("--output", "-o", choices=("table", "json", "yaml"), default="table")
    p = sub.add_parser(
        "status", parents=[common], help="zone and why, memory, queue, vault, replay, sinks, rates"
    )
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("top", parents=[common], help="live dashboard (q or Ctrl-C quits)")
    p.add_argument("--interval", type=float, default=1.0, help="refresh period in seconds")
    p.add_argument("--iterations", type=int, default=None, help="stop after N refreshes")
    p.set_defaults(func=cmd_top)
    p = sub.add_parser("override", parents=[common], help="force a zone (audited)")
    p.add_argument("--zone", required=True, choices=("green", "yellow", "red", "auto"))
    p.set_defaults(func=cmd_override)
    p = sub.add_parser(
        "replay",
        parents=[common],
        help="start replay now (progress bar), pause, resume, status; --vault: offline",
    )
    p.add_argument(
        "action",
        choices=("start", "pause", "resume", "status"),
        nargs="?",
        default=None,
        help="none: start now and follow progress until the vault is replayed",
    )
    p.add_argument("--rate", type=_rate, default=None, help="bytes/s, e.g. 10MiB (0 = no limit)")
    p.add_argument("--no-wait", action="store_true", help="start and return at once")
    p.add_argument("--interval", type=float, default=0.5, help="progress poll period, seconds")
    p.add_argument("--vault", metavar="DIR", help="offline: replay this vault through --config")
    p.add_argument("--timeout", type=float, default=None, help="offline: give up after seconds")
    p.set_defaults(func=cmd_replay)
    p = sub.add_parser("drain", parents=[common], help="drain and stop the daemon; report")
    p.add_argument("--no-wait", action="store_true", help="return once the drain has begun")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the report")
    p.set_defaults(func=cmd_drain)
    vault_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gs-ctl``; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "addr", None) and not (args.cert and args.key and args.ca):
        parser.error("--addr needs --cert, --key and --ca (the control TCP API is mutual TLS)")
    try:
        status: int = args.func(args)
    except ControlError as exc:
        print(f"gs-ctl: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ConfigError as exc:
        print(f"gs-ctl: {exc}", file=sys.stderr)
        return EXIT_USAGE if args.command == "replay" else EXIT_FAILED
    except VaultError as exc:
        print(f"gs-ctl: vault: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `gs-ctl vault cat | head`: the reader left, which is fine
        sys.stderr.close()
        return EXIT_OK
    return status


if __name__ == "__main__":
    raise SystemExit(main())

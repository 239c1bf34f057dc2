"""``gs-ctl``: the operator's command line.

``gs-ctl vault ...`` works on a vault directory without a running daemon; ``status``, ``top``,
``override``, ``replay`` and ``drain`` talk to the daemon over its control socket (default
``./gophership-data/control.sock``, or ``--socket``, or the ``control.socket`` of ``--config``).
Output is a table by default, ``--output json`` or ``--output yaml`` for scripts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import yaml

from gophership.control import client
from gophership.errors import ConfigError, ControlError
from gophership.vault import cli as vault_cli

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_SOCKET = "./gophership-data/control.sock"


def _socket_path(args: argparse.Namespace) -> Path:
    if args.socket:
        return Path(args.socket)
    if args.config:
        from gophership.config import load_config

        return Path(load_config(args.config).control.socket)
    return Path(DEFAULT_SOCKET)


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


def status_table(s: dict[str, Any]) -> Any:
    """The ``status`` snapshot as rich tables."""
    from rich.table import Table

    zone_style = {"green": "bold green", "yellow": "bold yellow", "red": "bold red"}[s["zone"]]
    top = Table(title=f"GopherShip {s['version']} (pid {s['pid']})", show_header=False)
    ing, q, v = s["ingester"], s["queue"], s["vault"]
    forced = f" (forced {s['forced']})" if s["forced"] else ""
    top.add_row("zone", f"[{zone_style}]{s['zone'].upper()}[/]{forced}")
    top.add_row(
        "memory",
        f"{_human_bytes(ing['memory_bytes'])} / {_human_bytes(ing['memory_budget_bytes'])}",
    )
    top.add_row("queue", f"{_human_bytes(q['queued_bytes'])} / {_human_bytes(q['max_bytes'])}")
    top.add_row("pivots", str(ing["pivots_total"]))
    top.add_row("lines green/red", f"{ing['green_frames_total']} / {ing['red_frames_total']}")
    top.add_row(
        "pivot latency p50/p99",
        f"{ing['latency_p50_seconds'] * 1e6:.0f} µs / {ing['latency_p99_seconds'] * 1e6:.0f} µs",
    )
    top.add_row(
        "vault",
        f"{v['segments']} segments, {_human_bytes(v['bytes'])} of {_human_bytes(v['max_bytes'])},"
        f" {v['lines']} lines to replay",
    )
    top.add_row("replay", "paused" if s["replay"]["paused"] else "running")
    sources = Table("source", "type", "lines", "bytes", "dropped", "connections")
    for name, src in s["sources"].items():
        sources.add_row(
            name,
            src["type"],
            str(src["received_frames_total"]),
            _human_bytes(src["received_bytes_total"]),
            str(src["dropped_frames_total"] + src["framing_errors_total"]),
            str(src["connections"]),
        )
    sinks = Table("sink", "healthy", "records sent", "failed batches", "queued")
    for name, sink in s["sinks"].items():
        sinks.add_row(
            name,
            "yes" if sink["healthy"] else "[red]no[/]",
            str(sink["sent_records"]),
            str(sink["failed_batches"]),
            _human_bytes(sink["queued_bytes"]),
        )
    from rich.console import Group

    return Group(top, sources, sinks)


def cmd_status(args: argparse.Namespace) -> int:
    """``gs-ctl status``: one snapshot."""
    snapshot = client.request(_socket_path(args), "status")
    _emit(snapshot, args.output, status_table(snapshot) if args.output == "table" else None)
    return 0


def cmd_top(args: argparse.Namespace) -> int:
    """``gs-ctl top``: the snapshot, refreshed every ``--interval`` seconds."""
    from rich.live import Live

    path = _socket_path(args)
    rounds = args.iterations
    with Live(status_table(client.request(path, "status")), refresh_per_second=4) as live:
        n = 1
        while rounds is None or n < rounds:
            time.sleep(args.interval)
            live.update(status_table(client.request(path, "status")))
            n += 1
    return 0


def cmd_override(args: argparse.Namespace) -> int:
    """``gs-ctl override --zone Z``: force a zone, or ``auto``."""
    result = client.request(_socket_path(args), "override", zone=args.zone)
    _emit(result, args.output if args.output != "table" else "yaml")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """``gs-ctl replay pause|resume|status``."""
    result = client.request(_socket_path(args), "replay", action=args.action)
    _emit(result, args.output if args.output != "table" else "yaml")
    return 0


def cmd_drain(args: argparse.Namespace) -> int:
    """``gs-ctl drain``: graceful stop."""
    result = client.request(_socket_path(args), "drain")
    _emit(result, args.output if args.output != "table" else "yaml")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``gs-ctl`` argument parser."""
    parser = argparse.ArgumentParser(prog="gs-ctl", description="Operate GopherShip.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--socket", "-s", help=f"control socket (default {DEFAULT_SOCKET})")
    common.add_argument("--config", "-c", help="read control.socket from this config file")
    common.add_argument("--output", "-o", choices=("table", "json", "yaml"), default="table")
    p = sub.add_parser(
        "status", parents=[common], help="zone, memory, queue, vault, sources, sinks"
    )
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("top", parents=[common], help="live status")
    p.add_argument("--interval", type=float, default=1.0, help="refresh period in seconds")
    p.add_argument("--iterations", type=int, default=None, help="stop after N refreshes")
    p.set_defaults(func=cmd_top)
    p = sub.add_parser("override", parents=[common], help="force a zone (audited)")
    p.add_argument("--zone", required=True, choices=("green", "yellow", "red", "auto"))
    p.set_defaults(func=cmd_override)
    p = sub.add_parser("replay", parents=[common], help="pause, resume or show vault replay")
    p.add_argument("action", choices=("pause", "resume", "status"), nargs="?", default="status")
    p.set_defaults(func=cmd_replay)
    p = sub.add_parser("drain", parents=[common], help="drain and stop the daemon")
    p.set_defaults(func=cmd_drain)
    vault_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gs-ctl``; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except (ControlError, ConfigError) as exc:
        print(f"gs-ctl: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `gs-ctl vault cat | head`: the reader left, which is fine
        sys.stderr.close()
        return 0
    return status


if __name__ == "__main__":
    raise SystemExit(main())

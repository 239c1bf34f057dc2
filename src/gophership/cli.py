"""``gophership``: run the daemon, or validate a configuration file.

``gophership run [--config FILE]`` starts on the embedded default configuration when no file
is given, prints one JSON "ready" line on stdout, and logs JSON lines on stderr.
``gophership validate FILE`` exits 0 when the file is valid, 2 (with the reason) otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from gophership import __version__, logs
from gophership.config import load_config
from gophership.errors import ConfigError, VaultError

if TYPE_CHECKING:
    from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The ``gophership`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="gophership", description="GopherShip log ingestion engine."
    )
    parser.add_argument("--version", action="version", version=f"gophership {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="start the daemon")
    run.add_argument("--config", "-c", metavar="FILE", help="YAML config (default: embedded)")
    validate = sub.add_parser("validate", help="check a config file and exit")
    validate.add_argument("file", metavar="FILE")
    return parser


def _run_loop(coro_factory: object) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        return asyncio.run(coro_factory())  # type: ignore[operator,no-any-return]
    return uvloop.run(coro_factory())  # type: ignore[no-any-return,operator]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gophership``; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "validate":
        try:
            load_config(args.file)
        except ConfigError as exc:
            print(f"gophership: {exc}", file=sys.stderr)
            return 2
        print(f"{args.file}: valid")
        return 0
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"gophership: {exc}", file=sys.stderr)
        return 2
    logs.setup(config.log.level)
    from gophership.pipeline import serve

    try:
        return _run_loop(lambda: serve(config))
    except VaultError as exc:
        print(f"gophership: vault: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:  # found at start: TLS files that cannot be loaded
        print(f"gophership: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gophership: cannot start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

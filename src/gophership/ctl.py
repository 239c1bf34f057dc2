"""``gs-ctl``: the operator's command line.

``gs-ctl vault ...`` works on a vault directory without a running daemon; the other commands
talk to the daemon over its control socket.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gophership.vault import cli as vault_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gs-ctl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    vault_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gs-ctl``; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except BrokenPipeError:  # `gs-ctl vault cat | head`: the reader left, which is fine
        sys.stderr.close()
        return 0
    return status


if __name__ == "__main__":
    raise SystemExit(main())

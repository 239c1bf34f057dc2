"""``gs-ctl vault``: import, cat, ls and verify a vault directory without a running daemon.

Rules:

1. ``cat``, ``ls`` and ``verify`` open the vault read-only: they never truncate, quarantine or
   delete, so they are safe on a vault a daemon is writing and on evidence after a crash.
2. ``import`` cuts input at newline boundaries into chunks of about ``IMPORT_CHUNK_BYTES``
   (codec ``RAW_LINES``); a final line without a newline is stored as-is, so ``cat`` gives
   back the input bit for bit.
3. Each subcommand is a function ``(args) -> int`` returning the exit status: 0 success, 1
   ``verify`` found bad segments, 2 an error, 3 ``cat`` skipped corrupt segments. Like ``zcat``
   on a damaged file, ``cat`` first writes every good segment, in order and bit-identical,
   and names each skipped segment on stderr.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from typing import IO, TYPE_CHECKING, Any, Final

import orjson
import yaml

from gophership.errors import VaultError, VaultFull
from gophership.record import Codec
from gophership.vault.store import SegmentInfo, Vault, VaultOptions

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

IMPORT_CHUNK_BYTES: Final = 256 * 1024
"""Target chunk size for ``import``; a chunk ends at the last newline within it."""
MAX_LINE_CHUNK_BYTES: Final = 16 * 2**20
"""A line longer than this is cut (still bit-identical on ``cat``, but split in two records)."""

EXIT_CAT_SKIPPED: Final = 3
"""``cat`` wrote every readable record but skipped corrupt or missing segments."""

_DEFAULTS: Final = VaultOptions()
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS: Final = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_size(text: str) -> int:
    """Parse ``1048576``, ``64KiB``, ``1MiB``, ``2G`` (binary) or ``1MB`` (decimal) to bytes.

    Raises:
        argparse.ArgumentTypeError: not a size.
    """
    m = _SIZE.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1048576, 64KiB or 1MiB)")
    number, unit, suffix = int(m[1]), m[2].lower(), m[3].lower()
    base = 1000 if suffix == "b" and unit else 1024
    return int(number * base ** _UNITS[unit])


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``vault`` and its subcommands to ``gs-ctl``."""
    vault = subparsers.add_parser(
        "vault", help="inspect or fill a vault directory offline", description=__doc__
    )
    sub = vault.add_subparsers(dest="vault_command", required=True, metavar="SUBCOMMAND")

    imp = sub.add_parser("import", help="append files (or - for stdin) as raw line chunks")
    imp.add_argument("--dir", required=True, help="vault directory (created when missing)")
    imp.add_argument(
        "--segment-bytes", type=parse_size, default=_DEFAULTS.segment_bytes, metavar="N"
    )
    imp.add_argument("--max-bytes", type=parse_size, default=_DEFAULTS.max_bytes, metavar="N")
    imp.add_argument("--no-compress", action="store_true", help="store payloads uncompressed")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.set_defaults(func=cmd_import)

    cat = sub.add_parser("cat", help="write every stored byte to stdout, in order")
    cat.add_argument("--dir", required=True)
    cat.set_defaults(func=cmd_cat)

    ls = sub.add_parser("ls", help="list segments")
    ls.add_argument("--dir", required=True)
    ls.add_argument("--output", choices=("table", "json", "yaml"), default="table")
    ls.set_defaults(func=cmd_ls)

    verify = sub.add_parser("verify", help="check every checksum; non-zero naming bad segments")
    verify.add_argument("--dir", required=True)
    verify.add_argument("--output", choices=("text", "json"), default="text")
    verify.set_defaults(func=cmd_verify)


def iter_line_chunks(stream: IO[bytes], chunk_bytes: int = IMPORT_CHUNK_BYTES) -> Iterator[bytes]:
    """Yield chunks of about ``chunk_bytes`` ending at a newline; the last may lack one."""
    buf = bytearray()
    while block := stream.read(chunk_bytes):
        buf += block
        if len(buf) < chunk_bytes:
            continue
        cut = buf.rfind(b"\n") + 1
        if cut == 0 and len(buf) >= MAX_LINE_CHUNK_BYTES:
            cut = len(buf)
        if cut:
            yield bytes(buf[:cut])
            del buf[:cut]
    if buf:
        yield bytes(buf)


def _err(message: str) -> None:
    sys.stderr.write(f"gs-ctl vault: {message}\n")


def cmd_import(args: argparse.Namespace) -> int:
    """Append files as RAW_LINES chunks; the vault is sealed and synced at the end."""
    options = VaultOptions(
        segment_bytes=args.segment_bytes,
        max_bytes=args.max_bytes,
        fsync="never",  # one fsync per sealed segment and at close is enough for a batch import
        compress=not args.no_compress,
        delete_replayed=False,
    )
    lines_total = bytes_total = records = 0
    try:
        vault = Vault.open(args.dir, options)
    except VaultError as exc:
        _err(str(exc))
        return 2
    status = 0
    try:
        for name in args.files:
            stream: IO[bytes] = (
                sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
            )
            source = ("stdin" if name == "-" else name).encode()[-255:].decode(errors="ignore")
            try:
                for chunk in iter_line_chunks(stream):
                    lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
                    vault.append(
                        chunk,
                        lines=lines,
                        codec=Codec.RAW_LINES,
                        source=source,
                        received_unix_nano=time.time_ns(),
                    )
                    lines_total += lines
                    bytes_total += len(chunk)
                    records += 1
            finally:
                if stream is not sys.stdin.buffer:
                    stream.close()
    except VaultFull as exc:
        _err(f"{exc}; stopped after {bytes_total} bytes")
        status = 2
    except (VaultError, OSError) as exc:
        _err(str(exc))
        status = 2
    finally:
        try:
            vault.close()
        except VaultError as exc:
            _err(str(exc))
            status = 2
    sys.stderr.write(
        orjson.dumps(
            {"imported_records": records, "imported_lines": lines_total, "bytes": bytes_total}
        ).decode()
        + "\n"
    )
    return status


def _open_read_only(directory: str) -> Vault | None:
    try:
        return Vault.open(directory, read_only=True)
    except VaultError as exc:
        _err(str(exc))
        return None


def cmd_cat(args: argparse.Namespace) -> int:
    """Stream every good payload to stdout in order; 3 and the bad segments if any was skipped.

    A sealed segment is checked whole (SHA-256, footer) before any of its records is written,
    so a corrupt segment contributes nothing; read-only, so nothing is moved.
    """
    vault = _open_read_only(args.dir)
    if vault is None:
        return 2
    out = sys.stdout.buffer
    reader = vault.reader(None)
    try:
        while (record := reader.next_record()) is not None:
            out.write(record.payload)
        out.flush()
    finally:
        reader.close()
        vault.close()
    skipped = {p.segment: p.problem for p in vault.recovery_problems()}
    skipped.update((s.name, s.problem) for s in vault.segments() if s.checksum == "bad")
    for name, problem in sorted(skipped.items()):
        _err(f"skipped corrupt segment {name}: {problem}")
    if vault.statistics().corrupt_records_total and not skipped:
        _err("skipped corrupt records (the vault changed while it was read)")
    elif not skipped:
        return 0
    return EXIT_CAT_SKIPPED


def _segment_row(s: SegmentInfo) -> dict[str, Any]:
    return {
        "segment": s.name,
        "first_seq": s.first_seq,
        "last_seq": s.last_seq,
        "records": s.records,
        "lines": s.lines,
        "raw_bytes": s.raw_bytes,
        "stored_bytes": s.stored_bytes,
        "size_bytes": s.size_bytes,
        "sealed": s.sealed,
        "checksum": s.checksum,
    }


def cmd_ls(args: argparse.Namespace) -> int:
    """List segments from the manifest, footers and the active segment."""
    vault = _open_read_only(args.dir)
    if vault is None:
        return 2
    rows = [_segment_row(s) for s in vault.segments()]
    vault.close()
    if args.output == "json":
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.output == "yaml":
        sys.stdout.write(yaml.safe_dump(rows, sort_keys=False))
    else:
        _print_table(rows)
    return 0


def _print_table(rows: Sequence[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    columns = [
        *("segment", "first_seq", "last_seq", "records", "lines", "raw_bytes"),
        *("stored_bytes", "size_bytes", "sealed", "checksum"),
    ]
    for col in columns:
        table.add_column(col, justify="left" if col in ("segment", "checksum") else "right")
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    Console(width=200).print(table)


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every checksum without modifying the vault; 1 and the bad segments if any fail."""
    vault = _open_read_only(args.dir)
    if vault is None:
        return 2
    try:
        problems = vault.verify()
        count = len(vault.segments())
    finally:
        vault.close()
    if args.output == "json":
        report = {
            "segments": count,
            "ok": not problems,
            "problems": [{"segment": p.segment, "problem": p.problem} for p in problems],
        }
        sys.stdout.write(orjson.dumps(report).decode() + "\n")
    else:
        for p in problems:
            sys.stdout.write(f"BAD {p.segment}: {p.problem}\n")
        if not problems:
            sys.stdout.write(f"ok: {count} segments intact\n")
    return 1 if problems else 0

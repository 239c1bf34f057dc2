"""Raw Vault throughput: append (LZ4 + CRC32C + write) and replay, in lines/s and MiB/s.

Usage::

    .venv/bin/python bench/vault_bench.py [--mib 512] [--fsync 0.1|always|never] [--dir DIR]

Appends 256 KiB chunks of 200-byte synthetic log lines (varied words, numbers, hosts, levels;
no two lines alike) into a fresh vault, then replays it. It also times a bare loop doing the
same cut + LZ4 + CRC32C + write without the vault, as the ceiling to compare with. Prints a
table, then one JSON object per measurement (``{"bench": "vault", ...}``) for collection.
Compare numbers only on the same machine.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time

import crc32c
import lz4.block
import orjson

from gophership.record import Codec
from gophership.vault import Vault, VaultOptions

CHUNK_BYTES = 256 * 1024
LINE_BYTES = 200
WORDS = [
    "request",
    "served",
    "user",
    "login",
    "failed",
    "session",
    "opened",
    "closed",
    "disk",
    "cache",
    "miss",
    "hit",
    "block",
    "replica",
    "packet",
    "dropped",
    "retry",
    "timeout",
    "upstream",
    "connection",
    "reset",
    "worker",
    "started",
    "stopped",
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "/api/v1/orders",
    "/api/v2/users",
    "/healthz",
    "kafka",
    "broker",
    "partition",
    "offset",
    "commit",
    "rebalance",
    "gc",
    "pause",
    "heap",
    "alloc",
    "thread",
    "pool",
    "queue",
    "full",
    "backpressure",
    "tls",
    "handshake",
    "certificate",
    "expired",
]
LEVELS = ("INFO", "WARN", "ERROR", "DEBUG", "TRACE")


def synth_line(rnd: random.Random) -> bytes:
    """One 200-byte line (199 characters + LF) of plausible, varied log text."""
    head = (
        f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:"
        f"{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}.{rnd.randint(0, 999999):06d}Z "
        f"node-{rnd.randint(1, 512)} svc-{rnd.choice(WORDS)}[{rnd.randint(1, 65535)}] "
        f"{rnd.choice(LEVELS)} "
    )
    parts = [head]
    size = len(head)
    while size < LINE_BYTES:
        r = rnd.random()
        if r < 0.25:
            w = f"{rnd.choice(WORDS)}={rnd.randint(0, 10 ** rnd.randint(1, 9))}"
        elif r < 0.3:
            w = f"trace_id={rnd.getrandbits(64):016x}"
        elif r < 0.35:
            w = f"latency_ms={rnd.random() * 1000:.3f}"
        else:
            w = rnd.choice(WORDS)
        parts.append(w + " ")
        size += len(w) + 1
    return "".join(parts)[: LINE_BYTES - 1].encode() + b"\n"


def synth_chunks(count: int, seed: int = 42) -> list[tuple[bytes, int]]:
    """``count`` chunks of whole lines, each about 256 KiB, with their line counts."""
    rnd = random.Random(seed)
    per_chunk = CHUNK_BYTES // LINE_BYTES
    out = []
    for _ in range(count):
        lines = [synth_line(rnd) for _ in range(per_chunk)]
        out.append((b"".join(lines), per_chunk))
    return out


def bare_loop(chunks: list[tuple[bytes, int]], total: int, directory: str) -> float:
    """The ceiling: cut at the last LF, LZ4, CRC32C, write; no vault bookkeeping."""
    path = os.path.join(directory, "bare.bin")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    start = time.perf_counter()
    for i in range(total):
        chunk, _lines = chunks[i % len(chunks)]
        cut = chunk.rfind(b"\n") + 1
        packed = lz4.block.compress(chunk[:cut], store_size=False)
        crc = crc32c.crc32c(packed)
        os.write(fd, crc.to_bytes(4, "little") + packed)
    elapsed = time.perf_counter() - start
    os.close(fd)
    os.unlink(path)
    return elapsed


def report(
    name: str, lines: int, nbytes: int, seconds: float, **extra: object
) -> dict[str, object]:
    row: dict[str, object] = {
        "bench": "vault",
        "name": name,
        "lines": lines,
        "bytes": nbytes,
        "seconds": round(seconds, 4),
        "lines_per_second": round(lines / seconds),
        "mib_per_second": round(nbytes / seconds / 2**20, 1),
        **extra,
    }
    print(
        f"{name:<8} {row['lines_per_second']:>12,} lines/s {row['mib_per_second']:>9} MiB/s "
        f"({lines:,} lines, {nbytes / 2**20:.0f} MiB in {seconds:.2f} s)",
        file=sys.stderr,
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="raw MiB to append (default 512)")
    parser.add_argument("--fsync", default="0.1", help='"always", "never" or seconds')
    parser.add_argument("--distinct-mib", type=int, default=32, help="distinct data to cycle")
    parser.add_argument("--dir", default=None, help="parent directory for the temporary vault")
    args = parser.parse_args()
    fsync: str | float = args.fsync if args.fsync in ("always", "never") else float(args.fsync)

    chunks = synth_chunks(max(1, args.distinct_mib * 4))
    total = args.mib * 4
    rows = []
    work = tempfile.mkdtemp(prefix="vault-bench-", dir=args.dir)
    try:
        lines_total = sum(chunks[i % len(chunks)][1] for i in range(total))
        bytes_total = sum(len(chunks[i % len(chunks)][0]) for i in range(total))
        rows.append(report("bare", lines_total, bytes_total, bare_loop(chunks, total, work)))

        vault = Vault.open(os.path.join(work, "vault"), VaultOptions(fsync=fsync))
        start = time.perf_counter()
        for i in range(total):
            chunk, lines = chunks[i % len(chunks)]
            vault.append(chunk, lines=lines, codec=Codec.RAW_LINES, source="bench")
        vault.close()
        elapsed = time.perf_counter() - start
        stats = vault.statistics()
        rows.append(
            report(
                "append",
                lines_total,
                bytes_total,
                elapsed,
                fsync=str(fsync),
                segments=stats.segments,
                stored_ratio=round(stats.bytes / bytes_total, 3),
            )
        )

        vault = Vault.open(os.path.join(work, "vault"), VaultOptions(delete_replayed=False))
        reader = vault.reader(None)
        lines_read = bytes_read = 0
        start = time.perf_counter()
        while (rec := reader.next_record()) is not None:
            lines_read += rec.lines
            bytes_read += len(rec.payload)
        elapsed = time.perf_counter() - start
        vault.close()
        assert (lines_read, bytes_read) == (lines_total, bytes_total)
        rows.append(report("replay", lines_read, bytes_read, elapsed, verified="sha256+crc32c"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for row in rows:
        print(orjson.dumps(row).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

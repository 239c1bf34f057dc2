"""Shared helpers for the vault unit tests: synthetic logs, a fake clock, file surgery."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from gophership.vault import Vault, VaultRecord

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
]
LEVELS = ("INFO", "WARN", "ERROR", "DEBUG")


def synth_log(nbytes: int, seed: int = 0) -> bytes:
    """Varied, realistic-looking log lines (about 80-220 bytes each) totalling >= nbytes."""
    rnd = random.Random(seed)
    out: list[bytes] = []
    total = 0
    while total < nbytes:
        words = " ".join(
            rnd.choice(WORDS) + (f"={rnd.randint(0, 10**6)}" if rnd.random() < 0.3 else "")
            for _ in range(rnd.randint(5, 25))
        )
        line = (
            f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:"
            f"{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}.{rnd.randint(0, 999999):06d}Z "
            f"host{rnd.randint(1, 40)} app[{rnd.randint(100, 99999)}]: "
            f"{rnd.choice(LEVELS)} {words}\n"
        ).encode()
        out.append(line)
        total += len(line)
    return b"".join(out)


def chunks(data: bytes, size: int) -> list[bytes]:
    """Cut ``data`` into chunks of about ``size`` bytes ending at newlines."""
    out = []
    start = 0
    while start < len(data):
        end = data.rfind(b"\n", start, start + size) + 1
        if end <= start:
            end = min(len(data), start + size)
        out.append(data[start:end])
        start = end
    return out


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def read_all(vault: Vault, cursor: str | None = None) -> list[VaultRecord]:
    reader = vault.reader(cursor)
    out = []
    while (rec := reader.next_record()) is not None:
        out.append(rec)
    reader.close()
    return out


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))

"""A filesystem that fails on purpose: ENOSPC, EIO and short (torn) writes.

Wraps a real :class:`~gophership.vault.fs.Filesystem` (the OS one by default) and injects
faults into the calls that change the disk, either on demand (:meth:`FaultyFS.fail_next`) or
at random with a seeded RNG (``rate``), so every failing run can be replayed from its seed.
Reads are never faulted: the vault's promise under test is about what writes leave behind.
"""

from __future__ import annotations

import errno
import random
from dataclasses import dataclass, field
from typing import Final, Literal

from gophership.vault.fs import Filesystem, OsFilesystem

Fault = Literal["enospc", "eio", "short"]
Op = Literal["pwrite", "fsync", "truncate", "rename", "open_rw", "fsync_dir", "unlink"]

FAULTS: Final[tuple[Fault, ...]] = ("enospc", "eio", "short")
FAULTABLE_OPS: Final[tuple[Op, ...]] = ("pwrite", "fsync", "truncate", "rename", "open_rw")


@dataclass(slots=True)
class FaultStatistics:
    """How many faults of each kind were injected, by operation."""

    injected: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """All injected faults."""
        return sum(self.injected.values())


class FaultyFS:
    """A :class:`Filesystem` that injects faults into writes, fsyncs, truncates and renames.

    Args:
        inner: the filesystem that does the real work (``OsFilesystem()`` by default).
        rate: probability in [0, 1] that a faultable call fails (0 = only ``fail_next``).
        seed: seeds the RNG so a failing run can be reproduced.
        faults: the kinds drawn at random; a ``short`` fault on a non-write call is EIO.
        ops: the operations that may fail at random.
    """

    def __init__(
        self,
        inner: Filesystem | None = None,
        *,
        rate: float = 0.0,
        seed: int = 0,
        faults: tuple[Fault, ...] = FAULTS,
        ops: tuple[Op, ...] = FAULTABLE_OPS,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        self._inner = inner or OsFilesystem()
        self._rng = random.Random(seed)  # noqa: S311  # reproducible faults, not crypto
        self.rate = rate
        self._faults = faults
        self._ops = ops
        self._queued: dict[str, list[Fault]] = {}
        self.stats = FaultStatistics()

    def fail_next(self, op: Op, fault: Fault, times: int = 1) -> None:
        """Make the next ``times`` calls of ``op`` fail with ``fault``."""
        self._queued.setdefault(op, []).extend([fault] * times)

    def clear(self) -> None:
        """Stop injecting: drop queued faults and set the random rate to 0."""
        self._queued.clear()
        self.rate = 0.0

    def _draw(self, op: Op) -> Fault | None:
        queue = self._queued.get(op)
        if queue:
            return queue.pop(0)
        if self.rate and op in self._ops and self._rng.random() < self.rate:
            return self._rng.choice(self._faults)
        return None

    def _raise(self, op: Op, fault: Fault) -> None:
        self.stats.injected[f"{op}:{fault}"] = self.stats.injected.get(f"{op}:{fault}", 0) + 1
        code = errno.ENOSPC if fault == "enospc" else errno.EIO
        raise OSError(code, f"injected {fault} in {op}")

    def _check(self, op: Op) -> None:
        fault = self._draw(op)
        if fault is not None:
            self._raise(op, fault)

    # ---- faultable calls

    def open_rw(self, path: str, *, create: bool) -> int:
        self._check("open_rw")
        return self._inner.open_rw(path, create=create)

    def pwrite(self, fd: int, data: bytes | memoryview, offset: int) -> int:
        fault = self._draw("pwrite")
        if fault == "short" and len(data) > 1:
            # A torn write: part of the data reaches the file, then the call "succeeds" short.
            self.stats.injected["pwrite:short"] = self.stats.injected.get("pwrite:short", 0) + 1
            cut = self._rng.randrange(1, len(data))
            return self._inner.pwrite(fd, memoryview(data)[:cut], offset)
        if fault is not None:
            if fault == "enospc" and len(data) > 1 and self._rng.random() < 0.5:
                # ENOSPC after part of the data was written: the tail of the file is garbage.
                self._inner.pwrite(
                    fd, memoryview(data)[: self._rng.randrange(1, len(data))], offset
                )
            self._raise("pwrite", fault)
        return self._inner.pwrite(fd, data, offset)

    def fsync(self, fd: int) -> None:
        self._check("fsync")
        self._inner.fsync(fd)

    def fsync_dir(self, path: str) -> None:
        self._check("fsync_dir")
        self._inner.fsync_dir(path)

    def truncate(self, fd: int, size: int) -> None:
        self._check("truncate")
        self._inner.truncate(fd, size)

    def rename(self, src: str, dst: str) -> None:
        self._check("rename")
        self._inner.rename(src, dst)

    def unlink(self, path: str) -> None:
        self._check("unlink")
        self._inner.unlink(path)

    # ---- pass-through calls

    def open_ro(self, path: str) -> int:
        return self._inner.open_ro(path)

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        return self._inner.pread(fd, size, offset)

    def size(self, fd: int) -> int:
        return self._inner.size(fd)

    def close(self, fd: int) -> None:
        self._inner.close(fd)

    def listdir(self, path: str) -> list[str]:
        return self._inner.listdir(path)

    def makedirs(self, path: str) -> None:
        self._inner.makedirs(path)

    def read_small(self, path: str) -> bytes | None:
        return self._inner.read_small(path)

    def lock(self, path: str) -> int:
        return self._inner.lock(path)

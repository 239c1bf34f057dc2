"""The few filesystem calls the vault makes, behind a Protocol so tests can inject faults.

Rules:

1. Every call the vault makes on the disk goes through a :class:`Filesystem`; the vault never
   calls ``os`` directly. ``gophership.testing.faulty_fs.FaultyFS`` swaps in ENOSPC, EIO and
   short writes.
2. Calls raise ``OSError`` exactly as ``os`` does; the vault translates them into
   :class:`~gophership.errors.VaultError` once.
3. Files are plain integer descriptors; writes are positional (``pwrite``), so a failed write
   never leaves a file position to repair.
"""

from __future__ import annotations

import fcntl
import os
from typing import Protocol


class Filesystem(Protocol):
    """What the vault needs from a filesystem."""

    def open_rw(self, path: str, *, create: bool) -> int:
        """Open ``path`` for reading and writing (creating it when ``create``)."""
        ...

    def open_ro(self, path: str) -> int:
        """Open ``path`` read-only."""
        ...

    def pwrite(self, fd: int, data: bytes | memoryview, offset: int) -> int:
        """Write at ``offset``; returns the bytes written (may be short)."""
        ...

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        """Read up to ``size`` bytes at ``offset`` (short at end of file)."""
        ...

    def fsync(self, fd: int) -> None:
        """Make the file's data durable (``fdatasync``)."""
        ...

    def fsync_dir(self, path: str) -> None:
        """Make a directory's entries durable."""
        ...

    def truncate(self, fd: int, size: int) -> None:
        """Cut the file to ``size`` bytes."""
        ...

    def size(self, fd: int) -> int:
        """Current size of an open file."""
        ...

    def close(self, fd: int) -> None:
        """Close a descriptor."""
        ...

    def rename(self, src: str, dst: str) -> None:
        """Atomically replace ``dst`` with ``src``."""
        ...

    def unlink(self, path: str) -> None:
        """Remove a file."""
        ...

    def listdir(self, path: str) -> list[str]:
        """Names in a directory."""
        ...

    def makedirs(self, path: str) -> None:
        """Create a directory and its parents (no error when it exists)."""
        ...

    def read_small(self, path: str) -> bytes | None:
        """Whole content of a small file, or ``None`` when it does not exist."""
        ...

    def lock(self, path: str) -> int:
        """Take an exclusive advisory lock on ``path`` without blocking; returns its fd.

        Raises:
            BlockingIOError: another process holds the lock.
        """
        ...


class OsFilesystem:
    """The real filesystem through ``os``."""

    def open_rw(self, path: str, *, create: bool) -> int:
        flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        return os.open(path, flags, 0o640)

    def open_ro(self, path: str) -> int:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)

    def pwrite(self, fd: int, data: bytes | memoryview, offset: int) -> int:
        return os.pwrite(fd, data, offset)

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        return os.pread(fd, size, offset)

    def fsync(self, fd: int) -> None:
        os.fdatasync(fd)

    def fsync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def truncate(self, fd: int, size: int) -> None:
        os.ftruncate(fd, size)

    def size(self, fd: int) -> int:
        return os.fstat(fd).st_size

    def close(self, fd: int) -> None:
        os.close(fd)

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def read_small(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def lock(self, path: str) -> int:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
        return fd

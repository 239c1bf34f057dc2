"""The file sink: appends each batch's payload line to a file, rotating by size.

Rules:

1. Every open, write, rotation and fsync happens on the sink's own thread
   (:class:`~gophership.sinks.thread.SinkThread`), so the event loop never waits on the disk.
   A FIFO with no reader blocks that thread in ``open``, and only it.
2. Writes are unbuffered (one ``write`` loop per batch): when ``send`` returns the bytes are in
   the kernel. With ``fsync=True`` they are also on the disk.
3. Rotation: before a write that would take a regular file past ``max_file_bytes``, the file
   is renamed ``path`` → ``path.1`` → ... → ``path.<max_files>`` and the oldest is deleted. A
   batch is never split, so a file passes ``max_file_bytes`` only when it holds one batch
   larger than it. FIFOs and character devices are never rotated.
4. Errors: ``OSError`` becomes ``RetryableSinkError`` or ``FatalSinkError``
   (:func:`~gophership.sinks.base.translate_os_error`) and the file is reopened on the next
   send. A write that fails half-way leaves a torn line; the next write starts with a newline
   so the torn line stays alone and the new one is whole.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Final

from gophership.errors import ClosedResourceError
from gophership.sinks.base import ExportBatch, SinkCounters, SinkStatistics, translate_os_error
from gophership.sinks.thread import SinkThread

if TYPE_CHECKING:
    from io import FileIO

MiB: Final = 1 << 20


class FileSink:
    """Appends payload lines to ``path``, rotating by size.

    Bound: at most ``max_files + 1`` files of about ``max_file_bytes`` each.

    Args:
        name: The sink's configured name.
        path: The live file; parent directories are created on first send.
        max_file_bytes: Rotate before a write would pass this size (>= 1).
        max_files: Rotated files kept besides the live one (>= 1); the oldest is deleted.
        fsync: ``fsync`` after every batch (off by default: the kernel has the bytes).
        close_timeout_seconds: How long :meth:`aclose` waits for a write in progress.
    """

    def __init__(
        self,
        name: str,
        path: str | Path,
        *,
        max_file_bytes: int = 100 * MiB,
        max_files: int = 5,
        fsync: bool = False,
        close_timeout_seconds: float = 5.0,
    ) -> None:
        if max_file_bytes < 1:
            raise ValueError(f"max_file_bytes must be >= 1, got {max_file_bytes!r}")
        if max_files < 1:
            raise ValueError(f"max_files must be >= 1, got {max_files!r}")
        self.name = name
        self.path = Path(path)
        self._max_file_bytes = max_file_bytes
        self._max_files = max_files
        self._fsync = fsync
        self._close_timeout = close_timeout_seconds
        self._thread = SinkThread(f"sink-{name}")
        self._counters = SinkCounters()
        # Owned by the sink thread:
        self._file: FileIO | None = None
        self._size = 0
        self._rotatable = False
        self._torn = False

    async def send(self, batch: ExportBatch) -> None:
        if self._thread.closed:
            raise ClosedResourceError(f"sink {self.name!r} is closed")
        self._counters.attempted(batch)
        await self._thread.run(lambda: self._write(batch))

    async def aclose(self) -> None:
        """Close the file after the writes in progress, waiting at most the close timeout."""
        await self._thread.close(self._close_file, self._close_timeout)

    def statistics(self) -> SinkStatistics:
        return self._counters.snapshot()

    # -- on the sink thread ------------------------------------------------------------

    def _write(self, batch: ExportBatch) -> None:
        try:
            f = self._file if self._file is not None else self._open()
            if (
                self._rotatable
                and self._size > 0
                and self._size + len(batch.payload) > self._max_file_bytes
            ):
                f = self._rotate()
            self._write_all(f, b"\n" + batch.payload if self._torn else batch.payload)
            if self._fsync:
                os.fsync(f.fileno())
        except OSError as exc:
            self._counters.failed(batch)
            self._close_file()
            raise translate_os_error(exc, self.name) from exc
        self._counters.sent(batch)

    def _write_all(self, f: FileIO, data: bytes) -> None:
        view = memoryview(data)
        written = 0
        try:
            while written < len(view):
                n = f.write(view[written:])
                assert n is not None  # a blocking file never returns None
                written += n
        finally:
            self._size += written
            if written:
                self._torn = written < len(view)

    def _open(self) -> FileIO:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "ab", buffering=0)  # noqa: SIM115  # kept open across sends
        try:
            st = os.fstat(f.fileno())
        except OSError:
            f.close()
            raise
        self._file = f
        self._size = st.st_size
        self._rotatable = stat.S_ISREG(st.st_mode)
        return f

    def _rotate(self) -> FileIO:
        self._close_file()
        for i in range(self._max_files - 1, 0, -1):
            older = self._numbered(i)
            if older.exists():
                older.replace(self._numbered(i + 1))
        self.path.replace(self._numbered(1))
        self._counters.rotations += 1
        self._torn = False  # the torn line stays in the rotated file
        return self._open()

    def _numbered(self, i: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{i}")

    def _close_file(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            with contextlib.suppress(OSError):
                f.close()

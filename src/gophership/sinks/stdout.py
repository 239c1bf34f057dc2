"""The stdout sink: writes each payload line to standard output, off the event loop.

The write and flush run on the sink's own thread (a pipe to a slow reader blocks that thread,
not the loop). ``aclose`` flushes but never closes standard output, which the process owns.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from gophership.errors import ClosedResourceError, FatalSinkError
from gophership.sinks.base import ExportBatch, SinkCounters, SinkStatistics, translate_os_error
from gophership.sinks.thread import SinkThread

if TYPE_CHECKING:
    from typing import BinaryIO


class StdoutSink:
    """Writes payload lines to ``stream`` (default: ``sys.stdout.buffer``, looked up per write).

    Args:
        name: The sink's configured name.
        stream: A binary stream to write to instead of standard output.
        close_timeout_seconds: How long :meth:`aclose` waits for a write in progress.
    """

    def __init__(
        self, name: str, *, stream: BinaryIO | None = None, close_timeout_seconds: float = 5.0
    ) -> None:
        self.name = name
        self._stream = stream
        self._close_timeout = close_timeout_seconds
        self._thread = SinkThread(f"sink-{name}")
        self._counters = SinkCounters()

    async def send(self, batch: ExportBatch) -> None:
        if self._thread.closed:
            raise ClosedResourceError(f"sink {self.name!r} is closed")
        self._counters.attempted(batch)
        await self._thread.run(lambda: self._write(batch))

    async def aclose(self) -> None:
        """Flush after the writes in progress, waiting at most the close timeout."""
        await self._thread.close(self._flush, self._close_timeout)

    def statistics(self) -> SinkStatistics:
        return self._counters.snapshot()

    def _target(self) -> BinaryIO:
        return self._stream if self._stream is not None else sys.stdout.buffer

    def _write(self, batch: ExportBatch) -> None:
        try:
            stream = self._target()
            stream.write(batch.payload)
            stream.flush()
        except OSError as exc:
            self._counters.failed(batch)
            raise translate_os_error(exc, self.name) from exc
        except ValueError as exc:  # "I/O operation on closed file": it will not reopen
            self._counters.failed(batch)
            raise FatalSinkError(f"sink {self.name!r}: {exc}") from exc
        self._counters.sent(batch)

    def _flush(self) -> None:
        try:
            self._target().flush()
        except (OSError, ValueError):  # closing: nothing left to report to
            return

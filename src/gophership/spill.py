"""The red path's writer: one thread that appends chunks to the Raw Vault.

The pivot never waits on the disk: it hands a chunk to :meth:`VaultSpiller.submit` (a deque
append under a lock) and goes on. The thread coalesces consecutive chunks of one source into
records of up to ``record_bytes`` (never past a chunk ending in a partial frame) and appends
them; LZ4, CRC32C and ``write`` release the GIL, so this work overlaps with the event loop.

Bounds and what happens at them:

* ``max_pending_bytes`` of chunks may wait for the thread. Past it, ``submit`` still takes the
  chunk (nothing received is dropped) but returns False, and the caller pauses the source that
  sent it; sources resume when the backlog falls under half the bound.
* The vault's byte cap: :class:`~gophership.errors.VaultFull` keeps the chunk pending, marks the
  spiller full (sources pause), and the thread retries every ``retry_seconds`` until replay or
  an operator frees space.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gophership.errors import VaultError, VaultFull
from gophership.record import Codec

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from gophership.buffer import QueuedChunk
    from gophership.vault import Vault

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SpillerStatistics:
    """Numbers of a :class:`VaultSpiller` at one instant."""

    pending_bytes: int
    pending_chunks: int
    max_pending_bytes: int
    submitted_chunks_total: int
    submitted_bytes_total: int
    full: bool
    append_errors_total: int
    lost_frames_total: int


class VaultSpiller:
    """Appends chunks to a :class:`Vault` from a dedicated thread."""

    def __init__(
        self,
        vault: Vault,
        *,
        max_pending_bytes: int,
        on_pressure: Callable[[bool], None],
        record_bytes: int = 256 * 1024,
        retry_seconds: float = 0.1,
        tick_seconds: float = 0.1,
    ) -> None:
        self.vault = vault
        self._max_pending = max_pending_bytes
        self._on_pressure = on_pressure
        self._record_bytes = record_bytes
        self._retry = retry_seconds
        self._tick = tick_seconds
        self._cond = threading.Condition()
        self._pending: deque[QueuedChunk] = deque()
        self._pending_bytes = 0
        self._in_flight = 0
        self._submitted_chunks = 0
        self._submitted_bytes = 0
        self._append_errors = 0
        self._lost_frames = 0
        self._full = False
        self._pressured = False
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="vault-spiller", daemon=True)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the thread; pressure changes are reported on ``loop``."""
        self._loop = loop
        self._thread.start()

    def submit(self, item: QueuedChunk) -> bool:
        """Queue ``item`` for the vault; False means "over budget: pause the sender"."""
        n = len(item.data)
        with self._cond:
            self._pending.append(item)
            self._pending_bytes += n
            self._submitted_chunks += 1
            self._submitted_bytes += n
            self._cond.notify()
            ok = self._pending_bytes <= self._max_pending and not self._full
            if not ok and not self._pressured:
                self._pressured = True
                self._report(True)
        return ok

    @property
    def pending_bytes(self) -> int:
        """Bytes submitted and not yet appended (read without the lock: an int is atomic)."""
        return self._pending_bytes

    @property
    def pressured(self) -> bool:
        """True while sources should stay paused."""
        return self._pressured

    def flush(self, timeout: float | None = None, *, give_up_when_full: bool = False) -> bool:
        """Block until everything submitted is in the vault; False if it did not get there.

        Gives up at ``timeout``, and as soon as the vault is full when ``give_up_when_full``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending or self._in_flight:
                if give_up_when_full and self._full:
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1) if remaining is not None else 0.1)
        return True

    def close(self, timeout: float | None = None) -> int:
        """Flush, stop the thread and close the vault (seals the active segment).

        Waits for the backlog for at most ``timeout`` (None: as long as the disk takes), and
        not at all once the vault is full: nothing frees space during a stop. Frames left
        behind are counted as lost (``lost_frames_total``, logged) and returned.
        """
        self.flush(timeout, give_up_when_full=True)
        with self._cond:
            self._stopping = True
            self._lost_frames += sum(c.frames for c in self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        lost = self._lost_frames  # the thread is gone: nothing else writes it now
        if lost:
            log.error("Vault could not take every chunk before shutdown.", extra={"frames": lost})
        self.vault.close()
        return lost

    def statistics(self) -> SpillerStatistics:
        with self._cond:
            return SpillerStatistics(
                pending_bytes=self._pending_bytes,
                pending_chunks=len(self._pending),
                max_pending_bytes=self._max_pending,
                submitted_chunks_total=self._submitted_chunks,
                submitted_bytes_total=self._submitted_bytes,
                full=self._full,
                append_errors_total=self._append_errors,
                lost_frames_total=self._lost_frames,
            )

    # -- the thread ---------------------------------------------------------------------

    def _report(self, pressured: bool) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_pressure, pressured)

    def _take(self) -> list[QueuedChunk] | None:
        """Wait for work; return a run of chunks of one source/codec, or None to stop."""
        with self._cond:
            while not self._pending:
                if self._stopping:
                    return None
                self._cond.wait(self._tick)
                if not self._pending:
                    return []
            first = self._pending.popleft()
            run = [first]
            size = len(first.data)
            while self._pending and size < self._record_bytes and _ends_frame(run[-1]):
                nxt = self._pending[0]
                if nxt.source != first.source or nxt.codec != first.codec:
                    break
                if size + len(nxt.data) > self._record_bytes:
                    break
                run.append(self._pending.popleft())
                size += len(nxt.data)
            self._in_flight = size
            return run

    def _run(self) -> None:
        while True:
            run = self._take()
            if run is None:
                return
            if run:
                self._append(run)
            try:
                self.vault.tick()
            except VaultError:
                log.exception("Vault maintenance failed.")

    def _append(self, run: list[QueuedChunk]) -> None:
        first = run[0]
        data = first.data if len(run) == 1 else b"".join(c.data for c in run)
        frames = sum(c.frames for c in run)
        while True:
            try:
                self.vault.append(
                    data,
                    lines=frames,
                    codec=int(first.codec),
                    source=first.source,
                    received_unix_nano=first.received_unix_nano,
                )
            except VaultFull:
                self._set_full(True)
            except VaultError:
                self._append_errors += 1
                log.exception("Vault append failed; retrying.")
            else:
                break
            with self._cond:
                if self._stopping:
                    self._lost_frames += frames
                    self._in_flight = 0
                    self._cond.notify_all()
                    return
                self._cond.wait(self._retry)
        with self._cond:
            self._pending_bytes -= len(data)
            self._in_flight = 0
            self._cond.notify_all()
            relieved = self._pressured and self._pending_bytes <= self._max_pending // 2
        if self._full:
            self._set_full(False)
        elif relieved:
            with self._cond:
                self._pressured = False
            self._report(False)

    def _set_full(self, full: bool) -> None:
        with self._cond:
            if self._full == full:
                return
            self._full = full
            self._pressured = full or self._pending_bytes > self._max_pending
            pressured = self._pressured
        if full:
            log.warning("Vault is full; pausing sources that can be pushed back.")
        self._report(pressured)


def _ends_frame(chunk: QueuedChunk) -> bool:
    """False when ``chunk`` ends with an undelimited frame (a stream's partial last frame).

    Joined with the next chunk, that frame would swallow the next chunk's first line.
    """
    if chunk.codec is Codec.SYSLOG_OCTET or chunk.codec is Codec.OTLP_PROTO:
        return True
    if chunk.codec is Codec.OTLP_JSON:  # two JSON documents joined are not one request
        return False
    last = chunk.data[-1:]
    return last == b"\n" or (last == b"\0" and chunk.codec is Codec.SYSLOG_LINE)

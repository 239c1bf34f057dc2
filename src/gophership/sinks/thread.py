"""A sink's blocking I/O on one dedicated daemon thread, off the event loop.

Rules:

1. Jobs run one at a time, in the order they were submitted, so a sink's writes stay ordered
   without a lock.
2. The thread is a daemon and is not shared: a job blocked forever (``open`` of a FIFO that no
   one reads) blocks only this sink, never the loop, the default executor or interpreter exit.
3. Cancelling the awaiting coroutine never interrupts a running job (a write cannot be torn
   back); a job not yet started is skipped. The final job given to :meth:`SinkThread.close`
   always runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from gophership.errors import ClosedResourceError

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


@dataclass(slots=True)
class _Job(Generic[T]):
    fn: Callable[[], T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop
    final: bool = False
    cancelled: bool = field(default=False)


def _deliver(future: asyncio.Future[T], result: T | None, exc: BaseException | None) -> None:
    if future.done():  # the awaiting coroutine was cancelled meanwhile
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]  # T when exc is None


class SinkThread:
    """Runs callables on one daemon thread; ``await run(fn)`` returns ``fn()``'s result."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job[Any]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the thread after every job submitted before it.

        Raises:
            ClosedResourceError: After :meth:`close`.
        """
        if self._closed:
            raise ClosedResourceError(f"{self._name} is closed")
        job = self._submit(fn, final=False)
        try:
            return await job.future
        except asyncio.CancelledError:
            job.cancelled = True
            raise

    async def close(self, final: Callable[[], None], timeout_seconds: float) -> bool:
        """Run ``final`` after every queued job, then end the thread; idempotent.

        Waits at most ``timeout_seconds`` (a job may be blocked forever); past it returns
        False and the thread finishes on its own. ``final`` runs even if the caller is
        cancelled or times out.
        """
        if self._closed:
            return True
        self._closed = True
        job = self._submit(final, final=True)
        try:
            await asyncio.wait_for(asyncio.shield(job.future), timeout_seconds)
        except TimeoutError:
            return False
        return True

    def _submit(self, fn: Callable[[], T], *, final: bool) -> _Job[T]:
        loop = asyncio.get_running_loop()
        job = _Job(fn, loop.create_future(), loop, final=final)
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
            self._thread.start()
        self._jobs.put(job)
        return job

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job.cancelled and not job.final:
                continue
            result: Any = None
            error: BaseException | None = None
            try:
                result = job.fn()
            except Exception as exc:  # noqa: BLE001  # handed to the awaiting coroutine
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
                job.loop.call_soon_threadsafe(_deliver, job.future, result, error)
            if job.final:
                return

"""What every sink is: the :class:`Sink` protocol, its batch and its statistics.

Rules:

1. ``send`` delivers one :class:`ExportBatch` or raises
   :class:`~gophership.errors.RetryableSinkError` / :class:`~gophership.errors.FatalSinkError`.
   Foreign exceptions are translated once, in the sink (:func:`translate_os_error` for the
   file-like ones), always ``raise Ours(...) from exc``.
2. A sink does not retry: the runner does, with :mod:`gophership.sinks.retry`. A retried batch
   carries ``attempt > 0`` so the sink can count retries.
3. ``aclose`` is idempotent; ``send`` after it raises
   :class:`~gophership.errors.ClosedResourceError`. ``statistics()`` works before and after.
4. :func:`gophership.testing.conformance.check_sink` holds every sink to these rules.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from gophership.errors import FatalSinkError, RetryableSinkError, SinkError

if TYPE_CHECKING:
    from gophership.record import ResourceLogsJSON


@dataclass(frozen=True, slots=True)
class ExportBatch:
    """One encoded batch for a sink.

    Attributes:
        payload: One OTLP/JSON ``ExportLogsServiceRequest`` on one line ending in a newline.
        records: How many log records the payload holds.
        attempt: 0 on the first send, n on the n-th retry of the same batch.
        resource_logs: The same request before encoding (OTLP/JSON-shaped ``ResourceLogs``
            dicts), for sinks that encode it another way (``otlp``: protobuf); ``None`` when
            only the payload is known. Never mutated.
    """

    payload: bytes
    records: int
    attempt: int = 0
    resource_logs: list[ResourceLogsJSON] | None = None


@dataclass(frozen=True, slots=True)
class SinkStatistics:
    """Numbers of one sink at one instant (every field a running total).

    ``failed_*`` count failed ``send`` calls, so one batch retried three times counts three
    failures; ``retries`` counts sends of batches with ``attempt > 0``; ``rotations`` is only
    non-zero for sinks that rotate files.
    """

    sent_batches: int = 0
    sent_records: int = 0
    sent_bytes: int = 0
    failed_batches: int = 0
    failed_records: int = 0
    retries: int = 0
    rotations: int = 0
    rejected_records: int = 0
    """Records the receiver refused for good (``otlp``: HTTP 400/413, gRPC INVALID_ARGUMENT,
    or ``partial_success``); logged and counted, not retried."""


class Sink(Protocol):
    """Where encoded batches go; one instance per configured sink."""

    name: str

    async def send(self, batch: ExportBatch) -> None:
        """Deliver ``batch``; raise ``RetryableSinkError`` or ``FatalSinkError`` on failure.

        Raises:
            ClosedResourceError: After :meth:`aclose`.
        """
        ...

    async def aclose(self) -> None:
        """Release the sink; idempotent. Later sends raise ``ClosedResourceError``."""
        ...

    def statistics(self) -> SinkStatistics: ...


class SinkCounters:
    """The mutable running totals behind :class:`SinkStatistics` (one writer at a time)."""

    __slots__ = (
        "failed_batches",
        "failed_records",
        "rejected_records",
        "retries",
        "rotations",
        "sent_batches",
        "sent_bytes",
        "sent_records",
    )

    def __init__(self) -> None:
        self.sent_batches = 0
        self.sent_records = 0
        self.sent_bytes = 0
        self.failed_batches = 0
        self.failed_records = 0
        self.retries = 0
        self.rotations = 0
        self.rejected_records = 0

    def attempted(self, batch: ExportBatch) -> None:
        """Count a send call (a retry when ``batch.attempt > 0``)."""
        if batch.attempt > 0:
            self.retries += 1

    def sent(self, batch: ExportBatch) -> None:
        self.sent_batches += 1
        self.sent_records += batch.records
        self.sent_bytes += len(batch.payload)

    def failed(self, batch: ExportBatch) -> None:
        self.failed_batches += 1
        self.failed_records += batch.records

    def snapshot(self) -> SinkStatistics:
        return SinkStatistics(
            sent_batches=self.sent_batches,
            sent_records=self.sent_records,
            sent_bytes=self.sent_bytes,
            failed_batches=self.failed_batches,
            failed_records=self.failed_records,
            retries=self.retries,
            rotations=self.rotations,
            rejected_records=self.rejected_records,
        )


FATAL_ERRNOS: Final = frozenset(
    {
        errno.EACCES,  # permission denied: an operator must act
        errno.EPERM,
        errno.EISDIR,  # the path is a directory
        errno.ENOTDIR,  # a parent is a file
        errno.EEXIST,  # the parent directory to create is a file
        errno.EROFS,  # read-only file system
        errno.ENAMETOOLONG,
        errno.ELOOP,
        errno.EINVAL,
        errno.EBADF,
    }
)
"""``OSError`` numbers that retrying cannot fix. Every other one (ENOSPC, EIO, EAGAIN, EPIPE,
ENOENT after a parent was removed, EDQUOT, ...) is retryable: disks fill up and drain, pipes
get a new reader, and a sink that stays down is spilled to the vault meanwhile."""


def translate_os_error(exc: OSError, sink: str) -> SinkError:
    """Map an ``OSError`` from sink I/O to our tree (the caller raises it ``from exc``)."""
    code = errno.errorcode.get(exc.errno or 0, "unknown")
    message = f"sink {sink!r}: {code}: {exc.strerror or exc}"
    if exc.errno in FATAL_ERRNOS:
        return FatalSinkError(message)
    return RetryableSinkError(message)

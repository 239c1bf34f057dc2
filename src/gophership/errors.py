"""The whole GopherShip exception tree.

::

    GopherShipError
     ├── ConfigError              bad config: fails at start, names the file and the key
     ├── ProtocolError            bad peer bytes: counted, the frame skipped, the connection kept
     │    └── FrameTooLarge
     ├── VaultError               the Raw Vault
     │    ├── CorruptRecord       CRC mismatch: counted, skipped (or segment quarantined)
     │    ├── CorruptSegment      sealed segment fails its SHA-256 or structure check
     │    └── VaultFull           the byte cap is reached: the caller must push back
     ├── SinkError                an export failed
     │    ├── RetryableSinkError  retry with backoff
     │    └── FatalSinkError      do not retry this batch
     ├── BufferFull               a bounded queue has no room: the chunk goes to the vault
     ├── ControlError             gs-ctl could not talk to the daemon, or the daemon refused
     ├── ClosedResourceError      used after close()
     └── BrokenResourceError      the underlying resource failed and cannot be used again

Each class has a bounded ``reason`` that becomes a metric label, so the label set is closed.
Foreign exceptions are translated once, at the edge, with ``raise Ours(...) from exc``.
"""

from __future__ import annotations

from typing import ClassVar


class GopherShipError(Exception):
    """Base of every error GopherShip raises on purpose."""

    reason: ClassVar[str] = "error"


class ConfigError(GopherShipError):
    """The configuration is invalid; the message names the file and the key."""

    reason = "config"


class ProtocolError(GopherShipError):
    """A peer sent bytes that cannot be framed or parsed."""

    reason = "protocol"


class FrameTooLarge(ProtocolError):
    """A frame exceeded ``max_frame_bytes``; it is discarded and counted."""

    reason = "frame_too_large"


class VaultError(GopherShipError):
    """The Raw Vault failed an operation."""

    reason = "vault"


class CorruptRecord(VaultError):
    """A vault record failed its CRC32C or structure check."""

    reason = "corrupt_record"


class CorruptSegment(VaultError):
    """A sealed vault segment failed its SHA-256 or structure check."""

    reason = "corrupt_segment"


class VaultFull(VaultError):
    """Appending would pass the vault's byte cap; nothing was written.

    The caller acts on it: stop reading from sources that can be pushed back (TCP, unix
    streams), and count what cannot be (UDP datagrams) as rejected.
    """

    reason = "vault_full"


class SinkError(GopherShipError):
    """A sink failed to export a batch."""

    reason = "sink"


class RetryableSinkError(SinkError):
    """The export may succeed if retried later.

    ``retry_after`` (seconds) is the receiver's own hint (HTTP ``Retry-After``, gRPC
    ``RetryInfo``): the runner waits at least that long before the next attempt.
    """

    reason = "retryable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalSinkError(SinkError):
    """The export will not succeed if retried."""

    reason = "fatal"


class BufferFull(GopherShipError):
    """A bounded queue cannot take the item without passing its budget (``put_nowait``)."""

    reason = "buffer_full"


class ControlError(GopherShipError):
    """The control plane refused a request or could not be reached."""

    reason = "control"


class ClosedResourceError(GopherShipError):
    """A resource was used after it was closed."""

    reason = "closed"


class BrokenResourceError(GopherShipError):
    """A resource failed and cannot be used again."""

    reason = "broken"


class OtlpDecodeError(ProtocolError):
    """An OTLP request (protobuf or JSON) does not decode."""

    reason = "otlp_invalid"

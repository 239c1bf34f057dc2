"""Retry policy, kept out of the retry loop (Vector ``RetryLogic``): pure, no I/O, no clock.

Rules:

1. :func:`classify` decides from the exception alone: ``RetryableSinkError`` is retried,
   everything else (``FatalSinkError``, ``ClosedResourceError``, anything foreign that escaped
   translation) is given up on. The loop must re-raise ``CancelledError`` before classifying.
2. :func:`backoff` is exponential, capped at ``maximum``, with ±``jitter`` spread drawn from the
   ``random.Random`` passed in, so tests seed it and runs with many sinks do not retry in step.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from gophership.errors import RetryableSinkError

if TYPE_CHECKING:
    import random


class RetryAction(enum.Enum):
    """What the retry loop does with a failed batch."""

    RETRY = "retry"
    GIVE_UP = "give_up"


def classify(exc: BaseException) -> RetryAction:
    """RETRY for :class:`~gophership.errors.RetryableSinkError`, GIVE_UP for anything else."""
    if isinstance(exc, RetryableSinkError):
        return RetryAction.RETRY
    return RetryAction.GIVE_UP


def backoff(
    attempt: int,
    rng: random.Random,
    *,
    initial: float = 0.1,
    maximum: float = 5.0,
    multiplier: float = 2.0,
    jitter: float = 0.2,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry).

    The base delay is ``initial * multiplier**attempt`` capped at ``maximum``; the result is
    drawn uniformly from ``[base * (1 - jitter), base * (1 + jitter)]`` and never exceeds
    ``maximum``, however large ``attempt`` is.

    Raises:
        ValueError: Unless ``attempt >= 0``, ``0 < initial <= maximum``, ``multiplier >= 1``
            and ``0 <= jitter < 1``.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt!r}")
    if not 0 < initial <= maximum:
        raise ValueError(f"need 0 < initial <= maximum, got {initial!r}, {maximum!r}")
    if not multiplier >= 1:
        raise ValueError(f"multiplier must be >= 1, got {multiplier!r}")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
    try:
        base = min(maximum, initial * multiplier**attempt)
    except OverflowError:  # float range exceeded long after the cap
        base = maximum
    return rng.uniform(base * (1 - jitter), min(maximum, base * (1 + jitter)))

from __future__ import annotations

import asyncio
import random

import pytest

from gophership.errors import (
    BrokenResourceError,
    ClosedResourceError,
    FatalSinkError,
    RetryableSinkError,
)
from gophership.sinks.retry import RetryAction, backoff, classify


@pytest.mark.parametrize(
    ("exc", "action"),
    [
        (RetryableSinkError("disk full"), RetryAction.RETRY),
        (FatalSinkError("denied"), RetryAction.GIVE_UP),
        (ClosedResourceError("closed"), RetryAction.GIVE_UP),
        (BrokenResourceError("broken"), RetryAction.GIVE_UP),
        (OSError(28, "untranslated"), RetryAction.GIVE_UP),
        (asyncio.CancelledError(), RetryAction.GIVE_UP),
    ],
)
def test_classify(exc: BaseException, action: RetryAction) -> None:
    assert classify(exc) is action


def test_backoff_is_reproducible_with_a_seed() -> None:
    a = [backoff(i, random.Random(42)) for i in range(8)]
    b = [backoff(i, random.Random(42)) for i in range(8)]
    assert a == b
    rng = random.Random(7)
    c = [backoff(i, rng) for i in range(8)]
    rng = random.Random(7)
    assert c == [backoff(i, rng) for i in range(8)]


def test_backoff_without_jitter_is_exponential_then_capped() -> None:
    rng = random.Random(0)
    got = [backoff(i, rng, initial=0.1, maximum=1.0, jitter=0.0) for i in range(6)]
    assert got == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_backoff_jitter_stays_within_twenty_percent_and_under_the_cap() -> None:
    rng = random.Random(1234)
    for attempt in range(40):
        base = min(5.0, 0.1 * 2.0**attempt)
        for _ in range(50):
            d = backoff(attempt, rng)
            assert base * 0.8 <= d <= min(5.0, base * 1.2)
            assert d <= 5.0


def test_backoff_jitter_spreads() -> None:
    rng = random.Random(99)
    values = {round(backoff(0, rng), 6) for _ in range(100)}
    assert len(values) > 50
    assert min(values) < 0.09 < 0.11 < max(values)


def test_backoff_huge_attempt_is_the_cap() -> None:
    rng = random.Random(3)
    d = backoff(10**6, rng, initial=0.5, maximum=30.0)
    assert 30.0 * 0.8 <= d <= 30.0


def test_backoff_multiplier_one_is_constant() -> None:
    rng = random.Random(5)
    assert backoff(50, rng, initial=2.0, maximum=10.0, multiplier=1.0, jitter=0.0) == 2.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempt": -1},
        {"initial": 0.0},
        {"initial": 6.0},
        {"multiplier": 0.5},
        {"jitter": -0.1},
        {"jitter": 1.0},
        {"initial": float("nan")},
    ],
)
def test_backoff_rejects_bad_arguments(kwargs: dict[str, float]) -> None:
    attempt = int(kwargs.pop("attempt", 0))
    with pytest.raises(ValueError, match=r"must|need"):
        backoff(attempt, random.Random(0), **kwargs)

from __future__ import annotations

import math

import pytest

from gophership.pivot.sensor import SensePolicy


def test_first_call_is_due() -> None:
    p = SensePolicy(every_chunks=100, interval_seconds=1.0)
    assert p.due(0.0)


def test_due_every_n_chunks() -> None:
    p = SensePolicy(every_chunks=3, interval_seconds=math.inf)
    p.mark(0.0)
    pattern = []
    for _ in range(9):
        due = p.due(0.0)
        pattern.append(due)
        if due:
            p.mark(0.0)
    assert pattern == [False, False, True] * 3
    assert p.statistics().senses_total == 4


def test_due_when_the_interval_elapsed() -> None:
    p = SensePolicy(every_chunks=1000, interval_seconds=0.5)
    p.mark(10.0)
    assert not p.due(10.2)
    assert not p.due(10.49)
    assert p.due(10.5)
    p.mark(10.5)
    assert not p.due(10.6)
    assert p.due(11.7)


def test_stays_due_until_marked() -> None:
    p = SensePolicy(every_chunks=2, interval_seconds=math.inf)
    p.mark(0.0)
    assert not p.due(0.0)
    assert p.due(0.0)
    assert p.due(0.0)
    assert p.statistics().chunks_since_sense == 3
    p.mark(1.0)
    assert p.statistics().chunks_since_sense == 0


def test_every_chunk() -> None:
    p = SensePolicy(every_chunks=1, interval_seconds=60.0)
    p.mark(0.0)
    assert p.due(0.0)


def test_statistics() -> None:
    p = SensePolicy(every_chunks=4, interval_seconds=2.0)
    st = p.statistics()
    assert (st.every_chunks, st.interval_seconds, st.senses_total) == (4, 2.0, 0)
    assert st.last_sense_seconds == -math.inf
    p.due(3.0)
    p.mark(3.0)
    p.due(3.1)
    st = p.statistics()
    assert (st.chunks_since_sense, st.senses_total, st.last_sense_seconds) == (1, 1, 3.0)


@pytest.mark.parametrize(
    ("every", "interval"), [(0, 1.0), (-1, 1.0), (1, 0.0), (1, -1.0), (1, float("nan"))]
)
def test_invalid(every: int, interval: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        SensePolicy(every, interval)

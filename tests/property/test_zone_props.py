"""Property tests of the zone controller: no flapping inside a hysteresis band."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gophership.pivot.controller import Sample, Thresholds, ZoneController
from gophership.pivot.modes import Zone

BUDGET = 1_000_000


@st.composite
def thresholds(draw: st.DrawFn) -> Thresholds:
    hysteresis = draw(st.floats(0.01, 0.2))
    yellow = draw(st.floats(hysteresis + 0.01, 0.8))
    red = yellow + hysteresis + draw(st.floats(0.001, 0.7))
    return Thresholds(yellow=yellow, red=red, hysteresis=hysteresis)


def sample(ratio: float, unhealthy: int = 0) -> Sample:
    return Sample(
        queued_bytes=0,
        queue_budget_bytes=BUDGET,
        memory_bytes=round(ratio * BUDGET * 1000),
        memory_budget_bytes=BUDGET * 1000,
        unhealthy_sinks=unhealthy,
    )


def high(t: Thresholds) -> float:
    """A ratio in the middle of [yellow, red - hysteresis)."""
    return (t.yellow + t.red - t.hysteresis) / 2


def critical(t: Thresholds) -> float:
    return t.red * 1.01


def controller_in(zone: Zone, t: Thresholds) -> ZoneController:
    """A controller driven (by samples, not forced) into ``zone``."""
    c = ZoneController(t)
    if zone is Zone.YELLOW:
        c.observe(sample(high(t)))
    elif zone is Zone.RED:
        c.observe(sample(critical(t)))
    assert c.zone is zone
    return c


def inside(t: Thresholds, threshold: float, fractions: list[float]) -> list[float]:
    """Ratios strictly inside (threshold - hysteresis, threshold), from fractions in (0, 1)."""
    low = threshold - t.hysteresis
    ratios = [sample(low + f * t.hysteresis).worst()[0] for f in fractions]
    return [r for r in ratios if low < r < threshold]


fractions = st.lists(st.floats(0.02, 0.98), min_size=1, max_size=50)


@given(thresholds(), st.sampled_from([Zone.GREEN, Zone.YELLOW]), fractions)
def test_no_flapping_in_the_yellow_band(t: Thresholds, start: Zone, fs: list[float]) -> None:
    c = controller_in(start, t)
    for ratio in inside(t, t.yellow, fs):
        assert c.observe(sample(ratio)) is start
    assert c.statistics().transitions_total == (0 if start is Zone.GREEN else 1)


@given(thresholds(), st.sampled_from([Zone.YELLOW, Zone.RED]), fractions)
def test_no_flapping_in_the_red_band(t: Thresholds, start: Zone, fs: list[float]) -> None:
    c = controller_in(start, t)
    for ratio in inside(t, t.red, fs):
        assert c.observe(sample(ratio)) is start


@given(thresholds(), st.sampled_from(list(Zone)), fractions, fractions)
def test_any_band_settles_after_one_step(
    t: Thresholds, start: Zone, yellow_fs: list[float], red_fs: list[float]
) -> None:
    """Whatever the zone, a sequence inside one band changes it at most once."""
    for ratios in (inside(t, t.yellow, yellow_fs), inside(t, t.red, red_fs)):
        c = controller_in(start, t)
        before = c.statistics().transitions_total
        seen = [c.observe(sample(r)) for r in ratios]
        assert len(set(seen)) <= 1
        assert c.statistics().transitions_total - before <= 1


@given(thresholds())
def test_green_yellow_red_and_back(t: Thresholds) -> None:
    c = ZoneController(t)
    assert c.observe(sample(high(t))) is Zone.YELLOW
    assert c.observe(sample(critical(t))) is Zone.RED
    assert c.observe(sample(high(t))) is Zone.YELLOW
    assert c.observe(sample((t.yellow - t.hysteresis) * 0.99)) is Zone.GREEN


@given(thresholds(), st.lists(st.floats(0.0, 2.0), max_size=40), st.integers(1, 5))
def test_unhealthy_sink_is_always_red_and_recovery_is_green(
    t: Thresholds, ratios: list[float], unhealthy: int
) -> None:
    c = ZoneController(t)
    for r in ratios:
        c.observe(sample(r))
    assert c.observe(sample(0.0, unhealthy)) is Zone.RED
    assert c.observe(sample(0.0)) is Zone.GREEN


@given(
    thresholds(),
    st.lists(st.floats(0.0, 2.0), max_size=40),
    st.sampled_from([*Zone, None]),
)
def test_forced_zone_wins(t: Thresholds, ratios: list[float], forced: Zone | None) -> None:
    c = ZoneController(t, forced=forced)
    free = ZoneController(t)
    for r in ratios:
        got = c.observe(sample(r))
        want = free.observe(sample(r))
        assert got is (want if forced is None else forced)
    c.force(None)
    assert c.zone is free.zone
    st_ = c.statistics()
    assert st_.transitions_total == sum(st_.entered_total(z) for z in Zone)

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gophership.pivot
from gophership.pivot.controller import (
    Sample,
    Signal,
    Thresholds,
    ZoneController,
)
from gophership.pivot.modes import TRANSITIONS, Pressure, Zone, next_zone, render_diagram

MiB = 1 << 20


def queue(ratio: float, *, unhealthy: int = 0) -> Sample:
    """A sample whose only signal is the queue at ``ratio`` of a 1000-byte budget."""
    return Sample(
        queued_bytes=round(ratio * 1000),
        queue_budget_bytes=1000,
        memory_bytes=0,
        memory_budget_bytes=0,
        unhealthy_sinks=unhealthy,
    )


# -- modes -----------------------------------------------------------------------------------


def test_zone_ints_are_the_exported_metric_values() -> None:
    assert [int(z) for z in Zone] == [0, 1, 2]
    assert [z.name for z in Zone] == ["GREEN", "YELLOW", "RED"]


def test_table_is_total() -> None:
    assert set(TRANSITIONS) == set(Zone)
    for row in TRANSITIONS.values():
        assert set(row) == set(Pressure)


@pytest.mark.parametrize("zone", list(Zone))
def test_extremes_go_to_green_and_red_from_anywhere(zone: Zone) -> None:
    assert next_zone(zone, Pressure.LOW) is Zone.GREEN
    assert next_zone(zone, Pressure.CRITICAL) is Zone.RED
    assert next_zone(zone, Pressure.HIGH) is Zone.YELLOW


def test_bands_keep_the_adjacent_zones() -> None:
    assert next_zone(Zone.GREEN, Pressure.EASING) is Zone.GREEN
    assert next_zone(Zone.YELLOW, Pressure.EASING) is Zone.YELLOW
    assert next_zone(Zone.YELLOW, Pressure.NEAR) is Zone.YELLOW
    assert next_zone(Zone.RED, Pressure.NEAR) is Zone.RED
    assert next_zone(Zone.RED, Pressure.EASING) is Zone.YELLOW
    assert next_zone(Zone.GREEN, Pressure.NEAR) is Zone.YELLOW


def test_render_diagram_draws_every_non_self_transition() -> None:
    text = render_diagram()
    assert text.startswith("```mermaid\nstateDiagram-v2\n")
    assert "    GREEN --> RED: critical\n" in text
    assert "    RED --> YELLOW: easing, high\n" in text
    assert "    YELLOW --> GREEN: low\n" in text
    assert "GREEN --> GREEN" not in text
    assert "| RED | GREEN | YELLOW | YELLOW | RED | RED |" in text
    # One drawn arrow per (source, target) pair that differs.
    pairs = {(s, t) for s, row in TRANSITIONS.items() for t in row.values() if s is not t}
    assert text.count(" --> ") - 1 == len(pairs)  # minus the [*] --> GREEN start arrow


def test_render_diagram_of_another_table() -> None:
    still = {z: dict.fromkeys(Pressure, z) for z in Zone}
    text = render_diagram(still)
    assert text.count(" --> ") == 1
    assert "| YELLOW | YELLOW | YELLOW | YELLOW | YELLOW | YELLOW |" in text


def test_pivot_modules_do_no_io() -> None:
    banned = {"asyncio", "socket", "os", "time"}
    package = Path(gophership.pivot.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not names & banned, (path.name, names)


# -- thresholds ------------------------------------------------------------------------------


def test_default_thresholds() -> None:
    t = Thresholds()
    assert (t.yellow, t.red, t.hysteresis) == (0.70, 0.90, 0.10)


@pytest.mark.parametrize(
    ("ratio", "pressure"),
    [
        (0.0, Pressure.LOW),
        (0.59, Pressure.LOW),
        (0.6, Pressure.EASING),
        (0.69, Pressure.EASING),
        (0.70, Pressure.HIGH),
        (0.79, Pressure.HIGH),
        (0.80, Pressure.NEAR),
        (0.89, Pressure.NEAR),
        (0.90, Pressure.CRITICAL),
        (5.0, Pressure.CRITICAL),
    ],
)
def test_pressure_bands(ratio: float, pressure: Pressure) -> None:
    assert Thresholds(yellow=0.7, red=0.9, hysteresis=0.1).pressure(ratio) is pressure


@pytest.mark.parametrize(
    ("yellow", "red", "hysteresis"),
    [
        (0.7, 0.9, -0.1),
        (0.1, 0.9, 0.1),  # yellow - hysteresis == 0: GREEN could never come back
        (0.7, 0.75, 0.1),  # bands overlap
        (0.9, 0.7, 0.0),
        (float("nan"), 0.9, 0.1),
        (0.7, float("nan"), 0.1),
    ],
)
def test_invalid_thresholds(yellow: float, red: float, hysteresis: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        Thresholds(yellow=yellow, red=red, hysteresis=hysteresis)


def test_zero_hysteresis_is_allowed() -> None:
    t = Thresholds(yellow=0.5, red=0.5, hysteresis=0.0)
    assert t.pressure(0.49) is Pressure.LOW
    assert t.pressure(0.5) is Pressure.CRITICAL


# -- samples ---------------------------------------------------------------------------------


def test_worst_signal_wins() -> None:
    s = Sample(
        queued_bytes=10,
        queue_budget_bytes=100,
        memory_bytes=50 * MiB,
        memory_budget_bytes=100 * MiB,
        cgroup_current_bytes=80,
        cgroup_max_bytes=100,
    )
    assert s.worst() == (0.8, Signal.CGROUP)
    s = Sample(queued_bytes=60, queue_budget_bytes=100, memory_bytes=1, memory_budget_bytes=100)
    assert s.worst() == (0.6, Signal.QUEUE)
    s = Sample(queued_bytes=1, queue_budget_bytes=100, memory_bytes=70, memory_budget_bytes=100)
    assert s.worst() == (0.7, Signal.MEMORY)


def test_ties_go_to_the_first_signal() -> None:
    s = Sample(
        queued_bytes=5,
        queue_budget_bytes=10,
        memory_bytes=5,
        memory_budget_bytes=10,
        cgroup_current_bytes=5,
        cgroup_max_bytes=10,
    )
    assert s.worst() == (0.5, Signal.QUEUE)


def test_disabled_signals() -> None:
    s = Sample(
        queued_bytes=10**9,
        queue_budget_bytes=0,
        memory_bytes=10**9,
        memory_budget_bytes=-1,
        cgroup_current_bytes=10**9,
        cgroup_max_bytes=None,
    )
    assert s.worst() == (0.0, Signal.NONE)
    s = Sample(0, 0, 0, 0, cgroup_current_bytes=10, cgroup_max_bytes=0)
    assert s.worst() == (0.0, Signal.NONE)
    s = Sample(0, 0, 0, 0, cgroup_current_bytes=None, cgroup_max_bytes=10)
    assert s.worst() == (0.0, Signal.NONE)


# -- controller ------------------------------------------------------------------------------


def test_starts_green_and_counts_nothing() -> None:
    c = ZoneController()
    assert c.zone is Zone.GREEN
    assert c.thresholds == Thresholds()
    st = c.statistics()
    assert st.zone is Zone.GREEN
    assert st.auto_zone is Zone.GREEN
    assert st.forced is None
    assert st.pressure is Pressure.LOW
    assert st.last_signal is Signal.NONE
    assert (st.observations_total, st.transitions_total, st.last_ratio) == (0, 0, 0.0)
    assert [st.entered_total(z) for z in Zone] == [0, 0, 0]


def test_green_yellow_red_and_back() -> None:
    c = ZoneController()
    path = [0.5, 0.65, 0.7, 0.85, 0.9, 0.95, 0.85, 0.79, 0.65, 0.6, 0.59, 0.1]
    zones = [c.observe(queue(r)) for r in path]
    G, Y, R = Zone.GREEN, Zone.YELLOW, Zone.RED
    assert zones == [G, G, Y, Y, R, R, R, Y, Y, Y, G, G]
    st = c.statistics()
    assert st.transitions_total == 4
    assert (st.green_entered_total, st.yellow_entered_total, st.red_entered_total) == (1, 2, 1)
    assert st.observations_total == len(path)
    assert st.last_ratio == pytest.approx(0.1)
    assert st.last_signal is Signal.QUEUE


def test_green_jumps_straight_to_red_and_red_straight_to_green() -> None:
    c = ZoneController()
    assert c.observe(queue(0.95)) is Zone.RED
    assert c.observe(queue(0.0)) is Zone.GREEN
    st = c.statistics()
    assert st.yellow_entered_total == 0
    assert st.transitions_total == 2


def test_red_into_yellow_band_goes_to_yellow() -> None:
    c = ZoneController()
    c.observe(queue(0.95))
    assert c.observe(queue(0.65)) is Zone.YELLOW


def test_unhealthy_sink_is_red_until_healthy_and_low() -> None:
    c = ZoneController()
    assert c.observe(queue(0.1, unhealthy=1)) is Zone.RED
    st = c.statistics()
    assert st.last_signal is Signal.SINKS
    assert st.pressure is Pressure.CRITICAL
    assert st.last_ratio == pytest.approx(0.1)
    # Healthy again but the queue is in the RED band: stay RED (hysteresis).
    assert c.observe(queue(0.85)) is Zone.RED
    # Healthy, and the queue drains through the exit thresholds.
    assert c.observe(queue(0.75)) is Zone.YELLOW
    assert c.observe(queue(0.5)) is Zone.GREEN


def test_force_wins_and_auto_is_tracked_underneath() -> None:
    c = ZoneController()
    c.force(Zone.RED)
    assert c.statistics().zone is Zone.RED
    assert c.observe(queue(0.0)) is Zone.RED
    assert c.observe(queue(0.75)) is Zone.RED
    st = c.statistics()
    assert (st.forced, st.auto_zone, st.zone) == (Zone.RED, Zone.YELLOW, Zone.RED)
    c.force(None)
    assert c.zone is Zone.YELLOW
    st = c.statistics()
    assert st.forced is None
    assert st.transitions_total == 2
    assert (st.red_entered_total, st.yellow_entered_total) == (1, 1)


def test_force_green_over_an_unhealthy_sink() -> None:
    c = ZoneController(forced=Zone.GREEN)
    assert c.observe(queue(1.0, unhealthy=3)) is Zone.GREEN
    assert c.statistics().auto_zone is Zone.RED
    c.force(Zone.GREEN)  # no change, no transition counted
    assert c.statistics().transitions_total == 0


def test_forced_at_construction() -> None:
    c = ZoneController(Thresholds(yellow=0.5, red=0.8, hysteresis=0.05), forced=Zone.YELLOW)
    assert c.statistics().zone is Zone.YELLOW
    assert c.statistics().transitions_total == 0
    c.force(None)
    assert c.zone is Zone.GREEN
    assert c.statistics().green_entered_total == 1


def test_memory_and_cgroup_signals_drive_the_zone() -> None:
    c = ZoneController()
    s = Sample(
        queued_bytes=0,
        queue_budget_bytes=100,
        memory_bytes=95 * MiB,
        memory_budget_bytes=100 * MiB,
    )
    assert c.observe(s) is Zone.RED
    assert c.statistics().last_signal is Signal.MEMORY
    s = Sample(0, 100, 0, 100, cgroup_current_bytes=72, cgroup_max_bytes=100)
    assert c.observe(s) is Zone.YELLOW
    assert c.statistics().last_signal is Signal.CGROUP

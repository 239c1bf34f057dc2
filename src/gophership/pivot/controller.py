"""The zone controller: measured signals in, a zone out, with hysteresis.

Rules:

1. Each signal is a ratio of usage to budget: queued bytes to the queue budget, memory to the
   memory budget, cgroup v2 ``memory.current`` to ``memory.max``. A budget <= 0 (or a cgroup
   without a limit) switches its signal off. The worst ratio is the pressure ratio.
2. The ratio becomes a :class:`~gophership.pivot.modes.Pressure` band through
   :class:`Thresholds`; the band and the current zone are looked up in
   :data:`~gophership.pivot.modes.TRANSITIONS`. That table holds the hysteresis: a zone is
   left downwards only when the ratio is below ``threshold - hysteresis``.
3. Any unhealthy sink is ``CRITICAL`` pressure (RED), whatever the ratios say.
4. A forced zone (an operator override) wins over every signal. The controller keeps
   tracking the zone the signals give underneath it, so ``force(None)`` returns to that zone
   at once, without replaying history.
5. Pure: no clock, no I/O. The caller decides when to sample (see
   :mod:`gophership.pivot.sensor`) and what to measure (see :mod:`gophership.pivot.probe`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gophership.pivot.modes import Pressure, Zone, next_zone


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Zone thresholds, as fractions of a budget.

    Attributes:
        yellow: Enter YELLOW when the pressure ratio is at or above this.
        red: Enter RED when the pressure ratio is at or above this.
        hysteresis: Leave a zone downwards only when the ratio is below
            ``threshold - hysteresis``.

    Raises:
        ValueError: Unless ``0 <= hysteresis < yellow`` and ``yellow <= red - hysteresis``
            (the bands must not overlap; NaN is rejected).
    """

    yellow: float = 0.70
    red: float = 0.90
    hysteresis: float = 0.10

    def __post_init__(self) -> None:
        if not 0.0 <= self.hysteresis < self.yellow:
            raise ValueError(
                f"hysteresis must be in [0, yellow): hysteresis={self.hysteresis!r}, "
                f"yellow={self.yellow!r}"
            )
        if not self.yellow <= self.red - self.hysteresis:
            raise ValueError(
                f"yellow must be <= red - hysteresis: yellow={self.yellow!r}, "
                f"red={self.red!r}, hysteresis={self.hysteresis!r}"
            )

    def pressure(self, ratio: float) -> Pressure:
        """Map a pressure ratio to its band; a ratio exactly at ``threshold - h`` is in the band."""
        if ratio >= self.red:
            return Pressure.CRITICAL
        if ratio >= self.red - self.hysteresis:
            return Pressure.NEAR
        if ratio >= self.yellow:
            return Pressure.HIGH
        if ratio >= self.yellow - self.hysteresis:
            return Pressure.EASING
        return Pressure.LOW


class Signal(enum.Enum):
    """Which input decided the last pressure (a closed set, usable as a metric label)."""

    NONE = "none"
    QUEUE = "queue"
    MEMORY = "memory"
    CGROUP = "cgroup"
    SINKS = "sinks"


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of every signal, taken by the caller.

    Attributes:
        queued_bytes: Bytes waiting on the green path.
        queue_budget_bytes: The green path's byte budget; <= 0 switches the signal off.
        memory_bytes: Process memory as the caller measured it (RSS, or whichever of RSS and
            cgroup usage is the higher fraction).
        memory_budget_bytes: The memory budget; <= 0 switches the signal off.
        cgroup_current_bytes: cgroup v2 ``memory.current``, None when there is no cgroup v2.
        cgroup_max_bytes: cgroup v2 ``memory.max``, None when unlimited or absent.
        unhealthy_sinks: How many sinks are down; any > 0 means RED.
    """

    queued_bytes: int
    queue_budget_bytes: int
    memory_bytes: int
    memory_budget_bytes: int
    cgroup_current_bytes: int | None = None
    cgroup_max_bytes: int | None = None
    unhealthy_sinks: int = 0

    def worst(self) -> tuple[float, Signal]:
        """The highest usage/budget ratio and the signal it came from (ties: first listed)."""
        ratio, signal = 0.0, Signal.NONE
        if self.queue_budget_bytes > 0:
            queue = self.queued_bytes / self.queue_budget_bytes
            if queue > ratio:
                ratio, signal = queue, Signal.QUEUE
        if self.memory_budget_bytes > 0:
            memory = self.memory_bytes / self.memory_budget_bytes
            if memory > ratio:
                ratio, signal = memory, Signal.MEMORY
        if (
            self.cgroup_current_bytes is not None
            and self.cgroup_max_bytes is not None
            and self.cgroup_max_bytes > 0
        ):
            cgroup = self.cgroup_current_bytes / self.cgroup_max_bytes
            if cgroup > ratio:
                ratio, signal = cgroup, Signal.CGROUP
        return ratio, signal


@dataclass(frozen=True, slots=True)
class ZoneControllerStatistics:
    """Numbers of a :class:`ZoneController` at one instant.

    ``zone`` is the effective zone (``forced`` when set), ``auto_zone`` the one the signals
    give. ``*_entered_total`` count transitions *into* each zone; the initial zone is not
    counted.
    """

    zone: Zone
    auto_zone: Zone
    forced: Zone | None
    pressure: Pressure
    last_ratio: float
    last_signal: Signal
    observations_total: int
    transitions_total: int
    green_entered_total: int
    yellow_entered_total: int
    red_entered_total: int

    def entered_total(self, zone: Zone) -> int:
        """How many times ``zone`` was entered."""
        return (self.green_entered_total, self.yellow_entered_total, self.red_entered_total)[zone]


class ZoneController:
    """Turns :class:`Sample` readings into a :class:`~gophership.pivot.modes.Zone`.

    Starts in GREEN (or in ``forced``). Every call is O(1) and allocation-free apart from the
    returned statistics.
    """

    def __init__(
        self, thresholds: Thresholds = Thresholds(), *, forced: Zone | None = None
    ) -> None:
        self._thresholds = thresholds
        self._auto = Zone.GREEN
        self._forced = forced
        self._zone = Zone.GREEN if forced is None else forced
        self._pressure = Pressure.LOW
        self._ratio = 0.0
        self._signal = Signal.NONE
        self._observations = 0
        self._transitions = 0
        self._entered = [0, 0, 0]

    @property
    def zone(self) -> Zone:
        """The effective zone: the forced one when set, else the one the signals give."""
        return self._zone

    @property
    def thresholds(self) -> Thresholds:
        return self._thresholds

    def observe(self, sample: Sample) -> Zone:
        """Take one reading of the signals and return the effective zone."""
        ratio, signal = sample.worst()
        pressure = self._thresholds.pressure(ratio)
        if sample.unhealthy_sinks > 0:
            pressure, signal = Pressure.CRITICAL, Signal.SINKS
        self._observations += 1
        self._ratio, self._signal, self._pressure = ratio, signal, pressure
        self._auto = next_zone(self._auto, pressure)
        return self._settle()

    def force(self, zone: Zone | None) -> None:
        """Force the effective zone, or return to the signals' zone with None."""
        self._forced = zone
        self._settle()

    def _settle(self) -> Zone:
        zone = self._auto if self._forced is None else self._forced
        if zone is not self._zone:
            self._zone = zone
            self._transitions += 1
            self._entered[zone] += 1
        return zone

    def statistics(self) -> ZoneControllerStatistics:
        green, yellow, red = self._entered
        return ZoneControllerStatistics(
            zone=self._zone,
            auto_zone=self._auto,
            forced=self._forced,
            pressure=self._pressure,
            last_ratio=self._ratio,
            last_signal=self._signal,
            observations_total=self._observations,
            transitions_total=self._transitions,
            green_entered_total=green,
            yellow_entered_total=yellow,
            red_entered_total=red,
        )

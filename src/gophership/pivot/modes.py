"""Zones, pressures and the transition table between them (h11 ``_state.py`` style).

Rules:

1. The zone is a function of the current zone and one :class:`Pressure` reading; nothing
   else. :data:`TRANSITIONS` is that function, written out in full so it can be read, tested
   and drawn (:func:`render_diagram`).
2. A pressure names a *band* of the worst pressure ratio, not a zone. The two hysteresis bands
   (``EASING`` just under the YELLOW threshold, ``NEAR`` just under the RED threshold) keep
   whatever zone is adjacent to them, so a ratio wandering inside a band never flaps the zone.
3. ``CRITICAL`` (a ratio at or above the RED threshold, or an unhealthy sink) goes to RED from
   anywhere, so GREEN can jump straight to RED. ``LOW`` goes to GREEN from anywhere.
4. An operator's forced zone is not in the table: it wins over every pressure and is applied
   by :class:`~gophership.pivot.controller.ZoneController`.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping


class Zone(enum.IntEnum):
    """Where the engine is; the ints are what ``gophership_ingester_zone`` exports."""

    GREEN = 0
    YELLOW = 1
    RED = 2


class Pressure(enum.Enum):
    """A band of the worst pressure ratio, lowest first.

    With ``y``/``r`` the YELLOW/RED thresholds and ``h`` the hysteresis:
    ``LOW`` < y-h <= ``EASING`` < y <= ``HIGH`` < r-h <= ``NEAR`` < r <= ``CRITICAL``.
    """

    LOW = "low"
    EASING = "easing"
    HIGH = "high"
    NEAR = "near"
    CRITICAL = "critical"


TRANSITIONS: Final[Mapping[Zone, Mapping[Pressure, Zone]]] = {
    Zone.GREEN: {
        Pressure.LOW: Zone.GREEN,
        Pressure.EASING: Zone.GREEN,  # under the YELLOW threshold: stay
        Pressure.HIGH: Zone.YELLOW,
        Pressure.NEAR: Zone.YELLOW,  # over YELLOW, under RED: YELLOW
        Pressure.CRITICAL: Zone.RED,
    },
    Zone.YELLOW: {
        Pressure.LOW: Zone.GREEN,  # below YELLOW - hysteresis: leave
        Pressure.EASING: Zone.YELLOW,  # inside the YELLOW hysteresis band: stay
        Pressure.HIGH: Zone.YELLOW,
        Pressure.NEAR: Zone.YELLOW,  # under the RED threshold: stay
        Pressure.CRITICAL: Zone.RED,
    },
    Zone.RED: {
        Pressure.LOW: Zone.GREEN,
        Pressure.EASING: Zone.YELLOW,  # left RED, still inside the YELLOW band
        Pressure.HIGH: Zone.YELLOW,  # below RED - hysteresis: leave
        Pressure.NEAR: Zone.RED,  # inside the RED hysteresis band: stay
        Pressure.CRITICAL: Zone.RED,
    },
}
"""``TRANSITIONS[zone][pressure]`` is the next zone; total over both enums."""


def next_zone(zone: Zone, pressure: Pressure) -> Zone:
    """Look up the zone that ``pressure`` moves ``zone`` to."""
    return TRANSITIONS[zone][pressure]


def render_diagram(table: Mapping[Zone, Mapping[Pressure, Zone]] = TRANSITIONS) -> str:
    """Render ``table`` as Markdown for the docs: a mermaid state diagram, then a table.

    Self-loops are left out of the diagram (every pressure not drawn keeps the zone); the
    Markdown table below it lists every cell. The output is deterministic (enum order), so a
    docs test can compare it with the committed file.
    """
    lines = ["```mermaid", "stateDiagram-v2", f"    [*] --> {Zone.GREEN.name}"]
    for source in Zone:
        by_target: dict[Zone, list[str]] = {}
        for pressure in Pressure:
            target = table[source][pressure]
            if target is not source:
                by_target.setdefault(target, []).append(pressure.value)
        for target, pressures in by_target.items():
            lines.append(f"    {source.name} --> {target.name}: {', '.join(pressures)}")
    lines.append("```")
    lines.append("")
    lines.append("| zone | " + " | ".join(p.value for p in Pressure) + " |")
    lines.append("|---" * (len(Pressure) + 1) + "|")
    for source in Zone:
        cells = " | ".join(table[source][p].name for p in Pressure)
        lines.append(f"| {source.name} | {cells} |")
    return "\n".join(lines) + "\n"

"""Timestamps to Unix nanoseconds, without ``datetime`` on the hot path (sans-IO).

Rules:

1. Consecutive lines share their ``YYYY-MM-DDTHH:MM:SS`` prefix, so its parse (validated
   civil date to epoch seconds) is cached; the cache holds at most ``CACHE_ENTRIES`` prefixes
   and is cleared when full.
2. ``strict`` is RFC 5424 §6.2.3 (``FULL-DATE "T" FULL-TIME``, upper-case ``T`` and ``Z``, a
   numeric offset or ``Z`` required, 1 to 6 fraction digits, no leap second). Not strict is
   RFC 3339 as found in NDJSON and BSD-style lines: ``t``/``z``/space accepted, any number of
   fraction digits (truncated to nanoseconds), a missing offset means UTC.
3. A time that cannot be represented is ``None``, never an exception.
"""

from __future__ import annotations

from typing import Final

__all__ = ["civil_from_days", "days_from_civil", "parse_rfc3339", "unix_seconds"]

CACHE_ENTRIES: Final = 4096
_MDAYS: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_NS: Final = 1_000_000_000
_SCALE: Final = tuple(10 ** (9 - i) if i <= 9 else 0 for i in range(10))
_second_cache: dict[str, int | None] = {}


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    """The (year, month, day) of a day number since 1970-01-01."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def unix_seconds(y: int, mo: int, d: int, h: int, mi: int, s: int) -> int | None:
    """Epoch seconds of a UTC civil time, or None when a field is out of range."""
    if not (1 <= mo <= 12 and 1 <= d <= _MDAYS[mo] and h <= 23 and mi <= 59 and s <= 59):
        return None
    if mo == 2 and d == 29 and not _leap(y):
        return None
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s


def _prefix_seconds(p: str) -> int | None:
    # p is "YYYY-MM-DDTHH:MM:SS" with any separator at [10]; checked by the caller.
    if (
        p[4] != "-"
        or p[7] != "-"
        or p[13] != ":"
        or p[16] != ":"
        or not (p[:4] + p[5:7] + p[8:10] + p[11:13] + p[14:16] + p[17:19]).isdigit()
        or not p.isascii()
    ):
        return None
    return unix_seconds(
        int(p[:4]), int(p[5:7]), int(p[8:10]), int(p[11:13]), int(p[14:16]), int(p[17:19])
    )


def parse_rfc3339(text: str, strict: bool) -> int | None:
    """Unix nanoseconds of an RFC 3339 timestamp, or None if it is not one (rule 2)."""
    if len(text) < 19:
        return None
    sep = text[10]
    if sep != "T" and (strict or sep not in "t "):
        return None
    prefix = text[:19]
    try:
        secs = _second_cache[prefix]
    except KeyError:
        if len(_second_cache) >= CACHE_ENTRIES:
            _second_cache.clear()
        secs = _second_cache[prefix] = _prefix_seconds(prefix)
    if secs is None:
        return None
    # Split the tail after the seconds into ".fraction" and the zone with C-level calls only.
    tail = text[19:]
    if not tail:
        return None if strict else secs * _NS
    last = tail[-1]
    if last == "Z" or (last == "z" and not strict):
        frac_s, zone = tail[:-1], ""
    elif len(tail) >= 6 and tail[-6] in "+-":
        frac_s, zone = tail[:-6], tail[-6:]
    elif strict:
        return None
    else:
        frac_s, zone = tail, ""
    frac = 0
    if frac_s:
        digits = len(frac_s) - 1
        if (
            frac_s[0] != "."
            or digits == 0
            or (strict and digits > 6)
            or not frac_s.isascii()
            or not frac_s[1:].isdigit()
        ):
            return None
        frac = int(frac_s[1:10]) * _SCALE[min(digits, 9)]
    if not zone:
        return secs * _NS + frac
    if zone[3] != ":" or not (zone[1:3] + zone[4:6]).isdigit() or not zone.isascii():
        return None
    oh = int(zone[1:3])
    om = int(zone[4:6])
    if oh > 23 or om > 59:
        return None
    offset = oh * 3600 + om * 60
    if zone[0] == "+":
        offset = -offset
    return (secs + offset) * _NS + frac

import logging

from gophership.logs import RateLimitFilter


def record(msg: str, level: int = logging.WARNING, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("gophership.test", level, __file__, 1, msg, None, None)
    rec.__dict__.update(extra)
    return rec


def test_repeated_warnings_pass_once_per_interval_with_a_suppressed_count() -> None:
    f = RateLimitFilter(interval=3600)
    assert f.filter(record("Disk slow."))
    assert not f.filter(record("Disk slow."))
    assert not f.filter(record("Disk slow."))
    assert f.filter(record("Other."))  # per message
    assert f.filter(record("Disk slow.", logging.INFO))  # below WARNING: never limited


def test_audit_records_are_never_rate_limited() -> None:
    f = RateLimitFilter(interval=3600)
    assert all(f.filter(record("Zone override.", audit=True)) for _ in range(5))


def test_the_count_of_suppressed_lines_rides_on_the_next_one() -> None:
    f = RateLimitFilter(interval=0.0)
    f._interval = 3600
    assert f.filter(record("Flood."))
    assert not f.filter(record("Flood."))
    f._interval = 0
    nxt = record("Flood.")
    assert f.filter(nxt)
    assert nxt.suppressed == 1  # type: ignore[attr-defined]

"""Structured logs: one JSON object per line on stderr.

A message is a capitalised sentence ending with a period; the data rides in ``extra=`` and
becomes top-level keys. Repeated identical warnings are rate-limited to one per
``RATE_LIMIT_SECONDS`` per (logger, message), with a count of what was suppressed.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Final

import orjson

RATE_LIMIT_SECONDS: Final = 10.0
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {
    "message",
    "asctime",
    "taskName",
}


class JSONFormatter(logging.Formatter):
    """Formats a record as one JSON line: ts, level, logger, msg, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(
            (k, v) for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")
        )
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class RateLimitFilter(logging.Filter):
    """Lets one WARNING-or-above record per (logger, message) through every interval.

    Records logged with ``extra={"audit": True}`` (operator actions) always pass: an audit
    trail that drops entries is not one.
    """

    def __init__(self, interval: float = RATE_LIMIT_SECONDS) -> None:
        super().__init__()
        self._interval = interval
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or getattr(record, "audit", False):
            return True
        key = (record.name, record.msg if isinstance(record.msg, str) else repr(record.msg))
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last[0] < self._interval:
            self._last[key] = (last[0], last[1] + 1)
            return False
        if last is not None and last[1]:
            record.suppressed = last[1]
        self._last[key] = (now, 0)
        return True


def setup(level: str = "info") -> None:
    """Send every log record to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(RateLimitFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())

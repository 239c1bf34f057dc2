"""The control protocol, shared by the daemon and ``gs-ctl`` (a public contract).

One request per connection: the client sends one JSON object and a newline, the daemon answers
with one JSON object and a newline, then closes.

Requests: ``{"command": NAME, ...arguments}``. Answers: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "message"}``.

| command    | arguments                              | result                              |
|------------|----------------------------------------|-------------------------------------|
| status     |                                        | the engine snapshot                 |
| override   | ``zone``: green, yellow, red or auto   | ``{"zone": ..., "forced": ...}``    |
| replay     | ``action``: pause, resume, start or    | replay statistics and progress      |
|            | status; ``rate``: bytes/s (optional)   |                                     |
| drain      | ``wait``: true to answer after the     | ``{"draining": true}``, then it stops |
|            | drain, with its report                 | (with ``wait``: plus the report)    |
| vault      |                                        | vault statistics and segments       |
"""

from __future__ import annotations

from typing import Final

COMMANDS: Final = ("status", "override", "replay", "drain", "vault")
MAX_REQUEST_BYTES: Final = 64 * 1024
"""A request longer than this is refused and the connection closed."""
ZONES: Final = ("green", "yellow", "red", "auto")
REPLAY_ACTIONS: Final = ("pause", "resume", "status", "start")

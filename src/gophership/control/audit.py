"""Who may use the control API, who did, and the audit log.

Rules:

1. A unix peer is identified by ``SO_PEERCRED`` (uid, pid), a TCP peer by the subject of the
   client certificate mutual TLS verified (``CN=...``). Nothing the client *says* identifies it.
2. Every state-changing request (``override``, ``replay`` other than ``status``, ``drain``) is one
   JSON line in the audit log, refused or not: ``{"time": RFC 3339, "who": ..., "via": "unix" |
   "tcp", "command": ..., "args": {...}, "result": "ok" | "error: ..."}``. Lines are appended
   with one ``write`` to an ``O_APPEND`` file (mode 0600) and fsynced, so concurrent writers never
   interleave and an acknowledged action survives a crash.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import orjson

STATE_CHANGING: Final = frozenset({"override", "replay", "drain"})
"""Commands that are audited (``replay`` only with an action other than ``status``)."""


@dataclass(frozen=True, slots=True)
class Peer:
    """Who is on the other end of one control connection."""

    via: Literal["unix", "tcp"]
    uid: int | None = None
    pid: int | None = None
    subject: str | None = None

    def who(self) -> dict[str, Any]:
        """The audit log's ``who``: ``{"uid", "pid"}`` or ``{"subject"}``."""
        if self.via == "unix":
            return {"uid": self.uid, "pid": self.pid}
        return {"subject": self.subject}

    def __str__(self) -> str:
        if self.via == "unix":
            return f"gs-ctl uid={self.uid} pid={self.pid}"
        return f"gs-ctl tls subject={self.subject}"


def subject_of(peercert: dict[str, Any] | None) -> str:
    """An RFC 4514-style subject (``CN=operator,O=Example``) from ``getpeercert()``."""
    if not peercert:
        return "unknown"
    parts = []
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU"}
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            parts.append(f"{short.get(key, key)}={value}")
    return ",".join(reversed(parts)) or "unknown"


def is_state_changing(request: dict[str, Any]) -> bool:
    """Whether ``request`` changes the daemon (and so goes to the audit log)."""
    command = request.get("command")
    if command == "replay":
        return bool(request.get("action", "status") != "status")
    return command in STATE_CHANGING


def audit_entry(peer: Peer, request: dict[str, Any], result: str, now: float) -> bytes:
    """One audit line (with its newline) for ``request`` by ``peer`` at unix time ``now``."""
    when = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    return (
        orjson.dumps(
            {
                "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "who": peer.who(),
                "via": peer.via,
                "command": request.get("command"),
                "args": {k: v for k, v in request.items() if k != "command"},
                "result": result,
            },
            default=str,
        )
        + b"\n"
    )


class AuditLog:
    """An append-only JSON-lines file; :meth:`write` blocks (call it in a thread)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def write(self, line: bytes) -> None:
        """Append one line and fsync it; raises OSError (the caller logs it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

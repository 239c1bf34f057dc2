"""``gs-ctl``'s side of the control socket: one request, one answer."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import orjson

from gophership.control.api import MAX_REQUEST_BYTES
from gophership.errors import ControlError

if TYPE_CHECKING:
    from pathlib import Path


def request(path: str | Path, command: str, timeout: float = 10.0, **arguments: Any) -> Any:
    """Send one command and return its result; raises ControlError with the daemon's message."""
    payload = orjson.dumps({"command": command, **arguments}) + b"\n"
    if len(payload) > MAX_REQUEST_BYTES:
        raise ControlError("request too large")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(payload)
            data = bytearray()
            while not data.endswith(b"\n"):
                part = sock.recv(65536)
                if not part:
                    break
                data += part
    except OSError as exc:
        raise ControlError(f"cannot reach the daemon at {path}: {exc.strerror or exc}") from exc
    try:
        answer = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ControlError("the daemon sent an invalid answer") from exc
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error", "unknown error")))
    return answer.get("result")

"""``gs-ctl``'s side of the control API: one request, one answer, over unix or mutual TLS.

Errors are :class:`~gophership.errors.ControlError` naming the endpoint and the cause: not
running (no socket, or nobody listening), permission denied (the socket's mode), refused by the
daemon's peer check, a TLS failure, or the daemon's own error message.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from gophership.control.api import MAX_REQUEST_BYTES
from gophership.errors import ControlError

_Socket = socket.socket  # the dataclass field ``socket`` hides the module in its body


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the daemon listens: a unix socket, or ``host:port`` with client TLS files."""

    socket: Path | None = None
    address: str | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    ca_file: Path | None = None

    def __str__(self) -> str:
        return f"tcp {self.address}" if self.address else str(self.socket)

    def connect(self, timeout: float | None) -> _Socket:
        """A connected socket (TLS-wrapped for TCP); raises OSError."""
        if self.address is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(str(self.socket))
            except OSError:
                sock.close()
                raise
            return sock
        host, _, port = self.address.rpartition(":")
        host = host.strip("[]")
        ctx = ssl.create_default_context(cafile=self.ca_file)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        if self.cert_file is not None:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        raw = socket.create_connection((host, int(port)), timeout=timeout)
        try:
            return ctx.wrap_socket(raw, server_hostname=host)
        except OSError:
            raw.close()
            raise


def _cause(endpoint: Endpoint, exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if endpoint.address is None:
        if exc.errno == errno.ENOENT:
            return "not running (no socket at this path)"
        if exc.errno == errno.ECONNREFUSED:
            return "not running (nobody listens on the socket)"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return (
                "permission denied (the socket is mode 0600: run gs-ctl as the daemon's user"
                " or root)"
            )
    elif exc.errno == errno.ECONNREFUSED:
        return "not running (connection refused)"
    return exc.strerror or str(exc) or type(exc).__name__


def request(
    target: str | Path | Endpoint, command: str, timeout: float | None = 10.0, **arguments: Any
) -> Any:
    """Send one command and return its result; raises ControlError naming endpoint and cause.

    ``timeout`` bounds each socket operation (``None``: wait as long as the daemon takes,
    which ``drain --wait`` needs).
    """
    endpoint = target if isinstance(target, Endpoint) else Endpoint(socket=Path(target))
    payload = orjson.dumps({"command": command, **arguments}) + b"\n"
    if len(payload) > MAX_REQUEST_BYTES:
        raise ControlError("request too large")
    try:
        with endpoint.connect(timeout) as sock:
            # the daemon may answer before reading (a refusal): its answer is still buffered
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(payload)
            data = bytearray()
            while not data.endswith(b"\n"):
                part = sock.recv(65536)
                if not part:
                    break
                data += part
    except OSError as exc:
        raise ControlError(
            f"cannot reach the daemon at {endpoint}: {_cause(endpoint, exc)}"
        ) from exc
    if not data:
        raise ControlError(f"the daemon at {endpoint} closed the connection without an answer")
    try:
        answer = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ControlError(f"the daemon at {endpoint} sent an invalid answer") from exc
    if not answer.get("ok"):
        raise ControlError(f"the daemon at {endpoint}: {answer.get('error', 'unknown error')}")
    return answer.get("result")

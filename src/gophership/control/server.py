"""The daemon's side of the control socket.

Security: the socket file is created with mode 0600 inside a directory the daemon owns, and
every connection's peer credentials (``SO_PEERCRED``) are checked: only root, the daemon's own
uid and the configured ``allowed_uids`` are served; others get an error and are logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from gophership import socketfile
from gophership.control.api import MAX_REQUEST_BYTES, REPLAY_ACTIONS, ZONES
from gophership.pivot.modes import Zone

if TYPE_CHECKING:
    from gophership.pipeline import Engine

log = logging.getLogger(__name__)

_PEERCRED = struct.Struct("3i")  # pid, uid, gid (struct ucred)


class ControlServer:
    """Serves control requests for one engine."""

    def __init__(self, engine: Engine, path: Path, allowed_uids: tuple[int, ...] = ()) -> None:
        self._engine = engine
        self._path = Path(path)
        self._allowed = {0, os.getuid(), *allowed_uids}
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        socketfile.prepare(self._path)
        old = os.umask(0o177)  # the socket is born 0600: no window where others can connect
        try:
            self._server = await asyncio.start_unix_server(
                self._handle, path=str(self._path), limit=MAX_REQUEST_BYTES
            )
        finally:
            os.umask(old)
        os.chmod(self._path, 0o600)
        return str(self._path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        socketfile.remove(self._path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        pid, uid, _gid = _PEERCRED.unpack(
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        )
        try:
            if uid not in self._allowed:
                # Rate-limited like any warning: another local user must not flood the log.
                log.warning("Control request refused.", extra={"peer_uid": uid, "peer_pid": pid})
                answer: dict[str, Any] = {"ok": False, "error": f"uid {uid} is not allowed"}
            else:
                try:
                    line = await asyncio.wait_for(reader.readline(), 5.0)
                    request = orjson.loads(line)
                    if not isinstance(request, dict):
                        raise TypeError("request must be a JSON object")
                    answer = {"ok": True, "result": self._dispatch(request, uid, pid)}
                except (
                    ValueError,
                    TypeError,
                    KeyError,
                    TimeoutError,
                    orjson.JSONDecodeError,
                ) as exc:
                    answer = {"ok": False, "error": str(exc) or type(exc).__name__}
            writer.write(orjson.dumps(answer, default=str) + b"\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            writer.close()

    def _dispatch(self, request: dict[str, Any], uid: int, pid: int) -> Any:
        engine = self._engine
        command = request.get("command")
        if command == "status":
            return engine.snapshot()
        if command == "override":
            zone = request.get("zone")
            if zone not in ZONES:
                raise ValueError(f"zone must be one of {', '.join(ZONES)}")
            target = None if zone == "auto" else Zone[str(zone).upper()]
            engine.ingester.force(target, who=f"gs-ctl uid={uid} pid={pid}")
            return {
                "zone": engine.ingester.zone.name.lower(),
                "forced": None if target is None else zone,
            }
        if command == "replay":
            action = request.get("action", "status")
            if action not in REPLAY_ACTIONS:
                raise ValueError(f"action must be one of {', '.join(REPLAY_ACTIONS)}")
            if action != "status":
                engine.replayer.paused_by_operator = action == "pause"
                engine.replayer.poke()
                log.warning(
                    "Replay %sd by operator.", action, extra={"uid": uid, "pid": pid, "audit": True}
                )
            return asdict(engine.replayer.statistics())
        if command == "drain":
            engine.request_stop(f"gs-ctl uid={uid} pid={pid}")
            return {"draining": True}
        if command == "vault":
            return {
                "statistics": asdict(engine.vault.statistics()),
                "segments": [asdict(s) for s in engine.vault.segments()],
            }
        raise ValueError(f"unknown command {command!r}")

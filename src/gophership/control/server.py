"""The daemon's side of the control API: a unix socket, and optionally TCP with mutual TLS.

Security: the socket file is created with mode 0600 inside a directory the daemon owns, and
every connection's peer credentials (``SO_PEERCRED``) are checked: only root, the daemon's own
uid and the configured ``allowed_uids`` are served; others get an error naming the check, and
the refusal is logged (rate-limited, so another local user cannot flood the log). On TCP the
TLS context requires a client certificate signed by ``control.tcp.tls.client_ca_file``; the
certificate's subject is the peer's identity.

Every request is logged (``Control request.``, info); every state-changing one also goes to
the audit log (see :mod:`gophership.control.audit`). ``drain`` with ``"wait": true`` holds the
connection until the drain is over and answers with its report (what went to the sinks and
what to the vault).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

from gophership import socketfile
from gophership.control.api import MAX_REQUEST_BYTES, REPLAY_ACTIONS, ZONES
from gophership.control.audit import AuditLog, Peer, audit_entry, is_state_changing, subject_of
from gophership.control.rates import RateMeter
from gophership.pivot.modes import Zone
from gophership.vault import RateLimiter

if TYPE_CHECKING:
    import ssl

    from gophership.config import ControlConfig
    from gophership.pipeline import Engine

log = logging.getLogger(__name__)

_PEERCRED = struct.Struct("3i")  # pid, uid, gid (struct ucred)
REQUEST_TIMEOUT_SECONDS: Final = 5.0
"""A client that has not sent its whole request by then gets an error."""
RATE_SAMPLE_SECONDS: Final = 1.0
"""How often the totals behind ``status``'s ``rates`` are sampled."""
REPORT_GRACE_SECONDS: Final = 2.0
"""At stop, how long ``drain --wait`` connections get to receive the final report."""


class ControlServer:
    """Serves control requests for one engine."""

    def __init__(
        self,
        engine: Engine,
        config: ControlConfig,
        tcp_ssl: ssl.SSLContext | None = None,
    ) -> None:
        self._engine = engine
        self._config = config
        self._path = Path(config.socket)
        self._allowed = {0, os.getuid(), *config.allowed_uids}
        self._tcp_ssl = tcp_ssl
        self._audit = AuditLog(config.audit_log) if config.audit_log is not None else None
        self._servers: list[asyncio.Server] = []
        self._rates = RateMeter()
        self._sampler: asyncio.Task[None] | None = None
        self._report: asyncio.Future[dict[str, Any]] | None = None
        self._waiting: set[asyncio.Task[Any]] = set()

    async def start(self) -> dict[str, str]:
        """Listen; returns the ready line's entries: ``control`` and maybe ``control_tcp``."""
        self._report = asyncio.get_running_loop().create_future()
        socketfile.prepare(self._path)
        old = os.umask(0o177)  # the socket is born 0600: no window where others can connect
        try:
            unix = await asyncio.start_unix_server(
                self._handle_unix, path=str(self._path), limit=MAX_REQUEST_BYTES
            )
        finally:
            os.umask(old)
        os.chmod(self._path, 0o600)
        self._servers.append(unix)
        ready = {"control": str(self._path)}
        tcp = self._config.tcp
        if tcp is not None and self._tcp_ssl is not None:
            server = await asyncio.start_server(
                self._handle_tcp,
                tcp.host,
                tcp.port,
                ssl=self._tcp_ssl,
                ssl_handshake_timeout=REQUEST_TIMEOUT_SECONDS,
                limit=MAX_REQUEST_BYTES,
            )
            self._servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            ready["control_tcp"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._sample()
        self._sampler = asyncio.create_task(self._sample_loop(), name="control-rates")
        return ready

    async def close(self, report: dict[str, int] | None = None) -> None:
        """Stop listening, answer ``drain --wait`` clients with ``report``, remove the socket."""
        if self._sampler is not None:
            self._sampler.cancel()
        for server in self._servers:
            server.close()
        if self._report is not None and not self._report.done():
            self._report.set_result(self._final_report(report or {}))
        if self._waiting:
            await asyncio.wait(self._waiting, timeout=REPORT_GRACE_SECONDS)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        socketfile.remove(self._path)

    # -- connections ------------------------------------------------------------------

    async def _handle_unix(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        sock = writer.get_extra_info("socket")
        pid, uid, _gid = _PEERCRED.unpack(
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        )
        peer = Peer("unix", uid=uid, pid=pid)
        if uid not in self._allowed:
            with contextlib.suppress(TimeoutError, ValueError, ConnectionError):
                # read (and drop) the request, so the client is not cut off mid-send
                await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT_SECONDS)
            # Rate-limited like any warning: another local user must not flood the log.
            log.warning("Control request refused.", extra={"peer_uid": uid, "peer_pid": pid})
            error = (
                f"refused by the daemon's peer check: uid {uid} is not allowed"
                " (SO_PEERCRED; allowed are root, the daemon's uid and control.allowed_uids)"
            )
            await self._reply(writer, {"ok": False, "error": error})
            return
        await self._serve(reader, writer, peer)

    async def _handle_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # CERT_REQUIRED: the handshake already checked the certificate against the client CA
        peer = Peer("tcp", subject=subject_of(writer.get_extra_info("peercert")))
        await self._serve(reader, writer, peer)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> None:
        request: dict[str, Any] = {}
        try:
            line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT_SECONDS)
            parsed = orjson.loads(line)
            if not isinstance(parsed, dict):
                raise TypeError("request must be a JSON object")
            request = parsed
            result = self._dispatch(request, peer)
            if request.get("command") == "drain" and request.get("wait"):
                result = await self._wait_report()
            answer: dict[str, Any] = {"ok": True, "result": result}
        except (
            ValueError,
            TypeError,
            KeyError,
            TimeoutError,
            ConnectionError,
            asyncio.LimitOverrunError,
            orjson.JSONDecodeError,
        ) as exc:
            answer = {"ok": False, "error": str(exc) or type(exc).__name__}
        outcome = "ok" if answer["ok"] else f"error: {answer['error']}"
        log.info(
            "Control request.",
            extra={
                "via": peer.via,
                "who": peer.who(),
                "command": request.get("command"),
                "result": outcome,
            },
        )
        if is_state_changing(request) and self._audit is not None:
            entry = audit_entry(peer, request, outcome, time.time())
            try:
                await asyncio.to_thread(self._audit.write, entry)
            except OSError as exc:
                log.error(
                    "Audit log write failed.",
                    extra={"path": str(self._audit.path), "error": str(exc), "audit": True},
                )
        await self._reply(writer, answer)

    async def _wait_report(self) -> dict[str, Any]:
        assert self._report is not None
        task = asyncio.current_task()
        assert task is not None
        self._waiting.add(task)
        try:
            return {"draining": True, "drained": True, **await asyncio.shield(self._report)}
        finally:
            self._waiting.discard(task)

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, answer: dict[str, Any]) -> None:
        try:
            writer.write(orjson.dumps(answer, default=str) + b"\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            writer.close()

    # -- commands ---------------------------------------------------------------------

    def _dispatch(self, request: dict[str, Any], peer: Peer) -> Any:
        engine = self._engine
        command = request.get("command")
        if command == "status":
            return self.status()
        if command == "override":
            zone = request.get("zone")
            if zone not in ZONES:
                raise ValueError(f"zone must be one of {', '.join(ZONES)}")
            target = None if zone == "auto" else Zone[str(zone).upper()]
            engine.ingester.force(target, who=str(peer))
            return {
                "zone": engine.ingester.zone.name.lower(),
                "forced": None if target is None else zone,
            }
        if command == "replay":
            return self._replay(request, peer)
        if command == "drain":
            engine.request_stop(str(peer))
            return {"draining": True}
        if command == "vault":
            return {
                "statistics": asdict(engine.vault.statistics()),
                "segments": [asdict(s) for s in engine.vault.segments()],
            }
        raise ValueError(f"unknown command {command!r}")

    def _replay(self, request: dict[str, Any], peer: Peer) -> dict[str, Any]:
        replayer = self._engine.replayer
        action = request.get("action", "status")
        if action not in REPLAY_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(REPLAY_ACTIONS)}")
        rate = request.get("rate")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or rate < 0):
            raise ValueError("rate must be a whole number of bytes per second >= 0 (0 = unlimited)")
        if action != "status":
            if action == "start":  # "now": also when the config disabled replay
                replayer.enabled = True
            replayer.paused_by_operator = action == "pause"
            if rate is not None:
                # The Replayer reads its token bucket per record: a new one takes effect at once.
                replayer._limiter = RateLimiter(rate or None)
            replayer.poke()
            log.warning(
                "Replay %s by operator.",
                {"pause": "paused", "resume": "resumed", "start": "started"}[action],
                extra={"by": str(peer), "rate": rate, "audit": True},
            )
        return self.replay_progress()

    def replay_progress(self) -> dict[str, Any]:
        """Replay statistics plus what a progress bar needs (bytes left, rate)."""
        replayer = self._engine.replayer
        vault = self._engine.vault.statistics()
        return {
            **asdict(replayer.statistics()),
            "operator_paused": replayer.paused_by_operator,
            "rate_bytes_per_second": replayer._limiter.rate_bytes_per_second,
            "remaining_bytes": vault.raw_bytes,
            "remaining_lines": vault.lines,
            "replayed_bytes_total": vault.replayed_bytes_total,
            "replayed_lines_total": vault.replayed_lines_total,
            "zone": self._engine.ingester.zone.name.lower(),
        }

    def status(self) -> dict[str, Any]:
        """The engine snapshot plus why the zone is what it is, rates and the vault's age."""
        engine = self._engine
        snap = engine.snapshot()
        ctl = engine.controller.statistics()
        if ctl.forced is not None:
            reason = f"forced {ctl.forced.name.lower()} by an operator or the config"
        elif ctl.last_signal.value == "none":
            reason = "no pressure"
        else:
            reason = f"{ctl.last_signal.value} at {ctl.last_ratio:.0%} of its budget"
        snap["why"] = {
            "reason": reason,
            "signal": ctl.last_signal.value,
            "ratio": round(ctl.last_ratio, 4),
            "pressure": ctl.pressure.value,
            "auto_zone": ctl.auto_zone.name.lower(),
            "transitions_total": ctl.transitions_total,
        }
        segments = engine.vault.segments()
        oldest = min((s.created_unix_nano for s in segments if s.lines), default=None)
        snap["vault"]["oldest_unix_nano"] = oldest
        snap["vault"]["oldest_age_seconds"] = (
            None if oldest is None else round(max(0.0, time.time() - oldest / 1e9), 3)
        )
        snap["replay"].update(self.replay_progress())
        rates = self._rates.rates()
        if not rates:  # in the first second: the rates since start
            self._sample()
            rates = self._rates.rates()
        snap["rates"] = rates
        snap["control"] = {
            "socket": str(self._path),
            "audit_log": str(self._config.audit_log) if self._config.audit_log else None,
        }
        return snap

    # -- rates and the final report ---------------------------------------------------

    def _totals(self) -> dict[str, float]:
        e = self._engine
        sources = [s.statistics() for s in e.sources]
        ing = e.ingester.statistics()
        vault = e.vault.statistics()
        return {
            "received_bytes_per_second": sum(s.received_bytes_total for s in sources),
            "received_lines_per_second": sum(s.received_frames_total for s in sources),
            "green_lines_per_second": ing.green_frames_total,
            "red_lines_per_second": ing.red_frames_total,
            "sent_records_per_second": sum(r.sink.statistics().sent_records for r in e.runners),
            "vault_appended_bytes_per_second": vault.appended_bytes_total,
            "replayed_bytes_per_second": vault.replayed_bytes_total,
        }

    def _sample(self) -> None:
        self._rates.observe(time.monotonic(), self._totals())

    async def _sample_loop(self) -> None:
        while True:
            await asyncio.sleep(RATE_SAMPLE_SECONDS)
            self._sample()

    def _final_report(self, report: dict[str, int]) -> dict[str, Any]:
        e = self._engine
        vault = e.vault.statistics()
        return {
            **report,
            "sinks": {
                r.name: {
                    "sent_records": r.sink.statistics().sent_records,
                    "failed_batches": r.sink.statistics().failed_batches,
                }
                for r in e.runners
            },
            "vault": {"segments": vault.segments, "bytes": vault.bytes, "lines": vault.lines},
        }

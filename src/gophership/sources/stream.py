"""Stream sources: NDJSON over TCP and unix sockets, syslog over TCP (RFC 6587 framing).

Bounds and what happens at them:

* ``max_connections``: at the limit the source stops accepting; new connections wait in the
  kernel's listen backlog (1024) and are accepted, in order, as open ones close. Each time the
  limit is reached is counted (``accept_paused_total``) and logged (rate-limited). As with
  Vector's ``connection_limit``, nothing a client sent is reset away.
* ``max_frame_bytes``: a longer frame is discarded by the framer and counted; the connection
  stays open.
* A client that never sends a delimiter holds at most ``max_frame_bytes`` (its framer's tail),
  and a slow client costs nothing between reads: reads never wait for a full frame.
* When the vault spiller is over budget, the connection that sent the chunk stops being read
  (TCP pushes back on the sender) until the spiller catches up.
* With TLS, each handshake runs in its own task (a slow or silent client never holds up the
  accept loop) and must finish within ``TLS_HANDSHAKE_TIMEOUT_SECONDS``; a failed handshake is
  counted (``tls_handshake_failures_total``) and logged (rate-limited).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast

from gophership import socketfile
from gophership.protocol.framing import (
    FramerStatistics,
    LineFramer,
    OctetCountFramer,
    SyslogStreamFramer,
)
from gophership.record import Codec

if TYPE_CHECKING:
    import ssl

    from gophership.config import SourceConfig
    from gophership.ingest import Ingester

log = logging.getLogger(__name__)

LISTEN_BACKLOG: Final = 1024
"""Connections the kernel queues while the source is at ``max_connections`` (or busy)."""

TLS_HANDSHAKE_TIMEOUT_SECONDS: Final = 10.0
"""A TLS client that has not finished its handshake by then is disconnected."""

Framer = LineFramer | OctetCountFramer | SyslogStreamFramer


@dataclass(frozen=True, slots=True)
class SourceStatistics:
    """Numbers of one source at one instant (summed over its connections)."""

    name: str
    type: str
    received_bytes_total: int
    received_frames_total: int
    dropped_frames_total: int
    dropped_bytes_total: int
    framing_errors_total: int
    connections: int
    connections_total: int
    accept_paused_total: int
    tls_handshake_failures_total: int = 0


class _Counters:
    __slots__ = (
        "bytes",
        "connections",
        "connections_total",
        "dropped_bytes",
        "dropped_frames",
        "errors",
        "frames",
        "handshake_failures",
        "paused",
    )

    def __init__(self) -> None:
        self.bytes = 0
        self.frames = 0
        self.dropped_frames = 0
        self.dropped_bytes = 0
        self.errors = 0
        self.connections = 0
        self.connections_total = 0
        self.paused = 0
        self.handshake_failures = 0

    def add_framer(self, before: FramerStatistics, after: FramerStatistics) -> None:
        self.dropped_frames += after.dropped_frames - before.dropped_frames
        self.dropped_bytes += after.dropped_bytes - before.dropped_bytes
        self.errors += after.errors - before.errors


class StreamSource:
    """A listening stream socket (TCP or unix) feeding the ingester."""

    def __init__(
        self,
        config: SourceConfig,
        ingester: Ingester,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self._ssl = ssl_context
        self._handshakes: set[asyncio.Task[None]] = set()
        self.name = config.name
        self._ingester = ingester
        self._buffer = bytearray(config.receive_buffer_bytes)
        self._view = memoryview(self._buffer)
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._slot_freed = asyncio.Event()
        self._connections: set[_StreamProtocol] = set()
        self.counters = _Counters()
        self.address = ""

    def new_framer(self) -> tuple[Framer, Codec | None]:
        cfg = self.config
        if cfg.type in ("ndjson_tcp", "ndjson_unix"):
            return LineFramer(cfg.max_frame_bytes), Codec.NDJSON
        if cfg.framing == "octet_counting":
            return OctetCountFramer(cfg.max_frame_bytes), Codec.SYSLOG_OCTET
        if cfg.framing == "newline":
            return LineFramer(cfg.max_frame_bytes, nul_delimiter=True), Codec.SYSLOG_LINE
        return SyslogStreamFramer(cfg.max_frame_bytes), None

    async def start(self) -> str:
        """Bind and listen; returns the bound address as shown in the ready line."""
        cfg = self.config
        if cfg.type == "ndjson_unix":
            assert cfg.path is not None
            path = Path(cfg.path)
            socketfile.prepare(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(str(path))
                os.chmod(path, cfg.socket_mode)
            except OSError:
                sock.close()
                raise
            self.address = f"unix:{path}"
        else:
            sock = tcp_listener(cfg.host, cfg.port or 0)
            host, port = sock.getsockname()[:2]
            self.address = (
                f"[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{host}:{port}"
            )
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
        self._listener = sock
        self._accepting = asyncio.get_running_loop().create_task(
            self._accept_loop(sock), name=f"accept {self.name}"
        )
        return self.address

    async def _accept_loop(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        limit = self.config.max_connections
        counters = self.counters
        while True:
            if counters.connections >= limit:
                counters.paused += 1
                log.warning(
                    "Connection limit reached; new connections wait in the backlog.",
                    extra={"source": self.name, "max_connections": limit},
                )
                while counters.connections >= limit:
                    self._slot_freed.clear()
                    await self._slot_freed.wait()
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError as exc:  # EMFILE and the like: back off, the backlog holds them
                log.error("Accept failed.", extra={"source": self.name, "error": str(exc)})
                await asyncio.sleep(0.1)
                continue
            if self._ssl is not None:
                task = loop.create_task(self._handshake(conn, self._ssl))
                self._handshakes.add(task)
                task.add_done_callback(self._handshakes.discard)
                continue
            try:
                await loop.connect_accepted_socket(lambda: _StreamProtocol(self), conn)
            except OSError:
                conn.close()

    async def _handshake(self, conn: socket.socket, context: ssl.SSLContext) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: _StreamProtocol(self),
                conn,
                ssl=context,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT_SECONDS,
            )
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            self.counters.handshake_failures += 1
            log.warning(
                "TLS handshake failed.",
                extra={"source": self.name, "error": str(exc) or type(exc).__name__},
            )
            conn.close()
        except asyncio.CancelledError:
            conn.close()
            raise

    def stop_accepting(self) -> None:
        """Close the listener; connections waiting in its backlog are reset by the kernel."""
        if self._accepting is not None:
            self._accepting.cancel()
            self._accepting = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for task in list(self._handshakes):  # not yet a connection: nothing received to keep
            task.cancel()

    async def close(self, grace_seconds: float = 0.0, idle_seconds: float = 0.25) -> None:
        """Stop accepting, let connections finish, flush their framers and close them.

        For up to ``grace_seconds``, connections keep being read until each has reached EOF
        or sent nothing for ``idle_seconds``: bytes a client already wrote (still in the
        kernel's buffers) are received rather than reset away.
        """
        self.stop_accepting()
        deadline = time.monotonic() + grace_seconds
        idle_ns = int(idle_seconds * 1e9)
        while self._connections and time.monotonic() < deadline:
            now = time.perf_counter_ns()
            if all(now - p.last_read_ns >= idle_ns for p in self._connections):
                break
            await asyncio.sleep(0.02)
        for proto in list(self._connections):
            proto.finish()
        if self.config.type == "ndjson_unix" and self.config.path is not None:
            socketfile.remove(Path(self.config.path))

    def statistics(self) -> SourceStatistics:
        c = self.counters
        return SourceStatistics(
            name=self.name,
            type=self.config.type,
            received_bytes_total=c.bytes,
            received_frames_total=c.frames,
            dropped_frames_total=c.dropped_frames,
            dropped_bytes_total=c.dropped_bytes,
            framing_errors_total=c.errors,
            connections=c.connections,
            connections_total=c.connections_total,
            accept_paused_total=c.paused,
            tls_handshake_failures_total=c.handshake_failures,
        )


class _StreamProtocol(asyncio.BufferedProtocol):
    """One connection: read into the source's buffer, frame, route."""

    __slots__ = (
        "_codec",
        "_counters",
        "_finished",
        "_framer",
        "_ingester",
        "_name",
        "_source",
        "last_read_ns",
        "transport",
    )

    def __init__(self, source: StreamSource) -> None:
        self._source = source
        self._ingester = source._ingester
        self._counters = source.counters
        self._name = source.name
        self._framer, self._codec = source.new_framer()
        self._finished = False
        self.last_read_ns = time.perf_counter_ns()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast("asyncio.Transport", transport)
        c = self._counters
        c.connections += 1
        c.connections_total += 1
        self._source._connections.add(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._source._view

    def buffer_updated(self, nbytes: int) -> None:
        started = self.last_read_ns = time.perf_counter_ns()
        self._counters.bytes += nbytes
        framer = self._framer
        before = framer.statistics() if nbytes > 0 else None
        chunks = framer.feed(self._source._view[:nbytes])
        self._emit(chunks, started)
        if before is not None:
            after = framer.statistics()
            if after.dropped_frames != before.dropped_frames or after.errors != before.errors:
                self._counters.add_framer(before, after)

    def _emit(self, chunks: list, started: int) -> None:  # type: ignore[type-arg]
        if not chunks:
            return
        codec = self._codec
        if codec is None:
            codec = self._framer.codec  # type: ignore[union-attr]
            self._codec = codec
        assert codec is not None
        ingester = self._ingester
        name = self._name
        ok = True
        for chunk in chunks:
            self._counters.frames += chunk.frames
            ok = ingester.route(codec, name, chunk.data, chunk.frames, started) and ok
        if not ok and self.transport is not None:
            ingester.pause(self.transport)

    def eof_received(self) -> bool:
        self.finish()
        return False

    def finish(self) -> None:
        """Flush the framer's tail (a last frame without delimiter) and close."""
        if self._finished:
            return
        self._finished = True
        framer = self._framer
        before = framer.statistics()
        self._emit(framer.close(), time.perf_counter_ns())
        self._counters.add_framer(before, framer.statistics())
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self._source._connections:
            self._source._connections.discard(self)
            self._counters.connections -= 1
            self._source._slot_freed.set()
            # reset by peer: what was received is routed, the tail as a last partial frame
            self.finish()
        if self.transport is not None:
            self._ingester.forget(self.transport)


def tcp_listener(host: str | None, port: int) -> socket.socket:
    """A bound TCP socket for ``host`` (a name: its first address), as ``create_server`` does.

    SO_REUSEADDR, and IPv6-only on an IPv6 address.
    """
    family, kind, proto, _, addr = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(addr)
    except OSError:
        sock.close()
        raise
    return sock

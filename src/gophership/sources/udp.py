"""Syslog over UDP: one message per datagram (RFC 5426).

Datagrams are gathered into one chunk per event-loop turn (or per ``flush_bytes``), stored
octet-counted (``LEN SP MSG``, RFC 6587 §3.4.1) so message boundaries survive in the vault.
A datagram longer than ``max_frame_bytes`` is dropped and counted. UDP cannot be pushed back:
when the vault spiller is over budget the chunk is still taken (it is never dropped here).
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING

from gophership.record import Codec
from gophership.sources.stream import SourceStatistics, _Counters

if TYPE_CHECKING:
    from gophership.config import SourceConfig
    from gophership.ingest import Ingester


class UdpSource:
    """A bound UDP socket feeding the ingester."""

    def __init__(self, config: SourceConfig, ingester: Ingester, *, flush_bytes: int = 64 * 1024):
        self.config = config
        self.name = config.name
        self._ingester = ingester
        self._flush_bytes = flush_bytes
        self._pending = bytearray()
        self._frames = 0
        self._started = 0
        self._scheduled = False
        self._transport: asyncio.DatagramTransport | None = None
        self.counters = _Counters()
        self.address = ""

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        cfg = self.config
        family = socket.AF_INET6 if cfg.host and ":" in cfg.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 2**20)
        sock.bind((cfg.host or "0.0.0.0", cfg.port or 0))  # noqa: S104 - host comes from config
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=sock)
        self._transport = transport
        host, port = sock.getsockname()[:2]
        self.address = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        return self.address

    def datagram(self, data: bytes) -> None:
        c = self.counters
        n = len(data)
        c.bytes += n
        if n > self.config.max_frame_bytes:
            c.dropped_frames += 1
            c.dropped_bytes += n
            return
        c.frames += 1
        if not self._pending:
            self._started = time.perf_counter_ns()
        self._pending += b"%d " % n
        self._pending += data
        self._frames += 1
        if len(self._pending) >= self._flush_bytes:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        data = bytes(self._pending)
        self._pending.clear()
        frames, self._frames = self._frames, 0
        self._ingester.route(Codec.SYSLOG_OCTET, self.name, data, frames, self._started)

    def stop_accepting(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def close(self, grace_seconds: float = 0.0) -> None:
        """Stop receiving and route what was gathered (datagrams cannot be waited for)."""
        self.stop_accepting()
        self.flush()

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
            connections=0,
            connections_total=0,
            accept_paused_total=0,
        )


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, source: UdpSource) -> None:
        self._source = source

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self._source.datagram(data)

    def error_received(self, exc: Exception) -> None:
        self._source.counters.errors += 1

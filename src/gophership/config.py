"""Configuration: one YAML file turned into frozen dataclasses, validated once at load.

``load_config(path)`` reads a file (``None`` reads the embedded ``default.yaml``), composes the
YAML node tree (so every value keeps its line number) and walks it against the schema below.
The reference for users is ``docs/CONFIG.md``; keep the two in step.

Rules:

1. Validation happens here, once. The engine receives a :class:`Config` and never re-checks it.
   Dataclasses built by hand (in tests) are not validated.
2. Every problem is reported as ``<file>:<line>: <dotted.key>: <what is wrong>``. All problems in
   a file are collected and raised together, in file order, as one :class:`ConfigError`.
3. Unknown keys are errors, with a "did you mean" suggestion: a typo never silently becomes a
   default. Duplicate keys are errors too (plain PyYAML keeps the last one silently).
4. A user file is complete on its own: it is *not* merged with the embedded default. A key that
   is left out takes the default documented in ``docs/CONFIG.md``; path keys that are left out
   are derived from ``data_dir``.
5. Sizes become whole bytes (``int``), durations become seconds (``float``).
6. Paths are kept as written (``~`` is not expanded); relative paths resolve against the
   daemon's working directory when used. Validation never touches the filesystem or the network.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import socket
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypeVar, get_args

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gophership.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Mapping

__all__ = [
    "ClientTlsConfig",
    "Config",
    "ControlConfig",
    "ControlTcpConfig",
    "LogConfig",
    "MetricsConfig",
    "PipelineConfig",
    "ReplayConfig",
    "ResourceConfig",
    "SinkConfig",
    "SinkType",
    "SomaticConfig",
    "SourceConfig",
    "SourceType",
    "TlsConfig",
    "VaultConfig",
    "default_config_text",
    "load_config",
    "load_config_text",
    "parse_duration",
    "parse_size",
]

SourceType = Literal[
    "ndjson_tcp", "ndjson_unix", "syslog_tcp", "syslog_udp", "otlp_grpc", "otlp_http"
]
SinkType = Literal["file", "stdout", "blackhole", "otlp"]
OtlpProtocol = Literal["grpc", "http"]
OtlpCompression = Literal["gzip", "none"]
Framing = Literal["auto", "octet_counting", "newline"]
ZoneSetting = Literal["auto", "green", "yellow", "red"]
Compression = Literal["lz4", "none"]
LogLevel = Literal["debug", "info", "warning", "error"]
FsyncPolicy = Literal["always", "never"]

KiB: Final = 2**10
MiB: Final = 2**20
GiB: Final = 2**30
TiB: Final = 2**40

DEFAULT_FILENAME: Final = "<embedded default.yaml>"
"""The file name used in error messages about the embedded default."""

SUN_PATH_MAX: Final = 107
"""Longest unix socket path in bytes (Linux ``sun_path`` is 108 bytes including the NUL)."""


# ---------------------------------------------------------------------------------------------
# The configuration values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS on one listener (a ``tls`` section): TLS 1.3 only, client certificates optional.

    The files are read when the listener starts (and again on SIGHUP), not at validation.
    """

    cert_file: Path
    """PEM certificate chain, the server's certificate first."""
    key_file: Path
    """PEM private key of that certificate (unencrypted)."""
    client_ca_file: Path | None = None
    """PEM CA bundle; when set, clients must present a certificate it signed (mutual TLS)."""
    origin: str = "tls"
    """The dotted key of the section (``sources.app.tls``), named in error messages."""


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One source (section ``sources.<name>``); which fields apply depends on ``type``."""

    name: str
    type: SourceType
    host: str | None = None
    """Listen host for network sources (IPv6 without brackets); ``None`` for ``ndjson_unix``."""
    port: int | None = None
    """Listen port for network sources, 0..65535 (0 = ephemeral); ``None`` for ``ndjson_unix``."""
    path: Path | None = None
    """Socket path for ``ndjson_unix`` (at most 107 bytes); ``None`` for network sources."""
    framing: Framing = "auto"
    """``syslog_tcp`` only: ``auto`` detects octet counting vs newline per connection."""
    max_frame_bytes: int = 64 * KiB
    """Longest frame, 1KiB..16MiB; a longer frame is discarded and counted, the peer kept."""
    max_connections: int = 1024
    """Stream sources: open connections allowed, 1..65535; beyond it new ones wait in backlog."""
    socket_mode: int = 0o660
    """``ndjson_unix``: permission bits of the socket file, 0..0o777."""
    receive_buffer_bytes: int = 64 * KiB
    """Read buffer per connection, max_frame_bytes..64MiB (the chunk size of the red path)."""
    max_message_bytes: int = 64 * MiB
    """``otlp_grpc``/``otlp_http``: largest request, 1KiB..1GiB, after decompression."""
    tls: TlsConfig | None = None
    """``ndjson_tcp``, ``syslog_tcp``, ``otlp_grpc``, ``otlp_http``: serve TLS 1.3 (``None`` =
    plain TCP)."""


@dataclass(frozen=True, slots=True)
class ClientTlsConfig:
    """TLS for an outgoing connection (``sinks.<name>.tls``); used with ``https://``."""

    ca_file: Path | None = None
    """CA bundle that signs the server's certificate; ``None`` = the system's CAs."""
    cert_file: Path | None = None
    """Client certificate for mutual TLS (with ``key_file``)."""
    key_file: Path | None = None
    server_name: str | None = None
    """Name to verify the server's certificate against; default: the endpoint's host."""


@dataclass(frozen=True, slots=True)
class SinkConfig:
    """One sink (section ``sinks.<name>``)."""

    name: str
    type: SinkType
    path: Path | None = None
    """``file``: the output file; ``None`` for other types."""
    max_file_bytes: int = 100 * MiB
    """``file``: rotate when the file would pass this size, 1KiB..1TiB."""
    max_files: int = 5
    """``file``: rotated files kept besides the live one, 1..1000; the oldest is deleted."""
    timeout_seconds: float = 5.0
    """A send slower than this counts as a failure, 1ms..1h (key ``timeout``)."""
    retry_initial_backoff_seconds: float = 0.1
    """First retry delay, 1ms..1h (key ``retry_initial_backoff``)."""
    retry_max_backoff_seconds: float = 5.0
    """Backoff doubles up to this; initial..1h (key ``retry_max_backoff``)."""
    unhealthy_after_failures: int = 3
    """Consecutive failures, 1..1000, before the sink is unhealthy and turns the zone RED."""
    protocol: OtlpProtocol = "grpc"
    """``otlp``: ``grpc`` (``LogsService/Export``) or ``http`` (``POST /v1/logs``, protobuf)."""
    endpoint: str = ""
    """``otlp``: ``http://host:port`` (plaintext) or ``https://host:port`` (TLS); for ``http``
    a path other than ``/`` is used as is, else ``/v1/logs`` is appended."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """``otlp``: extra request headers / gRPC metadata (tenant ids, API keys)."""
    compression: OtlpCompression = "gzip"
    """``otlp``: request compression."""
    tls: ClientTlsConfig | None = None
    """``otlp``: TLS settings for ``https://`` endpoints."""


@dataclass(frozen=True, slots=True)
class SomaticConfig:
    """Zone sensing (section ``somatic``)."""

    zone: ZoneSetting = "auto"
    """``auto`` senses; ``green``/``yellow``/``red`` force the zone from start."""
    memory_budget_bytes: int = 256 * MiB
    """Process memory budget, 1MiB..1TiB (key ``memory_budget``)."""
    queue_budget_bytes: int = 64 * MiB
    """Green queue budget, 64KiB..memory_budget (key ``queue_budget``)."""
    yellow_threshold: float = 0.70
    """Fraction of a budget that enters YELLOW, 0 < yellow < red."""
    red_threshold: float = 0.90
    """Fraction of a budget that enters RED, yellow < red <= 1."""
    hysteresis: float = 0.10
    """A zone is left only when usage falls this far below its threshold, 0 <= h < yellow."""
    sense_every_chunks: int = 64
    """Expensive signals are read at most every this many chunks, 1..1000000."""
    sense_interval_seconds: float = 0.1
    """... or at least this often, 1ms..60s (key ``sense_interval``)."""


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """Vault replay (section ``vault.replay``)."""

    enabled: bool = True
    rate_bytes_per_second: int = 64 * MiB
    """Replay throttle in raw bytes per second, 0..1TiB; 0 = unlimited (key ``rate``)."""
    delete_replayed: bool = True
    """Delete a segment once all of it has been replayed and acknowledged."""


@dataclass(frozen=True, slots=True)
class VaultConfig:
    """The Raw Vault (section ``vault``)."""

    dir: Path
    """Segment directory; default ``<data_dir>/vault``."""
    max_bytes: int = 10 * GiB
    """Byte cap on disk, segment_bytes..1PiB; at the cap sources are pushed back (VaultFull)."""
    segment_bytes: int = 64 * MiB
    """A segment is sealed when it reaches this size, 64KiB..4GiB."""
    segment_max_age_seconds: float = 300.0
    """... or this age, 1s..7d (key ``segment_max_age``)."""
    fsync: FsyncPolicy | float = 0.1
    """``"always"`` (every append), ``"never"`` (leave it to the OS) or an interval, 1ms..1h."""
    compression: Compression = "lz4"
    replay: ReplayConfig = ReplayConfig()


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Batching on the green path (section ``pipeline``)."""

    batch_max_records: int = 8192
    """A batch is sent at this many records, 1..1000000."""
    batch_max_bytes: int = 4 * MiB
    """... or this many bytes, 1KiB..256MiB."""
    batch_timeout_seconds: float = 0.2
    """... or when its oldest record is this old, 1ms..60s (key ``batch_timeout``)."""
    drain_timeout_seconds: float = 10.0
    """SIGTERM: time allowed to flush the green queue to sinks, 0..1h (key ``drain_timeout``)."""


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """Prometheus endpoint (section ``metrics``)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9091
    """0..65535; 0 = ephemeral (reported in the ready line)."""
    tls: TlsConfig | None = None
    """Serve HTTPS (TLS 1.3) instead of HTTP."""


@dataclass(frozen=True, slots=True)
class ControlTcpConfig:
    """The control API over TCP (section ``control.tcp``): always mutual TLS."""

    host: str
    port: int
    """0..65535; 0 = ephemeral (reported in the ready line as ``control_tcp``)."""
    tls: TlsConfig
    """``client_ca_file`` is always set: every client presents a certificate."""


@dataclass(frozen=True, slots=True)
class ControlConfig:
    """The ``gs-ctl`` unix socket (section ``control``)."""

    socket: Path
    """Socket path (mode 0600), at most 107 bytes; default ``<data_dir>/control.sock``."""
    allowed_uids: tuple[int, ...] = ()
    """Extra peer uids allowed; empty = only the daemon's own uid (and root)."""
    audit_log: Path | None = None
    """JSON lines, one per state-changing request; default ``<data_dir>/audit.log``
    (``None``, only for hand-built configs: the daemon log only)."""
    tcp: ControlTcpConfig | None = None
    """The same API on TCP with mutual TLS; ``None`` = no TCP listener."""


@dataclass(frozen=True, slots=True)
class ResourceConfig:
    """OpenTelemetry resource attributes added to every record (section ``resource``)."""

    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Read-only mapping, in file order (e.g. ``service.name``)."""
    host_name: str | None = None
    """``host.name``; ``None`` = ``socket.gethostname()`` at start."""

    def resolved_attributes(self) -> dict[str, str]:
        """The attributes with ``host.name`` filled in (from the host when not configured)."""
        return {**self.attributes, "host.name": self.host_name or socket.gethostname()}


@dataclass(frozen=True, slots=True)
class LogConfig:
    """The daemon's own log (section ``log``)."""

    level: LogLevel = "info"


@dataclass(frozen=True, slots=True)
class Config:
    """The whole, validated configuration."""

    data_dir: Path
    sources: dict[str, SourceConfig]
    """In file order."""
    sinks: dict[str, SinkConfig]
    """In file order; never empty."""
    somatic: SomaticConfig
    vault: VaultConfig
    pipeline: PipelineConfig
    metrics: MetricsConfig
    control: ControlConfig
    resource: ResourceConfig
    log: LogConfig
    source_file: Path | None = None
    """The file read by :func:`load_config`; ``None`` for the embedded default and text."""


# ---------------------------------------------------------------------------------------------
# Sizes and durations
# ---------------------------------------------------------------------------------------------


class _Invalid(Exception):
    """A value failed a check; the message says why but not where (the caller adds that)."""


_SIZE_UNITS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "B": 1,
        "KB": 10**3,
        "MB": 10**6,
        "GB": 10**9,
        "TB": 10**12,
        "KiB": KiB,
        "MiB": MiB,
        "GiB": GiB,
        "TiB": TiB,
    }
)
# Spellings people bring from Kubernetes, Java or Go; only used to suggest the right unit.
_SIZE_HINTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        **{unit.lower(): unit for unit in _SIZE_UNITS},
        "k": "KiB",
        "ki": "KiB",
        "m": "MiB",
        "mi": "MiB",
        "g": "GiB",
        "gi": "GiB",
        "t": "TiB",
        "ti": "TiB",
        "bytes": "B",
    }
)
_SIZE_RE: Final = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([^\d\s.]*)")

_DURATION_UNITS: Final[Mapping[str, Fraction]] = MappingProxyType(
    {
        "ns": Fraction(1, 10**9),
        "us": Fraction(1, 10**6),
        "\u00b5s": Fraction(1, 10**6),  # MICRO SIGN
        "\u03bcs": Fraction(1, 10**6),  # GREEK SMALL LETTER MU
        "ms": Fraction(1, 10**3),
        "s": Fraction(1),
        "m": Fraction(60),
        "h": Fraction(3600),
    }
)
_DURATION_HINTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "sec": "s",
        "secs": "s",
        "second": "s",
        "seconds": "s",
        "min": "m",
        "mins": "m",
        "minute": "m",
        "minutes": "m",
        "hr": "h",
        "hour": "h",
        "hours": "h",
        "msec": "ms",
        "millis": "ms",
        "usec": "us",
        "nsec": "ns",
        "S": "s",
        "MS": "ms",
        "H": "h",
        "M": "m",
    }
)
_DURATION_PART_RE: Final = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([^\d\s.]*)")
_NUMBER_RE: Final = re.compile(r"\d+(?:\.\d*)?|\.\d+")


def _suggest(word: str, choices: Collection[str], hints: Mapping[str, str] | None = None) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or ``""`` if none is close."""
    if hints is not None:
        hinted = hints.get(word) or hints.get(word.lower())
        if hinted is not None:
            return f" (did you mean '{hinted}'?)"
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _describe(value: object) -> str:
    """Name a YAML value's type for an error message ("got a list")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"  # dates and timestamps


def format_size(n: int) -> str:
    """Render a byte count in the largest binary unit that divides it (``67108864`` → ``64MiB``)."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        mult = _SIZE_UNITS[unit]
        if n >= mult and n % mult == 0:
            return f"{n // mult}{unit}"
    return f"{n}B"


def format_duration(seconds: float) -> str:
    """Render seconds in the largest unit that divides them (``0.25`` → ``250ms``)."""
    if not math.isfinite(seconds):
        return repr(seconds)
    if seconds == 0:
        return "0s"
    shortest = repr(float(seconds))  # the shortest decimal that reads back as this float
    exact = Fraction(shortest)
    for unit in ("h", "m", "s", "ms", "us", "ns"):
        mult = _DURATION_UNITS[unit]
        if exact >= mult and (exact / mult).denominator == 1:
            return f"{exact / mult}{unit}"
    return f"{Decimal(shortest):f}s"


def _size(value: object) -> int:
    """Parse a size; raise :class:`_Invalid` without a location."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        if isinstance(value, float):
            raise _Invalid(
                f"expected a size such as '64MiB', got {_describe(value)}: sizes are whole bytes"
            )
        raise _Invalid(f"expected a size such as '64MiB', got {_describe(value)}")
    if isinstance(value, int):
        if value < 0:
            raise _Invalid(f"size must not be negative, got {value}")
        return value
    text = value.strip()
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        hint = " (negative sizes are not allowed)" if text.startswith("-") else ""
        raise _Invalid(f"invalid size {value!r}: expected <number><unit> such as '64MiB'{hint}")
    number, unit = match.groups()
    if unit and unit not in _SIZE_UNITS:
        raise _Invalid(
            f"invalid size {value!r}: unknown unit {unit!r}"
            f"{_suggest(unit, _SIZE_UNITS, _SIZE_HINTS)}; units are {', '.join(_SIZE_UNITS)}"
        )
    total = Fraction(number) * _SIZE_UNITS[unit or "B"]
    if total.denominator != 1:
        raise _Invalid(f"invalid size {value!r}: not a whole number of bytes")
    return int(total)


def _duration(value: object) -> float:
    """Parse a duration into seconds; raise :class:`_Invalid` without a location."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Invalid(f"expected a duration such as '250ms', got {_describe(value)}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise _Invalid(f"duration must be a finite number of seconds >= 0, got {value}")
        return float(value)
    text = value.strip()
    if text.startswith("-"):
        raise _Invalid(f"invalid duration {value!r}: durations must not be negative")
    if _NUMBER_RE.fullmatch(text):  # a bare number is seconds, as it is unquoted
        return float(Fraction(text))
    total = Fraction(0)
    pos = 0
    while pos < len(text):
        match = _DURATION_PART_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise _Invalid(
                f"invalid duration {value!r}: expected <number><unit> such as '250ms' or '1m30s'"
            )
        number, unit = match.groups()
        if unit not in _DURATION_UNITS:
            what = f"unknown unit {unit!r}" if unit else "a number without a unit"
            units = ", ".join(u for u in _DURATION_UNITS if u != "\u03bcs")
            raise _Invalid(
                f"invalid duration {value!r}: {what}"
                f"{_suggest(unit, _DURATION_UNITS, _DURATION_HINTS) if unit else ''};"
                f" units are {units}"
            )
        total += Fraction(number) * _DURATION_UNITS[unit]
        pos = match.end()
    if pos == 0:
        raise _Invalid(f"invalid duration {value!r}: expected <number><unit> such as '250ms'")
    return float(total)


def parse_size(text: str | int, key: str) -> int:
    """Parse a size into bytes: ``64MiB``, ``1.5GiB``, ``500KB``, ``4096B``, ``4096`` or ``"4096"``.

    Binary units are KiB, MiB, GiB and TiB (powers of 1024), decimal ones KB, MB, GB and TB
    (powers of 1000); units are case-sensitive. A fraction is accepted when the result is a
    whole number of bytes. Negative sizes are refused.

    Args:
        text: The value as written in YAML.
        key: The dotted key, named in the error message.

    Raises:
        ConfigError: ``<key>: invalid size ...``.
    """
    try:
        return _size(text)
    except _Invalid as exc:
        raise ConfigError(f"{key}: {exc}") from None


def parse_duration(text: str | int | float, key: str) -> float:
    """Parse a duration into seconds: ``250ms``, ``1m30s``, ``1.5h``, ``100us``, ``30`` (seconds).

    Units are ns, us (or µs), ms, s, m and h, and may be combined as in Go's
    ``time.ParseDuration`` (``1h15m``). A bare number, quoted or not, means seconds. Negative,
    infinite and NaN durations are refused.

    Args:
        text: The value as written in YAML.
        key: The dotted key, named in the error message.

    Raises:
        ConfigError: ``<key>: invalid duration ...``.
    """
    try:
        return _duration(text)
    except _Invalid as exc:
        raise ConfigError(f"{key}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Value checks: each turns a constructed YAML value into a field value or raises _Invalid
# ---------------------------------------------------------------------------------------------

T = TypeVar("T")
S = TypeVar("S", bound=str)
U = TypeVar("U")


def _in_size(lo: int, hi: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        n = _size(value)
        if not lo <= n <= hi:
            raise _Invalid(
                f"{format_size(n)} is out of range ({format_size(lo)}..{format_size(hi)})"
            )
        return n

    return check


def _in_duration(lo: float, hi: float) -> Callable[[object], float]:
    def check(value: object) -> float:
        seconds = _duration(value)
        if not lo <= seconds <= hi:
            raise _Invalid(
                f"{format_duration(seconds)} is out of range"
                f" ({format_duration(lo)}..{format_duration(hi)})"
            )
        return seconds

    return check


def _in_int(lo: int, hi: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected an integer, got {_describe(value)}")
        if not lo <= value <= hi:
            raise _Invalid(f"{value} is out of range ({lo}..{hi})")
        return value

    return check


def _in_float(
    lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False
) -> Callable[[object], float]:
    def check(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid(f"expected a number, got {_describe(value)}")
        x = float(value)
        low_ok = lo < x if lo_open else lo <= x
        high_ok = x < hi if hi_open else x <= hi
        if not (math.isfinite(x) and low_ok and high_ok):
            bounds = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
            raise _Invalid(f"{value} is out of range {bounds}")
        return x

    return check


def _choice(options: tuple[S, ...]) -> Callable[[object], S]:
    def check(value: object) -> S:
        if isinstance(value, str) and value in options:
            return options[options.index(value)]
        hint = _suggest(value, options) if isinstance(value, str) else ""
        raise _Invalid(f"expected one of {', '.join(options)}, got {_describe(value)}{hint}")

    return check


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_describe(value)}")
    return value


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, got {_describe(value)} (quote it)")
    if not value:
        raise _Invalid("must not be empty")
    return value


def _path(value: object) -> Path:
    if not isinstance(value, str):
        raise _Invalid(f"expected a path, got {_describe(value)}")
    if not value.strip():
        raise _Invalid("expected a path, got an empty string")
    if "\0" in value:
        raise _Invalid("a path must not contain NUL")
    return Path(value)


def _socket_path(value: object) -> Path:
    path = _path(value)
    _check_socket_path(path)
    return path


def _check_socket_path(path: Path) -> None:
    size = len(os.fsencode(path))
    if size > SUN_PATH_MAX:
        raise _Invalid(
            f"unix socket path is {size} bytes, longer than the {SUN_PATH_MAX}-byte limit"
            " (use a shorter or relative path)"
        )


_HOSTNAME_RE: Final = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?"
)


def _address(value: object) -> tuple[str, int]:
    """Parse ``host:port`` (IPv6 as ``[::1]:port``) into ``(host, port)``."""
    if not isinstance(value, str):
        raise _Invalid(f'expected "host:port", got {_describe(value)}')
    text = value.strip()
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
        if not sep:
            raise _Invalid(f'invalid address {value!r}: expected "[ipv6]:port"')
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _Invalid(f"invalid address {value!r}: {host!r} is not an IPv6 address") from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise _Invalid(
                f'invalid address {value!r}: expected "host:port", e.g. "127.0.0.1:5170"'
            )
        if ":" in host:
            raise _Invalid(
                f'invalid address {value!r}: write IPv6 hosts in brackets, e.g. "[::1]:5170"'
            )
        if not host:
            raise _Invalid(
                f"invalid address {value!r}: the host is empty"
                " (use 0.0.0.0 or [::] for all interfaces)"
            )
        if not _HOSTNAME_RE.fullmatch(host):
            raise _Invalid(
                f"invalid address {value!r}: {host!r} is not a valid host name or IPv4 address"
            )
    if not port_text.isascii() or not port_text.isdigit():
        raise _Invalid(f"invalid address {value!r}: port {port_text!r} is not a number")
    port = int(port_text)
    if port > 65535:
        raise _Invalid(f"invalid address {value!r}: port {port} is out of range (0..65535)")
    return host, port


def _uid(value: object) -> int:
    return _in_int(0, 2**32 - 2)(value)


_WILDCARD_HOSTS: Final = frozenset({"0.0.0.0", "::"})  # noqa: S104  # names, not a bind


# ---------------------------------------------------------------------------------------------
# Walking the YAML node tree
# ---------------------------------------------------------------------------------------------


class _Report:
    """The problems found in one file; raised together, in file order."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._problems: list[tuple[int, int, int, str]] = []
        self._constructor = SafeConstructor()

    def add(self, node: Node | None, path: str, message: str) -> None:
        if node is None:
            self._problems.append(
                (0, 0, len(self._problems), f"{self.filename}: {path}: {message}")
            )
            return
        line = node.start_mark.line + 1
        column = node.start_mark.column
        text = f"{self.filename}:{line}: {path}: {message}"
        self._problems.append((line, column, len(self._problems), text))

    @property
    def count(self) -> int:
        return len(self._problems)

    def raise_if_any(self) -> None:
        if self._problems:
            raise ConfigError("\n".join(text for *_, text in sorted(self._problems)))

    def value(self, node: Node) -> object:
        """Construct a scalar; mappings and lists stand in as empty ones (for ``_describe``)."""
        if isinstance(node, MappingNode):
            return {}
        if isinstance(node, SequenceNode):
            return []
        return self._constructor.construct_object(node)

    def flatten(self, node: MappingNode) -> None:
        self._constructor.flatten_mapping(node)


_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_NULL_TAG: Final = "tag:yaml.org,2002:null"


def _line(node: Node) -> int:
    return node.start_mark.line + 1


class _Section:
    """One YAML mapping: reports duplicate and unknown keys, then hands out checked values.

    ``known=None`` accepts any key (a mapping of names). A missing or null section reads as
    empty; anything else that is not a mapping is reported once.
    """

    def __init__(
        self, report: _Report, node: Node | None, path: str, known: Collection[str] | None
    ) -> None:
        self.report = report
        self.node = node
        self.path = path
        self.entries: dict[str, tuple[Node, Node]] = {}
        self.ok = True
        self._suggested: set[str] = set()  # keys offered as "did you mean": not also "required"
        if node is None or (isinstance(node, ScalarNode) and node.tag == _NULL_TAG):
            return
        if not isinstance(node, MappingNode):
            report.add(
                node,
                path or "(top level)",
                f"expected a mapping, got {_describe(report.value(node))}",
            )
            self.ok = False
            return
        seen: dict[str, Node] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != _MERGE_TAG:
                first = seen.setdefault(key_node.value, key_node)
                if first is not key_node:
                    report.add(
                        key_node,
                        self.child(key_node.value),
                        f"duplicate key (first at line {_line(first)})",
                    )
        try:
            report.flatten(node)  # YAML merge keys: `<<: *defaults`
        except yaml.MarkedYAMLError as exc:
            report.add(node, path or "(top level)", f"invalid merge key: {exc.problem}")
            self.ok = False
            return
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                report.add(key_node, path or "(top level)", "keys must be plain strings")
                continue
            key: str = key_node.value
            if known is not None and key not in known:
                if not path and key.startswith("x-"):
                    continue  # extension keys hold YAML anchors, as in docker-compose
                close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
                self._suggested.update(close)
                hint = (
                    f" (did you mean '{close[0]}'?)"
                    if close
                    else f" (expected one of: {', '.join(sorted(known))})"
                )
                report.add(key_node, self.child(key), f"unknown key{hint}")
                continue
            self.entries[key] = (key_node, value_node)

    def child(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.entries

    def get(self, key: str, check: Callable[[object], T], default: T) -> T:
        """The checked value at ``key``; ``default`` if it is missing or invalid (reported)."""
        entry = self.entries.get(key)
        if entry is None:
            return default
        return self._check(key, entry[1], check, default)

    def optional(self, key: str, check: Callable[[object], T]) -> T | None:
        """The checked value at ``key``; ``None`` if it is missing or invalid (reported)."""
        entry = self.entries.get(key)
        return None if entry is None else self._check(key, entry[1], check, None)

    def require(self, key: str, check: Callable[[object], T], what: str) -> T | None:
        """The checked value at ``key``; ``None`` (reported) if it is missing or invalid."""
        entry = self.entries.get(key)
        if entry is None:
            if key not in self._suggested:
                self.report.add(self.node, self.child(key), f"required ({what})")
            return None
        return self._check(key, entry[1], check, None)

    def _check(self, key: str, node: Node, check: Callable[[object], T], default: U) -> T | U:
        try:
            return check(self.report.value(node))
        except _Invalid as exc:
            self.report.add(node, self.child(key), str(exc))
            return default

    def section(self, key: str, known: Collection[str] | None) -> _Section:
        entry = self.entries.get(key)
        return _Section(self.report, entry[1] if entry else None, self.child(key), known)

    def value_node(self, key: str) -> Node | None:
        entry = self.entries.get(key)
        return entry[1] if entry else None

    def key_node(self, key: str) -> Node | None:
        entry = self.entries.get(key)
        return entry[0] if entry else None

    def items(self) -> Iterator[tuple[str, Node, Node]]:
        for key, (key_node, value_node) in self.entries.items():
            yield key, key_node, value_node


# ---------------------------------------------------------------------------------------------
# The schema, section by section
# ---------------------------------------------------------------------------------------------

_NAME_RE: Final = re.compile(r"[A-Za-z0-9_.-]+")
_SOURCE_TYPES: Final[tuple[SourceType, ...]] = get_args(SourceType)
_SINK_TYPES: Final[tuple[SinkType, ...]] = get_args(SinkType)
_NETWORK_SOURCES: Final = frozenset(
    {"ndjson_tcp", "syslog_tcp", "syslog_udp", "otlp_grpc", "otlp_http"}
)
_OTLP_SOURCES: Final = frozenset({"otlp_grpc", "otlp_http"})
_STREAM_SOURCES: Final = frozenset({"ndjson_tcp", "ndjson_unix", "syslog_tcp"})
_COMMON_SOURCE_KEYS: Final = frozenset({"type", "max_frame_bytes", "receive_buffer_bytes"})
_SOURCE_KEYS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "ndjson_tcp": _COMMON_SOURCE_KEYS | {"address", "max_connections", "tls"},
        "ndjson_unix": _COMMON_SOURCE_KEYS | {"path", "max_connections", "socket_mode"},
        "syslog_tcp": _COMMON_SOURCE_KEYS | {"address", "max_connections", "framing", "tls"},
        "syslog_udp": _COMMON_SOURCE_KEYS | {"address"},
        "otlp_grpc": frozenset({"type", "address", "max_message_bytes", "tls"}),
        "otlp_http": frozenset({"type", "address", "max_message_bytes", "tls"}),
    }
)
_ALL_SOURCE_KEYS: Final = frozenset().union(*_SOURCE_KEYS.values())
_COMMON_SINK_KEYS: Final = frozenset(
    {"type", "timeout", "retry_initial_backoff", "retry_max_backoff", "unhealthy_after_failures"}
)
_SINK_KEYS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "file": _COMMON_SINK_KEYS | {"path", "max_file_bytes", "max_files"},
        "stdout": _COMMON_SINK_KEYS,
        "blackhole": _COMMON_SINK_KEYS,
        "otlp": _COMMON_SINK_KEYS | {"protocol", "endpoint", "headers", "compression", "tls"},
    }
)
_ALL_SINK_KEYS: Final = frozenset().union(*_SINK_KEYS.values())
_TOP_KEYS: Final = frozenset(
    {
        "data_dir",
        "sources",
        "sinks",
        "somatic",
        "vault",
        "pipeline",
        "metrics",
        "control",
        "resource",
        "log",
    }
)


@dataclass(frozen=True, slots=True)
class _Bind:
    """Something that listens: checked against the others for clashes."""

    transport: Literal["TCP", "UDP", "unix"]
    endpoint: str  # "host:port" or a path, as shown in messages
    host: str
    port: int
    owner: str  # dotted key of the owner, e.g. "sources.app"
    node: Node | None
    key: str  # dotted key reported on a clash


def _display(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _misplaced(
    sec: _Section, allowed: frozenset[str], all_keys: frozenset[str], kind: str, type_: str
) -> None:
    """Report keys that exist in the schema but not for this ``type``."""
    for key, key_node, _ in sec.items():
        if key not in allowed:
            owners = sorted(
                t
                for t, keys in (_SOURCE_KEYS if kind == "source" else _SINK_KEYS).items()
                if key in keys
            )
            sec.report.add(
                key_node,
                sec.child(key),
                f"not valid for {kind} type {type_} (only for {', '.join(owners)})",
            )


def _read_source(
    report: _Report, name: str, node: Node, data_dir: Path, binds: list[_Bind]
) -> SourceConfig | None:
    path = f"sources.{name}"
    sec = _Section(report, node, path, _ALL_SOURCE_KEYS)
    if not sec.ok:
        return None
    type_ = sec.require("type", _choice(_SOURCE_TYPES), f"one of {', '.join(_SOURCE_TYPES)}")
    if type_ is None:
        return None
    _misplaced(sec, _SOURCE_KEYS[type_], _ALL_SOURCE_KEYS, "source", type_)
    before = report.count
    host: str | None = None
    port: int | None = None
    socket_path: Path | None = None
    if type_ in _NETWORK_SOURCES:
        address = sec.require("address", _address, 'a "host:port" string')
        if address is not None:
            host, port = address
            transport: Literal["TCP", "UDP"] = "UDP" if type_ == "syslog_udp" else "TCP"
            binds.append(
                _Bind(
                    transport,
                    _display(host, port),
                    host,
                    port,
                    path,
                    sec.value_node("address"),
                    f"{path}.address",
                )
            )
    else:
        socket_path = sec.get("path", _socket_path, data_dir / "ndjson.sock")
        if not sec.has("path"):
            try:
                _check_socket_path(socket_path)
            except _Invalid as exc:
                report.add(node, f"{path}.path", f"default {socket_path}: {exc}")
        binds.append(
            _Bind(
                "unix",
                str(socket_path),
                "",
                0,
                path,
                sec.value_node("path") or node,
                f"{path}.path",
            )
        )
    if type_ in _OTLP_SOURCES:
        return SourceConfig(
            name=name,
            type=type_,
            host=host,
            port=port,
            max_message_bytes=sec.get("max_message_bytes", _in_size(1 * KiB, GiB), 64 * MiB),
            tls=_read_tls(sec),
        )
    max_frame = sec.get("max_frame_bytes", _in_size(1 * KiB, 16 * MiB), 64 * KiB)
    receive_buffer = sec.get(
        "receive_buffer_bytes", _in_size(1 * KiB, 64 * MiB), max(64 * KiB, max_frame)
    )
    if report.count == before and receive_buffer < max_frame:
        report.add(
            sec.value_node("receive_buffer_bytes"),
            f"{path}.receive_buffer_bytes",
            f"{format_size(receive_buffer)} is smaller than max_frame_bytes"
            f" ({format_size(max_frame)}): a buffer must hold at least one whole frame",
        )
    return SourceConfig(
        name=name,
        type=type_,
        host=host,
        port=port,
        path=socket_path,
        framing=sec.get("framing", _choice(get_args(Framing)), "auto"),
        max_frame_bytes=max_frame,
        max_connections=sec.get("max_connections", _in_int(1, 65535), 1024),
        socket_mode=_read_socket_mode(sec),
        receive_buffer_bytes=receive_buffer,
        tls=_read_tls(sec),
    )


def _read_tls(parent: _Section, *, require_client_ca: bool = False) -> TlsConfig | None:
    """Read ``<parent>.tls``; ``None`` when absent. Files are not opened here (rule 6)."""
    if not parent.has("tls"):
        return None
    sec = parent.section("tls", {"cert_file", "key_file", "client_ca_file"})
    if not sec.ok:
        return None
    cert = sec.require("cert_file", _path, "a PEM certificate chain file")
    key = sec.require("key_file", _path, "a PEM private key file")
    if require_client_ca:
        ca = sec.require("client_ca_file", _path, "a PEM CA file for client certificates")
    else:
        ca = sec.get("client_ca_file", _path, None)
    if cert is None or key is None or (require_client_ca and ca is None):
        return None
    return TlsConfig(cert_file=cert, key_file=key, client_ca_file=ca, origin=sec.path)


def _read_socket_mode(sec: _Section) -> int:
    """Read ``socket_mode``: an octal string ("0660") or a YAML octal integer (0660)."""
    node = sec.value_node("socket_mode")
    if node is None:
        return 0o660
    value = sec.report.value(node)
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            raw: str = node.value
            if value != 0 and not raw.startswith("0"):
                raise _Invalid(
                    f'{raw} is read as a decimal number; write the mode in octal, e.g. "0660"'
                )
            mode = value
        elif isinstance(value, str):
            digits = value.strip().removeprefix("0o")
            if not digits or any(c not in "01234567" for c in digits):
                raise _Invalid(f'{value!r} is not an octal mode such as "0660"')
            mode = int(digits, 8)
        else:
            raise _Invalid(f'expected an octal mode such as "0660", got {_describe(value)}')
        if not 0 <= mode <= 0o777:
            raise _Invalid(f"{oct(mode)} is out of range (0..0o777)")
    except _Invalid as exc:
        sec.report.add(node, sec.child("socket_mode"), str(exc))
        return 0o660
    return mode


def _read_sink(
    report: _Report, name: str, node: Node, data_dir: Path, files: dict[Path, str]
) -> SinkConfig | None:
    path = f"sinks.{name}"
    sec = _Section(report, node, path, _ALL_SINK_KEYS)
    if not sec.ok:
        return None
    type_ = sec.require("type", _choice(_SINK_TYPES), f"one of {', '.join(_SINK_TYPES)}")
    if type_ is None:
        return None
    _misplaced(sec, _SINK_KEYS[type_], _ALL_SINK_KEYS, "sink", type_)
    file_path: Path | None = None
    if type_ == "file":
        file_path = sec.get("path", _path, data_dir / "out" / f"{name}.jsonl")
        other = files.setdefault(file_path, path)
        if other != path:
            report.add(
                sec.value_node("path") or node,
                f"{path}.path",
                f"{file_path} is already written by {other}",
            )
    before = report.count
    initial = sec.get("retry_initial_backoff", _in_duration(0.001, 3600.0), 0.1)
    maximum = sec.get("retry_max_backoff", _in_duration(0.001, 3600.0), 5.0)
    if report.count == before and maximum < initial:
        report.add(
            sec.value_node("retry_max_backoff") or sec.value_node("retry_initial_backoff"),
            f"{path}.retry_max_backoff",
            f"{format_duration(maximum)} is less than retry_initial_backoff"
            f" ({format_duration(initial)})",
        )
    otlp: dict[str, object] = {}
    if type_ == "otlp":
        otlp = _read_otlp_sink(sec)
    return SinkConfig(
        name=name,
        type=type_,
        path=file_path,
        max_file_bytes=sec.get("max_file_bytes", _in_size(1 * KiB, TiB), 100 * MiB),
        max_files=sec.get("max_files", _in_int(1, 1000), 5),
        timeout_seconds=sec.get("timeout", _in_duration(0.001, 3600.0), 5.0),
        retry_initial_backoff_seconds=initial,
        retry_max_backoff_seconds=maximum,
        unhealthy_after_failures=sec.get("unhealthy_after_failures", _in_int(1, 1000), 3),
        **otlp,  # type: ignore[arg-type]
    )


_CLIENT_TLS_KEYS: Final = frozenset({"ca_file", "cert_file", "key_file", "server_name"})


def _endpoint(value: object) -> str:
    text = _string(value)
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise _Invalid(f"{text!r} is not an http:// or https:// URL")
    hostport = rest.split("/", 1)[0]
    if not hostport or hostport.startswith(":"):
        raise _Invalid(f"{text!r} has no host")
    host, colon, port = hostport.rpartition(":")
    if colon and not host.endswith("]") and not port.isdigit():
        raise _Invalid(f"{text!r}: port {port!r} is not a number")
    if colon and port.isdigit() and not 0 < int(port) < 65536:
        raise _Invalid(f"{text!r}: port {port} is out of range (1..65535)")
    return text


_HEADER_NAME_RE: Final = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


def _read_headers(sec: _Section) -> dict[str, str]:
    """``headers``: name -> string value; names are lower-cased (gRPC metadata requires it)."""
    out: dict[str, str] = {}
    hsec = sec.section("headers", None)
    for key, key_node, value_node in hsec.items():
        value = sec.report.value(value_node)
        if not _HEADER_NAME_RE.fullmatch(key):
            sec.report.add(key_node, hsec.child(key), "not a valid header name")
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            sec.report.add(
                value_node, hsec.child(key), f"expected a string, got {_describe(value)}"
            )
        elif any(c in str(value) for c in "\r\n\0"):
            sec.report.add(value_node, hsec.child(key), "a header value cannot hold CR, LF or NUL")
        else:
            out[key.lower()] = str(value)
    return out


def _read_otlp_sink(sec: _Section) -> dict[str, object]:
    """The ``otlp`` sink's own keys, as ``SinkConfig`` keyword arguments."""
    endpoint = sec.require("endpoint", _endpoint, 'an "http://host:port" or "https://..." URL')
    tls: ClientTlsConfig | None = None
    if sec.has("tls"):
        tsec = sec.section("tls", _CLIENT_TLS_KEYS)
        tls = ClientTlsConfig(
            ca_file=tsec.optional("ca_file", _path),
            cert_file=tsec.optional("cert_file", _path),
            key_file=tsec.optional("key_file", _path),
            server_name=tsec.optional("server_name", _string),
        )
        if (tls.cert_file is None) != (tls.key_file is None):
            sec.report.add(
                sec.value_node("tls"),
                sec.child("tls"),
                "cert_file and key_file go together (a client certificate needs its key)",
            )
    return {
        "protocol": sec.get("protocol", _choice(get_args(OtlpProtocol)), "grpc"),
        "endpoint": endpoint or "",
        "headers": MappingProxyType(_read_headers(sec)),
        "compression": sec.get("compression", _choice(get_args(OtlpCompression)), "gzip"),
        "tls": tls,
    }


def _named(report: _Report, sec: _Section, kind: str) -> Iterator[tuple[str, Node]]:
    """Yield ``(name, node)`` for each valid name in a ``name -> entry`` section."""
    for name, key_node, value_node in sec.items():
        if not _NAME_RE.fullmatch(name):
            report.add(
                key_node,
                sec.child(name),
                f"invalid {kind} name {name!r}: use only letters, digits, '_', '.' and '-'",
            )
            continue
        yield name, value_node


def _read_somatic(top: _Section) -> SomaticConfig:
    report = top.report
    sec = top.section(
        "somatic",
        {
            "zone",
            "memory_budget",
            "queue_budget",
            "yellow_threshold",
            "red_threshold",
            "hysteresis",
            "sense_every_chunks",
            "sense_interval",
        },
    )
    before = report.count
    memory = sec.get("memory_budget", _in_size(1 * MiB, TiB), 256 * MiB)
    queue = sec.get("queue_budget", _in_size(64 * KiB, TiB), 64 * MiB)
    yellow = sec.get("yellow_threshold", _in_float(0.0, 1.0, lo_open=True, hi_open=True), 0.70)
    red = sec.get("red_threshold", _in_float(0.0, 1.0, lo_open=True), 0.90)
    hysteresis = sec.get("hysteresis", _in_float(0.0, 1.0, hi_open=True), 0.10)
    if report.count == before:
        if queue > memory:
            report.add(
                sec.value_node("queue_budget") or sec.value_node("memory_budget"),
                "somatic.queue_budget",
                f"{format_size(queue)} is larger than memory_budget ({format_size(memory)})",
            )
        if not yellow < red:
            report.add(
                sec.value_node("red_threshold") or sec.value_node("yellow_threshold"),
                "somatic.red_threshold",
                f"{red:g} must be greater than yellow_threshold ({yellow:g})",
            )
        if not hysteresis < yellow:
            report.add(
                sec.value_node("hysteresis") or sec.value_node("yellow_threshold"),
                "somatic.hysteresis",
                f"{hysteresis:g} must be less than yellow_threshold ({yellow:g})",
            )
    return SomaticConfig(
        zone=sec.get("zone", _choice(get_args(ZoneSetting)), "auto"),
        memory_budget_bytes=memory,
        queue_budget_bytes=queue,
        yellow_threshold=yellow,
        red_threshold=red,
        hysteresis=hysteresis,
        sense_every_chunks=sec.get("sense_every_chunks", _in_int(1, 1_000_000), 64),
        sense_interval_seconds=sec.get("sense_interval", _in_duration(0.001, 60.0), 0.1),
    )


def _fsync(value: object) -> FsyncPolicy | float:
    if value in ("always", "never"):
        return "always" if value == "always" else "never"
    try:
        seconds = _duration(value)
    except _Invalid as exc:
        raise _Invalid(f"expected always, never or a duration such as '100ms': {exc}") from None
    if not 0.001 <= seconds <= 3600.0:
        raise _Invalid(f"{format_duration(seconds)} is out of range (1ms..1h; use always or never)")
    return seconds


def _read_vault(top: _Section, data_dir: Path) -> VaultConfig:
    report = top.report
    sec = top.section(
        "vault",
        {"dir", "max_bytes", "segment_bytes", "segment_max_age", "fsync", "compression", "replay"},
    )
    before = report.count
    max_bytes = sec.get("max_bytes", _in_size(1 * MiB, 1024 * TiB), 10 * GiB)
    segment = sec.get("segment_bytes", _in_size(64 * KiB, 4 * GiB), 64 * MiB)
    if report.count == before and max_bytes < segment:
        report.add(
            sec.value_node("max_bytes") or sec.value_node("segment_bytes"),
            "vault.max_bytes",
            f"{format_size(max_bytes)} is smaller than segment_bytes ({format_size(segment)})",
        )
    replay = sec.section("replay", {"enabled", "rate", "delete_replayed"})
    return VaultConfig(
        dir=sec.get("dir", _path, data_dir / "vault"),
        max_bytes=max_bytes,
        segment_bytes=segment,
        segment_max_age_seconds=sec.get("segment_max_age", _in_duration(1.0, 7 * 86400.0), 300.0),
        fsync=sec.get("fsync", _fsync, 0.1),
        compression=sec.get("compression", _choice(get_args(Compression)), "lz4"),
        replay=ReplayConfig(
            enabled=replay.get("enabled", _bool, True),
            rate_bytes_per_second=replay.get("rate", _rate, 64 * MiB),
            delete_replayed=replay.get("delete_replayed", _bool, True),
        ),
    )


def _rate(value: object) -> int:
    """A size per second; ``/s`` may be written (``64MiB/s``)."""
    if isinstance(value, str):
        value = value.strip().removesuffix("/s")
    return _in_size(0, TiB)(value)


def _read_pipeline(top: _Section) -> PipelineConfig:
    sec = top.section(
        "pipeline", {"batch_max_records", "batch_max_bytes", "batch_timeout", "drain_timeout"}
    )
    return PipelineConfig(
        batch_max_records=sec.get("batch_max_records", _in_int(1, 1_000_000), 8192),
        batch_max_bytes=sec.get("batch_max_bytes", _in_size(1 * KiB, 256 * MiB), 4 * MiB),
        batch_timeout_seconds=sec.get("batch_timeout", _in_duration(0.001, 60.0), 0.2),
        drain_timeout_seconds=sec.get("drain_timeout", _in_duration(0.0, 3600.0), 10.0),
    )


def _read_metrics(top: _Section, binds: list[_Bind]) -> MetricsConfig:
    sec = top.section("metrics", {"enabled", "address", "tls"})
    enabled = sec.get("enabled", _bool, True)
    host, port = sec.get("address", _address, ("127.0.0.1", 9091))
    if enabled:
        binds.append(
            _Bind(
                "TCP",
                _display(host, port),
                host,
                port,
                "metrics",
                sec.value_node("address") or sec.node,
                "metrics.address",
            )
        )
    return MetricsConfig(enabled=enabled, host=host, port=port, tls=_read_tls(sec))


def _read_control(top: _Section, data_dir: Path, binds: list[_Bind]) -> ControlConfig:
    report = top.report
    sec = top.section("control", {"socket", "allowed_uids", "audit_log", "tcp"})
    sock = sec.get("socket", _socket_path, data_dir / "control.sock")
    if not sec.has("socket"):
        try:
            _check_socket_path(sock)
        except _Invalid as exc:
            report.add(top.value_node("data_dir"), "control.socket", f"default {sock}: {exc}")
    binds.append(
        _Bind(
            "unix",
            str(sock),
            "",
            0,
            "control",
            sec.value_node("socket") or sec.node,
            "control.socket",
        )
    )
    uids: list[int] = []
    uid_node = sec.value_node("allowed_uids")
    if isinstance(uid_node, SequenceNode):
        for i, item in enumerate(uid_node.value):
            try:
                uids.append(_uid(report.value(item)))
            except _Invalid as exc:
                report.add(item, f"control.allowed_uids[{i}]", str(exc))
    elif uid_node is not None:
        report.add(
            uid_node,
            "control.allowed_uids",
            f"expected a list of uids, got {_describe(report.value(uid_node))}",
        )
    tcp: ControlTcpConfig | None = None
    if sec.has("tcp"):
        tcp_sec = sec.section("tcp", {"address", "tls"})
        host, port = tcp_sec.get("address", _address, ("127.0.0.1", 9092))
        binds.append(
            _Bind(
                "TCP",
                _display(host, port),
                host,
                port,
                "control.tcp",
                tcp_sec.value_node("address") or tcp_sec.node,
                "control.tcp.address",
            )
        )
        if tcp_sec.ok and not tcp_sec.has("tls"):
            report.add(
                tcp_sec.node,
                "control.tcp.tls",
                "required (control over TCP is mutual TLS only:"
                " cert_file, key_file and client_ca_file)",
            )
        tls = _read_tls(tcp_sec, require_client_ca=True)
        if tls is not None:
            tcp = ControlTcpConfig(host=host, port=port, tls=tls)
    return ControlConfig(
        socket=sock,
        allowed_uids=tuple(uids),
        audit_log=sec.get("audit_log", _path, data_dir / "audit.log"),
        tcp=tcp,
    )


def _read_resource(top: _Section) -> ResourceConfig:
    report = top.report
    sec = top.section("resource", {"attributes", "host_name"})
    attrs = sec.section("attributes", None)
    values: dict[str, str] = {}
    for key, _, value_node in attrs.items():
        try:
            values[key] = _string(report.value(value_node))
        except _Invalid as exc:
            report.add(value_node, attrs.child(key), str(exc))
    host_name = sec.get("host_name", _string, None)
    if host_name is not None and "host.name" in values:
        report.add(
            attrs.key_node("host.name"),
            "resource.attributes.host.name",
            "set both here and in resource.host_name; keep one",
        )
    return ResourceConfig(attributes=MappingProxyType(values), host_name=host_name)


def _check_binds(report: _Report, binds: list[_Bind]) -> None:
    """Two listeners must not share an endpoint; TCP and UDP may share a port."""
    seen: list[_Bind] = []
    for bind in binds:
        if bind.transport != "unix" and bind.port == 0:
            continue  # ephemeral: the kernel picks distinct ports
        for other in seen:
            if other.transport != bind.transport:
                continue
            if bind.transport == "unix":
                clash = Path(os.path.normpath(other.endpoint)) == Path(
                    os.path.normpath(bind.endpoint)
                )
            else:
                clash = other.port == bind.port and (
                    other.host == bind.host
                    or bind.host in _WILDCARD_HOSTS
                    or other.host in _WILDCARD_HOSTS
                )
            if clash:
                where = f", line {_line(other.node)}" if other.node is not None else ""
                report.add(
                    bind.node,
                    bind.key,
                    f"{bind.endpoint} is already bound by {other.owner} ({other.transport}{where})",
                )
                break
        seen.append(bind)


def _read(report: _Report, root: Node | None, source_file: Path | None) -> Config:
    top = _Section(report, root, "", _TOP_KEYS)
    data_dir = top.get("data_dir", _path, Path("gophership-data"))
    binds: list[_Bind] = []
    sources: dict[str, SourceConfig] = {}
    for name, node in _named(report, top.section("sources", None), "source"):
        source = _read_source(report, name, node, data_dir, binds)
        if source is not None:
            sources[name] = source
    sinks: dict[str, SinkConfig] = {}
    files: dict[Path, str] = {}
    sinks_section = top.section("sinks", None)
    for name, node in _named(report, sinks_section, "sink"):
        sink = _read_sink(report, name, node, data_dir, files)
        if sink is not None:
            sinks[name] = sink
    if top.ok and sinks_section.ok and not sinks_section.entries:
        report.add(
            top.value_node("sinks"),
            "sinks",
            "at least one sink is required (e.g. {type: blackhole})",
        )
    somatic = _read_somatic(top)
    vault = _read_vault(top, data_dir)
    pipeline = _read_pipeline(top)
    metrics = _read_metrics(top, binds)
    control = _read_control(top, data_dir, binds)
    resource = _read_resource(top)
    log = LogConfig(
        level=top.section("log", {"level"}).get("level", _choice(get_args(LogLevel)), "info")
    )
    _check_binds(report, binds)
    report.raise_if_any()
    return Config(
        data_dir=data_dir,
        sources=sources,
        sinks=sinks,
        somatic=somatic,
        vault=vault,
        pipeline=pipeline,
        metrics=metrics,
        control=control,
        resource=resource,
        log=log,
        source_file=source_file,
    )


def _load(text: str, filename: str, source_file: Path | None) -> Config:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{filename}:{mark.line + 1}" if mark is not None else filename
        problem = exc.problem or exc.context or "syntax error"
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{filename}: invalid YAML: {exc}") from None
    return _read(_Report(filename), root, source_file)


def default_config_text() -> str:
    """The embedded ``default.yaml``, as text (what ``load_config(None)`` reads)."""
    return resources.files("gophership").joinpath("default.yaml").read_text(encoding="utf-8")


def load_config(path: str | Path | None) -> Config:
    """Read and validate a configuration file; ``None`` reads the embedded default.

    Raises:
        ConfigError: The file cannot be read, is not YAML, or fails validation. The message has
            one line per problem, ``<file>:<line>: <dotted.key>: <problem>``, in file order.
    """
    if path is None:
        return _load(default_config_text(), DEFAULT_FILENAME, None)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(
            f"{file}: cannot read the configuration file: {exc.strerror or exc}"
        ) from exc
    return _load(text, str(file), file)


def load_config_text(text: str, filename: str = "<string>") -> Config:
    """Validate configuration text; ``filename`` is only used in error messages.

    Raises:
        ConfigError: As :func:`load_config`.
    """
    return _load(text, filename, None)

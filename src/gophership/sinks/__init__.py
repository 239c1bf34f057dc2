"""Sinks: where encoded batches go. :func:`build_sink` makes one from its configured type."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from gophership.config import SinkConfig
from gophership.errors import ConfigError
from gophership.sinks.blackhole import BlackholeSink
from gophership.sinks.file import FileSink
from gophership.sinks.otlp import OtlpSink
from gophership.sinks.stdout import StdoutSink

if TYPE_CHECKING:
    from gophership.sinks.base import Sink

SINK_TYPES: Final = ("file", "stdout", "blackhole", "otlp")
"""Every value ``build_sink`` accepts for ``cfg_type``."""

_FILE_OPTIONS: Final = frozenset(
    {"path", "max_file_bytes", "max_files", "fsync", "close_timeout_seconds"}
)
_STDOUT_OPTIONS: Final = frozenset({"close_timeout_seconds"})


def build_sink(cfg_type: str, name: str, **options: object) -> Sink:
    """Make the sink of type ``cfg_type`` named ``name``.

    ``file`` takes ``path`` (required), ``max_file_bytes``, ``max_files``, ``fsync`` and
    ``close_timeout_seconds``; ``stdout`` takes ``close_timeout_seconds``; ``otlp`` takes
    ``config`` (its :class:`~gophership.config.SinkConfig`); ``blackhole`` none.

    Raises:
        ConfigError: For an unknown type, an unknown or missing option, or a value of the
            wrong type or range; the message names the sink and the option.
    """
    where = f"sinks.{name}"
    if cfg_type == "file":
        _only(where, options, _FILE_OPTIONS)
        path = options.get("path")
        if not isinstance(path, str | Path):
            raise ConfigError(f"{where}.path: a file sink needs a path, got {path!r}")
        max_file_bytes = _int(where, options, "max_file_bytes", 100 << 20)
        max_files = _int(where, options, "max_files", 5)
        fsync = options.get("fsync", False)
        if not isinstance(fsync, bool):
            raise ConfigError(f"{where}.fsync: expected true or false, got {fsync!r}")
        try:
            return FileSink(
                name,
                path,
                max_file_bytes=max_file_bytes,
                max_files=max_files,
                fsync=fsync,
                close_timeout_seconds=_seconds(where, options),
            )
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
    if cfg_type == "stdout":
        _only(where, options, _STDOUT_OPTIONS)
        return StdoutSink(name, close_timeout_seconds=_seconds(where, options))
    if cfg_type == "otlp":
        _only(where, options, frozenset({"config"}))
        config = options.get("config")
        if not isinstance(config, SinkConfig):
            raise ConfigError(f"{where}: an otlp sink is built from its SinkConfig")
        return OtlpSink(config)
    if cfg_type == "blackhole":
        _only(where, options, frozenset())
        return BlackholeSink(name)
    raise ConfigError(f"{where}.type: unknown sink type {cfg_type!r}; one of {SINK_TYPES}")


def _only(where: str, options: dict[str, object], allowed: frozenset[str]) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(unknown)}")


def _int(where: str, options: dict[str, object], key: str, default: int) -> int:
    value = options.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: expected an integer, got {value!r}")
    return value


def _seconds(where: str, options: dict[str, object]) -> float:
    value = options.get("close_timeout_seconds", 5.0)
    if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
        raise ConfigError(f"{where}.close_timeout_seconds: expected seconds >= 0, got {value!r}")
    return float(value)

"""Offline replay: push a vault directory through a configured pipeline, without a daemon.

For data from a node that died: ``gs-ctl replay --vault DIR --config FILE`` builds the
engine of ``FILE`` with no sources, no metrics listener, a private control socket, the zone
sensed (a forced zone in the file is ignored), and the vault ``DIR``; replays until every
record in ``DIR`` is delivered to every sink (or ``timeout_seconds`` pass), then drains as the
daemon does. The replay cursor in ``DIR`` is the daemon's (``replay``): an interrupted offline
replay, or a later daemon on ``DIR``, resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from gophership.config import Config

log = logging.getLogger(__name__)


def offline_config(config: Config, vault_dir: Path, control_dir: Path, rate: int | None) -> Config:
    """``config`` turned into a replay-only engine for ``vault_dir``."""
    replay = dataclasses.replace(
        config.vault.replay,
        enabled=True,
        rate_bytes_per_second=config.vault.replay.rate_bytes_per_second if rate is None else rate,
    )
    return dataclasses.replace(
        config,
        sources={},
        vault=dataclasses.replace(config.vault, dir=vault_dir, replay=replay),
        metrics=dataclasses.replace(config.metrics, enabled=False, tls=None),
        control=dataclasses.replace(
            config.control, socket=control_dir / "control.sock", tcp=None, audit_log=None
        ),
        somatic=dataclasses.replace(config.somatic, zone="auto"),
    )


async def replay_vault(
    config: Config,
    vault_dir: Path,
    *,
    rate: int | None = None,
    timeout_seconds: float | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    poll_seconds: float = 0.2,
) -> dict[str, Any]:
    """Replay ``vault_dir`` into ``config``'s sinks; returns the summary.

    ``progress`` is called every ``poll_seconds`` with ``remaining_bytes``,
    ``replayed_bytes`` and ``total_bytes``. Raises VaultError (the directory is not a vault,
    or a daemon holds it) and ConfigError (TLS files of the sinks, when they have any).
    """
    from gophership.pipeline import Engine

    control_dir = Path(tempfile.mkdtemp(prefix="gs-replay-"))
    try:
        engine = Engine(offline_config(config, vault_dir, control_dir, rate))
        before = engine.vault.statistics()
        total = before.raw_bytes
        started = time.monotonic()
        await engine.start()
        timed_out = False
        while True:
            stats = engine.vault.statistics()
            if progress is not None:
                progress(
                    {
                        "total_bytes": total,
                        "remaining_bytes": stats.raw_bytes,
                        "replayed_bytes": stats.replayed_bytes_total - before.replayed_bytes_total,
                    }
                )
            if stats.lines == 0:
                break
            if timeout_seconds is not None and time.monotonic() - started > timeout_seconds:
                timed_out = True
                break
            await asyncio.sleep(poll_seconds)
        drained = await engine.drain()
        after = engine.vault.statistics()
        return {
            "vault": str(vault_dir),
            "complete": after.lines == 0 and not timed_out,
            "timed_out": timed_out,
            "replayed_lines": after.replayed_lines_total - before.replayed_lines_total,
            "replayed_bytes": after.replayed_bytes_total - before.replayed_bytes_total,
            "remaining_lines": after.lines,
            "remaining_bytes": after.raw_bytes,
            "seconds": round(time.monotonic() - started, 3),
            "sinks": {
                r.name: {
                    "sent_records": r.sink.statistics().sent_records,
                    "failed_batches": r.sink.statistics().failed_batches,
                }
                for r in engine.runners
            },
            **drained,
        }
    finally:
        shutil.rmtree(control_dir, ignore_errors=True)

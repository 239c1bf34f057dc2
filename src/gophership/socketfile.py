"""Unix socket files: make room for a new one, remove it at stop.

A socket file left by an unclean stop would make ``bind`` fail with EADDRINUSE; only a
*socket* is ever removed, so a misconfigured path can never delete a regular file.
"""

from __future__ import annotations

import contextlib
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def prepare(path: Path) -> None:
    """Create the parent directories and remove a stale socket at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()


def remove(path: Path) -> None:
    """Remove the socket at ``path`` if it is still there."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()

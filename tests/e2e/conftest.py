"""Fixtures for the end-to-end suite: the real daemon, real sockets, real clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gophership.testing.daemon import Daemon, run_daemon

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def gs(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon on the default e2e config; SIGTERMed (exit 0 asserted) after the test."""
    with run_daemon(tmp_path) as daemon:
        yield daemon

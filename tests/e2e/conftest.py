"""Fixtures for the end-to-end suite: the real daemon, real sockets, real clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gophership.testing.daemon import Daemon, run_daemon
from gophership.testing.pki import Pki, make_pki

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def gs(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon on the default e2e config; SIGTERMed (exit 0 asserted) after the test."""
    with run_daemon(tmp_path) as daemon:
        yield daemon


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A fresh test CA with server and client certificates (``gophership.testing.pki``)."""
    return make_pki(tmp_path / "pki")

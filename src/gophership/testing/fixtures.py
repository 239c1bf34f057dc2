"""Pytest fixtures shared by the suites (a plugin: ``-p gophership.testing.fixtures``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gophership.protocol import ndjson

if TYPE_CHECKING:
    from collections.abc import Iterator


def _clear_ndjson_caches() -> None:
    for cache in (ndjson._plans, ndjson._sighted, ndjson._second_texts, ndjson._severities):
        cache.clear()


@pytest.fixture
def fresh_ndjson_caches() -> Iterator[None]:
    """Empty NDJSON plan and text caches before and after the test (they are module state)."""
    _clear_ndjson_caches()
    yield
    _clear_ndjson_caches()

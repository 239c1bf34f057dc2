"""Conformance: the real loghub corpus survives ``gs-ctl vault import`` / ``cat`` bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gophership.vault import Vault, VaultOptions

DATA = Path("/work/shared/data/loghub")
LOGS = sorted(DATA.glob("*/*.log"))

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not LOGS, reason="/work/shared/data/loghub is absent"),
]


def gs_ctl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gophership.ctl", "vault", *args],
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_loghub_import_then_cat_is_bit_identical(tmp_path: Path) -> None:
    corpus = tmp_path / "loghub.log"
    corpus.write_bytes(b"".join(p.read_bytes() for p in LOGS))
    assert corpus.stat().st_size > 2 * 2**20
    vault = tmp_path / "vault"
    imp = gs_ctl("import", "--dir", str(vault), "--segment-bytes", "32KiB", str(corpus))
    assert imp.returncode == 0, imp.stderr
    rows = json.loads(gs_ctl("ls", "--dir", str(vault), "--output", "json").stdout)
    assert len(rows) >= 12
    out = tmp_path / "out.log"
    with out.open("wb") as f:
        cat = subprocess.run(
            [sys.executable, "-m", "gophership.ctl", "vault", "cat", "--dir", str(vault)],
            stdout=f,
            timeout=120,
            check=False,
        )
    assert cat.returncode == 0
    assert out.read_bytes() == corpus.read_bytes()  # cmp
    assert gs_ctl("verify", "--dir", str(vault)).returncode == 0


def test_loghub_files_one_by_one_replay_with_their_sources(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    imp = gs_ctl("import", "--dir", str(vault), "--segment-bytes", "16KiB", *map(str, LOGS))
    assert imp.returncode == 0, imp.stderr
    with Vault.open(vault, VaultOptions(delete_replayed=True)) as v:
        reader = v.reader()
        by_source: dict[str, list[bytes]] = {}
        while (rec := reader.next_record()) is not None:
            by_source.setdefault(rec.source, []).append(rec.payload)
            reader.commit(rec)
        assert v.statistics().segments == 0  # every sealed segment was replayed and deleted
    assert {Path(s) for s in by_source} == set(LOGS)
    for path in LOGS:
        assert b"".join(by_source[str(path)]) == path.read_bytes()

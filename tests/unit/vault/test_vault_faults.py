"""Fault injection: ENOSPC, EIO and short writes never lose an acknowledged record."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest
from vault_helpers import FakeClock, read_all, segment_files

from gophership.errors import VaultError
from gophership.testing.faulty_fs import FaultyFS
from gophership.vault import Vault, VaultOptions

if TYPE_CHECKING:
    from pathlib import Path


def _payload(rnd: random.Random, i: int) -> bytes:
    words = " ".join(str(rnd.randint(0, 10**9)) for _ in range(rnd.randint(1, 60)))
    return f"{i} {words}\n".encode() * rnd.randint(1, 20)


@pytest.mark.parametrize("fsync", ["always", "never", 0.5])
@pytest.mark.parametrize("seed", range(6))
def test_random_faults_lose_no_acknowledged_record(
    tmp_path: Path, seed: int, fsync: str | float
) -> None:
    rnd = random.Random(seed)
    fs = FaultyFS(rate=0.08, seed=seed)
    opts = VaultOptions(segment_bytes=4096, fsync=fsync, delete_replayed=False)
    vault = Vault.open(tmp_path, opts, fs=fs)
    acked: list[tuple[int, bytes]] = []
    errors = 0
    for i in range(300):
        payload = _payload(rnd, i)
        try:
            acked.append((vault.append(payload, lines=1), payload))
        except VaultError:
            errors += 1
        try:
            if rnd.random() < 0.05:
                vault.rotate()
            if rnd.random() < 0.05:
                vault.tick()
        except VaultError:
            errors += 1
    assert errors > 0
    assert fs.stats.total > 0
    fs.clear()
    vault.close()
    with Vault.open(tmp_path, opts) as reopened:
        got = [(r.seq, r.payload) for r in read_all(reopened)]
        assert reopened.statistics().torn_tails_total == 0
        assert reopened.verify() == []
    # Every acknowledged record, and nothing else, in order, with contiguous seqs.
    seqs = [seq for seq, _ in acked]
    assert seqs == list(range(len(acked)))
    assert got == acked


def test_a_failed_truncate_blocks_writes_until_repaired(tmp_path: Path) -> None:
    fs = FaultyFS()
    vault = Vault.open(tmp_path, VaultOptions(fsync="never"), fs=fs)
    vault.append(b"first\n", lines=1)
    size = segment_files(tmp_path)[0].stat().st_size
    fs.fail_next("pwrite", "short")
    fs.fail_next("pwrite", "eio")
    fs.fail_next("truncate", "eio", times=2)
    with pytest.raises(VaultError, match="write"):
        vault.append(b"second\n" * 50, lines=50)
    assert segment_files(tmp_path)[0].stat().st_size > size  # garbage left for now
    with pytest.raises(VaultError, match="truncated"):
        vault.append(b"third\n", lines=1)  # nothing written after garbage
    assert vault.append(b"fourth\n", lines=1) == 1  # truncation succeeded this time
    vault.close()
    with Vault.open(tmp_path) as reopened:
        assert [r.payload for r in read_all(reopened)] == [b"first\n", b"fourth\n"]
        assert reopened.statistics().torn_tails_total == 0


def test_enospc_on_segment_creation_writes_nothing(tmp_path: Path) -> None:
    fs = FaultyFS()
    vault = Vault.open(tmp_path, VaultOptions(fsync="never"), fs=fs)
    fs.fail_next("open_rw", "enospc")
    with pytest.raises(VaultError, match="cannot create"):
        vault.append(b"a\n", lines=1)
    fs.fail_next("pwrite", "enospc")
    with pytest.raises(VaultError, match="cannot create"):
        vault.append(b"a\n", lines=1)
    assert segment_files(tmp_path) == []
    assert vault.append(b"b\n", lines=1) == 0
    vault.close()


def test_fsync_failure_with_always_is_not_acknowledged(tmp_path: Path) -> None:
    fs = FaultyFS()
    vault = Vault.open(tmp_path, VaultOptions(fsync="always"), fs=fs)
    vault.append(b"a\n", lines=1)
    fs.fail_next("fsync", "eio")
    with pytest.raises(VaultError, match="fsync"):
        vault.append(b"b\n", lines=1)
    assert vault.append(b"c\n", lines=1) == 1
    vault.close()
    with Vault.open(tmp_path) as reopened:
        assert [r.payload for r in read_all(reopened)] == [b"a\n", b"c\n"]


def test_seal_failure_keeps_the_segment_active(tmp_path: Path) -> None:
    fs = FaultyFS()
    vault = Vault.open(tmp_path, VaultOptions(fsync="never"), fs=fs)
    vault.append(b"a\n", lines=1)
    fs.fail_next("pwrite", "enospc")
    with pytest.raises(VaultError):
        vault.rotate()
    assert [s.sealed for s in vault.segments()] == [False]
    fs.fail_next("fsync", "eio")
    with pytest.raises(VaultError):
        vault.rotate()
    vault.append(b"b\n", lines=1)
    vault.rotate()
    assert [(s.sealed, s.records) for s in vault.segments()] == [(True, 2)]
    vault.close()
    with Vault.open(tmp_path, read_only=True) as ro:
        assert ro.verify() == []


def test_manifest_failure_after_seal_is_recovered_from_the_footer(tmp_path: Path) -> None:
    fs = FaultyFS()
    vault = Vault.open(tmp_path, VaultOptions(fsync="never", delete_replayed=False), fs=fs)
    vault.append(b"a\n", lines=1)
    fs.fail_next("rename", "eio")
    vault.rotate()  # the footer is written; the manifest is not
    vault.append(b"b\n", lines=1)
    vault.abandon()
    with Vault.open(tmp_path, VaultOptions(delete_replayed=False)) as reopened:
        infos = reopened.segments()
        assert [(s.sealed, s.records) for s in infos] == [(True, 1), (False, 1)]
        assert [r.payload for r in read_all(reopened)] == [b"a\n", b"b\n"]


def test_cursor_write_failure_raises_and_keeps_the_old_cursor(tmp_path: Path) -> None:
    fs = FaultyFS()
    vault = Vault.open(tmp_path, VaultOptions(fsync="never"), fs=fs)
    for p in (b"a\n", b"b\n"):
        vault.append(p, lines=1)
    reader = vault.reader()
    first = reader.next_record()
    second = reader.next_record()
    assert first is not None
    assert second is not None
    reader.commit(first)
    fs.fail_next("fsync", "eio")
    with pytest.raises(VaultError, match="cursor"):
        reader.commit(second)
    vault.close()
    with Vault.open(tmp_path) as reopened:
        assert [r.payload for r in read_all(reopened, "replay")] == [b"b\n"]


def test_a_failed_background_fsync_is_raised_by_the_next_call(tmp_path: Path) -> None:
    fs = FaultyFS()
    clock = FakeClock()
    vault = Vault.open(tmp_path, VaultOptions(fsync=1.0), fs=fs, clock=clock)
    vault.append(b"a\n", lines=1)
    fs.fail_next("fsync", "eio")
    clock.now += 1
    vault.tick()  # queues the interval fsync, which fails on the worker
    with pytest.raises(VaultError, match="background fsync"):
        vault.sync()
    vault.append(b"b\n", lines=1)  # reported once; the vault keeps working
    vault.sync()
    vault.close()
    with Vault.open(tmp_path) as reopened:
        assert [r.payload for r in read_all(reopened)] == [b"a\n", b"b\n"]


def test_faulty_fs_validates_rate() -> None:
    with pytest.raises(ValueError, match="rate"):
        FaultyFS(rate=2)

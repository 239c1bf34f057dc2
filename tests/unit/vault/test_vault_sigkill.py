"""A real writer process is SIGKILLed mid-append; every acknowledged record survives."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from vault_helpers import read_all

from gophership.vault import Vault, VaultOptions

if TYPE_CHECKING:
    from pathlib import Path

CHILD = r"""
import random, sys
from gophership.vault import Vault, VaultOptions

def payload(i):
    rnd = random.Random(i)
    line = " ".join(str(rnd.randint(0, 10**9)) for _ in range(rnd.randint(1, 40)))
    return (f"{i} {line}\n" * rnd.randint(1, 300)).encode()

vault = Vault.open(sys.argv[1], VaultOptions(segment_bytes=32 * 1024, fsync=sys.argv[2]))
i = 0
while True:
    p = payload(i)
    seq = vault.append(p, lines=p.count(b"\n"), source="child")
    sys.stdout.write(f"{i} {seq}\n")
    sys.stdout.flush()
    i += 1
"""


def _payload(i: int) -> bytes:
    import random

    rnd = random.Random(i)
    line = " ".join(str(rnd.randint(0, 10**9)) for _ in range(rnd.randint(1, 40)))
    return (f"{i} {line}\n" * rnd.randint(1, 300)).encode()


@pytest.mark.parametrize("fsync", ["always", "never"])
def test_sigkill_mid_append_keeps_every_acknowledged_record(tmp_path: Path, fsync: str) -> None:
    # fsync="never" is also safe against a *process* kill: the page cache survives it.
    d = tmp_path / "vault"
    all_acked = 0
    for round_ in range(2):  # the second writer resumes a vault whose writer was killed
        acked: list[tuple[int, int]] = []
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(d), fsync],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:  # after the kill: drain the acks still in the pipe
            i, seq = map(int, line.split())
            acked.append((i, seq))
            if len(acked) == 150 + 37 * round_:
                proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        all_acked += len(acked)
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        with Vault.open(d, VaultOptions(delete_replayed=False)) as vault:
            records = read_all(vault)
            stats = vault.statistics()
        assert stats.corrupt_records_total == 0
        assert stats.quarantined_segments_total == 0
        by_seq = {r.seq: r for r in records}
        for i, seq in acked:
            assert by_seq[seq].payload == _payload(i), (i, seq)
            assert by_seq[seq].source == "child"
        # Nothing but acknowledged records, plus at most the one in flight per kill.
        seqs = [r.seq for r in records]
        assert seqs == sorted(seqs)
        assert all_acked <= len(records) <= all_acked + round_ + 1

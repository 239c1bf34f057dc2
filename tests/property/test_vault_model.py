"""The vault against a list model (RuleBasedStateMachine): append, rotate, reopen, crash, replay.

Every writable open starts the background scrub; it runs alongside the rules (appends, replays
that delete segments, crashes that stop it) and must never quarantine an intact segment.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from gophership.vault import Vault, VaultOptions


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class VaultModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="vault-model-"))
        self.clock = Clock()
        self.options = VaultOptions(
            segment_bytes=700, segment_max_age_seconds=5, fsync="never", delete_replayed=True
        )
        self.vault = Vault.open(self.dir, self.options, clock=self.clock)
        self.model: list[tuple[int, bytes, int]] = []  # (seq, payload, lines), every record
        self.replayed = 0  # records of the model committed by the replay cursor
        self.next_seq = 0

    def teardown(self) -> None:
        self.vault.abandon()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _reopen(self) -> None:
        self.vault = Vault.open(self.dir, self.options, clock=self.clock)

    @rule(
        payload=st.binary(max_size=400) | st.text("ab \n", max_size=300).map(str.encode),
        lines=st.integers(0, 50),
    )
    def append(self, payload: bytes, lines: int) -> None:
        seq = self.vault.append(payload, lines=lines)
        assert seq == self.next_seq
        self.model.append((seq, payload, lines))
        self.next_seq += lines

    @rule()
    def rotate(self) -> None:
        self.vault.rotate()

    @rule(seconds=st.floats(0, 10))
    def tick(self, seconds: float) -> None:
        self.clock.now += seconds
        self.vault.tick()

    @rule()
    def reopen(self) -> None:
        self.vault.close()
        self._reopen()

    @rule()
    def crash(self) -> None:
        self.vault.abandon()  # a process crash: the page cache keeps every write
        self._reopen()

    @rule(garbage=st.binary(min_size=1, max_size=80))
    def crash_mid_append(self, garbage: bytes) -> None:
        infos = self.vault.segments()
        self.vault.abandon()
        if infos and not infos[-1].sealed:  # the writer only ever writes the active segment
            with (self.dir / infos[-1].name).open("ab") as f:  # a torn record at its end
                f.write(garbage)
        self._reopen()

    @precondition(lambda self: self.replayed < len(self.model))
    @rule(n=st.integers(1, 10), commit=st.booleans())
    def replay(self, n: int, commit: bool) -> None:
        reader = self.vault.reader()
        expected = self.model[self.replayed : self.replayed + n]
        got = []
        for _ in expected:
            rec = reader.next_record()
            assert rec is not None
            got.append(rec)
        assert [(r.seq, r.payload, r.lines) for r in got] == expected
        if commit:
            reader.commit(got[-1])
            self.replayed += len(got)
        reader.close()

    @rule()
    def replay_all_ephemeral(self) -> None:
        reader = self.vault.reader(None)
        got = []
        while (rec := reader.next_record()) is not None:
            got.append((rec.seq, rec.payload, rec.lines))
        reader.close()
        # An ephemeral reader starts at the oldest segment still on disk: a suffix of the
        # model that contains everything not yet replayed.
        assert got == self.model[len(self.model) - len(got) :]
        assert len(got) >= len(self.model) - self.replayed

    @rule()
    def wait_for_the_scrub(self) -> None:
        assert self.vault.wait_scrubbed(timeout=30)
        assert all(s.checksum != "bad" for s in self.vault.segments())

    @invariant()
    def statistics_match_the_model(self) -> None:
        stats = self.vault.statistics()
        pending = self.model[self.replayed :]
        assert stats.records == len(pending)
        assert stats.lines == sum(lines for _, _, lines in pending)
        assert stats.raw_bytes == sum(len(p) for _, p, _ in pending)
        on_disk = sum(os.path.getsize(p) for p in self.dir.glob("*.seg"))
        assert stats.bytes == on_disk
        assert stats.corrupt_records_total == 0
        assert stats.quarantined_segments_total == 0
        assert not (self.dir / "quarantine").exists()


VaultModel.TestCase.settings = settings(max_examples=120, stateful_step_count=40, deadline=None)
TestVaultModel = VaultModel.TestCase

"""Unit tests of the Raw Vault: append, rotate, cap, fsync, recovery, replay, cursor."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from typing import TYPE_CHECKING

import pytest
from vault_helpers import FakeClock, chunks, read_all, segment_files, synth_log

from gophership.errors import ClosedResourceError, ConfigError, VaultError, VaultFull
from gophership.protocol.vault_codec import FOOTER, SEGMENT_HEADER, scan_records
from gophership.record import Codec
from gophership.vault import OsFilesystem, RateLimiter, Vault, VaultOptions
from gophership.vault.store import segment_name

if TYPE_CHECKING:
    from pathlib import Path


class CountingFS(OsFilesystem):
    """The OS filesystem, counting calls per path; fsync can be turned into a no-op."""

    def __init__(self, *, real_fsync: bool = True) -> None:
        self.real_fsync = real_fsync
        self.fsyncs = 0
        self.opened: list[str] = []
        self.preads: dict[int, int] = {}

    def open_ro(self, path: str) -> int:
        self.opened.append(os.path.basename(path))
        return super().open_ro(path)

    def open_rw(self, path: str, *, create: bool) -> int:
        self.opened.append(os.path.basename(path))
        return super().open_rw(path, create=create)

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        self.preads[fd] = self.preads.get(fd, 0) + 1
        return super().pread(fd, size, offset)

    def fsync(self, fd: int) -> None:
        self.fsyncs += 1
        if self.real_fsync:
            super().fsync(fd)

    def fsync_dir(self, path: str) -> None:
        if self.real_fsync:
            super().fsync_dir(path)


def _fill(vault: Vault, data: bytes, size: int = 16 * 1024) -> list[tuple[int, bytes]]:
    out = []
    for chunk in chunks(data, size):
        out.append((vault.append(chunk, lines=chunk.count(b"\n"), codec=Codec.RAW_LINES), chunk))
    return out


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_multi_mb_round_trip_is_bit_identical_across_dozens_of_segments(tmp_path: Path) -> None:
    data = synth_log(4 * 2**20, seed=1)
    opts = VaultOptions(segment_bytes=48 * 1024, fsync="never")
    with Vault.open(tmp_path, opts) as vault:
        appended = _fill(vault, data, 32 * 1024)
        live = read_all(vault)
        assert b"".join(r.payload for r in live) == data
    assert len(segment_files(tmp_path)) >= 24
    with Vault.open(tmp_path, opts) as vault:
        records = read_all(vault)
        infos = vault.segments()
    assert b"".join(r.payload for r in records) == data
    assert [(r.seq, r.payload) for r in records] == appended
    assert all(s.sealed for s in infos)
    assert all(s.size_bytes <= opts.segment_bytes + FOOTER.size for s in infos)
    assert sum(s.raw_bytes for s in infos) == len(data)


def test_sequence_numbers_count_lines_and_survive_restarts(tmp_path: Path) -> None:
    opts = VaultOptions(segment_bytes=4096, fsync="never")
    with Vault.open(tmp_path, opts) as vault:
        assert vault.append(b"a\nb\n", lines=2) == 0
        assert vault.append(b"c\n", lines=1) == 2
        assert vault.append(b"", lines=0) == 3
        assert vault.append(b"d\n", lines=1) == 3
    with Vault.open(tmp_path, opts) as vault:
        assert vault.append(b"e\n", lines=1) == 4
        reader = vault.reader()
        while (rec := reader.next_record()) is not None:
            last = rec
        reader.commit(last)
        assert vault.statistics().segments == 1  # the active one is never deleted
    with Vault.open(tmp_path, opts) as vault:
        assert vault.statistics().segments == 0
        assert vault.append(b"f\n", lines=1) == 5


def test_records_keep_codec_source_and_time(tmp_path: Path) -> None:
    with Vault.open(tmp_path, VaultOptions(fsync="never")) as vault:
        vault.append(
            b"x\n", lines=1, codec=Codec.SYSLOG_LINE, source="tcp:6514", received_unix_nano=42
        )
        vault.append(bytearray(b"y\n"), lines=1, source="ü" * 100)
        vault.append(memoryview(b"zz\n")[1:], lines=1)
        recs = read_all(vault)
    assert (recs[0].codec, recs[0].source, recs[0].received_unix_nano) == (2, "tcp:6514", 42)
    assert recs[1].source == "ü" * 100
    assert recs[2].payload == b"z\n"


def test_append_rejects_bad_arguments(tmp_path: Path) -> None:
    with Vault.open(tmp_path) as vault:
        with pytest.raises(ValueError, match="lines"):
            vault.append(b"x", lines=-1)
        with pytest.raises(ValueError, match="source"):
            vault.append(b"x", lines=1, source="s" * 256)
        assert vault.statistics().appended_records_total == 0


def test_options_are_validated() -> None:
    with pytest.raises(ConfigError):
        VaultOptions(fsync="sometimes")
    with pytest.raises(ConfigError):
        VaultOptions(fsync=0)
    with pytest.raises(ConfigError):
        VaultOptions(segment_bytes=10)
    with pytest.raises(ConfigError):
        VaultOptions(max_bytes=0)
    with pytest.raises(ConfigError):
        VaultOptions(segment_max_age_seconds=0)
    with pytest.raises(ConfigError):
        VaultOptions(scrub_bytes_per_second=-1)


def test_rotation_by_age_in_append_and_tick(tmp_path: Path) -> None:
    clock = FakeClock()
    opts = VaultOptions(segment_max_age_seconds=10, fsync="never")
    vault = Vault.open(tmp_path, opts, clock=clock)
    vault.append(b"a\n", lines=1)
    clock.now += 9.9
    vault.tick()
    assert [s.sealed for s in vault.segments()] == [False]
    clock.now += 0.1
    vault.tick()
    assert [s.sealed for s in vault.segments()] == [True]
    vault.tick()  # nothing active: nothing to do
    vault.append(b"b\n", lines=1)
    clock.now += 11
    vault.append(b"c\n", lines=1)  # the age check in append seals before writing
    assert [(s.sealed, s.records) for s in vault.segments()] == [(True, 1), (True, 1), (False, 1)]
    vault.rotate()
    vault.rotate()  # nothing active: no empty segment is sealed
    assert len(vault.segments()) == 3
    vault.close()
    vault.close()  # idempotent


def test_rotation_by_size_and_oversized_record(tmp_path: Path) -> None:
    opts = VaultOptions(segment_bytes=1000, fsync="never", compress=False)
    with Vault.open(tmp_path, opts) as vault:
        for _ in range(10):
            vault.append(b"x" * 300, lines=1)
        vault.append(b"y" * 5000, lines=1)
        vault.append(b"z", lines=1)
        infos = vault.segments()
    assert [s.records for s in infos] == [2, 2, 2, 2, 2, 1, 1]
    assert infos[-2].size_bytes > 5000


def test_vault_full_refuses_writes_nothing_and_recovers_after_replay(tmp_path: Path) -> None:
    opts = VaultOptions(segment_bytes=2048, max_bytes=8192, fsync="never", compress=False)
    vault = Vault.open(tmp_path, opts)
    accepted = 0
    error: VaultFull | None = None
    for _ in range(100):
        try:
            vault.append(b"r" * 500, lines=1)
        except VaultFull as exc:
            error = exc
            break
        accepted += 1
    assert error is not None
    assert error.reason == "vault_full"
    before = vault.statistics()
    assert before.bytes + FOOTER.size <= opts.max_bytes
    with pytest.raises(VaultFull):
        vault.append(b"r" * 500, lines=1)
    after = vault.statistics()
    assert after.bytes == before.bytes
    assert after.rejected_full_total == 2
    assert after.appended_records_total == accepted
    assert sum(p.stat().st_size for p in segment_files(tmp_path)) == after.bytes
    reader = vault.reader()
    recs = []
    while (rec := reader.next_record()) is not None:
        recs.append(rec)
    reader.commit(recs[-1])  # deletes every sealed segment
    assert vault.statistics().bytes < before.bytes
    vault.append(b"r" * 500, lines=1)
    vault.close()


def test_fsync_always_interval_and_never(tmp_path: Path) -> None:
    fs = CountingFS(real_fsync=False)
    with Vault.open(tmp_path / "a", VaultOptions(fsync="always"), fs=fs) as vault:
        vault.append(b"x\n", lines=1)  # creates the segment (its header is fsynced)
        base = fs.fsyncs
        for _ in range(5):
            vault.append(b"x\n", lines=1)
        assert fs.fsyncs - base == 5
    fs = CountingFS(real_fsync=False)
    clock = FakeClock()
    with Vault.open(tmp_path / "b", VaultOptions(fsync=0.5), fs=fs, clock=clock) as vault:

        def fsyncs() -> int:
            assert vault._worker is not None  # interval fsyncs run on the segment worker
            vault._worker.wait()
            return fs.fsyncs

        vault.append(b"x\n", lines=1)
        base = fsyncs()
        vault.append(b"x\n", lines=1)
        vault.tick()
        assert fsyncs() == base
        clock.now += 0.5
        vault.tick()
        assert fsyncs() == base + 1
        vault.tick()  # nothing dirty
        vault.append(b"x\n", lines=1)
        clock.now += 1
        vault.append(b"x\n", lines=1)  # the interval fsync runs in append too
        assert fsyncs() == base + 2
        vault.sync()
        assert fsyncs() == base + 3
        vault.sync()  # nothing dirty
        assert fsyncs() == base + 3
    fs = CountingFS(real_fsync=False)
    with Vault.open(tmp_path / "c", VaultOptions(fsync="never"), fs=fs) as vault:
        vault.append(b"x\n", lines=1)
        base = fs.fsyncs
        for _ in range(5):
            vault.append(b"x\n", lines=1)
        vault.tick()
        assert fs.fsyncs == base


def test_cursor_resumes_after_restart_and_keeps_or_deletes(tmp_path: Path) -> None:
    data = synth_log(300_000, seed=2)
    for delete in (False, True):
        d = tmp_path / str(delete)
        opts = VaultOptions(segment_bytes=20_000, fsync="never", delete_replayed=delete)
        with Vault.open(d, opts) as vault:
            appended = _fill(vault, data, 4096)
        nseg = len(segment_files(d))
        half = len(appended) // 2
        with Vault.open(d, opts) as vault:
            reader = vault.reader()
            got = [reader.next_record() for _ in range(half)]
            assert all(r is not None for r in got)
            last = got[-1]
            assert last is not None
            reader.commit(last)
            stats = vault.statistics()
            assert stats.records == len(appended) - half
            assert stats.lines == sum(c.count(b"\n") for _, c in appended[half:])
            assert stats.raw_bytes == sum(len(c) for _, c in appended[half:])
        with Vault.open(d, opts) as vault:
            rest = read_all(vault, "replay")
            pending_reader = vault.reader()
            assert pending_reader.pending_bytes() == sum(len(c) for _, c in appended[half:])
        assert [(r.seq, r.payload) for r in rest] == appended[half:]
        if delete:
            assert len(segment_files(d)) < nseg
            assert segment_files(d)[0].name > "00000000000000000001.seg"
        else:
            assert len(segment_files(d)) == nseg


def test_ephemeral_reader_commit_persists_nothing(tmp_path: Path) -> None:
    with Vault.open(tmp_path, VaultOptions(fsync="never")) as vault:
        vault.append(b"a\n", lines=1)
        reader = vault.reader(None)
        rec = reader.next_record()
        assert rec is not None
        reader.commit(rec)
        assert reader.next_record() is None
    assert not list(tmp_path.glob("cursor-*"))


def test_reader_follows_the_active_segment_then_its_seal(tmp_path: Path) -> None:
    with Vault.open(tmp_path, VaultOptions(fsync="never")) as vault:
        reader = vault.reader()
        assert reader.next_record() is None
        vault.append(b"a\n", lines=1)
        first = reader.next_record()
        assert first is not None
        assert first.payload == b"a\n"
        assert reader.next_record() is None
        vault.rotate()
        vault.append(b"b\n", lines=1)
        second = reader.next_record()
        assert second is not None
        assert (second.seq, second.segment) == (1, first.segment + 1)
        assert reader.pending_bytes() == 0
        reader.commit(second)
        assert len(vault.segments()) == 1


def test_torn_tail_at_every_byte_yields_a_prefix(tmp_path: Path) -> None:
    src = tmp_path / "src"
    payloads = [f"rec {i} ".encode() * (i + 1) + b"\n" for i in range(8)]
    vault = Vault.open(src, VaultOptions(fsync="never"))
    for p in payloads:
        vault.append(p, lines=1)
    vault.abandon()
    (seg,) = segment_files(src)
    full = seg.read_bytes()
    records, end, _ = scan_records(full, SEGMENT_HEADER.size)
    assert end == len(full)
    boundaries = {SEGMENT_HEADER.size}
    for r in records:
        boundaries.add(max(boundaries) + r.size)
    for cut in range(len(full) + 1):
        d = tmp_path / "cut"
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(src, d)
        (d / seg.name).write_bytes(full[:cut])
        with Vault.open(d, VaultOptions(fsync="never")) as v:
            got = [r.payload for r in read_all(v)]
            assert got == payloads[: len(got)], cut
            assert v.statistics().torn_tails_total == (0 if cut in boundaries else 1)
            assert v.append(b"next\n", lines=1) == len(got)
        with Vault.open(d, VaultOptions(fsync="never")) as v:
            assert [r.payload for r in read_all(v)] == [*got, b"next\n"]


def test_garbage_after_the_last_record_is_truncated_and_counted(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path, VaultOptions(fsync="never"))
    vault.append(b"a\n", lines=1)
    vault.append(b"b\n", lines=1)
    vault.abandon()
    (seg,) = segment_files(tmp_path)
    good = seg.stat().st_size
    with seg.open("ab") as f:
        f.write(os.urandom(100))
    with Vault.open(tmp_path, VaultOptions(fsync="never")) as v:
        assert v.statistics().torn_tails_total == 1
        assert seg.stat().st_size == good
        assert [r.payload for r in read_all(v)] == [b"a\n", b"b\n"]


def test_corrupt_record_in_the_active_segment_ends_it(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path, VaultOptions(fsync="never", compress=False))
    for p in (b"a" * 50, b"b" * 50, b"c" * 50):
        vault.append(p, lines=1)
    vault.abandon()
    (seg,) = segment_files(tmp_path)
    raw = bytearray(seg.read_bytes())
    raw[SEGMENT_HEADER.size + 86 + 36 + 10] ^= 1  # inside the second record's payload
    seg.write_bytes(bytes(raw))
    with Vault.open(tmp_path, VaultOptions(fsync="never")) as v:
        assert [r.payload for r in read_all(v)] == [b"a" * 50]
        assert v.statistics().torn_tails_total == 1


def _build_sealed(tmp_path: Path, nseg: int = 5) -> tuple[Path, list[list[bytes]]]:
    d = tmp_path / "vault"
    per_segment: list[list[bytes]] = []
    with Vault.open(d, VaultOptions(fsync="never", delete_replayed=False)) as vault:
        for s in range(nseg):
            batch = [f"seg {s} rec {i} ".encode() * (i + 2) + b"\n" for i in range(3)]
            for p in batch:
                vault.append(p, lines=1)
            vault.rotate()
            per_segment.append(batch)
    return d, per_segment


def test_flipping_any_byte_of_a_sealed_segment_is_detected_and_quarantined(
    tmp_path: Path,
) -> None:
    d, per_segment = _build_sealed(tmp_path)
    victim = segment_files(d)[2]
    pristine = _snapshot(d)
    original = victim.read_bytes()
    expected = [p for i, batch in enumerate(per_segment) if i != 2 for p in batch]
    for pos in range(len(original)):
        flipped = bytearray(original)
        flipped[pos] ^= 0xA5
        victim.write_bytes(bytes(flipped))
        with Vault.open(d, read_only=True) as ro:
            problems = ro.verify()
            assert [p.segment for p in problems] == [victim.name], pos
            assert [r.payload for r in read_all(ro)] == expected  # cat skips it
        assert _snapshot(d) == {**pristine, victim.name: bytes(flipped)}
        if pos % 7 == 0 or pos < SEGMENT_HEADER.size or pos >= len(original) - FOOTER.size:
            with Vault.open(d, VaultOptions(delete_replayed=False)) as rw:
                assert [r.payload for r in read_all(rw)] == expected
                assert rw.statistics().quarantined_segments_total == 1
                assert rw.verify() == []
            assert (d / "quarantine" / victim.name).read_bytes() == bytes(flipped)
            assert not victim.exists()
            for name, content in pristine.items():  # put the vault back as it was
                (d / name).write_bytes(content)
            shutil.rmtree(d / "quarantine")
    victim.write_bytes(original)
    with Vault.open(d, read_only=True) as ro:
        assert ro.verify() == []


class GatedFS(CountingFS):
    """CountingFS whose opens off the main thread (the scrub) are recorded apart and can wait.

    ``gate`` is set by default; clear it to hold the scrub at its next open of a file named in
    ``hold`` (every file when ``hold`` is empty).
    """

    def __init__(self, hold: frozenset[str] = frozenset()) -> None:
        super().__init__(real_fsync=False)
        self.hold = hold
        self.gate = threading.Event()
        self.gate.set()
        self.held = threading.Event()
        self.scrub_opened: list[str] = []

    def open_ro(self, path: str) -> int:
        if threading.current_thread() is threading.main_thread():
            return super().open_ro(path)
        name = os.path.basename(path)
        self.scrub_opened.append(name)
        if not self.hold or name in self.hold:
            self.held.set()
            assert self.gate.wait(timeout=30)
        return OsFilesystem.open_ro(self, path)


def _many_segments(directory: Path, count: int) -> VaultOptions:
    opts = VaultOptions(fsync="never", segment_bytes=200, compress=False)
    vault = Vault.open(directory, opts, fs=CountingFS(real_fsync=False))
    for i in range(count):
        vault.append(b"%d\n" % i + b"x" * 150, lines=1)
    vault.append(b"tail\n", lines=1)
    vault.abandon()
    assert len(segment_files(directory)) == count + 1
    return opts


def test_open_reads_only_the_active_segment_and_scrubs_the_rest_in_the_background(
    tmp_path: Path,
) -> None:
    opts = _many_segments(tmp_path, 2000)
    fs = GatedFS()
    fs.gate.clear()  # hold the scrub before its first segment: open must not wait for it
    vault = Vault.open(tmp_path, opts, fs=fs)
    try:
        assert fs.opened == ["00000000000000002001.seg", "00000000000000002001.seg"]
        assert len(vault.segments()) == 2001
        assert vault.statistics().lines == 2001
        assert not vault.wait_scrubbed(timeout=0)
        assert all(s.checksum == "unverified" for s in vault.segments()[:-1])
        vault.append(b"more\n", lines=1)  # appends do not wait for the scrub either
    finally:
        fs.gate.set()
    assert vault.wait_scrubbed(timeout=60)
    assert fs.scrub_opened == [segment_name(i) for i in range(1, 2001)]  # oldest first
    assert vault.statistics().scrubbed_segments_total == 2000
    assert vault.statistics().quarantined_segments_total == 0
    assert [s.checksum for s in vault.segments()] == ["ok"] * 2000 + ["active"]
    fs.opened.clear()
    assert vault.reader().next_record() is not None  # already checked: no second pass
    assert fs.opened == ["00000000000000000001.seg"]
    vault.abandon()  # a crash: the scrub already wrote its progress into MANIFEST

    fs = GatedFS()
    with Vault.open(tmp_path, opts, fs=fs) as vault:
        assert vault.wait_scrubbed(timeout=0)  # nothing left to check: no scrub at all
        assert vault.statistics().scrubbed_segments_total == 0
        assert fs.scrub_opened == []
        assert fs.opened == ["00000000000000002001.seg", "00000000000000002001.seg"]


def test_verified_flags_survive_close_reopen_and_later_seals(tmp_path: Path) -> None:
    d, per_segment = _build_sealed(tmp_path)
    opts = VaultOptions(fsync="never", delete_replayed=False)
    with Vault.open(d, opts) as vault:  # a manifest without flags: everything is scrubbed
        assert vault.wait_scrubbed(timeout=30)
        assert vault.statistics().scrubbed_segments_total == 5
        vault.append(b"new\n", lines=1)
        vault.rotate()  # sealed by this process: checked on the next open, not now
    fs = GatedFS()
    with Vault.open(d, opts, fs=fs) as vault:
        assert vault.wait_scrubbed(timeout=30)
        assert fs.scrub_opened == ["00000000000000000006.seg"]
        assert vault.statistics().scrubbed_segments_total == 1
        assert [r.payload for r in read_all(vault)] == [
            *(p for b in per_segment for p in b),
            b"new\n",
        ]
    fs = GatedFS()
    with Vault.open(d, opts, fs=fs) as vault:
        assert vault.wait_scrubbed(timeout=30)
        assert fs.scrub_opened == []
        assert fs.opened == []  # no active segment, every sealed one verified: nothing read
    with Vault.open(d, read_only=True) as ro:  # verified or not, readers check before reading
        assert ro.wait_scrubbed()
        assert len(read_all(ro)) == 16


def test_close_interrupts_a_throttled_scrub_and_the_next_open_resumes(tmp_path: Path) -> None:
    d, _ = _build_sealed(tmp_path)
    slow = VaultOptions(fsync="never", delete_replayed=False, scrub_bytes_per_second=1)
    fs = GatedFS(hold=frozenset({"00000000000000000001.seg"}))
    fs.gate.clear()
    vault = Vault.open(d, slow, fs=fs)
    assert fs.held.wait(timeout=30)
    fs.gate.set()  # from here on the scrub waits on the 1 byte/s bucket: hours for segment 1
    assert not vault.wait_scrubbed(timeout=0.01)
    vault.append(b"x\n", lines=1)  # the writer never waits for the scrub
    vault.close()  # interrupts the bucket wait and joins the thread
    assert not vault.wait_scrubbed()
    assert fs.scrub_opened == ["00000000000000000001.seg"]
    assert vault.statistics().scrubbed_segments_total == 0
    fs = GatedFS()
    with Vault.open(d, VaultOptions(fsync="never", delete_replayed=False), fs=fs) as vault:
        assert vault.wait_scrubbed(timeout=30)
        assert fs.scrub_opened == [segment_name(i) for i in range(1, 7)]


@pytest.mark.parametrize(
    "where",
    ["segment header", "record header", "payload", "footer", "footer CRC"],
)
def test_a_flipped_byte_is_quarantined_by_the_scrub_on_open(
    tmp_path: Path, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    d, per_segment = _build_sealed(tmp_path)
    victim = segment_files(d)[2]
    pristine = _snapshot(d)
    raw = bytearray(victim.read_bytes())
    pos = {
        "segment header": 10,
        "record header": SEGMENT_HEADER.size + 5,
        "payload": SEGMENT_HEADER.size + 36 + 3,
        "footer": len(raw) - FOOTER.size + 30,
        "footer CRC": len(raw) - 1,
    }[where]
    raw[pos] ^= 0x01
    victim.write_bytes(bytes(raw))
    fs = GatedFS()
    with Vault.open(d, VaultOptions(delete_replayed=False), fs=fs) as vault:
        assert vault.wait_scrubbed(timeout=30)
        assert not victim.exists()
        assert (d / "quarantine" / victim.name).read_bytes() == bytes(raw)
        stats = vault.statistics()
        assert (stats.quarantined_segments_total, stats.scrubbed_segments_total) == (1, 5)
        assert stats.corrupt_records_total == 0
        assert [s.name for s in vault.segments()] == [segment_name(i) for i in (1, 2, 4, 5)]
        got = read_all(vault)
    expected = [p for i, batch in enumerate(per_segment) if i != 2 for p in batch]
    assert [r.payload for r in got] == expected
    for name, content in pristine.items():  # every other segment is untouched, bit for bit
        if name.endswith(".seg") and name != victim.name:
            assert (d / name).read_bytes() == content
    warnings = [r for r in caplog.records if r.getMessage() == "Vault segment failed its checksum."]
    assert [r.__dict__["segment"] for r in warnings] == [victim.name]
    with Vault.open(d, read_only=True) as ro:
        assert ro.verify() == []


def test_a_segment_quarantined_while_the_reader_is_on_it_is_skipped(tmp_path: Path) -> None:
    d, per_segment = _build_sealed(tmp_path)
    victim = segment_files(d)[2]
    fs = GatedFS(hold=frozenset({victim.name}))
    fs.gate.clear()
    vault = Vault.open(d, VaultOptions(delete_replayed=False), fs=fs)
    try:
        assert fs.held.wait(timeout=30)  # the scrub passed its skip check and waits to open it
        reader = vault.reader()
        got = [reader.next_record() for _ in range(7)]  # segments 1, 2 and the victim's first
        raw = bytearray(victim.read_bytes())
        raw[-10] ^= 0xFF  # the disk goes bad under the reader, which already checked it
        victim.write_bytes(bytes(raw))
    finally:
        fs.gate.set()
    assert vault.wait_scrubbed(timeout=30)
    assert vault.statistics().quarantined_segments_total == 1
    while (rec := reader.next_record()) is not None:
        got.append(rec)
    assert [r.payload if r else None for r in got] == [
        *per_segment[0],
        *per_segment[1],
        per_segment[2][0],
        *per_segment[3],
        *per_segment[4],
    ]
    stats = vault.statistics()
    assert (stats.quarantined_segments_total, stats.corrupt_records_total) == (1, 0)
    reader.close()
    vault.close()
    assert (d / "quarantine" / victim.name).exists()


def test_the_scrub_and_a_reader_finding_the_same_bad_segment_count_it_once(
    tmp_path: Path,
) -> None:
    d, per_segment = _build_sealed(tmp_path)
    victim = segment_files(d)[1]
    raw = bytearray(victim.read_bytes())
    raw[SEGMENT_HEADER.size + 40] ^= 0x10
    victim.write_bytes(bytes(raw))
    fs = GatedFS(hold=frozenset({victim.name}))
    fs.gate.clear()
    vault = Vault.open(d, VaultOptions(delete_replayed=False), fs=fs)
    try:
        assert fs.held.wait(timeout=30)
        got = [r.payload for r in read_all(vault)]  # the reader quarantines it first
        assert vault.statistics().quarantined_segments_total == 1
    finally:
        fs.gate.set()
    assert vault.wait_scrubbed(timeout=30)
    assert vault.statistics().quarantined_segments_total == 1
    vault.close()
    assert got == [p for i, b in enumerate(per_segment) if i != 1 for p in b]


def test_lost_manifest_is_rebuilt_from_footers(tmp_path: Path) -> None:
    d, per_segment = _build_sealed(tmp_path)
    (d / "MANIFEST").write_bytes(b"garbage")
    with Vault.open(d, VaultOptions(delete_replayed=False)) as vault:
        assert [r.payload for r in read_all(vault)] == [p for b in per_segment for p in b]
        assert vault.append(b"more\n", lines=1) == 15
    (d / "MANIFEST").unlink()
    with Vault.open(d, read_only=True) as vault:
        assert len(read_all(vault)) == 16


def test_missing_segment_file_is_reported_and_skipped(tmp_path: Path) -> None:
    d, per_segment = _build_sealed(tmp_path)
    segment_files(d)[1].unlink()
    with Vault.open(d, read_only=True) as vault:
        assert [p.segment for p in vault.verify()] == ["00000000000000000002.seg"]
    with Vault.open(d, VaultOptions(delete_replayed=False)) as vault:
        got = [r.payload for r in read_all(vault)]
    assert got == [p for i, b in enumerate(per_segment) if i != 1 for p in b]


def test_bad_segment_header_is_quarantined_on_open(tmp_path: Path) -> None:
    d, per_segment = _build_sealed(tmp_path, 2)
    (d / "MANIFEST").unlink()
    seg = segment_files(d)[0]
    raw = bytearray(seg.read_bytes())
    raw[0] ^= 0xFF
    seg.write_bytes(bytes(raw))
    with Vault.open(d, read_only=True) as vault:
        assert [p.segment for p in vault.verify()] == [seg.name]
    assert seg.exists()
    with Vault.open(d, VaultOptions(delete_replayed=False)) as vault:
        assert vault.statistics().quarantined_segments_total == 1
        assert [r.payload for r in read_all(vault)] == per_segment[1]
    assert (d / "quarantine" / seg.name).exists()


def test_corrupt_cursor_restarts_from_the_oldest(tmp_path: Path) -> None:
    d, _per_segment = _build_sealed(tmp_path, 2)
    with Vault.open(d, VaultOptions(delete_replayed=False)) as vault:
        reader = vault.reader()
        rec = reader.next_record()
        assert rec is not None
        reader.commit(rec)
    (d / "cursor-replay").write_bytes(b"bad")
    with Vault.open(d, VaultOptions(delete_replayed=False)) as vault:
        assert len(read_all(vault, "replay")) == 6


def test_read_only_open_modifies_nothing(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path, VaultOptions(fsync="never", segment_bytes=300))
    for i in range(10):
        vault.append(b"line %d\n" % i * 20, lines=20)
    vault.abandon()
    with segment_files(tmp_path)[-1].open("ab") as f:
        f.write(b"\x00torn")
    before = _snapshot(tmp_path)
    with Vault.open(tmp_path, read_only=True) as ro:
        assert len(read_all(ro)) == 10
        assert ro.segments()
        problems = ro.verify()
        assert [p.segment for p in problems] == [segment_files(tmp_path)[-1].name]
        assert "torn tail" in problems[0].problem
        with pytest.raises(VaultError, match="read-only"):
            ro.append(b"x", lines=1)
        reader = ro.reader()
        rec = reader.next_record()
        assert rec is not None
        reader.commit(rec)
    assert _snapshot(tmp_path) == before


def test_a_second_writer_is_refused_but_readers_are_not(tmp_path: Path) -> None:
    with Vault.open(tmp_path) as vault:
        vault.append(b"a\n", lines=1)
        with pytest.raises(VaultError, match="in use"):
            Vault.open(tmp_path)
        with Vault.open(tmp_path, read_only=True) as ro:
            assert [r.payload for r in read_all(ro)] == [b"a\n"]


def test_closed_vault_refuses_use(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path)
    reader = vault.reader()
    vault.close()
    with pytest.raises(ClosedResourceError):
        vault.append(b"x", lines=1)
    with pytest.raises(ClosedResourceError):
        reader.next_record()
    vault.tick()
    vault.sync()


def test_open_errors_are_vault_errors(tmp_path: Path) -> None:
    with pytest.raises(VaultError):
        Vault.open(tmp_path / "missing", read_only=True)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(VaultError):
        Vault.open(tmp_path / "file")


def test_statistics_track_appends_and_replays(tmp_path: Path) -> None:
    with Vault.open(tmp_path, VaultOptions(fsync="never")) as vault:
        vault.append(b"a\nb\n", lines=2)
        vault.append(b"c\n", lines=1)
        s = vault.statistics()
        assert (s.segments, s.records, s.lines, s.raw_bytes) == (1, 2, 3, 6)
        assert (s.appended_records_total, s.appended_lines_total, s.appended_bytes_total) == (
            2,
            3,
            6,
        )
        assert s.bytes == sum(p.stat().st_size for p in segment_files(tmp_path))
        read_all(vault)
        s = vault.statistics()
        assert (s.replayed_records_total, s.replayed_lines_total, s.replayed_bytes_total) == (
            2,
            3,
            6,
        )


def test_concurrent_writer_and_reader_threads(tmp_path: Path) -> None:
    data = synth_log(2 * 2**20, seed=3)
    parts = chunks(data, 8192)
    opts = VaultOptions(segment_bytes=64 * 1024, fsync="never")
    vault = Vault.open(tmp_path, opts)
    got: list[bytes] = []
    done = threading.Event()

    def write() -> None:
        for p in parts:
            vault.append(p, lines=p.count(b"\n"))
            vault.tick()
        done.set()

    def read() -> None:
        reader = vault.reader()
        while len(got) < len(parts):
            rec = reader.next_record()
            if rec is None:
                continue
            got.append(rec.payload)
            if len(got) % 50 == 0:
                reader.commit(rec)

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert done.is_set()
    assert b"".join(got) == data
    vault.close()


def test_rate_limiter_token_bucket() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(1000, burst_bytes=500, clock=clock)
    assert limiter.rate_bytes_per_second == 1000
    assert limiter.delay_for(500) == 0.0
    assert limiter.delay_for(250) == pytest.approx(0.25)
    clock.now += 0.25
    assert limiter.delay_for(100) == pytest.approx(0.1)
    clock.now += 10
    assert limiter.delay_for(500) == 0.0  # refilled, capped at the burst
    assert limiter.delay_for(1) == pytest.approx(0.001)
    for unlimited in (RateLimiter(None), RateLimiter(0)):
        assert unlimited.delay_for(10**12) == 0.0
    with pytest.raises(ValueError, match="negative"):
        RateLimiter(-1)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(10, burst_bytes=0)


def test_sealed_segment_sha256_covers_everything_before_the_footer(tmp_path: Path) -> None:
    d, _ = _build_sealed(tmp_path, 1)
    raw = segment_files(d)[0].read_bytes()
    assert raw[-FOOTER.size + 52 : -4] == hashlib.sha256(raw[: -FOOTER.size]).digest()

"""The Raw Vault: a crash-safe write-ahead log of raw chunks (format: docs/VAULT_FORMAT.md).

Design constraints:

1. One writer thread (``append``/``tick``/``sync``/``rotate``/``close``) and one reader thread
   (:class:`VaultReader`) share a :class:`Vault`. LZ4 and the payload CRC run before any lock is
   taken; the writer lock serialises writer calls and disk writes; the state lock is held only
   to publish or snapshot numbers, so the reader never waits for a writer ``fsync``.
   Lock order: writer lock, manifest lock, state lock.
2. Nothing is acknowledged that is not written: ``append`` returns only after ``pwrite``
   (and ``fdatasync`` with ``fsync="always"``) succeeded. On any I/O error the partial record
   is truncated away before ``VaultError`` is raised; when even that fails, no further record
   is written until the truncation succeeds.
3. Opening always succeeds on corrupt content: a torn tail in the newest segment is truncated
   and counted, a sealed segment whose checksum fails is moved to ``quarantine/``. ``open``
   reads only the manifest, footers of unlisted files and the active segment; a writable
   vault then *scrubs* on a background thread: it checks the SHA-256 of every sealed segment
   the manifest does not mark verified, oldest first, throttled, and quarantines the bad ones.
   A reader (and ``verify``) still checks a sealed segment before it yields its records, so
   nothing corrupt is returned whether or not the scrub got there first.
4. The byte cap is a refusal, never a drop: ``append`` raises ``VaultFull`` and writes nothing.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from gophership.errors import (
    ClosedResourceError,
    ConfigError,
    CorruptRecord,
    CorruptSegment,
    VaultError,
    VaultFull,
)
from gophership.protocol.vault_codec import (
    FOOTER,
    MAX_SOURCE_BYTES,
    RECORD_HEADER,
    SEGMENT_HEADER,
    Cursor,
    Footer,
    Manifest,
    ManifestEntry,
    SegmentHeader,
    check_record_body,
    decode_cursor,
    decode_footer,
    decode_manifest,
    decode_record_body,
    decode_record_header,
    decode_segment_header,
    encode_cursor,
    encode_footer,
    encode_manifest,
    encode_record_header,
    encode_segment_header,
    prepare_payload,
)
from gophership.vault.fs import Filesystem, OsFilesystem
from gophership.vault.throttle import RateLimiter

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

SEGMENT_SUFFIX: Final = ".seg"
MANIFEST_NAME: Final = "MANIFEST"
LOCK_NAME: Final = "LOCK"
QUARANTINE_DIR: Final = "quarantine"
CURSOR_PREFIX: Final = "cursor-"
TMP_SUFFIX: Final = ".tmp"
READ_BLOCK_BYTES: Final = 1 << 20
"""Block size for hashing a segment (bounded memory, whatever the segment size)."""
MAX_PENDING_COMMITS: Final = 1 << 16
"""Yielded-but-uncommitted records a reader remembers for exact cursor bookkeeping."""
SCRUB_PERSIST_SECONDS: Final = 5.0
"""The scrub writes its progress (verified flags) into MANIFEST at most this often; a crash
loses at most this much scrub work, which the next open redoes."""

ChecksumState = Literal["unverified", "ok", "bad", "active"]


def segment_name(index: int) -> str:
    """File name of segment ``index``."""
    return f"{index:020d}{SEGMENT_SUFFIX}"


def _parse_segment_name(name: str) -> int | None:
    stem = name.removesuffix(SEGMENT_SUFFIX)
    if stem != name and len(stem) == 20 and stem.isdigit():
        return int(stem)
    return None


@dataclass(frozen=True, slots=True)
class VaultOptions:
    """How a vault rotates, caps, syncs and compresses.

    Attributes:
        segment_bytes: rotate before a record would take the active segment past this many
            bytes (a single larger record gets a segment of its own).
        max_bytes: cap on the sum of segment file sizes; ``append`` raises ``VaultFull`` and
            writes nothing when the record (plus the footer it will need) would pass it.
        segment_max_age_seconds: rotate a non-empty active segment older than this (checked
            in ``append`` and ``tick``; age counts from when this process opened it).
        fsync: ``"always"`` (before ``append`` returns), ``"never"`` (left to the OS) or an
            interval in seconds (in ``append``/``tick``); see the crash window in the spec.
        compress: store each payload as an LZ4 block when that makes it smaller.
        delete_replayed: delete sealed segments once the committing cursor has passed them.
        scrub_bytes_per_second: read rate of the background scrub a writable ``open`` starts
            (SHA-256 of sealed segments not yet verified); past it the scrub waits, so it
            cannot starve appends of disk bandwidth. ``0`` means unthrottled.
    """

    segment_bytes: int = 64 * 2**20
    max_bytes: int = 10 * 2**30
    segment_max_age_seconds: float = 300.0
    fsync: str | float = 0.1
    compress: bool = True
    delete_replayed: bool = True
    scrub_bytes_per_second: float = 256 * 2**20

    def __post_init__(self) -> None:
        if self.segment_bytes <= SEGMENT_HEADER.size:
            raise ConfigError(f"vault segment_bytes must exceed {SEGMENT_HEADER.size}")
        if self.max_bytes <= 0:
            raise ConfigError("vault max_bytes must be positive")
        if self.segment_max_age_seconds <= 0:
            raise ConfigError("vault segment_max_age_seconds must be positive")
        if isinstance(self.fsync, str):
            if self.fsync not in ("always", "never"):
                raise ConfigError('vault fsync must be "always", "never" or seconds')
        elif not self.fsync > 0:
            raise ConfigError("vault fsync interval must be positive seconds")
        if not self.scrub_bytes_per_second >= 0:
            raise ConfigError("vault scrub_bytes_per_second must not be negative")


@dataclass(frozen=True, slots=True)
class VaultRecord:
    """One record read back; ``payload`` is exactly the bytes given to ``append``.

    ``segment``/``offset``/``size`` locate it (for ``commit``); ``size`` is its on-disk bytes.
    """

    seq: int
    lines: int
    codec: int
    source: str
    received_unix_nano: int
    payload: bytes
    segment: int
    offset: int
    size: int = 0


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """One segment as ``gs-ctl vault ls`` shows it (from manifest/footers, no decompression).

    ``problem`` says why ``checksum`` is ``"bad"`` (empty otherwise).
    """

    index: int
    name: str
    first_seq: int
    lines: int
    records: int
    raw_bytes: int
    stored_bytes: int
    size_bytes: int
    sealed: bool
    checksum: ChecksumState
    created_unix_nano: int
    problem: str = ""

    @property
    def last_seq(self) -> int:
        """Last sequence number held (``first_seq - 1`` when empty)."""
        return self.first_seq + self.lines - 1


@dataclass(frozen=True, slots=True)
class VaultStatistics:
    """Numbers about a vault; ``raw_bytes``/``records``/``lines`` count what is not replayed."""

    segments: int
    bytes: int
    raw_bytes: int
    records: int
    lines: int
    appended_records_total: int
    appended_bytes_total: int
    appended_lines_total: int
    replayed_records_total: int
    replayed_bytes_total: int
    replayed_lines_total: int
    torn_tails_total: int
    corrupt_records_total: int
    quarantined_segments_total: int
    scrubbed_segments_total: int
    rejected_full_total: int
    max_bytes: int


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    """A segment that failed ``verify``: its file name and why."""

    segment: str
    problem: str


@dataclass(slots=True)
class _Segment:
    """Mutable bookkeeping for one segment (guarded by the state lock)."""

    index: int
    first_seq: int
    created_unix_nano: int
    records: int = 0
    lines: int = 0
    raw_bytes: int = 0
    stored_bytes: int = 0
    records_end: int = SEGMENT_HEADER.size
    size: int = SEGMENT_HEADER.size
    sealed: bool = False
    sha256: bytes = b""
    checksum: ChecksumState = "active"  # what this handle checked; "ok" lets a reader skip it
    verified: bool = False  # SHA-256 ever checked against the disk (the manifest flag)
    problem: str = ""  # why checksum is "bad"

    def info(self) -> SegmentInfo:
        return SegmentInfo(
            index=self.index,
            name=segment_name(self.index),
            first_seq=self.first_seq,
            lines=self.lines,
            records=self.records,
            raw_bytes=self.raw_bytes,
            stored_bytes=self.stored_bytes,
            size_bytes=self.size,
            sealed=self.sealed,
            checksum=self.checksum,
            created_unix_nano=self.created_unix_nano,
            problem=self.problem,
        )


class _SegmentWorker:
    """Hashes the active segment and runs interval fsyncs on one helper thread, in write order.

    Measured need over the house rule against hidden threads: SHA-256 costs ~14% of an append
    (86 us per 256 KiB chunk next to ~600 us of LZ4 + CRC + write) and an interval
    ``fdatasync`` stalls the writer for milliseconds; ``hashlib`` and ``fdatasync`` release the
    GIL, so both overlap the compression of the next record. The thread starts on the first
    append (never in a read-only vault) and stops on ``close``/``abandon``. At most
    ``MAX_QUEUED`` items wait; past that the writer blocks (bounded memory). A failed fsync is
    kept in ``error`` and raised by the writer's next call.
    """

    MAX_QUEUED: Final = 64

    def __init__(self, fs: Filesystem) -> None:
        self._fs = fs
        self.error: OSError | None = None
        self._queue: queue.Queue[tuple[hashlib._Hash, bytes] | int | threading.Event | None] = (
            queue.Queue(self.MAX_QUEUED)
        )
        self._thread = threading.Thread(target=self._run, name="vault-segment", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
            elif isinstance(item, int):
                try:
                    self._fs.fsync(item)
                except OSError as exc:
                    self.error = exc
            else:
                item[0].update(item[1])

    def update(self, hasher: hashlib._Hash, data: bytes) -> None:
        self._queue.put((hasher, data))

    def fsync(self, fd: int) -> None:
        self._queue.put(fd)

    def wait(self) -> None:
        """Return once every queued hash update and fsync has run."""
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()


class _Interrupted(Exception):
    """The scrub was told to stop in the middle of a segment."""


class _Scrubber:
    """Checks sealed segments not yet verified, oldest first, on a thread of its own.

    Measured need over the house rule against hidden threads: hashing thousands of segments
    cannot happen in ``open`` ("must not read them all"), and on the segment worker a 64 MiB
    segment would hold up the hash updates the writer queues in write order. The thread exists
    only when a writable ``open`` found unverified sealed segments; it ends when they are done
    or on ``close``/``abandon``. Reads are paced by a token bucket (``scrub_bytes_per_second``)
    on the real clock; ``pread`` and ``hashlib`` release the GIL, so appends keep running.
    """

    def __init__(
        self, vault: Vault, segments: list[_Segment], rate_bytes_per_second: float
    ) -> None:
        self._vault = vault
        self._segments = segments
        self._limiter = RateLimiter(rate_bytes_per_second)
        self._stop = threading.Event()
        self.done = threading.Event()
        self.completed = False
        self._thread = threading.Thread(target=self._run, name="vault-scrub", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.completed = self._vault._scrub(self._segments, self._pace)
        finally:
            self.done.set()

    def _pace(self, nbytes: int) -> None:
        """Wait out the token bucket for ``nbytes`` just read.

        Raises:
            _Interrupted: ``stop`` was called.
        """
        delay = self._limiter.delay_for(nbytes)
        if self._stop.wait(delay) if delay > 0 else self._stop.is_set():
            raise _Interrupted

    def stop(self) -> None:
        """Interrupt the scrub (it stops within one read block) and join it; idempotent."""
        self._stop.set()
        self._thread.join()


@dataclass(slots=True)
class _ScanResult:
    header: SegmentHeader
    records: int
    lines: int
    raw_bytes: int
    stored_bytes: int
    valid_end: int
    size: int
    hasher: hashlib._Hash  # the SHA-256 of bytes [0, valid_end)


class Vault:
    """A directory of segments holding raw chunks; see the module rules and the spec.

    Create with :meth:`open`. ``max_bytes`` bounds the segment bytes on disk: past it
    ``append`` raises :class:`~gophership.errors.VaultFull` and writes nothing.
    """

    def __init__(
        self,
        directory: str,
        options: VaultOptions,
        fs: Filesystem,
        clock: Callable[[], float],
        *,
        read_only: bool,
    ) -> None:
        self._dir = directory
        self._options = options
        self._fs = fs
        self._clock = clock
        self._read_only = read_only
        self._wlock = threading.RLock()
        self._mlock = threading.Lock()
        self._lock = threading.Lock()
        self._segments: dict[int, _Segment] = {}  # ascending index; the active one is last
        self._active: _Segment | None = None
        self._active_fd: int | None = None
        self._hasher: hashlib._Hash | None = None
        self._worker: _SegmentWorker | None = None
        self._scrubber: _Scrubber | None = None
        self._verified_dirty = False  # a segment was verified since the manifest was written
        self._active_since = 0.0
        self._needs_truncate = False
        self._dirty = False
        self._last_sync = clock()
        self._next_seq = 0
        self._next_index = 1
        self._generation = 0
        self._disk_bytes = 0
        self._cursors: dict[str, Cursor] = {}
        self._lock_fd: int | None = None
        self._closed = False
        self._manifest_dirty = False
        self._recovery_problems: list[VerifyProblem] = []
        self._appended_records = 0
        self._appended_bytes = 0
        self._appended_lines = 0
        self._replayed_records = 0
        self._replayed_bytes = 0
        self._replayed_lines = 0
        self._torn_tails = 0
        self._corrupt_records = 0
        self._quarantined = 0
        self._scrubbed = 0
        self._rejected_full = 0

    # ------------------------------------------------------------------ open / recovery

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        options: VaultOptions | None = None,
        *,
        fs: Filesystem | None = None,
        clock: Callable[[], float] | None = None,
        read_only: bool = False,
    ) -> Vault:
        """Open (creating it when needed) and recover a vault directory.

        Never fails because of torn or corrupt content. Reads only the manifest (or the
        footers of files it does not list) and the active segment; a writable vault then
        starts the background scrub of sealed segments not yet verified (see
        :meth:`wait_scrubbed`). ``read_only`` (for ``cat``, ``ls``, ``verify``) recovers in
        memory only: nothing is truncated, quarantined or deleted, no lock is taken, no scrub
        runs and ``append`` is refused.

        Raises:
            VaultError: the directory cannot be created or read, or another process holds
                the vault's lock.
        """
        vault = cls(
            os.fspath(directory),
            options or VaultOptions(),
            fs or OsFilesystem(),
            clock or time.monotonic,
            read_only=read_only,
        )
        try:
            vault._recover()
        except BlockingIOError as exc:
            vault._release()
            raise VaultError(f"vault {vault._dir} is in use by another process") from exc
        except OSError as exc:
            vault._release()
            raise VaultError(f"cannot open vault {vault._dir}: {exc}") from exc
        if not read_only:
            vault._start_scrub()
        return vault

    def _path(self, name: str) -> str:
        return os.path.join(self._dir, name)

    def _recover(self) -> None:
        fs = self._fs
        if self._read_only:
            names = fs.listdir(self._dir)
        else:
            fs.makedirs(self._dir)
            self._lock_fd = fs.lock(self._path(LOCK_NAME))
            names = fs.listdir(self._dir)
            for name in names:
                if name.endswith(TMP_SUFFIX):
                    self._try(fs.unlink, self._path(name))
        files = {i: n for n in names if (i := _parse_segment_name(n)) is not None}
        for name in names:
            if name.startswith(CURSOR_PREFIX) and not name.endswith(TMP_SUFFIX):
                cursor = self._load_cursor(name)
                if cursor is not None:
                    self._cursors[name.removeprefix(CURSOR_PREFIX)] = cursor
        manifest = self._load_manifest()
        segments: dict[int, _Segment] = {}
        if manifest is not None:
            self._next_seq = manifest.next_seq
            self._next_index = manifest.next_index
            self._generation = manifest.generation
            for e in manifest.entries:
                if e.segment_index not in files:
                    log.warning(
                        "Vault segment listed in the manifest is missing.",
                        extra={"segment": segment_name(e.segment_index)},
                    )
                    self._manifest_dirty = True
                    self._recovery_problems.append(
                        VerifyProblem(segment_name(e.segment_index), "segment file is missing")
                    )
                    continue
                segments[e.segment_index] = _Segment(
                    index=e.segment_index,
                    first_seq=e.first_seq,
                    created_unix_nano=e.created_unix_nano,
                    records=e.records,
                    lines=e.lines,
                    raw_bytes=e.raw_bytes,
                    stored_bytes=e.stored_bytes,
                    records_end=e.size_bytes - FOOTER.size,
                    size=e.size_bytes,
                    sealed=True,
                    sha256=e.sha256,
                    checksum="unverified",
                    verified=e.verified,
                )
        unknown = sorted(i for i in files if i not in segments)
        newest = max(files) if files else None
        for index in unknown:
            segment = self._recover_unlisted(index, is_newest=index == newest)
            if segment is not None:
                segments[index] = segment
                self._manifest_dirty = self._manifest_dirty or segment.sealed
        self._segments = dict(sorted(segments.items()))
        for q in self._quarantine_indices():
            self._next_index = max(self._next_index, q + 1)
        for cursor in self._cursors.values():
            self._next_seq = max(self._next_seq, cursor.next_seq)
            self._next_index = max(self._next_index, cursor.segment_index + 1)
        for seg in self._segments.values():
            self._next_seq = max(self._next_seq, seg.first_seq + seg.lines)
            self._next_index = max(self._next_index, seg.index + 1)
            self._disk_bytes += seg.size
        last = next(reversed(self._segments.values()), None)
        if last is not None and not last.sealed and not self._read_only:
            self._resume_active(last)
        if not self._read_only:
            replay = self._cursors.get("replay")
            if self._options.delete_replayed and replay is not None:
                self._delete_replayed(replay)
            if self._manifest_dirty:
                self._persist_manifest()

    def _quarantine_indices(self) -> list[int]:
        try:
            names = self._fs.listdir(self._path(QUARANTINE_DIR))
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            i = _parse_segment_name(n.split(".seg")[0] + SEGMENT_SUFFIX)
            if i is not None:
                out.append(i)
        return out

    def _load_manifest(self) -> Manifest | None:
        data = self._fs.read_small(self._path(MANIFEST_NAME))
        if data is None:
            return None
        try:
            return decode_manifest(data)
        except CorruptSegment:
            log.warning(
                "Vault manifest is corrupt; rebuilding it from segment footers.",
                extra={"vault": self._dir},
            )
            return None

    def _load_cursor(self, name: str) -> Cursor | None:
        data = self._fs.read_small(self._path(name))
        if data is None:
            return None
        try:
            return decode_cursor(data)
        except CorruptSegment:
            log.warning(
                "Vault cursor is corrupt; replay restarts at the oldest segment.",
                extra={"cursor": name},
            )
            return None

    def _recover_unlisted(self, index: int, *, is_newest: bool) -> _Segment | None:
        """Adopt a segment the manifest does not list: by its footer, or by scanning it."""
        fs = self._fs
        path = self._path(segment_name(index))
        fd = fs.open_ro(path)
        try:
            size = fs.size(fd)
            footer = self._read_footer(fd, size)
            try:
                header = decode_segment_header(fs.pread(fd, SEGMENT_HEADER.size, 0))
            except CorruptSegment:
                header = None
            if header is None or header.segment_index != index:
                fs.close(fd)
                fd = -1
                if is_newest and size <= SEGMENT_HEADER.size:
                    # Crashed while creating it: nothing in it was ever acknowledged.
                    self._torn_tails += 1
                    if not self._read_only:
                        self._try(fs.unlink, path)
                    return None
                self._recovery_problems.append(
                    VerifyProblem(segment_name(index), "bad segment header")
                )
                self._quarantined += 1
                self._quarantine_file(index, "bad segment header")
                return None
            if footer is not None:
                return _Segment(
                    index=index,
                    first_seq=footer.first_seq,
                    created_unix_nano=header.created_unix_nano,
                    records=footer.records,
                    lines=footer.lines,
                    raw_bytes=footer.raw_bytes,
                    stored_bytes=footer.stored_bytes,
                    records_end=footer.records_end,
                    size=size,
                    sealed=True,
                    sha256=footer.sha256,
                    checksum="unverified",
                )
            scan = self._scan(fd, header, size)
        finally:
            if fd >= 0:
                fs.close(fd)
        segment = _Segment(
            index=index,
            first_seq=header.first_seq,
            created_unix_nano=header.created_unix_nano,
            records=scan.records,
            lines=scan.lines,
            raw_bytes=scan.raw_bytes,
            stored_bytes=scan.stored_bytes,
            records_end=scan.valid_end,
            size=scan.valid_end,
        )
        if scan.valid_end < size:
            self._torn_tails += 1
            log.warning(
                "Vault segment has a torn tail; truncating it.",
                extra={"segment": segment_name(index), "bytes": size - scan.valid_end},
            )
            if self._read_only:
                segment.size = size
            else:
                fd = fs.open_rw(path, create=False)
                try:
                    fs.truncate(fd, scan.valid_end)
                    fs.fsync(fd)
                finally:
                    fs.close(fd)
        if is_newest or self._read_only:
            self._hasher = scan.hasher if is_newest else None
            return segment
        # An older segment without a footer (the manifest was lost mid-write): seal it.
        self._seal_file(segment, scan.hasher)
        return segment

    def _read_footer(self, fd: int, size: int) -> Footer | None:
        if size < SEGMENT_HEADER.size + FOOTER.size:
            return None
        try:
            footer = decode_footer(self._fs.pread(fd, FOOTER.size, size - FOOTER.size))
        except CorruptSegment:
            return None
        return footer if footer.records_end == size - FOOTER.size else None

    def _scan(self, fd: int, header: SegmentHeader, size: int) -> _ScanResult:
        """Check every record of an unsealed segment; stop at the first bad or torn one."""
        fs = self._fs
        hasher = hashlib.sha256(encode_segment_header(header))
        offset = SEGMENT_HEADER.size
        records = lines = raw = stored = 0
        expect_seq = header.first_seq
        while offset < size:
            head = fs.pread(fd, RECORD_HEADER.size, offset)
            try:
                rh = decode_record_header(head)
            except CorruptRecord:
                break
            if rh is None or offset + RECORD_HEADER.size + rh.body_len > size:
                break
            body = fs.pread(fd, rh.body_len, offset + RECORD_HEADER.size)
            if len(body) != rh.body_len or rh.first_seq != expect_seq:
                break
            try:
                check_record_body(rh, head, body)
            except CorruptRecord:
                break
            hasher.update(head)
            hasher.update(body)
            offset += RECORD_HEADER.size + rh.body_len
            records += 1
            lines += rh.lines
            raw += rh.raw_len
            stored += rh.stored_len
            expect_seq += rh.lines
        return _ScanResult(header, records, lines, raw, stored, offset, size, hasher)

    def _resume_active(self, segment: _Segment) -> None:
        """Continue appending into the recovered newest segment (or drop it when empty)."""
        if segment.records == 0:
            del self._segments[segment.index]
            self._disk_bytes -= segment.size
            self._try(self._fs.unlink, self._path(segment_name(segment.index)))
            self._hasher = None
            return
        self._active_fd = self._fs.open_rw(self._path(segment_name(segment.index)), create=False)
        self._active = segment
        self._active_since = self._clock()

    # ------------------------------------------------------------------ writing

    def append(
        self,
        payload: bytes | bytearray | memoryview,
        *,
        lines: int,
        codec: int = 0,
        source: str = "",
        received_unix_nano: int = 0,
    ) -> int:
        """Append one record of whole frames; returns its first sequence number.

        The next record's first sequence number is this one plus ``lines``. Compression and
        the payload CRC happen before any lock is taken.

        Raises:
            VaultFull: the record would take the vault past ``max_bytes``; nothing written.
            VaultError: an I/O error; the partial record was truncated away (or no further
                record is written until it is), so no corrupt state is left.
            ClosedResourceError: the vault is closed.
            ValueError: ``lines`` negative, ``source`` over 255 UTF-8 bytes or the payload
                over 2 GiB.
        """
        if lines < 0 or lines > 0xFFFFFFFF:
            raise ValueError("lines must fit an unsigned 32-bit integer")
        src = source.encode()
        if len(src) > MAX_SOURCE_BYTES:
            raise ValueError(f"source name exceeds {MAX_SOURCE_BYTES} UTF-8 bytes")
        prepared = prepare_payload(payload, compress=self._options.compress)
        rec_len = RECORD_HEADER.size + len(src) + len(prepared.stored)
        with self._wlock:
            self._check_writable()
            now = self._clock()
            if self._needs_truncate:
                self._repair_tail()
            self._raise_worker_error()
            self._interval_sync(now)
            active = self._active
            rotate = (
                active is not None
                and active.records > 0
                and (
                    active.records_end + rec_len > self._options.segment_bytes
                    or now - self._active_since >= self._options.segment_max_age_seconds
                )
            )
            projected = self._disk_bytes + rec_len + FOOTER.size
            if active is None:
                projected += SEGMENT_HEADER.size
            elif rotate:
                projected += FOOTER.size + SEGMENT_HEADER.size
            if projected > self._options.max_bytes:
                with self._lock:
                    self._rejected_full += 1
                raise VaultFull(
                    f"vault {self._dir} is full: {self._disk_bytes} of {self._options.max_bytes}"
                    f" bytes used, record needs {rec_len}"
                )
            if rotate:
                self._seal_active()
            if self._active is None:
                self._start_segment(now)
            active = self._active
            fd = self._active_fd
            hasher = self._hasher
            assert active is not None
            assert fd is not None
            assert hasher is not None
            seq = self._next_seq
            header = encode_record_header(
                prepared,
                src,
                first_seq=seq,
                lines=lines,
                codec=codec,
                received_unix_nano=received_unix_nano,
            )
            data = b"".join((header, src, prepared.stored))
            offset = active.records_end
            self._write_at(fd, data, offset)
            if self._options.fsync == "always":
                try:
                    self._fs.fsync(fd)
                except OSError as exc:
                    self._truncate_back(fd, offset)
                    raise VaultError(f"fsync of the vault segment failed: {exc}") from exc
            else:
                self._dirty = True
            if self._worker is None:
                self._worker = _SegmentWorker(self._fs)
            self._worker.update(hasher, data)
            with self._lock:
                active.records += 1
                active.lines += lines
                active.raw_bytes += prepared.raw_len
                active.stored_bytes += len(prepared.stored)
                active.records_end += len(data)
                active.size = active.records_end
                self._disk_bytes += len(data)
                self._next_seq = seq + lines
                self._appended_records += 1
                self._appended_bytes += prepared.raw_len
                self._appended_lines += lines
            return seq

    def _check_writable(self) -> None:
        if self._closed:
            raise ClosedResourceError("the vault is closed")
        if self._read_only:
            raise VaultError("the vault was opened read-only")

    def _pwrite_all(self, fd: int, data: bytes, offset: int) -> None:
        """Write all of ``data`` at ``offset``, continuing after short writes.

        Raises:
            OSError: the write failed or made no progress.
        """
        view = memoryview(data)
        done = 0
        while done < len(data):
            n = self._fs.pwrite(fd, view[done:], offset + done)
            if n <= 0:
                raise OSError(28, "no progress writing a vault file")
            done += n

    def _write_at(self, fd: int, data: bytes, offset: int) -> None:
        try:
            self._pwrite_all(fd, data, offset)
        except OSError as exc:
            self._truncate_back(fd, offset)
            raise VaultError(f"write to the vault segment failed: {exc}") from exc

    def _truncate_back(self, fd: int, offset: int) -> None:
        """Cut a partial write away; on failure block further writes until it succeeds."""
        try:
            self._fs.truncate(fd, offset)
        except OSError:
            log.warning(
                "Vault could not truncate a partial record; will retry.", extra={"vault": self._dir}
            )
            self._needs_truncate = True
        else:
            self._needs_truncate = False

    def _repair_tail(self) -> None:
        active, fd = self._active, self._active_fd
        assert active is not None
        assert fd is not None
        try:
            self._fs.truncate(fd, active.records_end)
        except OSError as exc:
            raise VaultError(f"vault segment tail still cannot be truncated: {exc}") from exc
        self._needs_truncate = False

    def _start_segment(self, now: float) -> None:
        fs = self._fs
        index = self._next_index
        path = self._path(segment_name(index))
        created = time.time_ns()
        header = encode_segment_header(SegmentHeader(index, self._next_seq, created))
        try:
            fd = fs.open_rw(path, create=True)
        except OSError as exc:
            raise VaultError(f"cannot create vault segment {path}: {exc}") from exc
        try:
            fs.truncate(fd, 0)
            self._pwrite_all(fd, header, 0)
            fs.fsync(fd)
            fs.fsync_dir(self._dir)
        except OSError as exc:
            self._try(fs.close, fd)
            self._try(fs.unlink, path)
            raise VaultError(f"cannot create vault segment {path}: {exc}") from exc
        segment = _Segment(index=index, first_seq=self._next_seq, created_unix_nano=created)
        self._next_index = index + 1
        self._active_fd = fd
        self._hasher = hashlib.sha256(header)
        self._active_since = now
        self._needs_truncate = False
        with self._lock:
            self._segments[index] = segment
            self._active = segment
            self._disk_bytes += len(header)

    def _seal_active(self) -> None:
        """Write the footer, fsync, and list the segment in the manifest."""
        active, fd, hasher = self._active, self._active_fd, self._hasher
        assert active is not None
        assert fd is not None
        assert hasher is not None
        if self._worker is not None:
            self._worker.wait()
        footer = encode_footer(
            Footer(
                active.records,
                active.first_seq,
                active.lines,
                active.raw_bytes,
                active.stored_bytes,
                active.records_end,
                hasher.digest(),
            )
        )
        self._write_at(fd, footer, active.records_end)
        try:
            self._fs.fsync(fd)
        except OSError as exc:
            self._truncate_back(fd, active.records_end)
            raise VaultError(f"fsync while sealing a vault segment failed: {exc}") from exc
        self._try(self._fs.close, fd)
        self._active_fd = None
        self._hasher = None
        self._dirty = False
        with self._lock:
            active.sealed = True
            active.sha256 = hasher.digest()
            active.size = active.records_end + FOOTER.size
            active.checksum = "unverified"
            self._disk_bytes += FOOTER.size
            self._active = None
        self._persist_manifest()

    def _seal_file(self, segment: _Segment, hasher: hashlib._Hash) -> None:
        """Seal a recovered older segment that lost its footer (recovery only)."""
        path = self._path(segment_name(segment.index))
        fd = self._fs.open_rw(path, create=False)
        try:
            digest = hasher.digest()
            footer = encode_footer(
                Footer(
                    segment.records,
                    segment.first_seq,
                    segment.lines,
                    segment.raw_bytes,
                    segment.stored_bytes,
                    segment.records_end,
                    digest,
                )
            )
            self._pwrite_all(fd, footer, segment.records_end)
            self._fs.fsync(fd)
        finally:
            self._fs.close(fd)
        segment.sealed = True
        segment.sha256 = digest
        segment.size = segment.records_end + FOOTER.size
        segment.checksum = "unverified"

    def _persist_manifest(self) -> None:
        """Write MANIFEST atomically; a failure is logged and retried on the next change."""
        with self._mlock:
            with self._lock:
                self._generation += 1
                entries = tuple(
                    ManifestEntry(
                        s.index,
                        s.first_seq,
                        s.lines,
                        s.records,
                        s.raw_bytes,
                        s.stored_bytes,
                        s.size,
                        s.created_unix_nano,
                        s.sha256,
                        verified=s.verified,
                    )
                    for s in self._segments.values()
                    if s.sealed
                )
                data = encode_manifest(
                    Manifest(self._next_seq, self._next_index, self._generation, entries)
                )
                self._verified_dirty = False
            try:
                self._write_atomic(MANIFEST_NAME, data)
            except OSError:
                log.warning(
                    "Vault manifest write failed; footers stay authoritative.",
                    extra={"vault": self._dir},
                )
                self._manifest_dirty = True
            else:
                self._manifest_dirty = False

    def _write_atomic(self, name: str, data: bytes) -> None:
        """Temp file, fsync, rename over ``name``, fsync the directory."""
        fs = self._fs
        tmp = self._path(name + TMP_SUFFIX)
        fd = fs.open_rw(tmp, create=True)
        try:
            fs.truncate(fd, 0)
            self._pwrite_all(fd, data, 0)
            fs.fsync(fd)
        except OSError:
            fs.close(fd)
            self._try(fs.unlink, tmp)
            raise
        fs.close(fd)
        try:
            fs.rename(tmp, self._path(name))
        except OSError:
            self._try(fs.unlink, tmp)
            raise
        fs.fsync_dir(self._dir)

    def _raise_worker_error(self) -> None:
        worker = self._worker
        if worker is not None and worker.error is not None:
            error, worker.error = worker.error, None
            raise VaultError(f"background fsync of the vault segment failed: {error}") from error

    def _interval_sync(self, now: float) -> None:
        """Queue an fsync on the worker when the interval has passed since the last one."""
        interval = self._options.fsync
        if isinstance(interval, str) or not self._dirty or now - self._last_sync < interval:
            return
        if self._worker is not None and self._active_fd is not None:
            self._worker.fsync(self._active_fd)
        self._dirty = False
        self._last_sync = now

    def _sync_locked(self) -> None:
        if self._worker is not None:
            self._worker.wait()
        self._raise_worker_error()
        fd = self._active_fd
        if fd is None or not self._dirty:
            self._last_sync = self._clock()
            return
        try:
            self._fs.fsync(fd)
        except OSError as exc:
            raise VaultError(f"fsync of the vault segment failed: {exc}") from exc
        self._dirty = False
        self._last_sync = self._clock()

    def tick(self) -> None:
        """Rotate an over-age active segment and run the interval fsync (call ~every 100 ms).

        Raises:
            VaultError: the fsync or the seal failed (the records stay in the active segment).
        """
        with self._wlock:
            if self._closed or self._read_only:
                return
            now = self._clock()
            active = self._active
            if (
                active is not None
                and active.records > 0
                and now - self._active_since >= self._options.segment_max_age_seconds
            ):
                self._seal_active()
            self._raise_worker_error()
            self._interval_sync(now)

    def sync(self) -> None:
        """Make every appended record durable now (``fdatasync`` of the active segment).

        Raises:
            VaultError: the fsync failed.
        """
        with self._wlock:
            if not self._closed and not self._read_only:
                self._sync_locked()

    def rotate(self) -> None:
        """Seal the active segment when it holds records (no-op otherwise).

        Raises:
            VaultError: the seal failed; the segment stays active.
        """
        with self._wlock:
            self._check_writable()
            if self._active is not None and self._active.records > 0:
                self._seal_active()

    def close(self) -> None:
        """Sync, seal a non-empty active segment, persist the manifest, release; idempotent.

        Raises:
            VaultError: the final fsync or seal failed; the vault is closed anyway and the
                next open recovers the active segment.
        """
        with self._wlock:
            if self._closed:
                return
            error: VaultError | None = None
            self._stop_scrub()  # first, so the manifest written below keeps its progress
            try:
                if not self._read_only:
                    if self._needs_truncate:
                        self._repair_tail()
                    if self._active is not None and self._active.records > 0:
                        self._seal_active()
                    if self._manifest_dirty or self._verified_dirty:
                        self._persist_manifest()
            except VaultError as exc:
                error = exc
            finally:
                self._closed = True
                self._release()
            if error is not None:
                raise error

    def abandon(self) -> None:
        """Drop the vault as a crash would: no sync, no seal, no manifest; fds are released.

        For tests and for a hard shutdown; the next :meth:`open` recovers the active segment.
        """
        with self._wlock:
            self._closed = True
            self._release()

    def _stop_scrub(self) -> None:
        if self._scrubber is not None:
            self._scrubber.stop()

    def _release(self) -> None:
        self._stop_scrub()
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._active_fd is not None:
            self._try(self._fs.close, self._active_fd)
            self._active_fd = None
        if self._lock_fd is not None:
            self._try(self._fs.close, self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _try(fn: Callable[..., object], *args: object) -> None:
        try:
            fn(*args)
        except OSError:
            log.debug("Vault cleanup call failed.", extra={"call": getattr(fn, "__name__", "")})

    # ------------------------------------------------------------------ inspection

    @property
    def directory(self) -> str:
        """The vault directory."""
        return self._dir

    @property
    def read_only(self) -> bool:
        """Whether this handle only reads."""
        return self._read_only

    def statistics(self) -> VaultStatistics:
        """Current numbers; ``raw_bytes``/``records``/``lines`` exclude what was replayed."""
        with self._lock:
            cursor = self._cursors.get("replay")
            raw = records = lines = 0
            for seg in self._segments.values():
                if cursor is not None and seg.index < cursor.segment_index:
                    continue
                if cursor is not None and seg.index == cursor.segment_index:
                    raw += max(0, seg.raw_bytes - cursor.raw_done)
                    records += max(0, seg.records - cursor.records_done)
                    lines += max(0, seg.first_seq + seg.lines - cursor.next_seq)
                else:
                    raw += seg.raw_bytes
                    records += seg.records
                    lines += seg.lines
            return VaultStatistics(
                segments=len(self._segments),
                bytes=self._disk_bytes,
                raw_bytes=raw,
                records=records,
                lines=lines,
                appended_records_total=self._appended_records,
                appended_bytes_total=self._appended_bytes,
                appended_lines_total=self._appended_lines,
                replayed_records_total=self._replayed_records,
                replayed_bytes_total=self._replayed_bytes,
                replayed_lines_total=self._replayed_lines,
                torn_tails_total=self._torn_tails,
                corrupt_records_total=self._corrupt_records,
                quarantined_segments_total=self._quarantined,
                scrubbed_segments_total=self._scrubbed,
                rejected_full_total=self._rejected_full,
                max_bytes=self._options.max_bytes,
            )

    def segments(self) -> list[SegmentInfo]:
        """Every segment, oldest first, from the manifest/footers (nothing is read)."""
        with self._lock:
            return [s.info() for s in self._segments.values()]

    def reader(self, cursor: str | None = "replay") -> VaultReader:
        """A reader starting at the saved cursor ``cursor``.

        ``None`` gives an ephemeral reader from the oldest segment whose ``commit`` persists
        nothing (``gs-ctl vault cat``).
        """
        return VaultReader(self, cursor)

    def verify(self) -> list[VerifyProblem]:
        """Check every checksum of every segment; returns the problems (empty when intact).

        A writable vault quarantines sealed segments that fail; a read-only one only
        reports. Torn tails of the newest segment found on open are reported as problems
        too only for read-only handles (a writable open already truncated them).
        """
        with self._lock:
            problems = list(self._recovery_problems)
            segments = list(self._segments.values())
        for seg in segments:
            if seg.sealed:
                problem = self._verify_sealed(seg)
                if problem is not None:
                    problems.append(VerifyProblem(segment_name(seg.index), problem))
                    self._quarantine(seg, problem)
            else:
                problem = self._verify_unsealed(seg)
                if problem is not None:
                    problems.append(VerifyProblem(segment_name(seg.index), problem))
        return problems

    def _verify_unsealed(self, seg: _Segment) -> str | None:
        fd = self._fs.open_ro(self._path(segment_name(seg.index)))
        try:
            with self._lock:
                end = seg.records_end
            header = decode_segment_header(self._fs.pread(fd, SEGMENT_HEADER.size, 0))
            if header is None:
                return "segment header is missing"
            scan = self._scan(fd, header, end)
            if scan.valid_end != end:
                return f"record at offset {scan.valid_end} fails its CRC32C check"
            size = self._fs.size(fd)
        except CorruptSegment as exc:
            return str(exc)
        finally:
            self._fs.close(fd)
        if self._read_only and size > end:
            return f"torn tail of {size - end} bytes (truncated on the next writable open)"
        return None

    def _verify_sealed(
        self, seg: _Segment, pace: Callable[[int], None] | None = None
    ) -> str | None:
        """SHA-256 of the body, footer CRC, footer vs manifest; ``None`` when intact.

        ``pace`` is called with the size of every block read (the scrub's throttle); what it
        raises propagates with the file closed.
        """
        fs = self._fs
        try:
            fd = fs.open_ro(self._path(segment_name(seg.index)))
        except FileNotFoundError:
            return "segment file is missing"
        try:
            size = fs.size(fd)
            if size != seg.size:
                return f"size is {size} bytes, the manifest says {seg.size}"
            hasher = hashlib.sha256()
            pos = 0
            while pos < seg.records_end:
                block = fs.pread(fd, min(READ_BLOCK_BYTES, seg.records_end - pos), pos)
                if not block:
                    return "segment is shorter than its footer says"
                hasher.update(block)
                pos += len(block)
                if pace is not None:
                    pace(len(block))
            try:
                footer = decode_footer(fs.pread(fd, FOOTER.size, seg.records_end))
                decode_segment_header(fs.pread(fd, SEGMENT_HEADER.size, 0))
            except CorruptSegment as exc:
                return str(exc)
        finally:
            fs.close(fd)
        digest = hasher.digest()
        if digest != footer.sha256:
            return "SHA-256 mismatch"
        if footer.sha256 != seg.sha256:
            return "footer SHA-256 differs from the manifest"
        if (footer.records, footer.lines, footer.first_seq, footer.records_end) != (
            seg.records,
            seg.lines,
            seg.first_seq,
            seg.records_end,
        ):
            return "footer counts differ from the manifest"
        with self._lock:
            seg.checksum = "ok"
            if not seg.verified:
                seg.verified = True
                self._verified_dirty = True
        return None

    def _holds(self, seg: _Segment) -> bool:
        """Whether ``seg`` is still a live segment of the vault (caller holds the state lock)."""
        return self._segments.get(seg.index) is seg and seg.checksum != "bad"

    def _quarantine(self, seg: _Segment, why: str) -> bool:
        """Take a failed sealed segment out of the vault (read-only: just mark it bad).

        Returns ``False`` when another thread already removed it (quarantined or replayed and
        deleted): the scrub, a reader and ``verify`` may find the same segment, it is counted
        once. The count is published in the same step that removes it from the segment map,
        so a reader that skips it already sees it counted.
        """
        with self._lock:
            if not self._holds(seg):
                return False
            seg.checksum = "bad"
            seg.problem = why
            if not self._read_only:
                del self._segments[seg.index]
                self._disk_bytes -= seg.size
                self._quarantined += 1
        log.warning(
            "Vault segment failed its checksum.",
            extra={"segment": segment_name(seg.index), "problem": why},
        )
        if self._read_only:
            return True
        self._quarantine_file(seg.index, why)
        self._persist_manifest()
        return True

    def _quarantine_file(self, index: int, why: str) -> None:
        """Move a segment file into ``quarantine/`` (the caller counts it); read-only: no-op."""
        if self._read_only:
            return
        name = segment_name(index)
        qdir = self._path(QUARANTINE_DIR)
        try:
            self._fs.makedirs(qdir)
            self._fs.rename(self._path(name), os.path.join(qdir, name))
            self._fs.fsync_dir(self._dir)
        except OSError:
            log.warning(
                "Vault could not move a bad segment to quarantine.",
                extra={"segment": name, "problem": why},
            )

    def _start_scrub(self) -> None:
        """Start the background scrub when a sealed segment is not verified yet."""
        with self._lock:
            todo = [s for s in self._segments.values() if s.sealed and not s.verified]
        if todo:
            self._scrubber = _Scrubber(self, todo, self._options.scrub_bytes_per_second)

    def _scrub(self, segments: list[_Segment], pace: Callable[[int], None]) -> bool:
        """Check ``segments`` in order (scrub thread); ``False`` when interrupted by ``stop``.

        Skips a segment already gone (replayed, quarantined) or checked by a reader; an I/O
        error leaves the segment unverified for the next open (a reader checks it anyway).
        Progress reaches MANIFEST every ``SCRUB_PERSIST_SECONDS``, at the end and on close.
        """
        last_persist = time.monotonic()
        for seg in segments:
            with self._lock:
                if self._segments.get(seg.index) is not seg or seg.verified:
                    continue
            try:
                problem = self._verify_sealed(seg, pace)
            except _Interrupted:
                return False
            except OSError as exc:
                log.warning(
                    "Vault scrub could not read a segment; it stays unverified.",
                    extra={"segment": segment_name(seg.index), "error": str(exc)},
                )
                continue
            if problem is None or self._quarantine(seg, problem):
                with self._lock:
                    self._scrubbed += 1
            now = time.monotonic()
            if self._verified_dirty and now - last_persist >= SCRUB_PERSIST_SECONDS:
                self._persist_manifest()
                last_persist = now
        if self._verified_dirty:
            self._persist_manifest()
        return True

    def wait_scrubbed(self, timeout: float | None = None) -> bool:
        """Block until the scrub started by ``open`` has checked every segment it had to.

        Returns ``True`` at once when no scrub was needed (and always for a read-only vault),
        ``False`` when ``timeout`` seconds passed first or ``close``/``abandon`` stopped the
        scrub before it finished.
        """
        scrubber = self._scrubber
        if scrubber is None:
            return True
        return scrubber.done.wait(timeout) and scrubber.completed

    def recovery_problems(self) -> list[VerifyProblem]:
        """What ``open`` found without reading sealed segments: missing files, bad headers."""
        with self._lock:
            return list(self._recovery_problems)

    def _delete_replayed(self, cursor: Cursor) -> None:
        """Delete sealed segments the cursor has passed; the manifest goes first."""
        with self._lock:
            gone = [
                s
                for s in self._segments.values()
                if s.sealed
                and (
                    s.index < cursor.segment_index
                    or (s.index == cursor.segment_index and cursor.offset >= s.records_end)
                )
            ]
            for s in gone:
                del self._segments[s.index]
                self._disk_bytes -= s.size
        if not gone:
            return
        self._persist_manifest()
        for s in gone:
            self._try(self._fs.unlink, self._path(segment_name(s.index)))

    def _save_cursor(self, name: str, cursor: Cursor) -> None:
        try:
            self._write_atomic(CURSOR_PREFIX + name, encode_cursor(cursor))
        except OSError as exc:
            raise VaultError(f"cannot save vault cursor {name}: {exc}") from exc
        with self._lock:
            self._cursors[name] = cursor


class VaultReader:
    """Yields records in append order from a cursor; one reader thread per reader.

    Corrupt records and segments are counted and skipped (sealed segments are quarantined by
    a writable vault), never raised. When caught up with the writer, ``next_record`` returns
    ``None``; call it again later.
    """

    def __init__(self, vault: Vault, name: str | None) -> None:
        self._vault = vault
        self._name = name
        cursor = vault._cursors.get(name) if name is not None else None
        if cursor is None:
            cursor = Cursor(segment_index=-1, offset=0, next_seq=0)
        self._segment = cursor.segment_index
        self._offset = cursor.offset
        self._next_seq = cursor.next_seq
        self._records_done = cursor.records_done
        self._raw_done = cursor.raw_done
        self._fd: int | None = None
        self._fd_index = -1
        self._verified = -1
        self._pending: collections.OrderedDict[tuple[int, int], tuple[int, int]] = (
            collections.OrderedDict()
        )

    def next_record(self) -> VaultRecord | None:
        """The next record after the cursor, or ``None`` when caught up.

        Raises:
            ClosedResourceError: the vault was closed.
        """
        vault = self._vault
        while True:
            if vault._closed:
                self._close_fd()
                raise ClosedResourceError("the vault is closed")
            with vault._lock:
                seg = vault._segments.get(self._segment)
                if seg is None or seg.checksum == "bad" or self._offset >= seg.records_end:
                    nxt = next((i for i in vault._segments if i > self._segment), None)
                    if nxt is None:
                        return None
                    self._enter(nxt)
                    continue
                end = seg.records_end
                sealed = seg.sealed
                checked = seg.checksum == "ok"
            self._offset = max(self._offset, SEGMENT_HEADER.size)
            if sealed and not checked and self._verified != seg.index:
                problem = vault._verify_sealed(seg)
                if problem is not None:
                    vault._quarantine(seg, problem)
                    continue
                self._verified = seg.index
            record = self._read(seg.index, self._offset, end)
            if record is None:
                with vault._lock:
                    if not vault._holds(seg):
                        continue  # quarantined (and counted) or deleted under us: next one
                    vault._corrupt_records += 1
                if sealed:
                    vault._quarantine(seg, f"record at offset {self._offset} is corrupt")
                else:
                    self._offset = end  # an unsealed segment: skip to what the writer knows
                continue
            self._offset += record.size
            self._records_done += 1
            self._raw_done += len(record.payload)
            if record.seq < self._next_seq:
                continue  # already replayed (cursor written before a segment was rebuilt)
            self._next_seq = record.seq + record.lines
            self._pending[(record.segment, record.offset)] = (self._records_done, self._raw_done)
            if len(self._pending) > MAX_PENDING_COMMITS:
                self._pending.popitem(last=False)
            with vault._lock:
                vault._replayed_records += 1
                vault._replayed_bytes += len(record.payload)
                vault._replayed_lines += record.lines
            return record

    def _enter(self, index: int) -> None:
        self._segment = index
        self._offset = SEGMENT_HEADER.size
        self._records_done = 0
        self._raw_done = 0

    def _read(self, index: int, offset: int, end: int) -> VaultRecord | None:
        fs = self._vault._fs
        if self._fd_index != index:
            self._close_fd()
            try:
                self._fd = fs.open_ro(self._vault._path(segment_name(index)))
            except OSError:
                return None
            self._fd_index = index
        fd = self._fd
        assert fd is not None
        try:
            head = fs.pread(fd, RECORD_HEADER.size, offset)
            header = decode_record_header(head)
            if header is None or offset + RECORD_HEADER.size + header.body_len > end:
                return None
            body = fs.pread(fd, header.body_len, offset + RECORD_HEADER.size)
            if len(body) != header.body_len:
                return None
            decoded = decode_record_body(header, head, body)
        except (OSError, CorruptRecord):
            return None
        return VaultRecord(
            seq=decoded.first_seq,
            lines=decoded.lines,
            codec=decoded.codec,
            source=decoded.source,
            received_unix_nano=decoded.received_unix_nano,
            payload=decoded.payload,
            segment=index,
            offset=offset,
            size=decoded.size,
        )

    def _close_fd(self) -> None:
        if self._fd is not None:
            self._vault._try(self._vault._fs.close, self._fd)
            self._fd = None
            self._fd_index = -1

    def commit(self, record: VaultRecord) -> None:
        """Persist the cursor just past ``record``; then delete passed sealed segments.

        The cursor is written atomically (temp + fsync + rename + fsync dir). An ephemeral
        reader (``cursor=None``) or a read-only vault keeps the position in memory only.

        Raises:
            VaultError: the cursor could not be written (the previous one stays valid).
        """
        done = self._pending.get((record.segment, record.offset))
        records_done, raw_done = done if done is not None else (0, 0)
        while self._pending:
            key, _ = self._pending.popitem(last=False)
            if key == (record.segment, record.offset):
                break
        cursor = Cursor(
            segment_index=record.segment,
            offset=record.offset + record.size,
            next_seq=record.seq + record.lines,
            records_done=records_done,
            raw_done=raw_done,
        )
        vault = self._vault
        if self._name is None or vault._read_only:
            return
        vault._save_cursor(self._name, cursor)
        if vault._options.delete_replayed:
            vault._delete_replayed(cursor)

    def pending_bytes(self) -> int:
        """Raw bytes not yet read past this reader's position (exact per segment)."""
        vault = self._vault
        with vault._lock:
            total = 0
            for seg in vault._segments.values():
                if seg.index > self._segment:
                    total += seg.raw_bytes
                elif seg.index == self._segment:
                    total += max(0, seg.raw_bytes - self._raw_done)
            return total

    def close(self) -> None:
        """Release the reader's file descriptor; idempotent."""
        self._close_fd()

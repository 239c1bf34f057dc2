from __future__ import annotations

import asyncio
import errno
import functools
import io
import os
import threading
from typing import TYPE_CHECKING

import pytest

from gophership.errors import (
    ClosedResourceError,
    ConfigError,
    FatalSinkError,
    RetryableSinkError,
)
from gophership.sinks import build_sink
from gophership.sinks.base import ExportBatch, SinkStatistics, translate_os_error
from gophership.sinks.blackhole import BlackholeSink
from gophership.sinks.file import FileSink
from gophership.sinks.stdout import StdoutSink
from gophership.sinks.thread import SinkThread
from gophership.testing.conformance import check_sink
from gophership.testing.fakes import FakeClock, MemorySink

if TYPE_CHECKING:
    from pathlib import Path

    from gophership.sinks.base import Sink


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def line(i: int, size: int = 0) -> ExportBatch:
    body = b"x" * size
    return ExportBatch(payload=b'{"i":%d,"pad":"%s"}\n' % (i, body), records=1)


# -- conformance -----------------------------------------------------------------------------


async def test_file_sink_conformance(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "out.jsonl"
    sent = await check_sink(lambda: FileSink("file", path))
    assert path.read_bytes() == b"".join(b.payload for b in sent)


async def test_file_sink_conformance_with_fsync(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sent = await check_sink(lambda: FileSink("file", path, fsync=True))
    assert path.read_bytes() == b"".join(b.payload for b in sent)


async def test_stdout_sink_conformance(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    sent = await check_sink(lambda: StdoutSink("stdout"))
    assert capsysbinary.readouterr().out == b"".join(b.payload for b in sent)


async def test_stdout_sink_conformance_with_a_stream() -> None:
    stream = io.BytesIO()
    sent = await check_sink(lambda: StdoutSink("stdout", stream=stream))
    assert stream.getvalue() == b"".join(b.payload for b in sent)


async def test_blackhole_conformance() -> None:
    sent = await check_sink(lambda: BlackholeSink("void"))
    assert len(sent) == 8


async def test_memory_sink_conformance() -> None:
    sinks: list[MemorySink] = []

    def make() -> Sink:
        sinks.append(MemorySink())
        return sinks[-1]

    sent = await check_sink(make)
    assert sinks[0].batches == sent


class _ForgetfulSink(BlackholeSink):
    """Breaks the contract: it keeps accepting batches after aclose."""

    async def aclose(self) -> None:
        pass


async def test_conformance_catches_a_send_after_close() -> None:
    with pytest.raises(AssertionError, match="ClosedResourceError"):
        await check_sink(lambda: _ForgetfulSink("bad"))


# -- file sink -------------------------------------------------------------------------------


async def test_file_appends_to_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"old\n")
    sink = FileSink("f", path)
    await sink.send(line(1))
    await sink.aclose()
    assert path.read_bytes() == b"old\n" + line(1).payload


async def test_file_rotates_by_size_and_keeps_max_files(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    size = len(line(0).payload)
    sink = FileSink("f", path, max_file_bytes=2 * size, max_files=2)
    for i in range(7):  # two lines per file: files hold [0,1] [2,3] [4,5] [6]
        await sink.send(line(i))
    await sink.aclose()
    assert names(tmp_path) == ["out.jsonl", "out.jsonl.1", "out.jsonl.2"]
    assert path.read_bytes() == line(6).payload
    assert (tmp_path / "out.jsonl.1").read_bytes() == line(4).payload + line(5).payload
    assert (tmp_path / "out.jsonl.2").read_bytes() == line(2).payload + line(3).payload
    st = sink.statistics()
    assert (st.rotations, st.sent_batches) == (3, 7)


async def test_file_rotation_with_one_kept_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = FileSink("f", path, max_file_bytes=1, max_files=1)
    for i in range(3):
        await sink.send(line(i))
    await sink.aclose()
    assert path.read_bytes() == line(2).payload
    assert (tmp_path / "out.jsonl.1").read_bytes() == line(1).payload
    assert len(names(tmp_path)) == 2


async def test_file_never_splits_a_batch_larger_than_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = FileSink("f", path, max_file_bytes=64)
    big = line(1, size=500)
    await sink.send(line(0))
    await sink.send(big)
    await sink.send(line(2))
    await sink.aclose()
    assert (tmp_path / "out.jsonl.2").read_bytes() == line(0).payload
    assert (tmp_path / "out.jsonl.1").read_bytes() == big.payload
    assert path.read_bytes() == line(2).payload


def test_file_rejects_bad_limits(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_file_bytes"):
        FileSink("f", tmp_path / "x", max_file_bytes=0)
    with pytest.raises(ValueError, match="max_files"):
        FileSink("f", tmp_path / "x", max_files=0)


async def test_file_disk_full_is_retryable(tmp_path: Path) -> None:
    sink = FileSink("full", "/dev/full")
    with pytest.raises(RetryableSinkError, match="ENOSPC") as info:
        await sink.send(line(1))
    assert isinstance(info.value.__cause__, OSError)
    with pytest.raises(RetryableSinkError):
        await sink.send(ExportBatch(b"{}\n", records=4, attempt=1))
    st = sink.statistics()
    assert (st.failed_batches, st.failed_records, st.sent_batches, st.retries) == (2, 5, 0, 1)
    await sink.aclose()


async def test_file_on_a_directory_is_fatal(tmp_path: Path) -> None:
    sink = FileSink("dir", tmp_path)
    with pytest.raises(FatalSinkError, match="EISDIR"):
        await sink.send(line(1))
    assert sink.statistics().failed_batches == 1
    await sink.aclose()


async def test_file_under_a_file_is_fatal(tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"")
    sink = FileSink("f", tmp_path / "plain" / "out.jsonl")
    with pytest.raises(FatalSinkError):
        await sink.send(line(1))
    await sink.aclose()


async def test_file_recovers_after_the_error_is_fixed(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.mkdir()
    sink = FileSink("f", path)
    with pytest.raises(FatalSinkError):
        await sink.send(line(1))
    path.rmdir()
    await sink.send(line(2))
    await sink.aclose()
    assert path.read_bytes() == line(2).payload


class _TornFile(io.RawIOBase):
    """Writes ``room`` bytes, then fails with ENOSPC (a disk filling up mid-batch)."""

    def __init__(self, target: Path, room: int) -> None:
        self._target = target
        self._room = room

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # bytes in, as FileIO
        if self._room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(self._room, len(data))
        with open(self._target, "ab") as f:
            f.write(bytes(data[:n]))
        self._room -= n
        return n


async def test_file_torn_write_is_followed_by_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = FileSink("f", path)
    await sink.send(line(0))
    sink._close_file()
    sink._file = _TornFile(path, room=5)  # type: ignore[assignment]  # fault injection
    with pytest.raises(RetryableSinkError):
        await sink.send(line(1))
    await sink.send(line(2))
    await sink.send(line(3))
    await sink.aclose()
    lines = path.read_bytes().split(b"\n")
    assert lines == [
        line(0).payload[:-1],
        line(1).payload[:5],
        *(line(i).payload[:-1] for i in (2, 3)),
        b"",
    ]


async def test_file_fifo_blocks_only_the_sink_thread(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    sink = FileSink("fifo", fifo, max_file_bytes=1)
    send = asyncio.create_task(sink.send(line(1)))
    # The loop keeps running while the sink thread waits for a reader in open().
    for _ in range(20):
        await asyncio.sleep(0)
    assert not send.done()
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        await send
        assert os.read(reader, 65536) == line(1).payload
        await sink.send(line(2))  # a FIFO is never rotated
        assert os.read(reader, 65536) == line(2).payload
        assert sink.statistics().rotations == 0
    finally:
        os.close(reader)
    # The reader went away: EPIPE is retryable (a new reader may come).
    with pytest.raises(RetryableSinkError, match="EPIPE"):
        await sink.send(line(3))
    await sink.aclose()


async def test_file_aclose_gives_up_waiting_on_a_blocked_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    sink = FileSink("fifo", fifo, close_timeout_seconds=0.05)
    first = asyncio.create_task(sink.send(line(1)))
    queued = asyncio.create_task(sink.send(line(2)))
    for _ in range(5):
        await asyncio.sleep(0)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    await sink.aclose()  # returns although the thread is still blocked in open()
    with pytest.raises(ClosedResourceError):
        await sink.send(line(3))
    # Let the thread finish: the running write completes, the cancelled one is skipped.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        await first
        thread = sink._thread._thread
        assert thread is not None
        await asyncio.to_thread(thread.join, 10)
        assert not thread.is_alive()
        assert os.read(reader, 65536) == line(1).payload
    finally:
        os.close(reader)


# -- stdout and blackhole --------------------------------------------------------------------


class _BrokenStream(io.BytesIO):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self._error = error

    def write(self, data: object) -> int:
        raise self._error


async def test_stdout_broken_pipe_is_retryable() -> None:
    sink = StdoutSink("out", stream=_BrokenStream(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    with pytest.raises(RetryableSinkError, match="EPIPE"):
        await sink.send(line(1))
    assert sink.statistics().failed_batches == 1
    await sink.aclose()


async def test_stdout_closed_stream_is_fatal() -> None:
    stream = io.BytesIO()
    stream.close()
    sink = StdoutSink("out", stream=stream)
    with pytest.raises(FatalSinkError, match="closed"):
        await sink.send(line(1))
    assert sink.statistics().failed_records == 1
    await sink.aclose()  # flushing a closed stream is not an error at close


async def test_blackhole_counts_and_discards() -> None:
    sink = BlackholeSink("void")
    for i in range(100):
        await sink.send(line(i))
    st = sink.statistics()
    assert (st.sent_batches, st.sent_records) == (100, 100)
    await sink.aclose()


# -- memory sink and fake clock --------------------------------------------------------------


async def test_memory_sink_fails_n_times_then_delivers() -> None:
    sink = MemorySink()
    sink.fail_next(2, RetryableSinkError("try later"))
    for attempt in range(2):
        with pytest.raises(RetryableSinkError, match="try later"):
            await sink.send(ExportBatch(b"a\n", 3, attempt=attempt))
    await sink.send(ExportBatch(b"a\n", 3, attempt=2))
    assert sink.payload == b"a\n"
    assert sink.statistics() == SinkStatistics(
        sent_batches=1,
        sent_records=3,
        sent_bytes=2,
        failed_batches=2,
        failed_records=6,
        retries=2,
    )


async def test_memory_sink_blocks_until_released() -> None:
    sink = MemorySink()
    sink.hold()
    task = asyncio.create_task(sink.send(line(1)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert sink.waiting == 1
    assert sink.batches == []
    sink.release()
    await task
    assert sink.waiting == 0
    assert sink.batches == [line(1)]


async def test_memory_sink_blocked_send_can_be_cancelled() -> None:
    sink = MemorySink()
    sink.hold()
    task = asyncio.create_task(sink.send(line(1)))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sink.waiting == 0
    assert sink.batches == []


def test_fake_clock() -> None:
    clock = FakeClock(10.0)
    assert clock() == clock.monotonic() == 10.0
    clock.advance(2.5)
    assert clock() == 12.5
    clock.advance(0)
    assert clock.monotonic() == 12.5
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)


# -- sink thread -----------------------------------------------------------------------------


async def test_sink_thread_runs_in_order_and_off_the_loop() -> None:
    worker = SinkThread("t")
    loop_thread = threading.get_ident()
    seen: list[tuple[int, int]] = []

    def job(i: int) -> int:
        seen.append((i, threading.get_ident()))
        return i * 10

    results = await asyncio.gather(*(worker.run(functools.partial(job, i)) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert [i for i, _ in seen] == [0, 1, 2, 3, 4]
    assert {t for _, t in seen} != {loop_thread}
    assert len({t for _, t in seen}) == 1
    assert await worker.close(lambda: None, 5.0)
    assert await worker.close(lambda: None, 5.0)  # idempotent
    with pytest.raises(ClosedResourceError):
        await worker.run(lambda: 1)


async def test_sink_thread_propagates_exceptions() -> None:
    worker = SinkThread("t")

    def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await worker.run(boom)
    assert await worker.run(lambda: "still works") == "still works"
    await worker.close(lambda: None, 5.0)


async def test_sink_thread_skips_cancelled_jobs_but_not_the_final_one() -> None:
    worker = SinkThread("t")
    gate = threading.Event()
    ran: list[str] = []
    first = asyncio.create_task(worker.run(lambda: gate.wait(10)))
    skipped = asyncio.create_task(worker.run(lambda: ran.append("skipped")))
    await asyncio.sleep(0)
    skipped.cancel()
    closing = asyncio.create_task(worker.close(lambda: ran.append("final"), 10.0))
    await asyncio.sleep(0)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    gate.set()
    assert await first is True
    thread = worker._thread
    assert thread is not None
    await asyncio.to_thread(thread.join, 10)
    assert ran == ["final"]


async def test_sink_thread_close_without_any_job() -> None:
    ran: list[int] = []
    worker = SinkThread("t")
    assert await worker.close(lambda: ran.append(1), 5.0)
    assert ran == [1]


# -- errors and the factory ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (errno.ENOSPC, RetryableSinkError),
        (errno.EIO, RetryableSinkError),
        (errno.EAGAIN, RetryableSinkError),
        (errno.EPIPE, RetryableSinkError),
        (errno.EACCES, FatalSinkError),
        (errno.EISDIR, FatalSinkError),
        (errno.EROFS, FatalSinkError),
        (None, RetryableSinkError),
    ],
)
def test_translate_os_error(code: int | None, kind: type[Exception]) -> None:
    exc = OSError(code, "message") if code is not None else OSError("no errno")
    got = translate_os_error(exc, "s")
    assert type(got) is kind
    assert "sink 's'" in str(got)


def test_build_sink_types(tmp_path: Path) -> None:
    f = build_sink(
        "file", "a", path=tmp_path / "a.jsonl", max_file_bytes=1024, max_files=2, fsync=True
    )
    assert isinstance(f, FileSink)
    assert f.name == "a"
    assert f.path == tmp_path / "a.jsonl"
    assert isinstance(build_sink("file", "b", path=str(tmp_path / "b")), FileSink)
    assert isinstance(build_sink("stdout", "c"), StdoutSink)
    assert isinstance(build_sink("stdout", "c", close_timeout_seconds=1), StdoutSink)
    assert isinstance(build_sink("file", "e", path="e", close_timeout_seconds=0.5), FileSink)
    assert isinstance(build_sink("blackhole", "d"), BlackholeSink)


@pytest.mark.parametrize(
    ("cfg_type", "options", "match"),
    [
        ("kafka", {}, r"sinks\.x\.type: unknown sink type 'kafka'"),
        ("file", {}, r"sinks\.x\.path"),
        ("file", {"path": 3}, r"sinks\.x\.path"),
        ("file", {"path": "p", "max_files": "5"}, r"sinks\.x\.max_files"),
        ("file", {"path": "p", "max_file_bytes": True}, r"sinks\.x\.max_file_bytes"),
        ("file", {"path": "p", "max_files": 0}, r"sinks\.x: max_files"),
        ("file", {"path": "p", "fsync": "yes"}, r"sinks\.x\.fsync"),
        ("file", {"path": "p", "colour": "red"}, r"unknown option\(s\) colour"),
        ("stdout", {"path": "p"}, r"sinks\.x: unknown option\(s\) path"),
        ("stdout", {"close_timeout_seconds": -1}, r"sinks\.x\.close_timeout_seconds"),
        ("stdout", {"close_timeout_seconds": "1s"}, r"sinks\.x\.close_timeout_seconds"),
        ("file", {"path": "p", "close_timeout_seconds": True}, r"close_timeout_seconds"),
        ("blackhole", {"a": 1, "b": 2}, r"unknown option\(s\) a, b"),
    ],
)
def test_build_sink_errors(cfg_type: str, options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_sink(cfg_type, "x", **options)

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gophership.pivot.probe import MemoryProbe, release_free_memory

if TYPE_CHECKING:
    from pathlib import Path

STATM = "12345 2560 400 5 0 800 0\n"  # resident = 2560 pages


def make_tree(
    tmp_path: Path,
    *,
    statm: str | None = STATM,
    cgroup: str | None = "12:memory:/v1\n0::/system.slice/gs.service\n",
    current: str | None = "52428800\n",
    limit: str | None = "104857600\n",
    pid: str = "self",
) -> MemoryProbe:
    proc = tmp_path / "proc" / pid
    proc.mkdir(parents=True)
    if statm is not None:
        (proc / "statm").write_text(statm)
    if cgroup is not None:
        (proc / "cgroup").write_text(cgroup)
    group = tmp_path / "cgroup" / "system.slice" / "gs.service"
    group.mkdir(parents=True)
    if current is not None:
        (group / "memory.current").write_text(current)
    if limit is not None:
        (group / "memory.max").write_text(limit)
    return MemoryProbe(str(tmp_path / "proc"), str(tmp_path / "cgroup"), pid=pid, page_size=4096)


def test_rss_from_statm(tmp_path: Path) -> None:
    assert make_tree(tmp_path).rss_bytes() == 2560 * 4096


def test_rss_of_another_pid(tmp_path: Path) -> None:
    assert make_tree(tmp_path, pid="4242").rss_bytes() == 2560 * 4096


def test_rss_without_procfs_is_zero(tmp_path: Path) -> None:
    assert make_tree(tmp_path, statm=None).rss_bytes() == 0


def test_rss_follows_the_file(tmp_path: Path) -> None:
    probe = make_tree(tmp_path)
    (tmp_path / "proc" / "self" / "statm").write_text("1 10 1 1 0 1 0\n")
    assert probe.rss_bytes() == 10 * 4096


def test_cgroup_usage_and_limit(tmp_path: Path) -> None:
    assert make_tree(tmp_path).cgroup() == (50 * 2**20, 100 * 2**20)


def test_cgroup_unlimited(tmp_path: Path) -> None:
    assert make_tree(tmp_path, limit="max\n").cgroup() == (50 * 2**20, None)


def test_cgroup_without_memory_max(tmp_path: Path) -> None:
    assert make_tree(tmp_path, limit=None).cgroup() == (50 * 2**20, None)


def test_cgroup_without_memory_controller(tmp_path: Path) -> None:
    assert make_tree(tmp_path, current=None).cgroup() is None


def test_cgroup_v1_only(tmp_path: Path) -> None:
    assert make_tree(tmp_path, cgroup="4:memory:/docker/abc\n1:cpu:/\n").cgroup() is None


def test_no_cgroup_file(tmp_path: Path) -> None:
    assert make_tree(tmp_path, cgroup=None).cgroup() is None


def test_root_cgroup_path(tmp_path: Path) -> None:
    # In a container with a cgroup namespace the path is "/": files sit at the mount root.
    probe = make_tree(tmp_path, cgroup="0::/\n")
    (tmp_path / "cgroup" / "memory.current").write_text("7\n")
    (tmp_path / "cgroup" / "memory.max").write_text("9\n")
    assert probe.cgroup() == (7, 9)


def test_cgroup_path_is_resolved_once(tmp_path: Path) -> None:
    probe = make_tree(tmp_path)
    assert probe.cgroup() is not None
    (tmp_path / "proc" / "self" / "cgroup").write_text("0::/elsewhere\n")
    assert probe.cgroup() == (50 * 2**20, 100 * 2**20)
    (tmp_path / "cgroup" / "system.slice" / "gs.service" / "memory.current").write_text("1\n")
    assert probe.cgroup() == (1, 100 * 2**20)


def test_absent_cgroup_is_cached_too(tmp_path: Path) -> None:
    probe = make_tree(tmp_path, cgroup=None)
    assert probe.cgroup() is None
    (tmp_path / "proc" / "self" / "cgroup").write_text("0::/system.slice/gs.service\n")
    assert probe.cgroup() is None


def test_other_os_errors_propagate(tmp_path: Path) -> None:
    probe = make_tree(tmp_path, statm=None)
    (tmp_path / "proc" / "self" / "statm").mkdir()
    with pytest.raises(IsADirectoryError):
        probe.rss_bytes()


def test_real_proc_self() -> None:
    probe = MemoryProbe()
    rss = probe.rss_bytes()
    assert 1 << 20 < rss < 1 << 40
    got = probe.cgroup()
    if got is not None:  # depends on the host: cgroup v2 with a memory controller, or not
        current, limit = got
        assert current > 0
        assert limit is None or limit > 0


def test_release_free_memory_hands_freed_heap_back_to_the_os() -> None:
    # After a burst of chunk-sized buffers, glibc keeps the freed heap: RSS stays high until
    # malloc_trim (the zone would stay YELLOW on memory with nothing queued).
    probe = MemoryProbe()
    burst = [b"%03d" % (i % 1000) * 20_000 for i in range(2000)]  # 120 MB in 60 KB blocks
    pin = burst[1::8]  # live blocks between the freed ones: the heap cannot shrink from the top
    del burst
    before = probe.rss_bytes()
    assert release_free_memory() is True  # glibc (Debian) has malloc_trim
    after = probe.rss_bytes()
    assert before - after > 50_000_000, (before, after)
    del pin

"""Memory readings from procfs and cgroup v2, with injectable roots for fixture trees.

Rules:

1. Plain file reads only (``open`` on a path), so tests point ``proc_root`` and
   ``cgroup_root`` at trees under ``tmp_path`` (client_python ``tests/proc`` style).
2. RSS comes from ``<proc_root>/<pid>/statm``: one short line of page counts, the second
   field is resident pages. It is cheaper to parse than ``status`` (about 1.5 KiB of
   ``Key: value`` text with a kernel-side cost that grows with the field count).
3. cgroup v2 only: the process's cgroup is the ``0::<path>`` line of ``<proc_root>/<pid>/cgroup``
   (resolved once and cached: processes rarely move between cgroups), and its usage and limit
   are ``memory.current`` and ``memory.max`` under ``<cgroup_root><path>``.
4. Absent is not an error: a host without procfs reads RSS 0, a host without cgroup v2 (or
   whose cgroup has no memory controller) reads None. Other ``OSError`` propagate.
5. RSS keeps memory the process freed but the C allocator did not return (glibc keeps freed
   heap pages after a burst of 64 KiB chunks); :func:`release_free_memory` hands it back, so
   the signal falls once the data is gone instead of holding the zone YELLOW for good.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import resource
from pathlib import Path
from typing import Any


@functools.cache
def _malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_free_memory() -> bool:
    """Return free heap pages to the OS (glibc ``malloc_trim(0)``); False where unsupported.

    Takes milliseconds on a heap of a few hundred MiB and releases the GIL (ctypes): call it
    from a worker thread, and only when RSS is high while queues are low.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class MemoryProbe:
    """Reads the process's RSS and its cgroup v2 memory usage and limit.

    Each call reads one (RSS) or two (cgroup) small files: cheap enough to run every N chunks,
    too expensive to run per line.
    """

    def __init__(
        self,
        proc_root: str = "/proc",
        cgroup_root: str = "/sys/fs/cgroup",
        pid: str = "self",
        *,
        page_size: int | None = None,
    ) -> None:
        self._statm = Path(proc_root, pid, "statm")
        self._cgroup_file = Path(proc_root, pid, "cgroup")
        self._cgroup_root = cgroup_root
        self._page_size = resource.getpagesize() if page_size is None else page_size
        self._cgroup_dir: Path | None = None
        self._resolved = False

    def rss_bytes(self) -> int:
        """Resident set size in bytes (statm resident pages x page size); 0 without procfs."""
        try:
            with open(self._statm, "rb") as f:
                fields = f.read().split()
        except FileNotFoundError:
            return 0
        return int(fields[1]) * self._page_size

    def cgroup(self) -> tuple[int, int | None] | None:
        """``(memory.current, memory.max)`` of the process's cgroup v2; None when absent.

        The limit is None when ``memory.max`` reads ``max`` (unlimited) or is missing.
        """
        if not self._resolved:
            self._cgroup_dir = self._resolve()
            self._resolved = True
        directory = self._cgroup_dir
        if directory is None:
            return None
        try:
            current = int((directory / "memory.current").read_bytes())
        except FileNotFoundError:
            return None
        try:
            raw = (directory / "memory.max").read_bytes().strip()
        except FileNotFoundError:
            return current, None
        return current, None if raw == b"max" else int(raw)

    def _resolve(self) -> Path | None:
        try:
            text = self._cgroup_file.read_text()
        except FileNotFoundError:
            return None
        for line in text.splitlines():
            if line.startswith("0::"):
                return Path(self._cgroup_root + line[3:].rstrip("/"))
        return None

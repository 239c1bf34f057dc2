"""``gs-ctl vault`` end to end, as a subprocess: import, cat, ls, verify, corruption."""

from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import yaml

from gophership.vault import Vault, VaultOptions
from gophership.vault.cli import iter_line_chunks, parse_size

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

WORDS = [
    "GET",
    "POST",
    "/api/v1/items",
    "200",
    "404",
    "500",
    "user",
    "session",
    "cache",
    "miss",
    "hit",
    "upstream",
    "timeout",
]


def synth_log(nbytes: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    out = []
    total = 0
    while total < nbytes:
        words = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 30)))
        line = (
            f"{rnd.randint(10**9, 2 * 10**9)}.{rnd.randint(0, 999):03d} {words} id={rnd.random()}\n"
        )
        out.append(line.encode())
        total += len(out[-1])
    return b"".join(out)


def gs_ctl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gophership.ctl", "vault", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_parse_size() -> None:
    assert parse_size("1048576") == 2**20
    assert parse_size("64KiB") == 64 * 1024
    assert parse_size("1MiB") == 2**20
    assert parse_size("2g") == 2 * 2**30
    assert parse_size("1MB") == 10**6
    assert parse_size("10K") == 10240
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size("lots")


def test_iter_line_chunks_cuts_at_newlines(tmp_path: Path) -> None:
    data = synth_log(1_000_000, seed=5) + b"no newline at the end"
    path = tmp_path / "in.log"
    path.write_bytes(data)
    with path.open("rb") as f:
        pieces = list(iter_line_chunks(f, 64 * 1024))
    assert b"".join(pieces) == data
    assert all(p.endswith(b"\n") for p in pieces[:-1])
    assert all(len(p) <= 2 * 64 * 1024 for p in pieces)
    long_line = tmp_path / "long.log"
    long_line.write_bytes(b"x" * 100_000)
    with long_line.open("rb") as f:
        assert b"".join(iter_line_chunks(f, 1024)) == b"x" * 100_000


def test_import_cat_ls_verify_multi_mb_is_bit_identical(tmp_path: Path) -> None:
    first = tmp_path / "a.log"
    second = tmp_path / "b.log"
    first.write_bytes(synth_log(5 * 2**20, seed=1))
    second.write_bytes(synth_log(2**20, seed=2) + b"last line without newline")
    vault = tmp_path / "vault"
    imp = gs_ctl("import", "--dir", str(vault), "--segment-bytes", "64KiB", str(first), str(second))
    assert imp.returncode == 0, imp.stderr
    summary = json.loads(imp.stderr.decode().strip().splitlines()[-1])
    expected = first.read_bytes() + second.read_bytes()
    assert summary["bytes"] == len(expected)
    assert summary["imported_lines"] == expected.count(b"\n") + 1

    cat = gs_ctl("cat", "--dir", str(vault))
    assert cat.returncode == 0, cat.stderr
    assert cat.stdout == expected

    listing = gs_ctl("ls", "--dir", str(vault), "--output", "json")
    assert listing.returncode == 0
    rows = json.loads(listing.stdout)
    assert len(rows) >= 24  # dozens: one ~256 KiB chunk per 64 KiB segment
    assert all(r["sealed"] for r in rows)
    assert sum(r["raw_bytes"] for r in rows) == len(expected)
    assert sum(r["lines"] for r in rows) == summary["imported_lines"]
    assert rows[0]["first_seq"] == 0
    for a, b in itertools.pairwise(rows):
        assert b["first_seq"] == a["last_seq"] + 1
    assert yaml.safe_load(gs_ctl("ls", "--dir", str(vault), "--output", "yaml").stdout) == rows
    table = gs_ctl("ls", "--dir", str(vault))
    assert table.returncode == 0
    assert rows[-1]["segment"].encode() in table.stdout

    verify = gs_ctl("verify", "--dir", str(vault))
    assert verify.returncode == 0, verify.stdout
    assert f"{len(rows)} segments intact".encode() in verify.stdout

    with Vault.open(vault, read_only=True) as v:
        records = []
        reader = v.reader(None)
        while (rec := reader.next_record()) is not None:
            records.append(rec)
    assert {r.codec for r in records} == {4}
    assert {r.source for r in records} == {str(first), str(second)}


def test_stdin_import_appends_to_an_existing_vault(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    one = b"alpha\nbeta\n"
    two = synth_log(600_000, seed=3) + b"tail"
    assert gs_ctl("import", "--dir", str(vault), "-", stdin=one).returncode == 0
    assert (
        gs_ctl(
            "import", "--dir", str(vault), "--segment-bytes", "100000", "-", stdin=two
        ).returncode
        == 0
    )
    assert gs_ctl("cat", "--dir", str(vault)).stdout == one + two
    assert gs_ctl("verify", "--dir", str(vault)).returncode == 0


def test_a_flipped_byte_is_named_by_verify_and_cat_and_quarantined_on_open(tmp_path: Path) -> None:
    data = synth_log(3 * 2**20, seed=4)
    src = tmp_path / "in.log"
    src.write_bytes(data)
    vault = tmp_path / "vault"
    assert (
        gs_ctl("import", "--dir", str(vault), "--segment-bytes", "48KiB", str(src)).returncode == 0
    )
    rows = json.loads(gs_ctl("ls", "--dir", str(vault), "--output", "json").stdout)
    victim = rows[len(rows) // 2]
    path = vault / victim["segment"]
    raw = bytearray(path.read_bytes())
    pos = random.Random(9).randrange(len(raw))
    raw[pos] ^= 0x5A
    path.write_bytes(bytes(raw))
    before = snapshot(vault)

    verify = gs_ctl("verify", "--dir", str(vault), "--output", "json")
    assert verify.returncode == 1
    report = json.loads(verify.stdout)
    assert [p["segment"] for p in report["problems"]] == [victim["segment"]]
    text = gs_ctl("verify", "--dir", str(vault))
    assert text.returncode == 1
    assert victim["segment"].encode() in text.stdout

    cat = gs_ctl("cat", "--dir", str(vault))
    assert cat.returncode == 3
    assert f"skipped corrupt segment {victim['segment']}".encode() in cat.stderr
    assert gs_ctl("ls", "--dir", str(vault)).returncode == 0
    assert snapshot(vault) == before  # verify, cat and ls modified nothing

    # What cat gave back is everything except the victim's lines, bit for bit.
    lines = data.splitlines(keepends=True)
    kept = lines[: victim["first_seq"]] + lines[victim["last_seq"] + 1 :]
    assert cat.stdout == b"".join(kept)

    # The next writable open's scrub quarantines it before any replay; the rest replays intact.
    with Vault.open(vault, VaultOptions(delete_replayed=False)) as v:
        assert v.wait_scrubbed(timeout=60)
        assert (vault / "quarantine" / victim["segment"]).exists()
        assert v.statistics().quarantined_segments_total == 1
        reader = v.reader()
        out = []
        while (rec := reader.next_record()) is not None:
            out.append(rec.payload)
        assert v.statistics().quarantined_segments_total == 1
    assert b"".join(out) == b"".join(kept)
    assert (vault / "quarantine" / victim["segment"]).exists()
    assert gs_ctl("verify", "--dir", str(vault)).returncode == 0


def test_cat_writes_every_good_segment_then_exits_3_naming_each_bad_one(tmp_path: Path) -> None:
    data = synth_log(2 * 2**20, seed=6)
    src = tmp_path / "in.log"
    src.write_bytes(data)
    vault = tmp_path / "vault"
    imp = gs_ctl("import", "--dir", str(vault), "--segment-bytes", "64KiB", str(src))
    assert imp.returncode == 0, imp.stderr
    rows = json.loads(gs_ctl("ls", "--dir", str(vault), "--output", "json").stdout)
    first, last = rows[0], rows[-1]
    for row, pos in ((first, 40), (last, -5)):  # a record header; the footer
        path = vault / row["segment"]
        raw = bytearray(path.read_bytes())
        raw[pos] ^= 0xFF
        path.write_bytes(bytes(raw))
    before = snapshot(vault)

    cat = gs_ctl("cat", "--dir", str(vault))
    assert cat.returncode == 3
    named = [
        line.split()[5].rstrip(":")
        for line in cat.stderr.decode().splitlines()
        if line.startswith("gs-ctl vault: skipped")
    ]
    assert named == [first["segment"], last["segment"]]
    lines = data.splitlines(keepends=True)
    assert cat.stdout == b"".join(lines[first["last_seq"] + 1 : last["first_seq"]])
    assert snapshot(vault) == before  # read-only: nothing moved to quarantine/

    # A segment the manifest lists but whose file is gone is named too.
    (vault / rows[1]["segment"]).unlink()
    cat = gs_ctl("cat", "--dir", str(vault))
    assert cat.returncode == 3
    assert f"{rows[1]['segment']}: segment file is missing".encode() in cat.stderr
    assert cat.stdout == b"".join(lines[rows[2]["first_seq"] : last["first_seq"]])

    good = tmp_path / "good"
    assert gs_ctl("import", "--dir", str(good), str(src)).returncode == 0
    cat = gs_ctl("cat", "--dir", str(good))
    assert (cat.returncode, cat.stdout, cat.stderr) == (0, data, b"")


def test_errors_exit_non_zero(tmp_path: Path) -> None:
    missing = gs_ctl("cat", "--dir", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert b"cannot open vault" in missing.stderr
    assert gs_ctl("ls", "--dir", str(tmp_path / "nope")).returncode == 2
    assert gs_ctl("verify", "--dir", str(tmp_path / "nope")).returncode == 2
    bad = gs_ctl("import", "--dir", str(tmp_path / "v"), str(tmp_path / "no-such-file"))
    assert bad.returncode == 2
    full = gs_ctl(
        "import",
        "--dir",
        str(tmp_path / "w"),
        "--max-bytes",
        "64KiB",
        "-",
        stdin=synth_log(2**20, 7),
    )
    assert full.returncode == 2
    assert b"full" in full.stderr

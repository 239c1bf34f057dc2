"""protocol/ and pivot/ are sans-IO: they never import asyncio, socket, os or time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gophership

BANNED = {"asyncio", "socket", "os", "time"}
ROOT = Path(gophership.__file__).parent


def banned_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in BANNED]
    return found


@pytest.mark.parametrize("package", ["protocol", "pivot"])
def test_no_io_imports(package: str) -> None:
    folder = ROOT / package
    files = sorted(folder.rglob("*.py")) if folder.is_dir() else []
    if package == "protocol":
        assert files, "the protocol package must exist"
    offenders = [hit for f in files for hit in banned_imports(f)]
    assert offenders == []


def test_checker_catches_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os.path\nfrom time import monotonic\nfrom . import socket\n")
    assert banned_imports(bad) == ["bad.py:1 os.path", "bad.py:2 time"]

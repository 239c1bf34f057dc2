"""Rewrite the README's performance section from ``bench/results/latest.json``.

Usage: ``python bench/readme.py`` (after ``make bench``). Only the text between the
``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers changes, so every number in that
section comes from the results file, which names the machine and the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

from gophership.testing.benchstats import render_readme_section, replace_between_markers

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    results = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    readme = ROOT / "README.md"
    readme.write_text(replace_between_markers(readme.read_text(), render_readme_section(results)))
    print("README.md: performance section rewritten from bench/results/latest.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

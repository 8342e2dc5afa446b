"""The command line of a generated page: write it, or with --check fail when the committed copy is stale."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_or_check(target: Path, render: Callable[[], str], argv: Sequence[str] | None = None) -> int:
    page = target.relative_to(REPO)
    script = Path(sys.argv[0]).name
    parser = argparse.ArgumentParser(description=f"Generate {page}.")
    parser.add_argument("--check", action="store_true", help=f"only check that {page} is current")
    args = parser.parse_args(argv)
    text = render()
    if not args.check:
        target.write_text(text)
        return 0
    if target.exists() and target.read_text() == text:
        return 0
    print(f"{page} is out of date: run python scripts/{script}", file=sys.stderr)
    return 1

"""No module of the product grows past 400 lines: past that a newcomer loses the thread (issue 18)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TREES = ["mlpy", "server", "operator", "tools"]
MAX_LINES = 400


def oversized(root: Path, trees: list[str], limit: int) -> list[str]:
    """Each ``.py`` file under ``trees`` with more than ``limit`` lines, as ``path: N lines``."""
    found = []
    for tree in trees:
        for path in sorted((root / tree).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                found.append(f"{path.relative_to(root)}: {lines} lines")
    return found


def test_no_module_is_over_400_lines() -> None:
    too_long = oversized(REPO, TREES, MAX_LINES)
    assert not too_long, f"split these modules along what they do (at most {MAX_LINES} lines): {too_long}"


def test_the_check_names_a_module_over_the_limit(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "deep").mkdir(parents=True)
    (tmp_path / "pkg" / "short.py").write_text("x = 1\n" * 400)
    (tmp_path / "pkg" / "deep" / "long.py").write_text("x = 1\n" * 401)
    (tmp_path / "pkg" / "deep" / "notes.txt").write_text("x\n" * 1000)
    assert oversized(tmp_path, ["pkg"], MAX_LINES) == ["pkg/deep/long.py: 401 lines"]
    assert REPO.joinpath("mlpy", "__init__.py").is_file()  # the trees are where the check looks

"""How the documentation is read for its commands, and that every page is written so it can run."""

from __future__ import annotations

import pytest

from tests.doc_blocks import PAGES, missing_programs, parse_page, skipped_blocks

SAMPLE = """# Title
<!-- doc-test-page: kubernetes cleanup="kubectl delete ns demo" -->

```bash
mlpy registry list
```

## Serve
<!-- doc-test: background ready=http://127.0.0.1:8080/readyz -->
```bash
mlpy serve --model m
```

<!-- doc-test: skip="needs a container engine" -->
```bash
docker compose up -d
```

```console
$ mlpy drift check \\
    --profile p.npz
output line
$ echo two
```

```json
{"a": 1}
```
"""


def test_blocks_directives_and_sections_are_read() -> None:
    page = parse_page("sample.md", SAMPLE)
    assert page.problems == []
    assert page.kubernetes
    assert page.directives["cleanup"] == "kubectl delete ns demo"
    langs = [b.lang for b in page.blocks]
    assert langs == ["bash", "bash", "bash", "console", "json"]
    first, serve, docker, console, shown = page.blocks
    assert first.section == 1
    assert serve.section == 2
    assert serve.directives == {"background": "", "ready": "http://127.0.0.1:8080/readyz"}
    assert docker.directives["skip"] == "needs a container engine"
    assert not docker.runs
    assert console.script() == "mlpy drift check \\\n    --profile p.npz\necho two\n"
    assert not shown.runs
    assert first.runs


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("```\nls\n```\n", "fence without a language"),
        ("```bassh\nls\n```\n", "unknown fence language"),
        ("<!-- doc-test: skipp -->\n```bash\nls\n```\n", "unknown doc-test key"),
        ('<!-- doc-test: skip="" -->\n```bash\nls\n```\n', "skip needs a reason"),
        ("<!-- doc-test: background -->\n```bash\nmlpy serve\n```\n", "needs ready=URL"),
        ("<!-- doc-test: exit=1 -->\nprose\n```bash\nls\n```\n", "on the line before a fence"),
        ("```bash\nls\n", "fence never closed"),
    ],
)
def test_badly_written_blocks_are_named(text: str, problem: str) -> None:
    problems = parse_page("bad.md", text).problems
    assert len(problems) == 1, problems
    assert problem in problems[0]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_runnable_as_written(path: str) -> None:
    page = parse_page(path)
    assert page.problems == []


@pytest.mark.parametrize("block", list(skipped_blocks()), ids=lambda b: b.where)
def test_blocks_the_tests_cannot_run_say_why(block: object) -> None:
    """Reported, not hidden: each is a skip with the page's own reason."""
    pytest.skip(f"{block.where}: {block.directives['skip']}")  # type: ignore[attr-defined]


def test_programs_a_page_needs_are_checked_before_it_runs() -> None:
    text = "<!-- doc-test: background needs=mlpy-no-such-program ready=http://127.0.0.1:1/ -->\n"
    text += "```bash\nx\n```\n"
    assert missing_programs(parse_page("needs.md", text)) == ["mlpy-no-such-program"]
    assert missing_programs(parse_page("needs.md", text.replace("mlpy-no-such-program", "bash"))) == []

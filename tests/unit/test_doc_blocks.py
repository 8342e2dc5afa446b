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


# The blocks no test runs, each with the reason its page gives. Adding one is a decision to review here.
NOT_RUN = {
    ("README.md", "bash scripts/run-tests.sh"): "the test command itself",
    ("README.md", "cp .env.example .env && docker compose up -d"): "needs a container engine",
    ("docs/benchmarks.md", "bash bench/drift_setup.sh"): "installs Evidently from PyPI",
    ("docs/benchmarks.md", "python bench/server_throughput.py"): "installs MLServer",
    ("docs/benchmarks.md", "python bench/server_trees.py"): "needs wrk and bench/.venv-mlserver",
    ("docs/benchmarks.md", "python bench/server_grpc.py"): "needs wrk, Go to build ghz once",
    ("docs/benchmarks.md", "python bench/operator_reconcile.py"): "applies 200 ModelVersions",
    ("docs/benchmarks.md", "python bench/experiments_bandit.py"): "simulates 2,400 experiments",
    ("docs/benchmarks.md", "python bench/k8s_first_prediction.py"): "about 4 minutes",
    ("docs/compose.md", "cp .env.example .env"): "needs a container engine",
    (
        "docs/compose.md",
        "docker compose exec worker mlpy worker submit train --model credit --rows 20000 --seed 7 --wait",
    ): "needs a container engine",
    (
        "docs/kubernetes.md",
        "docker build -f Dockerfile.operator -t ghcr.io/mlpy/mlpy-operator:0.1.0 .",
    ): "buildah",
    ("scripts/k8s/README.md", "pytest -m e2e"): "the test suite itself",
    ("docs/training.md", "docker build -t registry.example/credit-training:1.4.0 ."): (
        "tests/e2e/node/test_training_job.py"
    ),
}


def test_the_blocks_no_test_runs_are_the_reviewed_ones() -> None:
    """Each block a page marks ``skip`` says why, and the set of them is the one reviewed above."""
    found = {}
    for block in skipped_blocks():
        commands = [line for line in block.script().splitlines() if line.strip() and not line.startswith("#")]
        first = commands[0].split("  #")[0].strip()
        found[(block.page, first)] = block.directives["skip"]
    assert sorted(found) == sorted(NOT_RUN), "\n".join(f"{k}: {v}" for k, v in sorted(found.items()))
    for key, reason in found.items():
        assert NOT_RUN[key] in reason, (key, reason)


def test_programs_a_page_needs_are_checked_before_it_runs() -> None:
    text = "<!-- doc-test: background needs=mlpy-no-such-program ready=http://127.0.0.1:1/ -->\n"
    text += "```bash\nx\n```\n"
    assert missing_programs(parse_page("needs.md", text)) == ["mlpy-no-such-program"]
    assert missing_programs(parse_page("needs.md", text.replace("mlpy-no-such-program", "bash"))) == []


def test_the_local_cluster_page_starts_a_real_node_and_checks_it_joined() -> None:
    """The page's default ``cluster.sh start`` must print the real node (not a kwok fallback):
    its doc test only runs where a real node can, and fails under CI where one cannot."""
    page = parse_page("scripts/k8s/README.md")
    assert page.starts_node
    assert not page.node
    (start,) = [b for b in page.blocks if "cluster.sh start  " in b.text and b.runs]
    assert start.directives["expect"] == "a real node and a kwok node"
    assert not parse_page("x.md", "<!-- doc-test-page: kubernetes -->\n").starts_node

from __future__ import annotations

import io

from rich.console import Console

from mlpy.config import home
from mlpy.demo.runner import MODEL, run_demo
from mlpy.registry import ModelRegistry


def test_demo_runs_every_step_on_embedded_defaults() -> None:
    console = Console(file=io.StringIO(), width=200)
    results = run_demo(rows=3_000, console=console)
    assert [title for title, _, _ in results] == [
        "Load data",
        "Train four models",
        "Register, version and promote",
        "Detect drift in a shifted window",
        "A/B test through the router",
        "Monitor 24 hours of traffic",
        "Serve through the API",
    ]
    registry = ModelRegistry()
    versions = registry.search_versions(MODEL).items
    assert len(versions) == 4
    production = registry.get_version(MODEL, "@production")
    assert production.metrics["auc"] == max(v.metrics["auc"] for v in versions)
    assert registry.verify(MODEL, "@production").ok
    drift = results[3][1]
    for column in ("income", "debt_ratio", "employment"):
        assert column in drift
    assert (home() / "demo" / "drift-report.html").stat().st_size > 1_000
    ab_test = results[4][1]
    assert ab_test.startswith("600 requests through the router with feedback")
    assert "decision" in ab_test
    monitored = results[5][1]
    assert "latency-p99-high" in monitored
    assert "error_rate" in monitored
    assert "first prediction" in results[6][1]
    assert "mlpy demo summary" in console.file.getvalue()  # type: ignore[attr-defined]


def test_demo_command_exits_with_no_serve(tmp_path: object) -> None:
    """The README's main job, as a process: it ends on its own with --no-serve and prints JSON steps."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "mlpy.cli.main", "demo", "--rows", "2000", "--no-serve", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)
    assert len(steps) == 7
    assert steps[-1]["step"] == "Serve through the API"

"""The README's main job, as a process: every step runs on the embedded defaults and it ends on its own."""

from __future__ import annotations

import json
import subprocess
import sys

from mlpy.config import home
from mlpy.demo.runner import MODEL
from mlpy.registry import ModelRegistry


def test_demo_runs_every_step_on_embedded_defaults_and_exits_with_no_serve() -> None:
    # One run serves both checks (the demo takes about 40 s on 2 cores): the steps' results in JSON,
    # then what they left in the registry under the same MLPY_HOME.
    done = subprocess.run(
        [sys.executable, "-m", "mlpy.cli.main", "demo", "--rows", "3000", "--no-serve", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)["items"]
    assert [step["step"] for step in steps] == [
        "Load data",
        "Train four models",
        "Register, version and promote",
        "Detect drift in a shifted window",
        "A/B test through the router",
        "Monitor 24 hours of traffic",
        "Govern: model card, fairness, audit",
        "Serve through the API",
    ]
    results = [step["result"] for step in steps]
    registry = ModelRegistry()
    versions = registry.search_versions(MODEL).items
    assert len(versions) == 4
    production = registry.get_version(MODEL, "@production")
    assert production.metrics["auc"] == max(v.metrics["auc"] for v in versions)
    assert registry.verify(MODEL, "@production").ok
    for column in ("income", "debt_ratio", "employment"):
        assert column in results[3]
    assert (home() / "demo" / "drift-report.html").stat().st_size > 1_000
    assert results[4].startswith("600 requests through the router with feedback")
    assert "decision" in results[4]
    assert "latency-p99-high" in results[5]
    assert "error_rate" in results[5]
    card = home() / "demo" / "model-card.html"
    assert f"card {card}" in results[6]
    assert "<h2>Ethical considerations</h2>" in card.read_text()
    assert "predicted defaults by age band: 40 and over" in results[6]
    assert "demographic parity difference 0." in results[6]
    assert "audit chain" in results[6]
    assert "entries verified" in results[6]
    assert "first prediction" in results[7]

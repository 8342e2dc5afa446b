"""Runs the demo's steps in order with progress, and ends with a summary table of what each one did."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from rich.console import Console
from rich.table import Table

from mlpy.config import Locations, home
from mlpy.demo.data import credit_data
from mlpy.demo.governance import AGE_BAND, governance_summary
from mlpy.demo.serving import ab_test, plain, running
from mlpy.demo.training import Trained, train_all
from mlpy.demo.watch import detect_drift, simulate_day
from mlpy.registry import ModelRegistry, ModelVersion

MODEL = "credit-risk"


@dataclass
class DemoState:
    """What one step hands to the next."""

    rows: int
    seed: int
    output: Path
    registry: ModelRegistry
    data: pd.DataFrame | None = None
    test: pd.DataFrame | None = None
    trained: list[Trained] = field(default_factory=list)
    versions: list[ModelVersion] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    serve: bool = False
    port: int = 8000
    resources: ExitStack = field(default_factory=ExitStack)


@dataclass(frozen=True)
class Step:
    title: str
    run: Callable[[DemoState], str]


def load_data(state: DemoState) -> str:
    state.data = credit_data(state.rows, seed=state.seed)
    rate = float(state.data["default"].mean())
    features = state.data.shape[1] - 1
    return f"{len(state.data):,} generated applicants, {features} features, default rate {rate:.1%}"


def train_models(state: DemoState) -> str:
    assert state.data is not None
    state.trained, state.test = train_all(state.data, seed=state.seed)
    best = max(state.trained, key=lambda t: t.metrics["auc"])
    return f"{len(state.trained)} models trained; best AUC {best.metrics['auc']:.3f} ({best.name})"


def register_and_promote(state: DemoState) -> str:
    assert state.data is not None
    example = state.data.drop(columns=["default"]).head(5)
    parent: int | None = None
    for trained in state.trained:
        version = state.registry.register(
            MODEL,
            trained.model,
            metrics=trained.metrics,
            params=trained.params,
            tags={"algorithm": trained.name, "source": "mlpy demo"},
            description=f"{trained.name} on generated credit data",
            input_example=example,
            parent=parent,
            sensitive_features=[AGE_BAND],
            intended_use="Demonstration: scoring generated credit applications.",
            limitations="Trained on generated data; not for decisions about real applicants.",
        )
        state.versions.append(version)
        parent = version.version
    ranked = sorted(state.versions, key=lambda v: v.metrics["auc"], reverse=True)
    state.registry.promote(MODEL, ranked[1].version, alias="production", reason="demo: first release")
    state.registry.promote(MODEL, ranked[0].version, alias="production", reason="demo: best AUC")
    state.registry.promote(MODEL, ranked[1].version, alias="staging", reason="demo: runner-up")
    check = state.registry.verify(MODEL, "@production")
    state.registry.gc(MODEL, keep=8)
    return (
        f"versions {state.versions[0].version}-{state.versions[-1].version} of {MODEL}; "
        f"production -> {ranked[0].version} ({ranked[0].tags['algorithm']}), "
        f"staging -> {ranked[1].version}; sha256 {'verified' if check.ok else 'MISMATCH'}"
    )


def drift(state: DemoState) -> str:
    assert state.data is not None
    drifted, dataset, html = detect_drift(state.data, state.output, seed=state.seed + 1)
    verdict = "dataset drift" if dataset else "no dataset drift"
    return f"{verdict}; drifted columns: {', '.join(drifted) or 'none'}; report {html}"


def ab_test_step(state: DemoState) -> str:
    ranked = sorted(state.versions, key=lambda v: v.metrics["auc"], reverse=True)
    assert state.test is not None
    result = ab_test(MODEL, ranked[1].version, ranked[0].version, state.test, state.output)
    evaluation = result["evaluation"]
    samples = {name: v["n"] for name, v in evaluation["variants"].items()}
    means = {name: v["mean"] for name, v in evaluation["variants"].items()}
    state.extra["ab_test"] = result
    shown = ", ".join(
        f"{name} v{version} {samples[name]} outcomes, {means[name]:.1%} right"
        for name, version in (("control", ranked[1].version), ("candidate", ranked[0].version))
    )
    decision = evaluation["decision"]
    return f"{result['requests']} requests through the router with feedback; {shown}; decision {decision}"


def monitor_day(state: DemoState) -> str:
    production = state.registry.get_version(MODEL, "@production")
    report = simulate_day(Locations.resolve().store, MODEL, production.version, seed=state.seed + 2)
    version = report["models"][0]
    anomalies = {name: len(found) for name, found in version["anomalies"].items() if found}
    alerts = [f"{a['rule']} ({a['severity']})" for a in version["alerts"]]
    state.extra["monitoring"] = version
    return (
        f"{version['requests']:,} requests over 24 h, p99 latency {version['latency_p99'] * 1000:.0f} ms; "
        f"anomalies: {', '.join(f'{k} x{v}' for k, v in anomalies.items()) or 'none'}; "
        f"alerts: {', '.join(alerts) or 'none'}"
    )


def governance_step(state: DemoState) -> str:
    assert state.test is not None
    found = governance_summary(state.registry, MODEL, state.test, state.output)
    rates = ", ".join(f"{group} {rate:.1%}" for group, rate in sorted(found["groups"].items()))
    audit = found["audit"]
    chain = f"{audit.entries} entries verified" if audit.ok else f"BROKEN at entry {audit.first_bad_seq}"
    return (
        f"card {found['card']}; predicted defaults by age band: {rates} "
        f"(demographic parity difference {found['demographic_parity_difference']:.3f}); audit chain {chain}"
    )


def serve_step(state: DemoState) -> str:
    """Start the API on the production model (it keeps serving after the summary unless --no-serve)."""
    from mlpy_server import ServerSettings

    port = state.port if state.serve else 0
    base = state.resources.enter_context(running(ServerSettings(models=(MODEL,)), port))
    state.extra["url"] = base
    row = state.test.drop(columns=["default"]).iloc[0].to_dict() if state.test is not None else {}
    started = time.perf_counter()
    answer = (
        httpx.post(f"{base}/predict", json={"features": plain(row)}, timeout=10).raise_for_status().json()
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    return (
        f"{MODEL} v{answer['version']} on {base} (/predict, /v2/models/{MODEL}/infer, /docs); "
        f"first prediction {answer['prediction']} in {elapsed_ms:.0f} ms"
    )


STEPS = [
    Step("Load data", load_data),
    Step("Train four models", train_models),
    Step("Register, version and promote", register_and_promote),
    Step("Detect drift in a shifted window", drift),
    Step("A/B test through the router", ab_test_step),
    Step("Monitor 24 hours of traffic", monitor_day),
    Step("Govern: model card, fairness, audit", governance_step),
    Step("Serve through the API", serve_step),
]


def run_demo(
    *,
    rows: int = 30_000,
    seed: int = 0,
    serve: bool = False,
    port: int = 8000,
    console: Console | None = None,
) -> list[tuple[str, str, float]]:
    """Run every step; returns (title, outcome, seconds) per step and prints the summary table."""
    console = console or Console()
    locations = Locations.resolve()
    output = home() / "demo"
    output.mkdir(parents=True, exist_ok=True)
    state = DemoState(rows=rows, seed=seed, output=output, registry=ModelRegistry(), serve=serve, port=port)
    console.print(f"[bold]mlpy demo[/bold]  store {locations.store}  artifacts {locations.artifacts}")
    results = []
    for number, step in enumerate(STEPS, start=1):
        started = time.perf_counter()
        with console.status(f"[{number}/{len(STEPS)}] {step.title}..."):
            outcome = step.run(state)
        elapsed = time.perf_counter() - started
        console.print(
            f"[green]✓[/green] [{number}/{len(STEPS)}] {step.title}: {outcome} [dim]({elapsed:.1f}s)[/dim]"
        )
        results.append((step.title, outcome, elapsed))
    table = Table(title="mlpy demo summary", header_style="bold")
    for column in ("step", "result", "seconds"):
        table.add_column(column)
    for number, (title, outcome, elapsed) in enumerate(results, start=1):
        table.add_row(f"{number}. {title}", outcome, f"{elapsed:.1f}")
    console.print(table)
    with state.resources:
        if serve:
            console.print(
                f"serving {MODEL} on {state.extra['url']} until Ctrl-C (--no-serve to exit instead)"
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                console.print("stopped")
    return results

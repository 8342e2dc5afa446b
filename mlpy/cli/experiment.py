"""``mlpy experiment``: simulate strategies against known truths, size experiments, and run them."""

from __future__ import annotations

from typing import Any

import typer

from mlpy.cli.output import OUTPUT_OPTION, OutputFormat, parse_pairs, print_data, print_mapping, print_table
from mlpy.config import Locations
from mlpy.experiments import (
    DEFAULT_EPSILON,
    DEFAULT_FLOOR,
    DEFAULT_MAX_EXPECTED_LOSS,
    THOMPSON_EXPLORATION,
    Analysis,
    ExperimentConfig,
    ExperimentRepository,
    Goal,
    InvalidExperimentError,
    MetricSource,
    MetricSpec,
    MetricType,
    SimulationConfig,
    StoppingRule,
    Strategy,
    Variant,
    aa_false_positive_rate,
    open_backend,
    parse_duration,
    sample_size,
    simulate,
)
from mlpy.store import open_store

app = typer.Typer(
    add_completion=False,
    help="Online experiments: simulate allocation strategies, compute sample sizes, create and analyse.",
    no_args_is_help=True,
)

STRATEGY_HELP = "random | weighted | epsilon-greedy | thompson-sampling | top-two-thompson."
LOSS_HELP = (
    "thompson-sampling and top-two-thompson stop when the leader's expected loss is at most this share "
    "of the control's mean (and its chance to be best reaches --confidence)."
)


def _strategy(value: str) -> Strategy:
    return Strategy.parse(value)


@app.command("simulate")
def simulate_command(
    strategy: str = typer.Option("thompson-sampling", "--strategy", help=STRATEGY_HELP),
    metric: MetricType = typer.Option(
        MetricType.mean, "--metric", help="mean (continuous) or proportion (0/1)."
    ),
    goal: Goal = typer.Option(Goal.maximize, "--goal", help="maximize, or minimize (e.g. squared error)."),
    truth: list[str] = typer.Option(
        ...,
        "--truth",
        help="NAME=VALUE: the true mean or rate of a variant; repeat; the first is the control.",
    ),
    noise: float = typer.Option(1.0, "--noise", help="Standard deviation of a mean metric's values."),
    steps: int = typer.Option(50, "--steps", help="Batches of traffic; the analysis runs after each."),
    units_per_step: int = typer.Option(200, "--units-per-step", help="Units (requests) per batch."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same result."),
    aa_repeats: int = typer.Option(
        0,
        "--aa-repeats",
        help="Also run this many A/A experiments, checked at every step, for the false-positive rate.",
    ),
    confidence: float = typer.Option(0.95, "--confidence", help="Confidence needed to ship or roll back."),
    min_samples: int = typer.Option(
        100, "--min-samples", help="Values per variant before any decision or reweighting."
    ),
    max_expected_loss: float = typer.Option(DEFAULT_MAX_EXPECTED_LOSS, "--max-expected-loss", help=LOSS_HELP),
    epsilon: float = typer.Option(DEFAULT_EPSILON, "--epsilon", help="Exploration share for epsilon-greedy."),
    floor: float | None = typer.Option(
        None,
        "--floor",
        help=f"Minimum traffic share of every variant (bandits); default {DEFAULT_FLOOR}, and for "
        f"thompson-sampling {THOMPSON_EXPLORATION} split over the variants but the leader.",
    ),
    fixed_horizon: bool = typer.Option(
        False,
        "--fixed-horizon",
        help="Use a naive fixed-horizon test instead of the always-valid one (to compare).",
    ),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Simulate traffic against known truths through the real allocation and decision code."""
    truths = parse_pairs(truth, "--truth", numeric=True)
    config = SimulationConfig(
        truths=truths,
        strategy=_strategy(strategy),
        metric=MetricSpec(name=f"simulated {metric}", goal=goal, type=metric),
        noise=noise,
        steps=steps,
        units_per_step=units_per_step,
        seed=seed,
        stopping=StoppingRule(
            min_samples_per_variant=min_samples, confidence=confidence, max_expected_loss=max_expected_loss
        ),
        epsilon=epsilon,
        floor=floor,
        sequential=not fixed_horizon,
    )
    if aa_repeats < 0:
        raise InvalidExperimentError(f"--aa-repeats {aa_repeats} must be >= 0", hint="e.g. --aa-repeats 200")
    result = simulate(config)
    report: dict[str, Any] = {
        "strategy": str(config.strategy),
        "metric": config.metric.to_dict(),
        "truths": truths,
        "steps": steps,
        "units_per_step": units_per_step,
        "seed": seed,
        **result.to_dict(),
        "aa": aa_false_positive_rate(config, aa_repeats).to_dict() if aa_repeats else None,
    }
    if output.structured:
        print_data(report)
        return
    _print_variants(result.analysis, report["traffic"], report["weights"], truths)
    summary = {k: report[k] for k in ("strategy", "decision", "winner", "decided_at_step", "reasons")}
    if report["aa"]:
        summary["A/A false positives"] = (
            f"{report['aa']['false_positives']}/{aa_repeats} ({report['aa']['false_positive_rate']:.1%})"
        )
    print_mapping("simulation", summary)


def _print_variants(
    analysis: Analysis,
    traffic: dict[str, int],
    weights: dict[str, float],
    truths: dict[str, float] | None = None,
) -> None:
    rows: list[list[Any]] = []
    for name, result in analysis.variants.items():
        c = result.comparison
        rows.append(
            [
                name,
                "" if truths is None else truths.get(name),
                traffic.get(name, result.stats.assigned),
                f"{weights.get(name, 0.0):.3f}",
                result.stats.n,
                f"{result.stats.mean:.4g}" if result.stats.n else "-",
                "control" if c is None else f"{c.lift:+.4g} [{c.ci_low:+.3g}, {c.ci_high:+.3g}]",
                "" if result.adjusted_p_value is None else f"{result.adjusted_p_value:.3g}",
            ]
        )
    columns = ["variant", "truth", "units", "weight", "values", "mean", "lift [CI]", "p (adjusted)"]
    if truths is None:
        columns.pop(1)
        rows = [row[:1] + row[2:] for row in rows]
    print_table(None, columns, rows)


@app.command("power")
def power_command(
    metric: MetricType = typer.Option(MetricType.proportion, "--metric", help="mean or proportion."),
    baseline: float = typer.Option(..., "--baseline", help="The control's mean or rate, e.g. 0.1."),
    mde: float = typer.Option(
        ..., "--mde", help="Smallest relative change worth detecting, e.g. 0.05 for 5%."
    ),
    sd: float | None = typer.Option(None, "--sd", help="Standard deviation of the metric (mean metrics)."),
    alpha: float = typer.Option(0.05, "--alpha", help="False-positive rate."),
    power: float = typer.Option(0.8, "--power", help="Chance of detecting a true effect of size mde."),
    variants: int = typer.Option(2, "--variants", help="Number of variants including the control."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Sample size per variant, fixed-horizon and with always-valid (peek-safe) testing."""
    result = sample_size(metric, baseline, mde, sd=sd, alpha=alpha, power=power, variants=variants)
    data = {
        "metric": str(metric),
        "baseline": baseline,
        "mde": mde,
        "alpha": alpha,
        "power": power,
        "variants": variants,
        **result.to_dict(),
    }
    if output.structured:
        print_data(data)
    else:
        print_mapping("sample size", data)


_state: dict[str, str | None] = {}


@app.callback()
def _locations(
    store: str | None = typer.Option(None, "--store", envvar="MLPY_STORE", help="Metadata store URL."),
    stats: str | None = typer.Option(
        None,
        "--stats",
        envvar="MLPY_EXPERIMENT_STATS",
        help="Shared statistics: redis://... (default: the store).",
    ),
) -> None:
    """Experiments live in the metadata store; their statistics there too, or in Redis."""
    _state["store"], _state["stats"] = store, stats


def _repository() -> ExperimentRepository:
    store = open_store(Locations.resolve(store=_state.get("store")).store)
    stats_url = _state.get("stats")
    return ExperimentRepository(store, open_backend(stats_url) if stats_url else None)


@app.command("create")
def create_command(
    name: str = typer.Argument(..., help="Experiment name (also the sticky-assignment salt)."),
    variant: list[str] = typer.Option(
        ..., "--variant", help="NAME=WEIGHT (0-100); repeat; the first is the control."
    ),
    strategy: str = typer.Option("weighted", "--strategy", help=STRATEGY_HELP),
    metric_name: str = typer.Option("metric", "--metric-name", help="What is measured, e.g. squared_error."),
    goal: Goal = typer.Option(Goal.maximize, "--goal", help="maximize or minimize."),
    metric_type: MetricType = typer.Option(MetricType.mean, "--type", help="mean or proportion."),
    metric_source: MetricSource = typer.Option(
        MetricSource.feedback,
        "--metric-source",
        help="feedback (POST /feedback's value) or kpi (POST /kpi of the KPI --metric-name names).",
    ),
    min_samples: int = typer.Option(100, "--min-samples", help="Values per variant before deciding."),
    confidence: float = typer.Option(0.95, "--confidence", help="Confidence needed to ship or roll back."),
    max_duration: str | None = typer.Option(None, "--max-duration", help="e.g. 14d; then inconclusive."),
    max_expected_loss: float = typer.Option(DEFAULT_MAX_EXPECTED_LOSS, "--max-expected-loss", help=LOSS_HELP),
    epsilon: float = typer.Option(DEFAULT_EPSILON, "--epsilon", help="Exploration share (epsilon-greedy)."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Create an experiment in the metadata store."""
    weights = parse_pairs(variant, "--variant", numeric=True)
    config = ExperimentConfig(
        variants=tuple(Variant(n, w) for n, w in weights.items()),
        strategy=_strategy(strategy),
        metric=MetricSpec(metric_name, goal, metric_type, metric_source),
        stopping=StoppingRule(
            min_samples_per_variant=min_samples,
            confidence=confidence,
            max_duration=None if max_duration is None else parse_duration(max_duration),
            max_expected_loss=max_expected_loss,
        ),
        epsilon=epsilon,
    )
    record = _repository().create(name, config)
    if output.structured:
        print_data(record.to_dict())
    else:
        print_mapping(f"experiment {name}", record.to_dict())


@app.command("list")
def list_command(output: OutputFormat = OUTPUT_OPTION) -> None:
    """Every experiment with its status and decision."""
    records = _repository().list()
    if output.structured:
        print_data([r.to_dict() for r in records])
        return
    print_table(
        "experiments",
        ["name", "status", "strategy", "variants", "started", "decision", "winner"],
        [
            (
                r.name,
                r.status,
                r.config.strategy,
                ", ".join(v.name for v in r.config.variants),
                r.started_at.isoformat(timespec="seconds"),
                r.decision,
                r.winner,
            )
            for r in records
        ],
    )


@app.command("analyse")
def analyse_command(
    name: str = typer.Argument(..., help="Experiment name."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """The current analysis: per-variant numbers, lift, p-value, SRM and the decision with its reasons."""
    repository = _repository()
    record = repository.get(name)
    analysis = repository.analyse(name)
    weights = repository.current_weights(name)
    if output.structured:
        print_data({"experiment": record.to_dict(), "weights": weights, "analysis": analysis.to_dict()})
        return
    _print_variants(analysis, {}, weights)
    print_mapping(
        f"experiment {name}",
        {
            "decision": analysis.decision,
            "winner": analysis.winner,
            "reasons": analysis.reasons,
            "srm p-value": None if analysis.srm is None else f"{analysis.srm.p_value:.3g}",
        },
    )


@app.command("stop")
def stop_command(
    name: str = typer.Argument(..., help="Experiment name."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Stop an experiment, recording the decision the analysis gives now."""
    repository = _repository()
    record = repository.stop(name, repository.analyse(name))
    if output.structured:
        print_data(record.to_dict())
    else:
        print_mapping(f"experiment {name}", record.to_dict())

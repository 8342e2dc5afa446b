"""``mlpy monitor``: live model performance read from the metadata store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
import yaml

from mlpy.cli.output import OUTPUT_OPTION, OutputFormat, print_data, print_table
from mlpy.config import Locations
from mlpy.experiments import parse_duration
from mlpy.monitoring import (
    DEFAULT_RULES,
    AlertLog,
    AlertRule,
    FairnessReport,
    InvalidRuleError,
    Method,
    MonitoringError,
    Window,
    build_report,
    exposition,
    fairness_report,
    load_rules,
    push,
)
from mlpy.store import Store, open_store

app = typer.Typer(
    add_completion=False,
    help="Watch live model performance: latency, errors, predictions, quality, business KPIs, fairness, "
    "anomalies, trends, alerts.",
    no_args_is_help=True,
)
_state: dict[str, str | None] = {}


@app.callback()
def _locations(
    store: str | None = typer.Option(None, "--store", envvar="MLPY_STORE", help="Metadata store URL."),
) -> None:
    """The model server writes per-minute figures to the metadata store; these commands read them."""
    _state["store"] = store


def _store() -> Store:
    return open_store(Locations.resolve(store=_state.get("store")).store)


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MonitoringError(f"bad --now {value!r}", hint="use ISO 8601, e.g. 2026-11-27T09:00:00Z") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _rules(path: Path | None) -> list[AlertRule]:
    if path is None:
        return list(DEFAULT_RULES)
    try:
        data: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidRuleError(f"cannot read rules from {path}: {exc}", hint="a YAML list of rules") from exc
    if isinstance(data, dict):
        data = data.get("rules")
    if not isinstance(data, list):
        raise InvalidRuleError(
            f"{path} holds no list of rules", hint="rules: [{name, metric, op, threshold}]"
        )
    return load_rules(data)


@app.command("report")
def report_command(
    window: Window = typer.Option(Window.daily, "--window", help="hourly, daily or weekly."),
    model: str | None = typer.Option(None, "--model", help="Only this model."),
    method: Method = typer.Option(Method.zscore, "--method", help="Anomaly test: zscore or iqr."),
    threshold: float | None = typer.Option(None, "--threshold", help="z limit (3) or IQR multiplier (1.5)."),
    rules: Path | None = typer.Option(
        None, "--rules", help="YAML alert rules (default: error rate, p95 latency)."
    ),
    now: str | None = typer.Option(None, "--now", help="Report as of this time (ISO 8601; default: now)."),
    record_alerts: bool = typer.Option(
        True, "--record-alerts/--no-record-alerts", help="Update the deduplicated alert log."
    ),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Figures per model version over the window (business KPIs too), with anomalies, trends and firing
    alerts."""
    report = build_report(
        _store(),
        window,
        now=_parse_now(now),
        model=model,
        rules=_rules(rules),
        method=method,
        threshold=threshold,
        record_alerts=record_alerts,
    )
    if output.structured:
        print_data(report.to_dict())
        return
    data = report.to_dict()
    print_table(
        f"{window} report {data['start']} .. {data['end']}",
        [
            "model",
            "version",
            "requests",
            "error rate",
            "p50 s",
            "p95 s",
            "p99 s",
            "pred mean",
            "rmse",
            "alerts",
        ],
        [
            [
                m["model"],
                m["version"],
                m["requests"],
                _fmt(m["error_rate"]),
                _fmt(m["latency_p50"]),
                _fmt(m["latency_p95"]),
                _fmt(m["latency_p99"]),
                _fmt(m["prediction_mean"]),
                _fmt(m["rmse"]),
                len(m["alerts"]),
            ]
            for m in data["models"]
        ],
    )
    kpis = [row for m in data["models"] for row in _kpi_rows(m)]
    if kpis:
        print_table("business KPIs", ["model", "version", "kpi", "count", *_KPI_SHOWN], kpis)
    findings = [row for m in data["models"] for row in _findings(m)]
    if findings:
        print_table("what to look at", ["model", "version", "kind", "metric", "detail"], findings)
    if not data["models"]:
        typer.echo("no traffic recorded in this window")


_KPI_SHOWN = ("sum", "mean", "sd", "min", "max")


def _kpi_rows(m: dict[str, Any]) -> list[list[Any]]:
    """One row per KPI recorded for the model version (POST /kpi, MonitoringRecorder.record_kpi)."""
    return [
        [m["model"], m["version"], name, f["count"], *(_fmt(f[k]) for k in _KPI_SHOWN)]
        for name, f in m["kpis"].items()
    ]


def _findings(m: dict[str, Any]) -> list[list[str]]:
    """Anomalies, significant trends and firing alerts of one model version, one row each."""
    rows: list[list[str]] = []
    for metric, found in m["anomalies"].items():
        if found:
            last = found[-1]
            detail = (
                f"{len(found)} point(s); last {last['at']} value {_fmt(last['value'])} ({last['method']})"
            )
            rows.append([m["model"], m["version"], "anomaly", metric, detail])
    for metric, trend in m["trends"].items():
        if trend and trend["significant"]:
            detail = f"{trend['direction']} {trend['slope_per_hour']:+.3g}/h (p={trend['p_value']:.2g})"
            rows.append([m["model"], m["version"], "trend", metric, detail])
    for alert in m["alerts"]:
        rows.append(
            [
                m["model"],
                m["version"],
                f"alert ({alert['severity']})",
                alert.get("rule", ""),
                alert["message"],
            ]
        )
    return rows


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


@app.command("alerts")
def alerts_command(
    state: str = typer.Option("firing", "--state", help="firing, resolved or all."),
    model: str | None = typer.Option(None, "--model", help="Only this model."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Alerts from the log (one row per episode, however often it was re-evaluated)."""
    if state not in {"firing", "resolved", "all"}:
        raise MonitoringError(f"unknown state {state!r}", hint="use firing, resolved or all")
    alerts = AlertLog(_store()).list(None if state == "all" else state, model)
    if output.structured:
        print_data([a.to_dict() for a in alerts])
        return
    print_table(
        "alerts",
        ["id", "severity", "state", "rule", "model", "version", "value", "occurrences", "since"],
        [
            [
                a.id,
                a.severity,
                a.state,
                a.rule,
                a.model,
                a.version,
                _fmt(a.value),
                a.occurrences,
                a.first_at.isoformat(timespec="seconds"),
            ]
            for a in alerts
        ],
    )


@app.command("metrics")
def metrics_command(
    window: Window = typer.Option(Window.hourly, "--window", help="hourly, daily or weekly."),
) -> None:
    """Print the figures in the Prometheus text format."""
    typer.echo(exposition(_store(), window), nl=False)


@app.command("push")
def push_command(
    gateway: str = typer.Option(..., "--gateway", envvar="MLPY_PUSHGATEWAY_URL", help="Pushgateway URL."),
    window: Window = typer.Option(Window.hourly, "--window", help="hourly, daily or weekly."),
    job: str = typer.Option("mlpy-monitoring", "--job", help="Pushgateway job label."),
) -> None:
    """Push the figures to a Prometheus Pushgateway."""
    push(_store(), gateway, window, job)
    typer.echo(f"pushed {window} figures to {gateway} (job {job})", err=True)


@app.command("fairness")
def fairness_command(
    model: str = typer.Argument(..., help="Model name."),
    version: str | None = typer.Option(None, "--version", help="Only this version (default: all)."),
    window: str = typer.Option(
        "daily", "--window", help="hourly, daily, weekly, or a duration such as 30m, 1h or 7d."
    ),
    positive_label: str = typer.Option("1", "--positive-label", help="The class that counts as selected."),
    now: str | None = typer.Option(None, "--now", help="As of this time (ISO 8601; default: now)."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Per sensitive feature and group: selection rate, true and false positive rates (fairlearn), and
    the demographic parity and equalized odds differences, from labelled predictions with groups."""
    span = Window(window).span if window in set(Window) else parse_duration(window)
    report = fairness_report(
        _store(), model, version, span, now=_parse_now(now), positive_label=positive_label
    )
    if output.structured:
        print_data(report.to_dict())
        return
    _print_fairness(report)


def _print_fairness(report: FairnessReport) -> None:
    scope = f"{report.model}" + (f" v{report.version}" if report.version else "")
    title = f"fairness of {scope} {report.start.isoformat()} .. {report.end.isoformat()}"
    if not report.attributes:
        typer.echo(f"{title}: no labelled predictions with group attributes in this window")
        return
    print_table(
        f"{title} (positive label {report.positive_label})",
        ["attribute", "demographic parity diff", "equalized odds diff", "samples", "smallest group"],
        [
            [
                a.attribute,
                _fmt(a.demographic_parity_difference),
                _fmt(a.equalized_odds_difference),
                a.samples,
                a.min_group_samples,
            ]
            for a in report.attributes
        ],
    )
    print_table(
        "per group",
        ["attribute", "group", "samples", "selection rate", "TPR", "FPR"],
        [
            [
                a.attribute,
                g.group,
                g.samples,
                _fmt(g.selection_rate),
                _fmt(g.true_positive_rate),
                _fmt(g.false_positive_rate),
            ]
            for a in report.attributes
            for g in a.groups
        ],
    )

"""``mlpy drift``: profile a reference once, check current windows against it, read the history."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mlpy.cli.drift_model import MODEL_HELP, predicted_source, registered
from mlpy.cli.drift_output import plain_text, print_text
from mlpy.cli.output import OUTPUT_OPTION, OutputFormat, format_data, parse_pairs, print_data, print_table
from mlpy.drift import (
    DEFAULT_MIN_EFFECT,
    DEFAULT_SHAPE_MIN_EFFECT,
    DEFAULT_THRESHOLDS,
    PREDICTION,
    DriftError,
    Method,
)

if TYPE_CHECKING:
    from mlpy.drift import DriftReport

app = typer.Typer(
    add_completion=False,
    help="Detect data drift between a reference dataset and current windows (CSV or Parquet).",
    no_args_is_help=True,
)

# Exit status of `check --fail-on-drift` when the dataset drifted: distinct from errors (1) and usage (2).
DRIFT_EXIT_CODE = 3
# Inputs with more cells than this get a progress bar on a terminal.
PROGRESS_MIN_CELLS = 2_000_000

_stderr = Console(stderr=True, highlight=False)


class CheckOutput(enum.StrEnum):
    text = "text"
    json = "json"
    yaml = "yaml"
    html = "html"


FEATURES_OPTION = typer.Option(
    None, "--features", metavar="A,B,...", help="Comma-separated columns to use (default: all)."
)
STORE_OPTION = typer.Option(
    None, "--store", envvar="MLPY_STORE", help="Metadata store URL (default: SQLite under MLPY_HOME)."
)


def _split(features: str | None) -> list[str] | None:
    if features is None:
        return None
    names = [name.strip() for name in features.split(",") if name.strip()]
    if not names:
        raise typer.BadParameter("name at least one column", param_hint="--features")
    return names


@contextmanager
def _progress(label: str, total: int, cells: int) -> Iterator[Callable[[str], None]]:
    """A per-column progress bar on stderr for large inputs on a terminal; silent otherwise."""
    enabled = cells >= PROGRESS_MIN_CELLS and _stderr.is_terminal
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_stderr,
        transient=True,
        disable=not enabled,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda _name: bar.advance(task)


def _local_size(location: str) -> int:
    path = Path(location)
    return path.stat().st_size if "://" not in location and path.is_file() else 0


def _cells(location: str) -> int:
    """A cheap size estimate (about 8 bytes a cell) that decides whether a progress bar is worth it."""
    return _local_size(location) // 8


@contextmanager
def _status(message: str, location: str) -> Iterator[None]:
    large = _local_size(location) > 50_000_000 and _stderr.is_terminal
    if not large:
        yield
        return
    with _stderr.status(message):
        yield


@app.command()
def profile(
    reference: str = typer.Option(
        ..., "--reference", "-r", help="Reference data: CSV or Parquet, path or URL."
    ),
    out: str = typer.Option(..., "--out", help="Where to write the profile, path or URL (.npz added)."),
    features: str | None = FEATURES_OPTION,
    max_sample: int = typer.Option(
        100_000,
        "--max-sample",
        min=2,
        help="Sorted values kept per numeric column; more become a quantile sketch.",
    ),
    bins: int = typer.Option(10, "--bins", min=2, help="Reference-quantile bins for PSI, JS, Hellinger."),
    model: str | None = typer.Option(
        None, "--model", help=f"Also profile this model's outputs on the reference. {MODEL_HELP}"
    ),
    store: str | None = STORE_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Compute the reference profile once; scheduled checks then read only the current window."""
    from mlpy.drift import ColumnSource, DriftProfile

    with _status("reading reference", reference):
        if model is None:
            data = ColumnSource(reference, _split(features), label=repr(reference))
        else:
            data = predicted_source(reference, _split(features), registered(model, store).model)
    with _progress("profiling", len(data.names), data.num_rows * len(data.names)) as advance:
        built = DriftProfile.from_columns(data, reference, advance, max_sample, bins)
    written = built.save(out)
    summary = {
        "profile": written,
        "rows": built.rows,
        "columns": {name: column.kind.value for name, column in built.columns.items()},
        "size_bytes": _local_size(written) or None,
    }
    if output.structured:
        print_data(summary)
    else:
        typer.echo(f"profiled {len(built.columns)} columns of {built.rows:,} rows into {written}")


@app.command(name="check")
def check_command(
    current: str = typer.Option(..., "--current", "-c", help="Current window: CSV or Parquet, path or URL."),
    reference: str | None = typer.Option(None, "--reference", "-r", help="Reference data (CSV or Parquet)."),
    profile_path: str | None = typer.Option(None, "--profile", "-p", help="A stored profile, path or URL."),
    output: CheckOutput = typer.Option(CheckOutput.text, "--output", "-o", help="text, json, yaml or html."),
    out: Path | None = typer.Option(None, "--out", help="Write the output to this file instead of stdout."),
    fail_on_drift: bool = typer.Option(
        False, "--fail-on-drift", help=f"Exit with status {DRIFT_EXIT_CODE} when the dataset drifted."
    ),
    method: list[str] = typer.Option(
        [],
        "--method",
        metavar="COLUMN=METHOD",
        help="ks, chisquare, psi, wasserstein, jensenshannon or hellinger for COLUMN ('*': all); repeatable.",
    ),
    threshold: list[str] = typer.Option(
        [],
        "--threshold",
        metavar="COLUMN=VALUE",
        help="COLUMN=VALUE: alpha for ks/chisquare, the distance otherwise; repeatable.",
    ),
    min_effect: list[str] = typer.Option(
        [],
        "--min-effect",
        metavar="COLUMN=VALUE",
        help="COLUMN=VALUE: effect size a significant test must also reach.",
    ),
    shape_min_effect: float = typer.Option(
        DEFAULT_SHAPE_MIN_EFFECT,
        "--shape-min-effect",
        min=0.0,
        max=1.0,
        help="Effect the shape test beside KS (Anderson-Darling, standardised) must reach.",
    ),
    no_shape: bool = typer.Option(False, "--no-shape", help="Judge KS columns on KS alone."),
    drift_share: float = typer.Option(
        0.5, "--drift-share", help="Dataset drift when at least this share of columns drifted."
    ),
    correction: str | None = typer.Option(
        None,
        "--correction",
        help="Multiple-testing correction of p-values: bonferroni, holm or benjamini-hochberg (bh).",
    ),
    features: str | None = FEATURES_OPTION,
    name: str | None = typer.Option(None, "--name", help="Dataset or model name for history and metrics."),
    store: str | None = STORE_OPTION,
    no_store: bool = typer.Option(False, "--no-store", help="Do not record this check in the history."),
    pushgateway: str | None = typer.Option(
        None,
        "--pushgateway",
        envvar="MLPY_PUSHGATEWAY",
        help="Push metrics to this Prometheus Pushgateway URL.",
    ),
    job: str = typer.Option("mlpy_drift", "--job", help="Pushgateway job name."),
    metrics_file: Path | None = typer.Option(
        None, "--metrics-file", help="Also write the metrics in Prometheus text format to this file."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help=f"Weigh drift by this version's feature importance; check its outputs. {MODEL_HELP}",
    ),
) -> None:
    """Compare the current window with the reference, column by column."""
    from mlpy.drift import DriftProfile, check

    if (reference is None) == (profile_path is None):
        raise typer.BadParameter("give exactly one of --reference and --profile", param_hint="--reference")
    names = _split(features)
    methods = parse_pairs(method, "--method")
    thresholds = parse_pairs(threshold, "--threshold", numeric=True)
    min_effects = parse_pairs(min_effect, "--min-effect", numeric=True)
    found = None if model is None else registered(model, store)
    if profile_path is not None:
        base = DriftProfile.load(profile_path)
    else:
        assert reference is not None
        with _status("profiling reference", reference):
            if found is None:
                base = DriftProfile.from_file(reference, columns=names)
            else:
                source = predicted_source(reference, names, found.model)
                base = DriftProfile.from_columns(source, reference)
    columns = base.require(names)
    predicting = found is not None and PREDICTION in base.columns
    with _progress("checking", len(columns), _cells(current)) as advance:
        report = check(
            base,
            current,
            methods=methods,
            thresholds=thresholds,
            min_effects=min_effects,
            drift_share=drift_share,
            correction=correction,
            features=names,
            progress=advance,
            shape_min_effect=None if no_shape else shape_min_effect,
            importance=None if found is None else found.version.importance,
            model=found.model if predicting and found is not None else None,
        )
    if not no_store:
        from mlpy.drift import record

        record(report, store=store, dataset=name)
    _publish_metrics(report, name, pushgateway, job, metrics_file)
    _emit(report, output, out)
    if fail_on_drift and report.dataset_drift:
        raise typer.Exit(DRIFT_EXIT_CODE)


def _publish_metrics(
    report: DriftReport, name: str | None, pushgateway: str | None, job: str, metrics_file: Path | None
) -> None:
    if pushgateway is None and metrics_file is None:
        return
    from mlpy.drift import exposition, push

    if pushgateway is not None:
        push(report, pushgateway, dataset=name, job=job)
    if metrics_file is not None:
        _write(metrics_file, exposition(report, name))


def _emit(report: DriftReport, output: CheckOutput, out: Path | None) -> None:
    if output is CheckOutput.html:
        text = report.to_html()
    elif output is CheckOutput.text:
        if out is None:
            print_text(report)
            return
        text = plain_text(report)
    else:
        text = format_data(report.to_dict(), OutputFormat(output.value))
    if out is None:
        typer.echo(text)
    else:
        _write(out, text)
        _stderr.print(f"wrote {output.value} report to {out}")


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DriftError(f"cannot write {str(path)!r}: {exc.strerror or exc}", hint="check the path") from exc


@app.command()
def history(
    name: str | None = typer.Option(None, "--name", help="Only checks recorded with this --name."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many checks, newest first."),
    store: str | None = STORE_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Past checks, newest first, as stored by 'mlpy drift check'."""
    from mlpy.drift import history as read_history

    checks = read_history(store=store, dataset=name, limit=limit)
    if output.structured:
        print_data(checks)
        return
    rows = [
        [
            c["id"],
            c["created_at"][:19],
            c["dataset"] or "-",
            f"{c['number_of_drifted_columns']}/{c['number_of_columns']}",
            f"{c['drift_share']:.2f}",
            "DRIFT" if c["dataset_drift"] else "ok",
            c["current"] or "-",
        ]
        for c in checks
    ]
    print_table(None, ["id", "at (UTC)", "name", "drifted", "share", "verdict", "current"], rows)


@app.command()
def methods(output: OutputFormat = OUTPUT_OPTION) -> None:
    """The available methods with their default thresholds and minimum effects."""
    items: list[dict[str, Any]] = [
        {
            "method": m.value,
            "decides_on": "p-value < threshold and effect >= min_effect"
            if m.is_test
            else "statistic >= threshold",
            "threshold": DEFAULT_THRESHOLDS[m],
            "min_effect": DEFAULT_MIN_EFFECT.get(m, 0.0),
            "kinds": ["numeric"] if m.numeric_only else ["numeric", "categorical"],
            # KS runs the Anderson-Darling shape test beside it (mlpy.drift.shape).
            **(
                {"shape_test": {"method": "anderson", "min_effect": DEFAULT_SHAPE_MIN_EFFECT}}
                if m is Method.ks
                else {}
            ),
        }
        for m in Method
    ]
    if output.structured:
        print_data(items)  # {"items": [...]}, as every list command prints
        return
    rows = [
        [item["method"], ", ".join(item["kinds"]), item["decides_on"], item["threshold"], item["min_effect"]]
        for item in items
    ]
    print_table(None, ["method", "kinds", "drift when", "threshold", "min effect"], rows)

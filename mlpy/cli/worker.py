"""``mlpy worker``: the job queue (train and register models) and the scheduled monitor of a compose stack."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

import typer

from mlpy.cli.output import OUTPUT_OPTION, OutputFormat, print_data, print_mapping, print_table
from mlpy.config import Locations
from mlpy.monitoring import Window
from mlpy.registry import check_model_name
from mlpy.worker import DriftSettings, InvalidSettingsError, WorkerError, queue_name, redis_url

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue

app = typer.Typer(
    add_completion=False,
    help="Background work: a Redis job queue that trains and registers models, and a scheduled monitor "
    "(drift checks and performance reports) exposing Prometheus metrics.",
    no_args_is_help=True,
)
submit_app = typer.Typer(
    add_completion=False,
    help="Put a job on the queue; a running 'mlpy worker run' picks it up.",
    no_args_is_help=True,
)
app.add_typer(submit_app, name="submit")

REDIS_OPTION = typer.Option(
    None, "--redis", help="Redis URL (default: MLPY_REDIS_URL, else redis://127.0.0.1:6379/0)."
)
QUEUE_OPTION = typer.Option(None, "--queue", help="Queue name (default: MLPY_WORKER_QUEUE, else mlpy).")
STORE_OPTION = typer.Option(None, "--store", help="Metadata store URL (default: MLPY_STORE).")
ARTIFACTS_OPTION = typer.Option(None, "--artifacts", help="Artifact root (default: MLPY_ARTIFACTS).")
FINISHED = {"finished", "failed", "stopped", "canceled"}


def _queue(redis: str | None, queue: str | None) -> tuple[Redis, Queue]:
    from mlpy.worker import connect, open_queue

    connection = connect(redis_url(redis))
    return connection, open_queue(connection, queue_name(queue))


@app.command("run")
def run_command(
    redis: str | None = REDIS_OPTION,
    queue: str | None = QUEUE_OPTION,
    burst: bool = typer.Option(False, "--burst", help="Stop once the queue is empty."),
    bootstrap: list[str] = typer.Option(
        [],
        "--bootstrap",
        help="Model to train first when it has no production version yet (repeatable): a fresh stack serves.",
    ),
    name: str | None = typer.Option(None, "--name", help="Worker name (default: a unique one)."),
) -> None:
    """Run jobs from the queue until stopped; SIGTERM lets the running job finish."""
    from mlpy.worker import run_worker, submit_training

    for model in bootstrap:
        check_model_name(model)
    connection, opened = _queue(redis, queue)
    for model in bootstrap:
        if not _has_production(model):
            job_id = submit_training(opened, name=model)
            typer.echo(f"bootstrap: training {model} (job {job_id})", err=True)
    run_worker(connection, opened, burst=burst, name=name)


def _has_production(model: str) -> bool:
    from mlpy.registry import ModelRegistry, RegistryError

    try:
        ModelRegistry().get_version(model, "@production")
    except RegistryError:
        return False
    return True


@submit_app.command("train")
def submit_train_command(
    model: str = typer.Option(..., "--model", "-m", help="Model name to register the new version under."),
    rows: int = typer.Option(5_000, "--rows", min=200, max=5_000_000, help="Training rows to generate."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the data and the split."),
    promote: bool = typer.Option(
        True, "--promote/--no-promote", help="Point 'production' at the new version."
    ),
    wait: bool = typer.Option(False, "--wait", help="Wait for the job to finish and print its result."),
    timeout: float = typer.Option(600.0, "--timeout", min=1, help="Seconds --wait waits at most."),
    redis: str | None = REDIS_OPTION,
    queue: str | None = QUEUE_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Train the candidate pipelines, register the best with its drift reference, optionally promote it."""
    from mlpy.worker import job_info, submit_training

    check_model_name(model)
    connection, opened = _queue(redis, queue)
    job_id = submit_training(opened, name=model, rows=rows, seed=seed, promote=promote)
    info = job_info(connection, job_id)
    deadline = time.monotonic() + timeout
    while wait and info.status not in FINISHED:
        if time.monotonic() > deadline:
            raise WorkerError(
                f"job {job_id} is still {info.status} after {timeout:.0f}s",
                hint=f"is a worker running? check later with 'mlpy worker status {job_id}'",
            )
        time.sleep(0.5)
        info = job_info(connection, job_id)
    _print_job(info.to_dict(), output)
    if info.status == "failed":
        raise WorkerError(f"job {job_id} failed: {info.error}", hint="read the worker's log")


@app.command("status")
def status_command(
    job_id: str = typer.Argument(..., help="Job id printed by 'mlpy worker submit'."),
    redis: str | None = REDIS_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """A job's state and, once finished, its result."""
    from mlpy.worker import connect, job_info

    _print_job(job_info(connect(redis_url(redis)), job_id).to_dict(), output)


def _print_job(info: dict[str, object], output: OutputFormat) -> None:
    if output.structured:
        print_data(info)
        return
    shown = {k: v for k, v in info.items() if v is not None}
    if isinstance(shown.get("result"), dict):
        shown["result"] = json.dumps(shown["result"], sort_keys=True)
    print_mapping(f"job {info['id']}", shown)


def _targets(
    models: list[str], settings_json: str | None, reference: str | None, window: str, drift_share: float
) -> list[DriftSettings]:
    if settings_json:
        try:
            data = json.loads(settings_json)
        except json.JSONDecodeError as exc:
            raise InvalidSettingsError(
                f"--settings is not JSON: {exc.msg}", hint="pass a JSON object"
            ) from exc
        items = data if isinstance(data, list) else [data]
        if not all(isinstance(item, dict) for item in items):
            raise InvalidSettingsError("--settings must be a JSON object or a list of objects")
        return [DriftSettings.from_mapping(item) for item in items]
    if not models:
        raise typer.BadParameter("name at least one --model, or pass --settings", param_hint="--model")
    if reference and len(models) > 1:
        raise typer.BadParameter(
            "--reference applies to one model; use --settings for several", param_hint="--reference"
        )
    for model in models:
        check_model_name(model)
    return [
        DriftSettings.from_mapping({"model": m, "reference": reference, "window": window}) for m in models
    ]


@app.command("monitor")
def monitor_command(
    model: list[str] = typer.Option(
        [], "--model", "-m", help="Model whose logged inputs to check (repeatable)."
    ),
    reference: str | None = typer.Option(
        None,
        "--reference",
        help="Reference profile (.npz) or data (CSV, Parquet); default: the version's own.",
    ),
    window: str = typer.Option("24h", "--window", help="How far back the inputs go: 30m, 24h, 7d."),
    drift_share: float = typer.Option(
        0.5, "--drift-share", help="The dataset drifted when at least this share of columns did."
    ),
    settings_json: str | None = typer.Option(
        None,
        "--settings",
        envvar="MLPY_DRIFT_SETTINGS",
        help="DriftMonitor-style JSON settings (model, version, reference, window, methods, thresholds, "
        "driftShare, features), one object or a list; replaces --model.",
    ),
    interval: float = typer.Option(60.0, "--interval", min=1, help="Seconds between runs."),
    once: bool = typer.Option(False, "--once", help="Run once, print the summary and exit (cron, CronJob)."),
    report_window: Window = typer.Option(
        Window.hourly, "--report-window", help="Performance window: hourly, daily, weekly."
    ),
    metrics_port: int = typer.Option(
        9100, "--metrics-port", min=0, max=65535, help="Prometheus port; 0: none."
    ),
    metrics_host: str = typer.Option("0.0.0.0", "--metrics-host", help="Address the metrics endpoint binds."),
    pushgateway: str | None = typer.Option(
        None, "--pushgateway", envvar="MLPY_PUSHGATEWAY", help="Also push drift metrics to this Pushgateway."
    ),
    store: str | None = STORE_OPTION,
    artifacts: str | None = ARTIFACTS_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Check drift of each model's recent inputs and update the performance report, on a schedule."""
    from mlpy.worker import Monitor

    targets = _targets(model, settings_json, reference, window, drift_share)
    locations = Locations.resolve(store, artifacts)
    monitor = Monitor(
        locations.store, locations.artifacts, targets, window=report_window, pushgateway=pushgateway
    )
    if once:
        summary = monitor.run_once().to_dict()
        if output.structured:
            print_data(summary)
        else:
            print_table(
                "drift checks",
                ["model", "outcome", "rows", "drift share", "detail"],
                [
                    [c["model"], c["outcome"], c.get("rows", "-"), c.get("drift_share", "-"),
                     c.get("error") or c.get("reason") or ", ".join(c.get("drifted", []))]
                    for c in summary["checks"]
                ],
            )  # fmt: skip
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if metrics_port:
        try:
            monitor.serve_metrics(metrics_port, metrics_host)
        except OSError as exc:
            raise WorkerError(
                f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc.strerror or exc}",
                hint="pick a free --metrics-port",
            ) from exc
        typer.echo(f"metrics on http://{metrics_host}:{metrics_port}/metrics", err=True)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    monitor.loop(interval, stop)

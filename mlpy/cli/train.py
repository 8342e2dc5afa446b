"""``mlpy train``: run a training job with your own code and data, here, on the Redis queue, as a
Kubernetes Job or on a Ray cluster; every run is recorded in the metadata store."""

from __future__ import annotations

import contextlib
import time
from enum import StrEnum
from pathlib import Path

import typer

from mlpy.cli.output import OUTPUT_OPTION, OutputFormat, print_data, print_mapping, print_table
from mlpy.config import Locations
from mlpy.store import open_store
from mlpy.training import RunLog, TrainingError, TrainingRun, TrainingSpec, preflight

app = typer.Typer(
    add_completion=False,
    help="Training jobs with your own code: an entry point, its data, parameters and a promotion gate.",
    no_args_is_help=True,
)

STORE_OPTION = typer.Option(None, "--store", envvar="MLPY_STORE", help="Metadata store URL.")
ARTIFACTS_OPTION = typer.Option(None, "--artifacts", envvar="MLPY_ARTIFACTS", help="Artifact root.")
FINISHED = {"succeeded", "failed"}


class Backend(StrEnum):
    local = "local"
    queue = "queue"
    ray = "ray"
    kubernetes = "kubernetes"


@app.command("run")
def run_command(
    spec_file: Path = typer.Argument(
        ..., help="The job's spec (YAML): entryPoint, data, params, model, promote."
    ),
    backend: Backend = typer.Option(Backend.local, "--backend", help="Where the job runs."),
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help="Queued and Kubernetes jobs: wait for the result."
    ),
    timeout: float = typer.Option(1800.0, "--timeout", min=1, help="Seconds --wait waits at most."),
    redis: str | None = typer.Option(None, "--redis", help="The queue's Redis (default: MLPY_REDIS_URL)."),
    queue: str | None = typer.Option(
        None, "--queue", help="Queue name (default: MLPY_WORKER_QUEUE, else mlpy)."
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", envvar="RAY_ADDRESS", help="--backend ray: the head's HOST:PORT."
    ),
    namespace: str | None = typer.Option(
        None, "--namespace", "-n", help="Kubernetes: the Job's namespace (default: the kubeconfig's)."
    ),
    image: str | None = typer.Option(
        None, "--image", help="Kubernetes: the image with your code (default: the server image)."
    ),
    packages: list[str] = typer.Option(
        [], "--package", help="Kubernetes: a pip requirement installed into the server image first."
    ),
    stores_secret: str | None = typer.Option(
        None, "--stores-secret", envvar="MLPY_STORES_SECRET", help="Kubernetes: the stores' Secret."
    ),
    service_account: str = typer.Option(
        "mlpy-training", "--service-account", help="Kubernetes: the pod's ServiceAccount (the chart's)."
    ),
    cpu: str | None = typer.Option(None, "--cpu", help="Kubernetes: CPU requested (default 1)."),
    memory: str | None = typer.Option(
        None, "--memory", help="Kubernetes: memory requested and the limit (default 2Gi)."
    ),
    store: str | None = STORE_OPTION,
    artifacts: str | None = ARTIFACTS_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Check the job, record it, run it where --backend says, and print the run."""
    from mlpy.training import run_job

    spec = TrainingSpec.load(spec_file)
    if backend is Backend.kubernetes:
        from mlpy.cli.train_kubernetes import KubernetesTarget, run_on_kubernetes

        target = KubernetesTarget(
            namespace, image, tuple(packages), stores_secret, service_account, cpu, memory
        )
        _finish(
            run_on_kubernetes(spec, target, store=store, artifacts=artifacts, wait=wait, timeout=timeout),
            output,
        )
        return
    preflight(spec)
    if backend is Backend.ray:
        from mlpy.training import connect_ray

        connect_ray(ray_address, spec)  # an unreachable cluster fails here, before the run is recorded
    if backend is Backend.queue:
        from mlpy.worker import connect, open_queue, queue_name, redis_url, submit_spec

        jobs = open_queue(connect(redis_url(redis)), queue_name(queue))  # as the cluster: before recording
    log = _log(store)
    run = log.create(spec.to_dict(), spec.model, backend.value)
    typer.echo(f"run {run.id}: {spec.entry_point} -> {spec.model} ({backend.value})", err=True)
    if backend is Backend.local:
        # Whatever the user's code raises is recorded on the run, and printed below as one line.
        with contextlib.suppress(Exception):
            run_job(spec.to_dict(), run_id=run.id, backend="local", store=store, artifacts=artifacts)
    elif backend is Backend.ray:
        from mlpy.training import run_on_ray

        with contextlib.suppress(Exception):  # recorded on the run, as above; the CLI waits for it
            run_on_ray(spec.to_dict(), run_id=run.id, store=store, artifacts=artifacts, timeout=timeout)
    else:
        submit_spec(
            jobs,
            spec.to_dict(),
            run.id,
            store=store,
            artifacts=artifacts,
        )
        if wait:
            _wait(log, run.id, timeout)
    _finish(log.get(run.id), output)


@app.command("status")
def status_command(
    run_id: str = typer.Argument(..., help="Run id printed by 'mlpy train run'."),
    redis: str | None = typer.Option(None, "--redis", help="Queued runs: the queue's Redis, to ask it too."),
    namespace: str | None = typer.Option(
        None, "--namespace", "-n", help="Kubernetes runs: the Job's namespace, to ask the cluster too."
    ),
    store: str | None = STORE_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """A run's state and, once finished, its result or error."""
    log = _log(store)
    run = log.get(run_id)
    if run.backend == Backend.queue.value and run.state not in FINISHED:
        run = _with_queue_state(log, run, redis)
    if run.backend == Backend.kubernetes.value and run.state not in FINISHED:
        from mlpy.cli.train_kubernetes import with_job_state

        run = with_job_state(log, run, namespace)
    _finish(run, output)


@app.command("execute")
def execute_command(
    run_id: str = typer.Option(..., "--run-id", help="The recorded run to execute here."),
    store: str | None = STORE_OPTION,
    artifacts: str | None = ARTIFACTS_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Run a recorded run's spec here: what a Kubernetes Job's pod runs (a run executes once)."""
    from mlpy.cli.train_kubernetes import record_own_image
    from mlpy.training import run_job

    log = _log(store)
    run = log.get(run_id)
    if run.state != "queued":
        raise TrainingError(f"run {run_id} is {run.state}: a run executes once", hint="start a new run")
    record_own_image(log, run_id)
    with contextlib.suppress(Exception):  # recorded on the run, printed below as one line
        run_job(run.spec, run_id=run_id, backend=run.backend, store=store, artifacts=artifacts)
    _finish(log.get(run_id), output)


def _with_queue_state(log: RunLog, run: TrainingRun, redis: str | None) -> TrainingRun:
    """A queued run whose job the queue gave up on (a worker killed mid-job, a job stopped) is failed,
    not left ``running`` forever: RQ knows, so ask it."""
    from mlpy.worker import WorkerError, connect, job_info, redis_url

    try:
        info = job_info(connect(redis_url(redis)), run.id)
    except WorkerError:
        return run  # the queue cannot say more; the run's own record stands
    if info.status in ("failed", "stopped", "canceled"):
        log.failed(run.id, f"the queue reports the job {info.status}: {info.error or 'no error recorded'}")
        return log.get(run.id)
    return run


@app.command("list")
def list_command(
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model's runs."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="Newest runs shown."),
    store: str | None = STORE_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """The newest runs, newest first."""
    runs = _log(store).list(model, limit)
    if output.structured:
        print_data([run.to_dict() for run in runs])
        return
    rows = [
        (
            r.id,
            r.model,
            r.backend,
            r.state,
            (r.result or {}).get("version"),
            r.created_at.isoformat(timespec="seconds"),
        )
        for r in runs
    ]
    print_table("training runs", ["id", "model", "backend", "state", "version", "created"], rows)


def _log(store: str | None) -> RunLog:
    return RunLog(open_store(Locations.resolve(store).store))


def _wait(log: RunLog, run_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while log.get(run_id).state not in FINISHED:
        if time.monotonic() > deadline:
            raise TrainingError(
                f"run {run_id} is still {log.get(run_id).state} after {timeout:.0f}s",
                hint=f"is a worker running? check later with 'mlpy train status {run_id}'",
            )
        time.sleep(0.5)


def _finish(run: TrainingRun, output: OutputFormat) -> None:
    """Print the run; a failed run ends as its one-line error with a non-zero exit."""
    if output.structured:
        print_data(run.to_dict())
    else:
        shown = {k: v for k, v in run.to_dict().items() if v is not None and k not in ("spec", "result")}
        result = run.result or {}
        for key in ("version", "promoted", "metrics"):
            if key in result:
                shown[key] = result[key]
        if result.get("gate"):
            shown["gate"] = result["gate"]["reason"]
        print_mapping(f"training run {run.id}", shown)
    if run.state == "failed":
        raise TrainingError(f"run {run.id} failed: {run.error}")

"""``mlpy serve``: run the model server (or the A/B router) on the embedded defaults."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlpy.errors import MlpyError
from mlpy.registry import parse_model_id

if TYPE_CHECKING:  # importing the CLI must not import the server (an optional extra)
    from mlpy_server import ServerSettings


def serve(
    model: list[str] = typer.Option(
        [],
        "--model",
        "-m",
        help="Registry model to serve: NAME (its production alias), NAME:VERSION or NAME@ALIAS. Repeatable.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 in a container)."),
    port: int = typer.Option(8080, "--port", "-p", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64, help="Server processes."),
    grpc_port: int | None = typer.Option(
        None,
        "--grpc-port",
        min=1,
        max=65535,
        help="Also serve the Open Inference Protocol over gRPC on this port, on --host (MLPY_GRPC_PORT).",
    ),
    experiment: str | None = typer.Option(
        None, "--experiment", help="Router mode: an experiment file (YAML/JSON) or its name in the store."
    ),
    upstream: list[str] = typer.Option(
        [], "--upstream", help="Router mode: VARIANT=URL of the server answering for a variant. Repeatable."
    ),
    store: str | None = typer.Option(None, "--store", help="Metadata store URL (default: MLPY_STORE)."),
    artifacts: str | None = typer.Option(
        None, "--artifacts", help="Artifact root (default: MLPY_ARTIFACTS)."
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    access_log: bool = typer.Option(
        False, "--access-log", help="Log every request (errors are always logged)."
    ),
    hash_key: str | None = typer.Option(
        None,
        "--hash-key",
        help="Print the SHA-256 of an API key for MLPY_API_KEYS and exit ('-' reads stdin).",
    ),
) -> None:
    """Serve models over HTTP: native API, Open Inference Protocol v2, probes and Prometheus metrics;
    with --grpc-port, the Open Inference Protocol over gRPC too.

    Settings not given here come from the environment (MLPY_API_KEYS, MLPY_MODEL_URI, MLPY_CORS_ORIGINS,
    MLPY_PREDLOG_SAMPLE_RATE...; see docs/server.md).
    """
    if hash_key is not None:
        _print_hash(hash_key)
        return
    if log_level.lower() not in {"debug", "info", "warning", "error"}:
        raise typer.BadParameter("use debug, info, warning or error", param_hint="--log-level")
    for model_id in model:
        parse_model_id(model_id)
    env = {
        "MLPY_SERVE_MODELS": ",".join(model) if model else None,
        "MLPY_STORE": store,
        "MLPY_ARTIFACTS": artifacts,
        "MLPY_EXPERIMENT": experiment,
        "MLPY_ROUTER_UPSTREAMS": ",".join(upstream) if upstream else None,
        "MLPY_ACCESS_LOG": "true" if access_log else None,
        "MLPY_GRPC_PORT": str(grpc_port) if grpc_port is not None else None,
        # gRPC listens where HTTP does, unless MLPY_GRPC_HOST says otherwise.
        "MLPY_GRPC_HOST": None if "MLPY_GRPC_HOST" in os.environ else host,
    }
    given = {key: value for key, value in env.items() if value is not None}
    settings = _check_settings({**os.environ, **given})
    if not settings.models and settings.uri_model is None and not settings.router_mode:
        raise ServeUsageError(
            "nothing to serve",
            hint="pass --model NAME, set MLPY_SERVE_MODELS or MLPY_MODEL_URI, or --experiment (router mode)",
        )
    import uvicorn

    from mlpy_server import uvicorn_log_config

    # Worker processes rebuild the settings from the environment they inherit.
    os.environ.update(given)
    if workers > 1:
        _share_metrics_between_workers()
        share_cores_between_workers(workers)
        # Readiness is per worker: a worker that accepted before loading would answer "not loaded".
        os.environ.setdefault("MLPY_STARTUP_LOAD_WAIT_S", "120")

    uvicorn.run(
        "mlpy_server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.lower(),
        log_config=uvicorn_log_config(log_level.lower()),
        access_log=False,
        server_header=False,
    )


#: The thread pools numpy's BLAS, scikit-learn's OpenMP code and MKL size from the environment.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def share_cores_between_workers(workers: int) -> None:
    """Give each worker's BLAS and OpenMP pools its share of the cores, not all of them: N workers each
    starting a thread per core would oversubscribe the machine. A variable the caller set is kept."""
    share = str(max(1, usable_cores() // workers))
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, share)


# Where the kernel shows this process's control groups (tests point these at fake trees).
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def usable_cores() -> int:
    """The cores this process may run on (its affinity), or fewer when its container's CPU quota
    allows fewer: a pod limited to 2 CPUs on a 32-core node has 32 in its affinity."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cpu_quota()
    return max(1, min(cores, quota)) if quota is not None else cores


def cpu_quota() -> int | None:
    """The CPUs the cgroup CPU quota grants, rounded up (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``
    over ``cpu.cfs_period_us``); the tightest of this process's group and its ancestors; None
    when no quota is set or none can be read."""
    try:
        lines = PROC_CGROUP.read_text().splitlines()
    except OSError:
        lines = []
    limits: list[int] = []
    for line in lines or ["0::/"]:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        controllers, path = fields[1], fields[2]
        if controllers == "":
            for folder in _up_from(CGROUP_ROOT, path):
                limits += _limit(folder / "cpu.max", None)
        elif "cpu" in controllers.split(","):
            for folder in _up_from(CGROUP_ROOT / controllers, path):
                limits += _limit(folder / "cpu.cfs_quota_us", folder / "cpu.cfs_period_us")
    return min(limits) if limits else None


def _up_from(root: Path, path: str) -> list[Path]:
    """The group's folder and each ancestor's up to ``root`` (in a container the group's own path is
    often not mounted, and ``root`` is the group)."""
    parts = [p for p in path.strip("/").split("/") if p and p != ".."]
    return [root.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]


def _limit(quota_file: Path, period_file: Path | None) -> list[int]:
    """The CPUs one group's quota grants, as a list of none or one."""
    import math

    try:
        text = quota_file.read_text().split()
        quota = text[0]
        period = text[1] if period_file is None else period_file.read_text().strip()
        if quota in ("max", "-1") or float(period) <= 0:
            return []
        return [max(1, math.ceil(float(quota) / float(period)))]
    except (OSError, IndexError, ValueError):
        return []


def _share_metrics_between_workers() -> None:
    """Give the workers one Prometheus multiprocess directory, so /metrics counts every worker's
    requests whichever worker answers the scrape. A directory the caller set is used as it is."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    import atexit
    import shutil
    import tempfile

    directory = tempfile.mkdtemp(prefix="mlpy-metrics-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


class ServeUsageError(MlpyError):
    """``mlpy serve`` was asked for something it cannot start."""


def _check_settings(env: dict[str, str]) -> ServerSettings:
    """Fail before binding the port on any malformed setting (the server would only log it)."""
    try:
        from mlpy_server import Authenticator, ServerSettings
    except ModuleNotFoundError as exc:
        raise ServeUsageError(
            f"the model server is not installed ({exc.name} is missing)", hint="pip install 'mlpy[server]'"
        ) from exc
    settings = ServerSettings.from_env(env)
    Authenticator(settings)
    if settings.router_mode:
        from mlpy_server import load_experiment

        load_experiment(settings)
    return settings


def _print_hash(key: str) -> None:
    from hashlib import sha256

    if key == "-":
        key = sys.stdin.readline().rstrip("\n")
    if not key:
        raise ServeUsageError("the key is empty", hint="pass the key, or '-' and the key on stdin")
    typer.echo(sha256(key.encode()).hexdigest())

"""Training jobs on a Ray cluster given by address: the job itself runs there as a Ray task (recorded in
the metadata store with backend ``ray``), and a search spreads its trials over every CPU of the cluster
through Ray's joblib backend.

The user's code travels with the job: the top-level package of the entry point goes in the task's
``runtime_env`` as ``py_modules``, so the nodes need mlpy and the libraries the code imports, not the
code itself. Ray is kept to the cluster it is given: usage statistics are off, no dashboard is asked
for, and a loopback address stays loopback (Ray would otherwise swap in the machine's network address).
"""

from __future__ import annotations

import importlib
import ipaddress
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from mlpy.config import Locations
from mlpy.store import open_store
from mlpy.training.errors import BackendUnavailableError, TrainingError
from mlpy.training.runs import RunLog
from mlpy.training.spec import TrainingSpec

#: Seconds to wait for a cluster to answer before giving up (Ray's own connect retries for minutes).
CONNECT_TIMEOUT = 10.0
#: Ray reports usage statistics to its makers unless told not to; mlpy never lets it, here or on nodes.
CONFINED = {"RAY_USAGE_STATS_ENABLED": "0"}
#: Ray replaces a loopback GCS address with this machine's network address unless this is "0" (its
#: switch for one-machine clusters); set for a loopback address, so traffic stays on this machine.
LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
#: Forwarded to the job on the cluster: how to reach the data and the stores (no credentials).
FORWARDED_PREFIX = "MLPY_"
FINISHED = {"succeeded", "failed"}


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` of the cluster's head (its GCS), as ``ray start --head`` prints it."""
    host, _, port = address.strip().rpartition(":")
    host = host.strip("[]")
    if "://" in address or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BackendUnavailableError(
            f"Ray address {address!r} is not HOST:PORT",
            hint="give the head's address as 'ray start --head' prints it, e.g. 10.0.0.5:6379",
        )
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect_ray(address: str | None, spec: TrainingSpec, timeout: float = CONNECT_TIMEOUT) -> None:
    """Connect this process to the cluster at ``address`` with ``spec``'s code in its runtime_env, or
    fail in ``timeout`` seconds with one line.

    Checked before anything runs or is recorded. Ray uploads local code only when a process connects,
    so the first connection's code serves the process: a second call while connected does nothing.
    """
    if not address:
        raise BackendUnavailableError(
            "--backend ray needs the cluster's address",
            hint="pass --ray-address HOST:PORT or set RAY_ADDRESS",
        )
    host, port = split_address(address)
    environment = runtime_env(spec)
    _answers(address, host, port, timeout)
    ray = _confined_ray(address, host)
    if ray.is_initialized():
        return
    logging.getLogger("ray").setLevel(logging.ERROR)
    failure: list[BaseException] = []

    def init() -> None:
        try:
            ray.init(
                address=f"{host}:{port}",
                runtime_env=environment,
                include_dashboard=False,
                logging_level=logging.ERROR,
                log_to_driver=False,
                configure_logging=False,
            )
        except BaseException as exc:
            failure.append(exc)

    # ray.init retries an address that accepts connections but is not Ray for minutes: bound it.
    worker = threading.Thread(target=init, name="mlpy-ray-connect", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise BackendUnavailableError(
            f"the Ray cluster at {address} did not answer in {timeout:.0f}s",
            hint="is that the head's GCS address ('ray status --address ADDR' on the head says)?",
        )
    if failure:
        raise BackendUnavailableError(
            f"cannot connect to the Ray cluster at {address}: {' '.join(str(failure[0]).split())[:300]}",
            hint="check the address and that this machine runs the cluster's Ray and Python versions",
        ) from failure[0]


def _confined_ray(address: str, host: str) -> Any:
    """Ray, imported with its usage statistics off and, for a loopback address, loopback kept."""
    os.environ.update(CONFINED)
    imported_before = "ray" in sys.modules
    if is_loopback(host):
        os.environ.setdefault(LOOPBACK_SWITCH, "0")
    try:
        import ray
        from ray._private import ray_constants
    except ImportError as exc:
        raise BackendUnavailableError(
            "--backend ray needs Ray installed here", hint="pip install 'mlpy[ray]'"
        ) from exc
    if is_loopback(host) and imported_before and ray_constants.ENABLE_RAY_CLUSTER:
        # Ray read the switch when it was imported; it would now take the loopback address elsewhere.
        raise BackendUnavailableError(
            f"Ray was imported before connecting to {address}, and would leave loopback",
            hint=f"set {LOOPBACK_SWITCH}=0 before importing ray, or connect before importing it",
        )
    return ray


def _answers(address: str, host: str, port: int, timeout: float) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise BackendUnavailableError(
            f"no Ray cluster answers at {address}: {exc.strerror or exc}",
            hint="start one with 'ray start --head' or fix --ray-address / RAY_ADDRESS",
        ) from exc


def runtime_env(spec: TrainingSpec) -> dict[str, Any]:
    """What the job's workers need beyond the nodes' own install: the user's package (the folder of the
    entry point's top-level package, uploaded by Ray) and mlpy's settings."""
    top = spec.entry_point.partition(":")[0].split(".", 1)[0]
    module = importlib.import_module(top)  # preflight has imported it already
    folders = list(getattr(module, "__path__", []))
    if not folders:
        raise BackendUnavailableError(
            f"{top} is a single module, and the Ray backend ships a package's folder to the nodes",
            hint=f"put {top}.py in a package (a folder with __init__.py), or install it on the nodes",
        )
    env_vars = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_PREFIX)}
    return {"py_modules": [folders[0]], "env_vars": {**env_vars, **CONFINED}}


def run_on_ray(
    spec: dict[str, Any],
    *,
    run_id: str | None = None,
    store: str | None = None,
    artifacts: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run the job ``spec`` as a task on the connected cluster (see :func:`connect_ray`) and return its
    result; a failure is recorded on the run and raised, as with the other backends."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        # Ray would otherwise start a cluster of its own here, on its defaults.
        raise BackendUnavailableError(
            "not connected to a Ray cluster", hint="call connect_ray(address, spec) first"
        )
    parsed = TrainingSpec.from_dict(spec)
    locations = Locations.resolve(store, artifacts)
    where = (_absolute_store(locations.store), _absolute_path(locations.artifacts))
    log = RunLog(open_store(where[0]))
    if run_id is None:
        run_id = log.create(parsed.to_dict(), parsed.model, "ray").id
    portable = {**spec, "data": {name: _absolute_path(uri) for name, uri in parsed.data.items()}}
    # The job only waits on its trials and then registers: it holds no CPU, so every CPU runs trials.
    task = ray.remote(num_cpus=0, max_retries=0)(job)
    ref = task.remote(portable, run_id, *where)
    try:
        result: dict[str, Any] = ray.get(ref, timeout=timeout)
    except ray.exceptions.GetTimeoutError as exc:
        ray.cancel(ref, force=True)
        message = f"the job did not finish on the Ray cluster in {timeout:g}s"
        _fail(log, run_id, message)
        raise TrainingError(message, hint="raise --timeout, or add nodes to the cluster") from exc
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause if isinstance(exc.cause, Exception) else exc
        _fail(log, run_id, f"{type(cause).__name__}: {' '.join(str(cause).split())}")
        raise cause from exc
    except ray.exceptions.RayError as exc:
        _fail(log, run_id, f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        raise BackendUnavailableError(f"the Ray cluster could not run the job: {exc}") from exc
    return result


def job(spec: dict[str, Any], run_id: str, store: str, artifacts: str) -> dict[str, Any]:
    """The task on the cluster: the same job as every backend, with a search on Ray's joblib backend."""
    from mlpy.training.execute import run_job
    from mlpy.training.search import grid_fit

    fit = grid_fit("ray", n_jobs=-1) if spec.get("search") else None
    return run_job(spec, run_id=run_id, backend="ray", store=store, artifacts=artifacts, fit=fit)


def _fail(log: RunLog, run_id: str, error: str) -> None:
    """Record ``error`` unless the job did (it records its own failures before raising them)."""
    if log.get(run_id).state not in FINISHED:
        log.failed(run_id, error)


def _absolute_path(uri: str) -> str:
    """A local path as an absolute one (the job runs in another working directory); URLs unchanged."""
    return uri if "://" in uri else str(Path(uri).expanduser().resolve())


def _absolute_store(url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix) :].startswith(("/", ":memory:")):
        return prefix + str(Path(url[len(prefix) :]).resolve())
    return url


def disconnect_ray() -> None:
    """Leave the cluster (a test or a long-lived process that connected)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()

"""``mlpy train run --backend kubernetes``: the run as a Kubernetes Job the command line creates.

A run is one-shot: nothing is left for an operator to keep in shape once it ends, and its record is
the run row, which the Job's pod updates (``mlpy train execute``). So the command line creates the Job
itself, as ``kubectl create job`` does, and watches it: a Job that fails before its run could start
(an image that does not pull, a pod never scheduled) or whose pod dies without recording anything is
recorded as a failed run with the pod's reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mlpy.config import Locations
from mlpy.store import open_store
from mlpy.training import (
    BackendUnavailableError,
    RunLog,
    TrainingError,
    TrainingRun,
    TrainingSpec,
    preflight,
)
from mlpy_operator import (
    DEFAULT_SERVER_IMAGE,
    LABEL_TRAINING_RUN,
    TRAINING_CONTAINER,
    PodDefaults,
    TrainingJobSpec,
    image_digest,
    job_failure,
    not_started,
    pod_failure,
    training_job,
    training_job_name,
    training_resources,
)

if TYPE_CHECKING:
    from mlpy_operator import Kube

FINISHED = {"succeeded", "failed"}
#: The chart's ServiceAccount for training pods: it may read its own pod (for the image digest).
SERVICE_ACCOUNT = "mlpy-training"
#: A pod that has not started its run after this long (no node fits it, say) fails the run.
START_TIMEOUT_S = 600.0
IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class KubernetesTarget:
    """Where and as what the Job runs: ``mlpy train run``'s Kubernetes options."""

    namespace: str | None = None
    image: str | None = None
    packages: tuple[str, ...] = ()
    stores_secret: str | None = None
    service_account: str = SERVICE_ACCOUNT
    cpu: str | None = None
    memory: str | None = None


def run_on_kubernetes(
    spec: TrainingSpec,
    target: KubernetesTarget,
    *,
    store: str | None,
    artifacts: str | None,
    wait: bool,
    timeout: float,
) -> TrainingRun:
    """Check everything that can be checked here, record the run, create its Job, and (``wait``)
    follow it to the end. Nothing is recorded when a check fails."""
    # The code is in the image and the data may be reachable only from the cluster: check the rest.
    preflight(spec, import_code=False, probe_data=False)
    locations = Locations.resolve(store, artifacts)
    env = pod_locations(locations, target.stores_secret)
    kube, namespace = connect(target.namespace)
    check_service_account(kube, namespace, target.service_account)
    log = RunLog(open_store(locations.store))
    run = log.create(spec.to_dict(), spec.model, "kubernetes")
    image = target.image or os.environ.get("MLPY_SERVER_IMAGE") or DEFAULT_SERVER_IMAGE
    job = training_job(
        TrainingJobSpec(
            run.id,
            namespace,
            spec.model,
            service_account=target.service_account or None,
            packages=target.packages,
            resources=training_resources(target.cpu, target.memory),
        ),
        PodDefaults(image, env, target.stores_secret),
    )
    try:
        _batch(kube).create_namespaced_job(namespace, job)
    except Exception as exc:
        log.failed(run.id, f"the Job was not created: {_api_error(exc)}")
        raise TrainingError(
            f"cannot create the Job in namespace {namespace}: {_api_error(exc)}",
            hint="check the namespace and that you may create Jobs there",
        ) from exc
    where = f"kubernetes Job {training_job_name(run.id)} in {namespace}, {image}"
    typer.echo(f"run {run.id}: {spec.entry_point} -> {spec.model} ({where})", err=True)
    if wait:
        return follow(kube, log, run.id, namespace, timeout)
    return log.get(run.id)


def pod_locations(locations: Locations, stores_secret: str | None) -> dict[str, str]:
    """The stores the pod records the run and registers into: the ones this command uses, which a pod
    must reach too (no SQLite file, no local folder). A password stays out of the Job: it is the stores
    Secret's PGPASSWORD."""
    from sqlalchemy.engine import make_url

    url = make_url(locations.store)
    if url.get_backend_name() == "sqlite":
        raise TrainingError(
            f"the metadata store {locations.store} is a SQLite file a pod cannot reach",
            hint="use a PostgreSQL store both reach (--store or MLPY_STORE)",
        )
    if "://" not in locations.artifacts or locations.artifacts.startswith("file://"):
        raise TrainingError(
            f"the artifact root {locations.artifacts} is a local folder a pod cannot reach",
            hint="use an s3:// root (--artifacts or MLPY_ARTIFACTS)",
        )
    if url.password is not None and not stores_secret:
        raise TrainingError(
            "the store URL holds a password, which would be written into the Job",
            hint="drop it from the URL and give --stores-secret, a Secret with PGPASSWORD",
        )
    env = {
        "MLPY_STORE": url._replace(password=None).render_as_string(hide_password=False),
        "MLPY_ARTIFACTS": locations.artifacts,
    }
    if os.environ.get("MLPY_S3_ENDPOINT_URL"):
        env["MLPY_S3_ENDPOINT_URL"] = os.environ["MLPY_S3_ENDPOINT_URL"]
    return env


def connect(namespace: str | None) -> tuple[Kube, str]:
    """The API server (in a pod, its ServiceAccount; elsewhere KUBECONFIG) and the namespace: the
    given one, else the kubeconfig context's, else ``default``. Unreachable is one line."""
    try:
        from kubernetes import client as k8s
        from kubernetes import config as k8s_config

        from mlpy_operator import kube_client
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the Kubernetes client is not installed ({exc.name})", hint="pip install 'mlpy[operator]'"
        ) from exc
    try:
        api = kube_client()
        k8s.VersionApi(api.api_client).get_code(_request_timeout=10)
    except Exception as exc:
        raise BackendUnavailableError(
            f"cannot reach the Kubernetes API server: {_api_error(exc)}",
            hint="check KUBECONFIG and that the cluster is up (kubectl version)",
        ) from exc
    if namespace:
        return api, namespace
    if IN_CLUSTER_NAMESPACE.is_file():
        return api, IN_CLUSTER_NAMESPACE.read_text().strip()
    try:
        _, active = k8s_config.list_kube_config_contexts(os.environ.get("KUBECONFIG") or None)  # type: ignore[no-untyped-call]
    except Exception:
        return api, "default"
    return api, str(((active or {}).get("context") or {}).get("namespace") or "default")


def check_service_account(kube: Kube, namespace: str, name: str) -> None:
    """A Job whose ServiceAccount is missing never gets a pod: say so now. (Not allowed to look: the
    Job's own events will say.)"""
    if not name:
        return
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    try:
        k8s.CoreV1Api(kube.api_client).read_namespaced_service_account(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            raise TrainingError(
                f"no ServiceAccount {name} in namespace {namespace}",
                hint="install the chart with the namespace in training.namespaces, or give --service-account",
            ) from exc


def follow(kube: Kube, log: RunLog, run_id: str, namespace: str, timeout: float) -> TrainingRun:
    """Wait until the run finishes, or its Job shows it never will (recorded as a failed run)."""
    started = time.monotonic()
    while True:
        run = check(kube, log, log.get(run_id), namespace)
        if run.state in FINISHED:
            return run
        if time.monotonic() - started > timeout:
            raise TrainingError(
                f"run {run_id} is still {run.state} after {timeout:.0f}s",
                hint=f"see kubectl -n {namespace} describe job {training_job_name(run_id)}; "
                f"later: mlpy train status {run_id} --namespace {namespace}",
            )
        time.sleep(1.0)


def check(kube: Kube, log: RunLog, run: TrainingRun, namespace: str, *, ours: bool = True) -> TrainingRun:
    """The run, failed if its Job says it cannot finish. ``ours``: the Job was created in
    ``namespace`` by this command, so its absence means it was deleted (else: another namespace)."""
    if run.state in FINISHED:
        return run
    name = training_job_name(run.id)
    job = kube.get("batch/v1", "Job", name, namespace)
    if job is None:
        return _failed(kube, log, run.id, namespace, f"its Job {name} no longer exists") if ours else run
    pods = kube.list("v1", "Pod", namespace, label_selector=f"{LABEL_TRAINING_RUN}={run.id}")
    pod = max(pods, key=lambda p: str(p["metadata"].get("creationTimestamp") or ""), default=None)
    reason = (pod_failure(pod) if pod else None) or job_failure(job)
    waited = (datetime.now(UTC) - run.created_at.replace(tzinfo=run.created_at.tzinfo or UTC)).total_seconds()
    if reason is None and run.state == "queued" and waited > START_TIMEOUT_S:
        reason = f"its pod did not start in {START_TIMEOUT_S:.0f}s: {not_started(pod)}"
    if reason is None:
        return run
    return _failed(kube, log, run.id, namespace, reason)


def _failed(kube: Kube, log: RunLog, run_id: str, namespace: str, reason: str) -> TrainingRun:
    run = log.get(run_id)
    if run.state in FINISHED:
        return run  # the pod recorded its own end just before its Job showed it
    log.failed(run_id, f"Kubernetes Job {training_job_name(run_id)}: {reason}")
    if run.state == "queued":
        # Never started: remove the Job so that it cannot start later, after the run was recorded failed.
        from kubernetes.client.exceptions import ApiException

        with contextlib.suppress(ApiException):
            _batch(kube).delete_namespaced_job(
                training_job_name(run_id), namespace, propagation_policy="Background"
            )
    return log.get(run_id)


def record_own_image(
    log: RunLog, run_id: str, env: dict[str, str] | None = None, wait_s: float = 60.0
) -> None:
    """In the Job's pod: the image digest the container runs, for the version's lineage
    (MLPY_TRAINING_IMAGE_DIGEST), read from the pod's own status. Outside a pod, nothing."""
    env = dict(os.environ) if env is None else env
    pod, namespace = env.get("MLPY_POD_NAME"), env.get("MLPY_NAMESPACE")
    if not pod or not namespace:
        return
    from mlpy_operator import kube_client

    deadline = time.monotonic() + wait_s
    try:
        while (
            digest := image_digest(kube_client().get("v1", "Pod", pod, namespace) or {}, TRAINING_CONTAINER)
        ) is None:
            if time.monotonic() > deadline:
                raise TrainingError(f"pod {pod} reports no image ID for container {TRAINING_CONTAINER}")
            time.sleep(1.0)  # the kubelet reports a started container's status a moment later
    except Exception as exc:
        message = f"cannot read this pod's image digest: {_api_error(exc)}"
        log.failed(run_id, message)
        raise TrainingError(
            message, hint=f"run the Job as a ServiceAccount that may get pods (the chart's {SERVICE_ACCOUNT})"
        ) from exc
    os.environ["MLPY_TRAINING_IMAGE_DIGEST"] = digest


def _batch(kube: Kube) -> Any:
    from kubernetes import client as k8s

    return k8s.BatchV1Api(kube.api_client)


def _api_error(exc: BaseException) -> str:
    """One line: an API error's status and reason, else the exception."""
    status, reason = getattr(exc, "status", None), getattr(exc, "reason", None)
    if status is not None and reason:
        try:
            detail = json.loads(getattr(exc, "body", None) or "{}").get("message")
        except (ValueError, AttributeError):
            detail = None
        return f"{status} {reason}: {detail}" if detail else f"{status} {reason}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300]


def with_job_state(log: RunLog, run: TrainingRun, namespace: str | None) -> TrainingRun:
    """``mlpy train status`` of an unfinished run: its Job asked too, when the cluster answers."""
    try:
        kube, chosen = connect(namespace)
        return check(kube, log, run, chosen, ours=False)
    except BackendUnavailableError:
        return run  # the cluster cannot say more; the run's own record stands

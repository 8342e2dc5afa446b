"""The job queue on Redis (RQ): submit training, read a job's state, run a worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpy.worker.errors import QueueUnavailableError, UnknownJobError, WorkerError

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue

TRAIN_JOB = "mlpy.worker.jobs.train_and_register"
#: A training job with the user's own code (mlpy.training); the worker must be able to import it.
USER_TRAIN_JOB = "mlpy.training.execute.run_job"
JOB_TIMEOUT_S = 3600
RESULT_TTL_S = 7 * 24 * 3600


def connect(url: str) -> Redis:
    """A checked connection: a wrong URL fails here with a message, not inside RQ."""
    try:
        from redis import Redis
        from redis.exceptions import RedisError
    except ModuleNotFoundError as exc:
        raise WorkerError(
            "the job queue needs redis and rq", hint="pip install 'mlpy[redis,worker]'"
        ) from exc
    try:
        connection = Redis.from_url(url, socket_connect_timeout=5)
        connection.ping()
    except (RedisError, ValueError, OSError) as exc:
        raise QueueUnavailableError(
            f"cannot reach Redis at {url}: {exc}", hint="check --redis / MLPY_REDIS_URL and that Redis runs"
        ) from exc
    return connection


def open_queue(connection: Redis, name: str) -> Queue:
    try:
        from rq import Queue
    except ModuleNotFoundError as exc:
        raise WorkerError("the job queue needs rq", hint="pip install 'mlpy[worker]'") from exc
    return Queue(name, connection=connection)


@dataclass(frozen=True)
class JobInfo:
    id: str
    status: str
    function: str
    result: Any = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "function": self.function,
            "result": self.result,
            "error": self.error,
        }


def submit_training(queue: Queue, **kwargs: Any) -> str:
    job = queue.enqueue(
        TRAIN_JOB, kwargs=kwargs, job_timeout=JOB_TIMEOUT_S, result_ttl=RESULT_TTL_S, failure_ttl=RESULT_TTL_S
    )
    return str(job.id)


def submit_spec(queue: Queue, spec: dict[str, Any], run_id: str, **locations: str | None) -> str:
    """Queue the training job ``spec`` as run ``run_id`` (the run is already recorded as queued)."""
    kwargs: dict[str, Any] = {"spec": spec, "run_id": run_id, "backend": "queue"}
    kwargs.update({key: value for key, value in locations.items() if value})
    job = queue.enqueue(
        USER_TRAIN_JOB,
        kwargs=kwargs,
        job_id=run_id,
        job_timeout=JOB_TIMEOUT_S,
        result_ttl=RESULT_TTL_S,
        failure_ttl=RESULT_TTL_S,
    )
    return str(job.id)


def job_info(connection: Redis, job_id: str) -> JobInfo:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError as exc:
        raise UnknownJobError(
            f"no job {job_id!r}", hint="job ids come from 'mlpy worker submit'; results expire after 7 days"
        ) from exc
    raw = job.get_status(refresh=True)
    status = str(getattr(raw, "value", raw) or "unknown")  # an enum in RQ 2, a string before
    error = None
    if status == "failed":
        latest = job.latest_result()
        trace = (latest.exc_string if latest is not None else None) or ""
        error = trace.strip().splitlines()[-1] if trace.strip() else "failed"
    return JobInfo(job.id, status, job.func_name or "", job.return_value(), error)


def run_worker(connection: Redis, queue: Queue, *, burst: bool = False, name: str | None = None) -> bool:
    """Process jobs until stopped (SIGTERM finishes the running job first); ``burst`` stops when empty."""
    from rq import Worker

    worker = Worker([queue], connection=connection, name=name)
    return bool(worker.work(burst=burst, logging_level="INFO", with_scheduler=False))

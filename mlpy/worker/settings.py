"""Where the queue is: flags first, then the environment, then a local Redis (as compose names it)."""

from __future__ import annotations

import os

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_QUEUE = "mlpy"


def redis_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("MLPY_REDIS_URL") or DEFAULT_REDIS_URL


def queue_name(explicit: str | None = None) -> str:
    return explicit or os.environ.get("MLPY_WORKER_QUEUE") or DEFAULT_QUEUE

"""Structured logs: one JSON object per line, always with the request id when there is one."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

# uvicorn's color_message repeats the message with terminal colours: not for a log collector.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"color_message"}


class JsonFormatter(logging.Formatter):
    converter = staticmethod(time.gmtime)  # the "Z" in every timestamp is true

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's own loggers (start-up, shutdown, errors, access) in the same JSON lines as mlpy's: one
    log format for whatever collects the pod's output."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            name: {"handlers": ["json"], "level": level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure(level: str = "info") -> None:
    """JSON lines on stderr for mlpy's loggers."""
    formatter = JsonFormatter()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger("mlpy")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False

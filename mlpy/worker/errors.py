"""Worker errors: the queue is unreachable, a job is unknown, a reference cannot be read."""

from __future__ import annotations

from mlpy.errors import MlpyError


class WorkerError(MlpyError):
    """Any failure of the job queue or the monitor."""


class QueueUnavailableError(WorkerError):
    """Redis does not answer."""


class UnknownJobError(WorkerError):
    """No job of that id (never submitted, or its result expired)."""


class ReferenceUnavailableError(WorkerError):
    """The drift reference cannot be found or read."""


class InvalidSettingsError(WorkerError):
    """Monitor or job settings that cannot be acted on."""

"""Training errors: each says what went wrong and what to do next, before anything runs when it can."""

from __future__ import annotations

from mlpy.errors import MlpyError


class TrainingError(MlpyError):
    """Any training failure."""


class InvalidTrainingSpecError(TrainingError):
    """The job's spec is malformed: a missing field, a bad gate, an unknown backend."""


class EntryPointError(TrainingError):
    """The entry point does not import, or is not callable."""


class TrainingDataError(TrainingError):
    """The job's data cannot be read."""


class TrainingResultError(TrainingError):
    """The user's function returned something other than a fitted estimator and its metrics."""


class BackendUnavailableError(TrainingError):
    """The chosen place to run (Redis, a Ray cluster, a Kubernetes API server) cannot be reached."""


class RunNotFoundError(TrainingError):
    """No training run has that id."""

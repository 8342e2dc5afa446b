"""Errors raised by mlpy.experiments; each says what to change."""

from __future__ import annotations

from mlpy.errors import MlpyError


class ExperimentError(MlpyError):
    """Base of every experiments failure."""


class InvalidExperimentError(ExperimentError):
    """The experiment's definition (variants, weights, strategy, metric, stopping) is unusable."""


class UnknownVariantError(ExperimentError):
    """A variant name that the experiment does not have."""


class ExperimentNotFoundError(ExperimentError):
    """No experiment of that name in the metadata store."""


class StatsBackendError(ExperimentError):
    """The shared statistics (SQL or Redis) cannot be read or updated."""

"""Operator errors: a spec the operator cannot act on, reported as a status condition."""

from __future__ import annotations

from mlpy.errors import MlpyError


class OperatorError(MlpyError):
    """Any operator failure."""


class WaitingError(OperatorError):
    """Something the resource names does not exist yet (a variant's ModelVersion): retried soon."""


class SpecError(OperatorError):
    """The custom resource's spec is valid for the API server but cannot be acted on."""

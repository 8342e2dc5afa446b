"""Prediction log errors: each says what to change."""

from __future__ import annotations

from mlpy.errors import MlpyError


class PredictionLogError(MlpyError):
    """Any prediction log failure."""


class InvalidWindowError(PredictionLogError):
    """A time window or filter the reader cannot use."""

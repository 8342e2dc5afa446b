"""Failures of drift detection, each with a message that says what to do next."""

from __future__ import annotations

from mlpy.errors import MlpyError


class DriftError(MlpyError):
    """Any expected failure of ``mlpy.drift``."""


class DataReadError(DriftError):
    """A reference or current file is missing, unreadable, or in a format drift cannot read."""


class SchemaMismatchError(DriftError):
    """The current window's columns or types do not match the reference."""


class ProfileFormatError(DriftError):
    """A profile file is not a drift profile, or was written by an incompatible version."""


class MethodError(DriftError):
    """A method, threshold or option does not exist or does not fit the column it is set on."""

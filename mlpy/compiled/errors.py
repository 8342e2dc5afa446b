"""Failures of compiled inference, each saying what happens instead."""

from __future__ import annotations

from mlpy.errors import MlpyError


class CompiledError(MlpyError):
    """Any expected failure of ``mlpy.compiled``."""


class CompileRefusedError(CompiledError):
    """The model cannot be compiled, or its compiled form disagrees with scikit-learn: it is not used."""

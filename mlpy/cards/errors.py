"""Model card errors: each says what went wrong and what to do next."""

from __future__ import annotations

from mlpy.errors import MlpyError


class CardError(MlpyError):
    """A model card cannot be built or written."""


class UnknownCardFormatError(CardError):
    """A format other than markdown, html and json was asked for."""

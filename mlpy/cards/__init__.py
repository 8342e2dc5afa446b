"""Model cards: one document per registered version that says what it is for, what it was trained on,
how it measured, how it reached production, and how it has behaved since (``mlpy registry card``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy.cards.content import ModelCard, Section
    from mlpy.cards.errors import CardError
    from mlpy.cards.gather import build_card
    from mlpy.cards.rendering import FORMATS, media_type, render

__all__ = ["FORMATS", "CardError", "ModelCard", "Section", "build_card", "media_type", "render"]

_HOMES = {
    "FORMATS": "mlpy.cards.rendering",
    "CardError": "mlpy.cards.errors",
    "ModelCard": "mlpy.cards.content",
    "Section": "mlpy.cards.content",
    "build_card": "mlpy.cards.gather",
    "media_type": "mlpy.cards.rendering",
    "render": "mlpy.cards.rendering",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)

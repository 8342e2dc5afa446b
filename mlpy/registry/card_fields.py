"""What a person says at registration about a version's use: kept as reserved tags, shown by its card.

Tags, because a version is immutable and these are written once with it; reserved names (``mlpy.card.``)
so the card finds them and a user's own tags never collide with them.
"""

from __future__ import annotations

from mlpy.registry.errors import InvalidInputError

#: The tag naming a version's drift reference: the profile of its training inputs (training jobs write it).
DRIFT_REFERENCE_TAG = "drift_reference"
INTENDED_USE_TAG = "mlpy.card.intended_use"
LIMITATIONS_TAG = "mlpy.card.limitations"
MAX_CARD_TEXT = 10_000


def card_tags(intended_use: str | None, limitations: str | None) -> dict[str, str]:
    """The reserved tags recording the card's free-text fields (none when neither is given)."""
    fields = {INTENDED_USE_TAG: intended_use, LIMITATIONS_TAG: limitations}
    return {tag: _text(tag, value) for tag, value in fields.items() if value is not None}


def _text(tag: str, value: str) -> str:
    what = tag.removeprefix("mlpy.card.").replace("_", " ")
    text = value.strip()
    if not text:
        raise InvalidInputError(
            f"the {what} is empty", hint=f"describe the {what} in a sentence or leave it out"
        )
    if len(text) > MAX_CARD_TEXT:
        raise InvalidInputError(
            f"the {what} has {len(text)} characters, at most {MAX_CARD_TEXT}",
            hint="keep the card's fields short and link to longer documents",
        )
    return text

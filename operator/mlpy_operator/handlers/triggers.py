"""When a kind's reconcile runs: the same three kopf triggers for every kind the operator owns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import kopf

from mlpy_operator.constants import GROUP, VERSION

Handler = TypeVar("Handler", bound=Callable[..., Any])


def on_spec(plural: str) -> Callable[[Handler], Handler]:
    """On an object seen at start-up, created, or whose spec changed (a status write is not a change)."""

    def register(handler: Handler) -> Handler:
        kopf.on.resume(GROUP, VERSION, plural)(handler)
        kopf.on.create(GROUP, VERSION, plural)(handler)
        kopf.on.update(GROUP, VERSION, plural, field="spec")(handler)
        return handler

    return register

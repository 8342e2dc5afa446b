"""``GET /models/{id}/card``: the model card of the version this server has loaded under ``id``.

The card is read from the metadata store (the registry, drift history and experiments), so a server that
serves an artifact by URI finds it only when it is given that store (MLPY_STORE, or the prediction-log
store the operator sets). Markdown, HTML or JSON, by ``?format=`` or else by the Accept header.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from mlpy.cards import FORMATS, CardError, media_type, render
from mlpy_server.auth import Permission
from mlpy_server.deps import get_state, require
from mlpy_server.errors import InvalidInputError, NotFoundError
from mlpy_server.schemas import ModelId, errors
from mlpy_server.scope import MODEL
from mlpy_server.state import ServerState

if TYPE_CHECKING:
    from mlpy.registry import ModelRegistry

endpoints = APIRouter()
_BY_ACCEPT = (("text/html", "html"), ("text/markdown", "markdown"), ("application/json", "json"))


@endpoints.get(
    "/models/{model_id}/card",
    summary="The loaded version's model card",
    tags=["models"],
    responses={
        **errors(),
        200: {
            "description": "The card, as Markdown, HTML or JSON",
            "content": {"application/json": {}, "text/html": {}, "text/markdown": {}},
        },
    },
)
def model_card(
    model_id: ModelId,
    request: Request,
    format: Annotated[str | None, Query(description=f"One of {', '.join(FORMATS)}.")] = None,
    state: ServerState = Depends(get_state),
    _: Any = Depends(require(Permission.read)),
) -> Response:
    """Intended use, training data, metrics, lineage, promotions, experiments and drift of the version
    loaded under ``model_id`` (docs/governance.md)."""
    served = state.cache.get(model_id)
    request.scope[MODEL] = served
    fmt = format or _negotiated(request.headers.get("accept", ""))
    if fmt.lower() not in (*FORMATS, "md"):
        raise InvalidInputError(f"no card format {fmt!r}; use one of {', '.join(FORMATS)}", field="format")
    settings = state.settings
    url = settings.store_url or settings.predlog_store_url or settings.locations.store
    from mlpy.cards import build_card  # the registry, drift and experiments: loaded on the first card

    try:
        card = build_card(_registry(url), served.name, served.version)
    except CardError as exc:
        raise NotFoundError(
            f"{exc}", hint="the server reads cards from its metadata store: set MLPY_STORE to the registry's"
        ) from exc
    return Response(render(card, fmt), media_type=media_type(fmt))


def _negotiated(accept: str) -> str:
    for media, fmt in _BY_ACCEPT:
        if media in accept:
            return fmt
    return "json"


@lru_cache(maxsize=4)
def _registry(url: str) -> ModelRegistry:
    from mlpy.registry import ModelRegistry

    return ModelRegistry(url)

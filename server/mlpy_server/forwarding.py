"""Router mode: predictions are forwarded to a variant; the experiment is readable and steerable.

``forward`` answers the hot routes (hot_routes.py), ``read_from_variant`` the model metadata and
readiness v2.py declares; ``endpoints`` are the experiment's own.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response

from mlpy.audit import acting_as
from mlpy_server.auth import Permission, Principal
from mlpy_server.deps import check, get_state, require
from mlpy_server.errors import MalformedRequestError
from mlpy_server.inputs import parse_model
from mlpy_server.oip_binary import HEADER, split_body
from mlpy_server.router import ABRouter, forwarded_headers, unit_from_body
from mlpy_server.schemas import (
    ERRORS,
    WeightsRequest,
    body,
)
from mlpy_server.scope import REQUEST_ID
from mlpy_server.state import ServerState

endpoints = APIRouter()


def _router(state: ServerState) -> ABRouter:
    assert state.router is not None
    return state.router


def forwarded_path(scope: MutableMapping[str, Any]) -> str:
    """The path as the client sent it, still percent-encoded, for the variant's request line.

    The decoded ``path`` may hold any character (``%E2%9C%93``, ``%0D%0A``); the encoded one is ASCII
    by construction. Control characters, even encoded, name no model: they are refused here.
    """
    raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    decoded: str = scope["path"]
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded) or any(b <= 0x20 or b >= 0x7F for b in raw):
        raise MalformedRequestError(
            "the path holds a control character or a raw non-ASCII byte",
            hint="percent-encode the model name (RFC 3986); control characters are never valid in it",
            field="path",
        )
    return raw.decode("ascii")


async def forward(request: Request, **_path_parameters: str) -> Response:
    """Every hot route in router mode (hot_routes.py): the chosen variant answers, through the router."""
    state: ServerState = request.app.state.mlpy
    check(state, request, Permission.predict)
    path = forwarded_path(request.scope)
    raw = await request.body()
    headers = forwarded_headers(request.scope["headers"])
    unit = headers.pop("x-unit-id", None) or unit_from_body(_json_part(raw, headers))
    status, content, answered, variant, signed_id = await _router(state).forward(
        path, raw, headers, request.scope[REQUEST_ID], unit
    )
    # The X-Request-ID header then says the same as the body: the id feedback is sent with.
    request.scope[REQUEST_ID] = signed_id
    return _answer(status, content, answered, variant)


async def read_from_variant(request: Request) -> Response:
    """Model metadata and readiness in router mode: one variant's answer (ABRouter.read), unchanged."""
    state: ServerState = request.app.state.mlpy
    headers = forwarded_headers(request.scope["headers"])
    headers["x-request-id"] = request.scope[REQUEST_ID]
    status, content, answered, variant = await _router(state).read(forwarded_path(request.scope), headers)
    return _answer(status, content, answered, variant)


def _answer(status: int, content: bytes, answered: dict[str, str], variant: str) -> Response:
    """The variant's answer as the router's, naming the variant in X-Mlpy-Variant."""
    media_type = answered.pop("content-type")
    return Response(content, status, media_type=media_type, headers={**answered, "x-mlpy-variant": variant})


@endpoints.get(
    "/experiment",
    summary="Per-variant statistics, current weights and the analysis",
    tags=["router"],
    responses=ERRORS,
)
async def experiment(
    state: ServerState = Depends(get_state), _: Any = Depends(require(Permission.read))
) -> dict[str, Any]:
    """The experiment's strategy, metric and weights, each variant's upstream and statistics, and the
    analysis of those statistics now: decision, winner, p-value, lift and the reasons."""
    return await anyio.to_thread.run_sync(_router(state).describe)


@endpoints.put(
    "/experiment/weights",
    summary="Change the traffic split (admin)",
    tags=["router"],
    responses=ERRORS,
    openapi_extra=body(WeightsRequest.model_json_schema()),
)
async def set_weights(
    request: Request,
    state: ServerState = Depends(get_state),
    caller: Principal | None = Depends(require(Permission.admin)),
) -> dict[str, Any]:
    """Takes effect for the next request on this replica and within a refresh (a second) on every
    replica sharing the statistics backend; they hold, adaptive strategies included, until the
    experiment's definition changes. With a SQL statistics store, the change and the caller's name
    go to the audit log."""
    payload = parse_model(await request.body(), WeightsRequest)
    target = _router(state)
    actor = None if caller is None else f"{caller.name} ({caller.via})"

    def apply() -> None:
        with acting_as(actor):
            target.experiment.set_weights(payload.weights)

    await anyio.to_thread.run_sync(apply)
    return {"experiment": target.plan.name, "weights": target.experiment.current_weights()}


def describe_variants(schema: dict[str, Any], variants: list[str], proportion: bool) -> dict[str, Any]:
    """The router's OpenAPI names its experiment's variants, so clients and fuzzers know the valid ones."""
    json_body = "requestBody", "content", "application/json", "schema", "properties"
    weights = _dig(schema, "paths", "/experiment/weights", "put", *json_body)["weights"]
    weights["propertyNames"] = {"enum": variants}
    weights["minProperties"] = 1
    # At least one weight above 0: an all-zero split sends traffic nowhere.
    weights["not"] = {"additionalProperties": {"const": 0}}
    feedback = _dig(schema, "paths", "/feedback", "post", *json_body)
    feedback["variant"] = {
        "anyOf": [{"enum": variants}, {"type": "null"}],
        "description": feedback["variant"].get("description", ""),
    }
    if proportion:
        # A proportion metric records 0 or 1 per unit (converted or not).
        feedback["value"] = {"anyOf": [{"enum": [0, 1]}, {"type": "null"}], "description": "0 or 1"}
    return schema


def _dig(node: Any, *keys: str) -> Any:
    for key in keys:
        node = node[key]
    return node


def _json_part(raw: bytes, headers: dict[str, str]) -> bytes:
    """The JSON of a body that may carry binary tensors after it (oip_binary.py); the variant itself
    refuses a malformed length, so here it only means: look at the whole body."""
    try:
        return split_body(raw, headers.get(HEADER))[0]
    except MalformedRequestError:
        return raw

"""Router-mode routes: predictions forward to a variant; the experiment is readable and steerable."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response

from mlpy_server.auth import Permission
from mlpy_server.deps import check, get_state, require, security
from mlpy_server.errors import MalformedRequestError
from mlpy_server.inputs import parse_model
from mlpy_server.router import Router, forwarded_headers, unit_from_body
from mlpy_server.schemas import (
    BATCH_BODY,
    ERRORS,
    INFER_BODY,
    PREDICT_BODY,
    ModelName,
    VersionRef,
    WeightsRequest,
    body,
    errors,
)
from mlpy_server.scope import REQUEST_ID
from mlpy_server.state import ServerState

router = APIRouter()


def _router(state: ServerState) -> Router:
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


async def _forward(request: Request) -> Response:
    state: ServerState = request.app.state.mlpy
    check(state, request, Permission.predict)
    path = forwarded_path(request.scope)
    raw = await request.body()
    headers = forwarded_headers(request.scope["headers"])
    unit = headers.pop("x-unit-id", None) or unit_from_body(raw)
    status, content, media_type, variant, signed_id = await _router(state).forward(
        path, raw, headers, request.scope[REQUEST_ID], unit
    )
    # The X-Request-ID header then says the same as the body: the id feedback is sent with.
    request.scope[REQUEST_ID] = signed_id
    return Response(content, status, media_type=media_type, headers={"x-mlpy-variant": variant})


async def fast_predict(request: Request) -> Response:
    return await _forward(request)


async def fast_batch(request: Request) -> Response:
    return await _forward(request)


async def fast_infer(request: Request, name: str, version: str | None) -> Response:
    return await _forward(request)


def _extra(schema: dict[str, Any]) -> dict[str, Any]:
    return {**body(schema), "security": security(Permission.predict)}


# What the chosen variant answers comes back unchanged, errors included; 502 and 504 are the router's own.
_FORWARDED = {"response_model": None, "responses": errors(502, 504), "tags": ["router"]}


@router.post(
    "/predict",
    summary="Predict one row on the chosen variant",
    openapi_extra=_extra(PREDICT_BODY),
    **_FORWARDED,  # type: ignore[arg-type]
)
async def predict(request: Request) -> Response:
    """Forwarded to the variant chosen for ``unit_id`` (or at random); the variant is in X-Mlpy-Variant.

    The variant's answer (a prediction or an error) comes back unchanged.
    """
    return await _forward(request)


@router.post(
    "/predict/batch",
    summary="Predict many rows on the chosen variant",
    openapi_extra=_extra(BATCH_BODY),
    **_FORWARDED,  # type: ignore[arg-type]
)
async def predict_batch(request: Request) -> Response:
    """Forwarded like ``/predict``: the whole batch goes to one variant, named in X-Mlpy-Variant."""
    return await _forward(request)


@router.post(
    "/v2/models/{name}/infer",
    summary="Inference on the chosen variant",
    openapi_extra=_extra(INFER_BODY),
    **_FORWARDED,  # type: ignore[arg-type]
)
async def infer(name: ModelName, request: Request) -> Response:
    """Forwarded like ``/predict``; the sticky unit is ``parameters.unit_id`` or the X-Unit-ID header."""
    return await _forward(request)


@router.post(
    "/v2/models/{name}/versions/{version}/infer",
    summary="Inference on a version, on the chosen variant",
    openapi_extra=_extra(INFER_BODY),
    **_FORWARDED,  # type: ignore[arg-type]
)
async def infer_version(name: ModelName, version: VersionRef, request: Request) -> Response:
    """Forwarded like ``/predict``; the chosen variant must serve that version."""
    return await _forward(request)


@router.get(
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


@router.put(
    "/experiment/weights",
    summary="Change the traffic split (admin)",
    tags=["router"],
    responses=ERRORS,
    openapi_extra=body(WeightsRequest.model_json_schema()),
)
async def set_weights(
    request: Request,
    state: ServerState = Depends(get_state),
    _: Any = Depends(require(Permission.admin)),
) -> dict[str, Any]:
    """Takes effect for the next request on this replica; adaptive strategies may move them again."""
    payload = parse_model(await request.body(), WeightsRequest)
    target = _router(state)
    target.experiment.set_weights(payload.weights)
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

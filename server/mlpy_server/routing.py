"""Router-mode routes: predictions forward to a variant; the experiment is readable and steerable."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response

from mlpy_server.auth import Permission
from mlpy_server.deps import check, get_state, require, security
from mlpy_server.middleware import REQUEST_ID
from mlpy_server.router import Router, forwarded_headers, unit_from_body
from mlpy_server.schemas import BATCH_BODY, ERRORS, INFER_BODY, PREDICT_BODY, WeightsRequest, body, errors
from mlpy_server.state import ServerState

router = APIRouter()


def _router(state: ServerState) -> Router:
    assert state.router is not None
    return state.router


async def _forward(request: Request, path: str) -> Response:
    state: ServerState = request.app.state.mlpy
    check(state, request, Permission.predict)
    raw = await request.body()
    headers = forwarded_headers(request.scope["headers"])
    unit = headers.pop("x-unit-id", None) or unit_from_body(raw)
    status, content, media_type, variant = await _router(state).forward(
        path, raw, headers, request.scope[REQUEST_ID], unit
    )
    return Response(content, status, media_type=media_type, headers={"x-mlpy-variant": variant})


async def fast_predict(request: Request) -> Response:
    return await _forward(request, "/predict")


async def fast_batch(request: Request) -> Response:
    return await _forward(request, "/predict/batch")


async def fast_infer(request: Request, name: str, version: str | None) -> Response:
    if version is None:
        return await _forward(request, f"/v2/models/{name}/infer")
    return await _forward(request, f"/v2/models/{name}/versions/{version}/infer")


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
    return await _forward(request, "/predict")


@router.post(
    "/predict/batch",
    summary="Predict many rows on the chosen variant",
    openapi_extra=_extra(BATCH_BODY),
    **_FORWARDED,  # type: ignore[arg-type]
)
async def predict_batch(request: Request) -> Response:
    """Forwarded like ``/predict``: the whole batch goes to one variant, named in X-Mlpy-Variant."""
    return await _forward(request, "/predict/batch")


@router.post(
    "/v2/models/{name}/infer",
    summary="Inference on the chosen variant",
    openapi_extra=_extra(INFER_BODY),
    **_FORWARDED,  # type: ignore[arg-type]
)
async def infer(name: str, request: Request) -> Response:
    """Forwarded like ``/predict``; the sticky unit is ``parameters.unit_id`` or the X-Unit-ID header."""
    return await _forward(request, f"/v2/models/{name}/infer")


@router.post(
    "/v2/models/{name}/versions/{version}/infer",
    summary="Inference on a version, on the chosen variant",
    openapi_extra=_extra(INFER_BODY),
    **_FORWARDED,  # type: ignore[arg-type]
)
async def infer_version(name: str, version: str, request: Request) -> Response:
    """Forwarded like ``/predict``; the chosen variant must serve that version."""
    return await _forward(request, f"/v2/models/{name}/versions/{version}/infer")


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
    "/experiment/weights", summary="Change the traffic split (admin)", tags=["router"], responses=ERRORS
)
async def set_weights(
    payload: WeightsRequest,
    state: ServerState = Depends(get_state),
    _: Any = Depends(require(Permission.admin)),
) -> dict[str, Any]:
    """Takes effect for the next request on this replica; adaptive strategies may move them again."""
    target = _router(state)
    target.experiment.set_weights(payload.weights)
    return {"experiment": target.plan.name, "weights": target.experiment.current_weights()}

"""The native API: predictions, loaded models, reload and delete, feedback.

``/predict`` and ``/predict/batch`` are hot routes (declared in hot_routes.py, answered by the fast
lane): they read the body with orjson and check it by hand (inputs.py) instead of building pydantic
models per request, then predict through the data plane.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from mlpy_server.auth import GRANTS, Permission, Principal
from mlpy_server.dataplane import DataPlane
from mlpy_server.deps import check, get_state, require
from mlpy_server.errors import InvalidInputError
from mlpy_server.groups import parse_groups
from mlpy_server.inputs import optional_str, parse_model, parse_object, rows_matrix
from mlpy_server.schemas import ERRORS, FeedbackRequest, ModelId, body, errors
from mlpy_server.scope import MODEL, REQUEST_ID, START
from mlpy_server.served import ServedModel
from mlpy_server.state import ServerState

endpoints = APIRouter()
JSON = "application/json"


def variant_of(request: Request, plane: DataPlane) -> str | None:
    """The experiment variant a router sent this request as (logged beside it), read only when logging."""
    return request.headers.get("x-mlpy-variant") if plane.predlog is not None else None


def json_response(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY), status, media_type=JSON)


async def predict(request: Request) -> Response:
    """The hot route ``POST /predict`` (declared in hot_routes.py)."""
    return await _predict_rows(request, "features", single=True)


async def predict_batch(request: Request) -> Response:
    """The hot route ``POST /predict/batch`` (declared in hot_routes.py)."""
    return await _predict_rows(request, "instances", single=False)


async def _predict_rows(request: Request, field: str, single: bool) -> Response:
    state: ServerState = request.app.state.mlpy
    check(state, request, Permission.predict)
    data = parse_object(await request.body())
    plane = state.plane
    served = plane.model(optional_str(data, "model"))
    request.scope[MODEL] = served
    raw = data.get(field)
    if raw is None:
        raise InvalidInputError(f"field {field!r} is required", field=field)
    limit = 1 if single else plane.max_batch_rows
    matrix, rows = rows_matrix(served, [raw] if single else raw, field, limit, single=single)
    groups = parse_groups(served, data.get("groups"), len(rows))
    request_id = request.scope[REQUEST_ID]
    predictions, _ = await plane.infer(
        served,
        matrix,
        rows,
        request_id=request_id,
        started=request.scope[START],
        variant=variant_of(request, plane),
        groups=groups,
    )
    payload: dict[str, Any] = {"model": served.name, "version": served.version, "request_id": request_id}
    if single:
        payload["prediction"] = predictions[0]
    else:
        # orjson writes numeric arrays directly; text labels need Python strings.
        payload["predictions"] = predictions if predictions.dtype.kind in "biuf" else predictions.tolist()
    return json_response(payload)


@endpoints.get("/models", summary="Loaded models", tags=["models"], responses=ERRORS)
async def list_models(
    state: ServerState = Depends(get_state), _: Any = Depends(require(Permission.read))
) -> list[dict[str, Any]]:
    """Every loaded model by id: name, version, SHA-256, aliases, inputs, and how it is predicted (the
    linear fast path, adaptive batching, or one request at a time)."""
    return state.plane.loaded_models()


@endpoints.get("/models/{model_id}", summary="One loaded model", tags=["models"], responses=ERRORS)
async def get_model(
    model_id: ModelId,
    request: Request,
    state: ServerState = Depends(get_state),
    _: Any = Depends(require(Permission.read)),
) -> dict[str, Any]:
    """The loaded model ``model_id`` names, described as in ``GET /models``."""
    served = state.cache.get(model_id)
    request.scope[MODEL] = served
    return {"id": model_id, **state.plane.describe(served)}


@endpoints.post(
    "/models/{model_id}/reload",
    summary="Load or reload a model (admin)",
    tags=["models"],
    responses=errors(409),
)
async def reload_model(
    model_id: ModelId,
    request: Request,
    state: ServerState = Depends(get_state),
    _: Any = Depends(require(Permission.admin)),
) -> dict[str, Any]:
    """Resolve the id again (an alias may have moved), verify, warm up, then swap atomically."""
    served, previous = await state.load(model_id)
    request.scope[MODEL] = served
    state.readiness.expected.add(model_id)
    return {"id": model_id, "loaded": state.plane.describe(served), "previous": _brief(previous)}


@endpoints.delete("/models/{model_id}", summary="Unload a model (admin)", tags=["models"], responses=ERRORS)
async def delete_model(
    model_id: ModelId, state: ServerState = Depends(get_state), _: Any = Depends(require(Permission.admin))
) -> dict[str, Any]:
    """Unload the model; the readiness probe stops waiting for it."""
    served = state.cache.remove(model_id)
    state.readiness.expected = {m for m in state.readiness.expected if m in set(state.cache.ids())}
    return {"deleted": _brief(served)}


@endpoints.post(
    "/feedback",
    status_code=202,
    summary="Report the observed outcome of a request",
    tags=["predict"],
    responses=errors(503),
    openapi_extra=body(FeedbackRequest.model_json_schema()),
)
async def feedback(
    request: Request,
    state: ServerState = Depends(get_state),
    principal: Principal | None = Depends(require(Permission.predict)),
) -> dict[str, Any]:
    """Stored beside the logged prediction (drift, accuracy, fairness); in router mode it also updates the
    variant. Group attributes are not sent again: the logged prediction holds them, joined by request id.

    A repeat of the same ``request_id`` is accepted and changes nothing (``counted`` is false).
    """
    # Read after the credential check: an anonymous caller learns nothing about the body's shape.
    payload = parse_model(await request.body(), FeedbackRequest)
    if payload.value is None and payload.outcome is None:
        raise InvalidInputError("give 'value' (the metric) or 'outcome' (the observed truth)", field="value")
    outcome = payload.outcome if payload.outcome is not None else payload.value
    variant, counted = None, False
    if state.router is not None:
        # The experiment's checks come first: feedback it refuses is not logged either.
        may_attribute = principal is not None and Permission.admin in GRANTS[principal.role]
        variant, counted = await state.router.feedback(
            payload.request_id, payload.value, payload.variant, may_attribute
        )
    logged = state.predlog.record_outcome(payload.request_id, outcome) if state.predlog is not None else False
    return {"request_id": payload.request_id, "logged": logged, "variant": variant, "counted": counted}


def _brief(served: ServedModel | None) -> dict[str, Any] | None:
    if served is None:
        return None
    return {"name": served.name, "version": served.version, "sha256": served.sha256}

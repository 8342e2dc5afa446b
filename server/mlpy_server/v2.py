"""The Open Inference Protocol v2 (KServe, MLServer, Triton clients work unchanged)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from mlpy import __version__
from mlpy_server.api import json_response, variant_of
from mlpy_server.auth import Permission
from mlpy_server.deps import check, get_state, require, security
from mlpy_server.errors import NotReadyError
from mlpy_server.inputs import parse_json
from mlpy_server.oip import metadata, output_tensor, parse_infer
from mlpy_server.schemas import ERRORS, INFER_BODY, InferResponse, ModelName, VersionRef, body, errors
from mlpy_server.scope import MODEL, REQUEST_ID, START
from mlpy_server.state import ServerState

router = APIRouter(prefix="/v2", tags=["open inference protocol v2"])
# Replaced by forwarding routes in router mode.
infer_router = APIRouter(prefix="/v2", tags=["open inference protocol v2"])


@router.get("", summary="Server metadata")
async def server_metadata() -> dict[str, Any]:
    """The server's name, version and protocol extensions."""
    return {"name": "mlpy", "version": __version__, "extensions": []}


@router.get("/health/live", summary="Liveness")
async def live() -> dict[str, Any]:
    """Always ``{"live": true}`` while the process answers."""
    return {"live": True}


@router.get("/health/ready", summary="Readiness", responses={503: errors(503)[503]})
async def ready(state: ServerState = Depends(get_state)) -> dict[str, Any]:
    """Ready once every configured model is loaded and verified, as ``/readyz``."""
    ok, reason = state.ready()
    if not ok:
        raise NotReadyError(reason)
    return {"ready": True}


@router.get("/models/{name}", summary="Model metadata", responses=ERRORS)
async def model_metadata(
    name: ModelName, state: ServerState = Depends(get_state), _: Any = Depends(require(Permission.read))
) -> dict[str, Any]:
    """The model's name, versions, platform and input and output tensors."""
    return metadata(state.cache.get_version(name, None))


@router.get("/models/{name}/versions/{version}", summary="Model version metadata", responses=ERRORS)
async def model_version_metadata(
    name: ModelName,
    version: VersionRef,
    state: ServerState = Depends(get_state),
    _: Any = Depends(require(Permission.read)),
) -> dict[str, Any]:
    """As the model's metadata, for one loaded version."""
    return metadata(state.cache.get_version(name, version))


@router.get("/models/{name}/ready", summary="Model readiness", responses=ERRORS)
async def model_ready(
    name: ModelName, state: ServerState = Depends(get_state), _: Any = Depends(require(Permission.read))
) -> dict[str, Any]:
    """``{"name", "ready": true}`` when the model is loaded, else 404."""
    served = state.cache.get_version(name, None)
    return {"name": served.name, "ready": True}


@router.get("/models/{name}/versions/{version}/ready", summary="Model version readiness", responses=ERRORS)
async def model_version_ready(
    name: ModelName,
    version: VersionRef,
    state: ServerState = Depends(get_state),
    _: Any = Depends(require(Permission.read)),
) -> dict[str, Any]:
    """``{"name", "ready": true}`` when this version is loaded, else 404."""
    served = state.cache.get_version(name, version)
    return {"name": served.name, "ready": True}


async def fast_infer(request: Request, name: str, version: str | None) -> Response:
    state: ServerState = request.app.state.mlpy
    check(state, request, Permission.predict)
    served = state.cache.get_version(name, version)
    request.scope[MODEL] = served
    infer = parse_infer(served, parse_json(await request.body()), state.settings.max_batch_rows)
    predictions = await state.predict(served, infer.matrix)
    outputs = []
    for output in infer.outputs:
        if output == "predict":
            outputs.append(output_tensor("predict", predictions))
        else:
            outputs.append(output_tensor("predict_proba", await state.probabilities(served, infer.matrix)))
    request_id = request.scope[REQUEST_ID]
    latency = time.perf_counter() - request.scope[START]
    state.log_prediction(request_id, served, infer.rows, predictions, latency, variant_of(request, state))
    return json_response(
        {
            "model_name": served.name,
            "model_version": served.version,
            "id": infer.id or request_id,
            "parameters": {"request_id": request_id},
            "outputs": outputs,
        }
    )


_INFER = {
    "response_model": None,
    "responses": {200: {"model": InferResponse}, **ERRORS},
    "openapi_extra": {**body(INFER_BODY), "security": security(Permission.predict)},
}


@infer_router.post("/models/{name}/infer", summary="Inference", **_INFER)  # type: ignore[arg-type]
async def infer(name: ModelName, request: Request) -> Response:
    """Predict with the loaded version; ask for ``predict_proba`` among ``outputs`` for probabilities."""
    return await fast_infer(request, name, None)


@infer_router.post("/models/{name}/versions/{version}/infer", summary="Inference on a version", **_INFER)  # type: ignore[arg-type]
async def infer_version(name: ModelName, version: VersionRef, request: Request) -> Response:
    """As inference, with one loaded version of the model."""
    return await fast_infer(request, name, version)

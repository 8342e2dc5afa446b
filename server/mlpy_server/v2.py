"""The Open Inference Protocol v2 (KServe, MLServer, Triton clients work unchanged, binary tensor
data included: oip_binary.py).

Inference is a hot route (declared in hot_routes.py); metadata and health are ordinary endpoints.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from mlpy import __version__
from mlpy_server.api import json_response, variant_of
from mlpy_server.auth import Permission
from mlpy_server.deps import check, get_state, require
from mlpy_server.errors import NotReadyError
from mlpy_server.inputs import parse_json
from mlpy_server.oip import metadata, run_infer
from mlpy_server.oip_binary import HEADER, attach_binary, binary_outputs, encode, split_body
from mlpy_server.schemas import ERRORS, ModelName, VersionRef, errors
from mlpy_server.scope import MODEL, REQUEST_ID, START
from mlpy_server.state import ServerState

endpoints = APIRouter(prefix="/v2", tags=["open inference protocol v2"])


@endpoints.get("", summary="Server metadata")
async def server_metadata() -> dict[str, Any]:
    """The server's name, version and protocol extensions."""
    return {"name": "mlpy", "version": __version__, "extensions": ["binary_tensor_data"]}


@endpoints.get("/health/live", summary="Liveness")
async def live() -> dict[str, Any]:
    """Always ``{"live": true}`` while the process answers."""
    return {"live": True}


@endpoints.get("/health/ready", summary="Readiness", responses={503: errors(503)[503]})
async def ready(state: ServerState = Depends(get_state)) -> dict[str, Any]:
    """Ready once every configured model is loaded and verified, as ``/readyz``."""
    ok, reason = state.ready()
    if not ok:
        raise NotReadyError(reason)
    return {"ready": True}


@endpoints.get("/models/{name}", summary="Model metadata", responses=ERRORS)
async def model_metadata(
    name: ModelName, state: ServerState = Depends(get_state), _: Any = Depends(require(Permission.read))
) -> dict[str, Any]:
    """The model's name, versions, platform and input and output tensors."""
    return metadata(state.cache.get_version(name, None))


@endpoints.get("/models/{name}/versions/{version}", summary="Model version metadata", responses=ERRORS)
async def model_version_metadata(
    name: ModelName,
    version: VersionRef,
    state: ServerState = Depends(get_state),
    _: Any = Depends(require(Permission.read)),
) -> dict[str, Any]:
    """As the model's metadata, for one loaded version."""
    return metadata(state.cache.get_version(name, version))


@endpoints.get("/models/{name}/ready", summary="Model readiness", responses=ERRORS)
async def model_ready(
    name: ModelName, state: ServerState = Depends(get_state), _: Any = Depends(require(Permission.read))
) -> dict[str, Any]:
    """``{"name", "ready": true}`` when the model is loaded, else 404."""
    served = state.cache.get_version(name, None)
    return {"name": served.name, "ready": True}


@endpoints.get("/models/{name}/versions/{version}/ready", summary="Model version readiness", responses=ERRORS)
async def model_version_ready(
    name: ModelName,
    version: VersionRef,
    state: ServerState = Depends(get_state),
    _: Any = Depends(require(Permission.read)),
) -> dict[str, Any]:
    """``{"name", "ready": true}`` when this version is loaded, else 404."""
    served = state.cache.get_version(name, version)
    return {"name": served.name, "ready": True}


async def infer(request: Request, name: str, version: str | None = None) -> Response:
    """The hot routes ``POST /v2/models/{name}[/versions/{version}]/infer`` (declared in hot_routes.py)."""
    state: ServerState = request.app.state.mlpy
    check(state, request, Permission.predict)
    plane = state.plane
    served = plane.model_version(name, version)
    request.scope[MODEL] = served
    body, blob = split_body(await request.body(), request.headers.get(HEADER))
    data = parse_json(body)
    if blob:
        attach_binary(data, blob)
    call, response = await run_infer(
        plane,
        served,
        data,
        request_id=request.scope[REQUEST_ID],
        started=request.scope[START],
        variant=variant_of(request, plane),
    )
    binary = binary_outputs(data, call.outputs)
    if not binary:
        return json_response(response)
    content, headers = encode(response, binary)
    return Response(content, headers=headers, media_type="application/octet-stream")

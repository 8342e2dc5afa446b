"""The Open Inference Protocol v2 (KServe, MLServer, Triton clients work unchanged, binary tensor
data included: oip_binary.py).

Inference is a hot route (declared in hot_routes.py); metadata and health are ordinary endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from mlpy import __version__
from mlpy_server.api import json_response, variant_of
from mlpy_server.auth import Permission
from mlpy_server.cache import ModelCache
from mlpy_server.deps import check, get_state, require
from mlpy_server.errors import NotReadyError
from mlpy_server.forwarding import read_from_variant
from mlpy_server.inputs import parse_json
from mlpy_server.oip import metadata, run_infer
from mlpy_server.oip_binary import HEADER, attach_binary, binary_outputs, encode, split_body
from mlpy_server.schemas import ModelName, VersionRef, errors
from mlpy_server.scope import MODEL, REQUEST_ID, START
from mlpy_server.served import ServedModel
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


def _model_read(path: str, summary: str) -> Callable[[Any], Any]:
    """A model's metadata or readiness; in router mode one variant answers (forwarding.read_from_variant),
    as the router loads no models, so 502 and 504 are the router's."""
    return endpoints.get(path, summary=summary, responses=errors(502, 504), response_model=dict[str, Any])


@dataclass(frozen=True)
class ModelRead:
    """A read of a model, by a caller allowed to read: answered from this server's cache, or a variant's."""

    request: Request
    state: ServerState

    async def answer(self, local: Callable[[ModelCache], dict[str, Any]]) -> dict[str, Any] | Response:
        if self.state.router is not None:
            return await read_from_variant(self.request)
        return local(self.state.cache)


def model_read(
    request: Request, state: ServerState = Depends(get_state), _: Any = Depends(require(Permission.read))
) -> ModelRead:
    return ModelRead(request, state)


@_model_read("/models/{name}", "Model metadata")
async def model_metadata(name: ModelName, read: ModelRead = Depends(model_read)) -> dict[str, Any] | Response:
    """The model's name, versions, platform and input and output tensors.

    A router answers with a variant's metadata (the X-Unit-ID unit's, else the control's), named in
    X-Mlpy-Variant."""
    return await read.answer(lambda cache: metadata(cache.get_version(name, None)))


@_model_read("/models/{name}/versions/{version}", "Model version metadata")
async def model_version_metadata(
    name: ModelName, version: VersionRef, read: ModelRead = Depends(model_read)
) -> dict[str, Any] | Response:
    """As the model's metadata, for one loaded version."""
    return await read.answer(lambda cache: metadata(cache.get_version(name, version)))


@_model_read("/models/{name}/ready", "Model readiness")
async def model_ready(name: ModelName, read: ModelRead = Depends(model_read)) -> dict[str, Any] | Response:
    """``{"name", "ready": true}`` when the model is loaded, else 404; a router asks a variant, as for
    the metadata."""
    return await read.answer(lambda cache: _ready(cache.get_version(name, None)))


@_model_read("/models/{name}/versions/{version}/ready", "Model version readiness")
async def model_version_ready(
    name: ModelName, version: VersionRef, read: ModelRead = Depends(model_read)
) -> dict[str, Any] | Response:
    """``{"name", "ready": true}`` when this version is loaded, else 404."""
    return await read.answer(lambda cache: _ready(cache.get_version(name, version)))


def _ready(served: ServedModel) -> dict[str, Any]:
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

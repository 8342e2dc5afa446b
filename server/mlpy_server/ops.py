"""Health, probes and metrics: what Kubernetes and Prometheus call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST

from mlpy import __version__
from mlpy_server.deps import get_state
from mlpy_server.errors import NotReadyError
from mlpy_server.schemas import ErrorResponse
from mlpy_server.state import ServerState

endpoints = APIRouter(tags=["operations"])


@endpoints.get("/", summary="Health and what this server holds")
async def root(state: ServerState = Depends(get_state)) -> dict[str, Any]:
    """Name, version, mode (server or router), readiness and the ids of the loaded models."""
    ready, reason = state.ready()
    return {
        "name": "mlpy",
        "version": __version__,
        "mode": "router" if state.router is not None else "server",
        "ready": ready,
        "status": reason,
        "models": state.cache.ids(),
    }


@endpoints.get("/healthz", summary="Liveness probe")
async def healthz() -> dict[str, str]:
    """``{"status": "alive"}`` while the process answers, models loaded or not."""
    return {"status": "alive"}


@endpoints.get(
    "/readyz",
    summary="Readiness probe",
    responses={503: {"model": ErrorResponse, "description": "Not ready, saying what it waits for"}},
)
async def readyz(state: ServerState = Depends(get_state)) -> dict[str, Any]:
    """Ready only once every configured model is loaded and its SHA-256 verified."""
    ready, reason = state.ready()
    if not ready:
        raise NotReadyError(reason)
    answer: dict[str, Any] = {"status": "ready", "models": state.cache.ids()}
    if state.predlog is not None:
        # Shown, never waited for: the log must not decide whether the server serves.
        answer["prediction_log"] = state.predlog.describe()
    return answer


@endpoints.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "The Prometheus text format"}},
)
async def metrics(state: ServerState = Depends(get_state)) -> Response:
    """Request, model, prediction-log and router metrics (merged across workers when multiprocess)."""
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

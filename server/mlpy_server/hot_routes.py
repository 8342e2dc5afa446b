"""The hot routes, each declared once: both the OpenAPI document and the fast lane are built from here.

The fast lane (fastlane.py) answers these straight from the middleware, skipping FastAPI's route
matching and dependency solving; ``declare`` gives FastAPI the same routes, with the same handlers, for
the OpenAPI document and /docs. The handlers read and check their bodies by hand (inputs.py, oip.py),
so the request schemas are JSON Schema given here.

A server has one table: ``serving_routes()`` predict on the loaded models, ``forwarding_routes()``
(router mode) send the same requests on to an experiment's variants.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response

from mlpy_server.auth import Permission
from mlpy_server.deps import security
from mlpy_server.schemas import (
    BATCH_BODY,
    ERRORS,
    INFER_BODY,
    PREDICT_BODY,
    BatchResponse,
    InferResponse,
    KpiRequest,
    KpiResponse,
    ModelName,
    PredictResponse,
    VersionRef,
    body,
    errors,
    request_schema,
)

Handler = Callable[..., Awaitable[Response]]

#: The path parameters a hot route may have, with the patterns the OpenAPI document gives them.
PATH_PARAMETERS: dict[str, Any] = {"name": ModelName, "version": VersionRef}
_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class HotRoute:
    """One operation: where it is, what it does (for the document) and the handler that answers it.

    The handler is called as ``handler(request, **path_parameters)``.
    """

    name: str  # the endpoint's name; FastAPI derives the operationId from it
    path: str  # a template: "{name}" and "{version}" each match one non-empty path segment
    summary: str
    description: str
    body: dict[str, Any]  # the request body's JSON Schema
    responses: dict[int | str, dict[str, Any]]
    tags: tuple[str, ...]
    handler: Handler
    method: str = "POST"
    permission: Permission = Permission.predict
    status: int = 200  # what a success answers

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(_PARAMETER.findall(self.path))


def serving_routes() -> tuple[HotRoute, ...]:
    """Predictions on the models this server loaded: the native API and Open Inference Protocol v2."""
    from mlpy_server import api, v2

    v2_tags = ("open inference protocol v2",)
    infer_responses = {200: {"model": InferResponse}, **ERRORS}
    return (
        HotRoute(
            "predict",
            "/predict",
            "Predict one row",
            "``features`` as a list in the model's order or an object by name; ``model`` when several are"
            " loaded.\n\nNamed features are put in the order of the model's signature; a missing or unknown"
            " name is an error.",
            PREDICT_BODY,
            {200: {"model": PredictResponse}, **ERRORS},
            ("predict",),
            api.predict,
        ),
        HotRoute(
            "predict_batch",
            "/predict/batch",
            "Predict many rows",
            "``instances``: rows as lists or objects; predictions come back in the same order.",
            BATCH_BODY,
            {200: {"model": BatchResponse}, **ERRORS},
            ("predict",),
            api.predict_batch,
        ),
        HotRoute(
            "infer",
            "/v2/models/{name}/infer",
            "Inference",
            "Predict with the loaded version; ask for ``predict_proba`` among ``outputs`` for probabilities.",
            INFER_BODY,
            infer_responses,
            v2_tags,
            v2.infer,
        ),
        HotRoute(
            "infer_version",
            "/v2/models/{name}/versions/{version}/infer",
            "Inference on a version",
            "As inference, with one loaded version of the model.",
            INFER_BODY,
            infer_responses,
            v2_tags,
            v2.infer,
        ),
        kpi_route(),
    )


def forwarding_routes() -> tuple[HotRoute, ...]:
    """Router mode: the same requests, each forwarded to the variant chosen for its unit."""
    from mlpy_server.forwarding import forward

    # What the chosen variant answers comes back unchanged, errors included; 502 and 504 are the router's.
    forwarded = errors(502, 504)
    tags = ("router",)
    return (
        HotRoute(
            "predict",
            "/predict",
            "Predict one row on the chosen variant",
            "Forwarded to the variant chosen for ``unit_id`` (or at random); the variant is in"
            " X-Mlpy-Variant.\n\nThe variant's answer (a prediction or an error) comes back unchanged.",
            PREDICT_BODY,
            forwarded,
            tags,
            forward,
        ),
        HotRoute(
            "predict_batch",
            "/predict/batch",
            "Predict many rows on the chosen variant",
            "Forwarded like ``/predict``: the whole batch goes to one variant, named in X-Mlpy-Variant.",
            BATCH_BODY,
            forwarded,
            tags,
            forward,
        ),
        HotRoute(
            "infer",
            "/v2/models/{name}/infer",
            "Inference on the chosen variant",
            "Forwarded like ``/predict``; the sticky unit is ``parameters.unit_id`` or the X-Unit-ID header.",
            INFER_BODY,
            forwarded,
            tags,
            forward,
        ),
        HotRoute(
            "infer_version",
            "/v2/models/{name}/versions/{version}/infer",
            "Inference on a version, on the chosen variant",
            "Forwarded like ``/predict``; the chosen variant must serve that version.",
            INFER_BODY,
            forwarded,
            tags,
            forward,
        ),
        kpi_route(),
    )


def kpi_route() -> HotRoute:
    """``POST /kpi``, the same in both modes: recorded for monitoring, or counted for the experiment."""
    from mlpy_server.kpi import record_kpi

    return HotRoute(
        "record_kpi",
        "/kpi",
        "Record a business KPI",
        "A business value (``revenue``, ``conversion``, ``loss``) for one request (``request_id``) or one"
        " unit (``unit_id``).\n\nServing mode: recorded for monitoring under the version of ``model``"
        " (``recorded`` is false while MLPY_MONITORING is off). Router mode: counted as the experiment's"
        " observation for the variant of the request or unit when the experiment's metric is this KPI"
        " (``metric.source: kpi``), once per request id or unit (``counted`` is false for a repeat).",
        request_schema(KpiRequest),
        {202: {"model": KpiResponse, "description": "Recorded or counted (see the flags)"}, **errors(503)},
        ("monitoring",),
        record_kpi,
        status=202,
    )


def declare(app: FastAPI, routes: tuple[HotRoute, ...]) -> None:
    """Give FastAPI each route, for the OpenAPI document (and to answer should the lane decline one)."""
    for route in routes:
        app.add_api_route(
            route.path,
            _endpoint(route),
            methods=[route.method],
            name=route.name,
            summary=route.summary,
            description=route.description,
            response_model=None,
            status_code=route.status,
            responses=route.responses,
            tags=list(route.tags),
            openapi_extra={**body(route.body), "security": security(route.permission)},
        )


def _endpoint(route: HotRoute) -> Callable[..., Awaitable[Response]]:
    """A FastAPI endpoint calling the route's handler, with a signature naming its path parameters."""
    unknown = [name for name in route.parameters if name not in PATH_PARAMETERS]
    if unknown:
        raise ValueError(f"hot route {route.path}: no declared type for path parameter(s) {unknown}")
    handler = route.handler

    async def endpoint(request: Request, **parameters: str) -> Response:
        return await handler(request, **parameters)

    keyword = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, keyword, annotation=PATH_PARAMETERS[name]) for name in route.parameters]
        + [inspect.Parameter("request", keyword, annotation=Request)],
        return_annotation=Response,
    )
    endpoint.__name__ = route.name
    return endpoint

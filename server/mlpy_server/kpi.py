"""``POST /kpi``: a business value (revenue, conversion, loss) per request or per unit.

Serving mode records it for monitoring under the model version that serves (per-minute sums, flushed
with the other monitoring data). Router mode counts it as the experiment's observation for the variant
of the request or unit when the experiment's metric is that KPI (``metric.source: kpi``), once per
request id or unit across replicas, exactly like feedback.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from mlpy.errors import MlpyError
from mlpy_server.api import json_response
from mlpy_server.auth import Permission
from mlpy_server.deps import check
from mlpy_server.errors import InvalidInputError, NotFoundError
from mlpy_server.inputs import parse_model
from mlpy_server.schemas import KpiRequest
from mlpy_server.scope import MODEL

if TYPE_CHECKING:
    from mlpy_server.router import ABRouter
    from mlpy_server.state import ServerState


async def record_kpi(request: Request) -> Response:
    """The hot route ``POST /kpi`` (declared in hot_routes.py), in both modes."""
    state: ServerState = request.app.state.mlpy
    check(state, request, Permission.predict)
    # Read after the credential check: an anonymous caller learns nothing about the body's shape.
    payload = parse_model(await request.body(), KpiRequest)
    if (payload.request_id is None) == (payload.unit_id is None):
        raise InvalidInputError(
            "give exactly one of 'request_id' (a value per request) and 'unit_id' (per unit)",
            field="request_id",
        )
    answer: dict[str, Any] = {
        "name": payload.name,
        "request_id": payload.request_id,
        "unit_id": payload.unit_id,
        "model": None,
        "version": None,
        "recorded": False,
        "variant": None,
        "counted": False,
    }
    if state.router is not None:
        answer["variant"], answer["counted"] = await credit_variant(state.router, payload)
        return json_response(answer, 202)
    served = state.plane.model(payload.model)
    request.scope[MODEL] = served
    answer["model"], answer["version"] = served.name, served.version
    if state.monitoring is not None:
        try:
            state.monitoring.record_kpi(served.name, served.version, payload.name, payload.value)
        except MlpyError as exc:
            raise InvalidInputError(str(exc), field="value") from exc
        answer["recorded"] = True
    return json_response(answer, 202)


async def credit_variant(router: ABRouter, payload: KpiRequest) -> tuple[str, bool]:
    """The variant of the request (its signed id) or of the unit (its sticky assignment), and whether
    the value counted: only the experiment's own KPI does, once per request id or unit."""
    if payload.request_id is not None:
        variant = router.variant_of(payload.request_id)
        if variant is None:
            raise NotFoundError(
                f"request {payload.request_id!r} was not routed by experiment {router.plan.name!r}",
                hint="send the request_id of the routed response, or the unit_id it was routed for",
                field="request_id",
            )
        claim = payload.request_id
    else:
        assert payload.unit_id is not None
        # The unit's variant under the weights in force (sticky while they stay put); not a new unit.
        variant = router.experiment.assign(payload.unit_id, count=False)
        claim = unit_claim(payload.unit_id)
    metric = router.plan.config.metric
    if not metric.from_kpi or payload.name != metric.name:
        return variant, False
    return variant, await router.count_once(claim, variant, payload.value)


def unit_claim(unit_id: str) -> str:
    """A unit's key among the request ids claimed (which are at most 64 characters)."""
    return "unit:" + hashlib.blake2b(unit_id.encode(), digest_size=16).hexdigest()

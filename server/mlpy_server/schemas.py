"""What /docs shows: request and response shapes.

The hot endpoints validate by hand (faster, and with messages naming the exact value), so their
request schemas are given here as JSON Schema and attached with ``openapi_extra``.

Every request body carries an example; docs/http-api.md shows it, and a test posts each one to a
server holding a model with the features ``age``, ``income`` and ``score`` and expects a 2xx.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

# Path parameters, declared with the patterns the registry enforces: control characters, spaces and
# other text that can name no model are outside the schema (and answered 404 or 422).
ModelName = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", description="A registered model's name")
]
VersionRef = Annotated[
    str,
    Path(
        pattern=r"^(v?[1-9][0-9]{0,8}|@?[a-z][a-z0-9_-]{0,63})$", description="A version number or an alias"
    ),
]
ModelId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(:v?[1-9][0-9]{0,8}|@[a-z][a-z0-9_-]{0,63})?$",
        description="name, name:VERSION or name@ALIAS",
    ),
]

_VALUE = {"type": ["number", "string", "boolean"]}
_ROW = {
    "oneOf": [
        {
            "type": "array",
            "items": _VALUE,
            "minItems": 1,
            "description": "Values in the model's feature order",
        },
        {"type": "object", "additionalProperties": _VALUE, "description": "Values by feature name"},
    ],
    "description": "One row: values in the model's feature order, or an object of values by feature name",
}
_MODEL_ID = {
    "type": "string",
    "description": "The model: name (its production alias), name:version or name@alias; "
    "optional when the server holds one model",
}

_GROUP = {"type": ["string", "integer", "boolean"]}
_GROUPS = {
    "type": "object",
    "additionalProperties": {"oneOf": [_GROUP, {"type": "array", "items": _GROUP}]},
    "description": "Group attributes for fairness monitoring, by the names the version declares as "
    "sensitive features (a list of one value per row in a batch, or one value for all rows); "
    "an undeclared name is a 422",
}
PREDICT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["features"],
    "properties": {
        "model": _MODEL_ID,
        "features": _ROW,
        "groups": _GROUPS,
        "unit_id": {"type": "string", "description": "Sticky experiment unit (router mode)"},
    },
    "example": {"features": {"age": 41, "income": 52000, "score": 0.7}},
}
BATCH_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["instances"],
    "properties": {
        "model": _MODEL_ID,
        "instances": {
            "type": "array",
            "items": _ROW,
            "minItems": 1,
            "description": "The rows, each a list or an object; at most MLPY_MAX_BATCH_ROWS",
        },
        "groups": _GROUPS,
    },
    "example": {"instances": [[41, 52000, 0.7], {"age": 29, "income": 31000, "score": 0.2}]},
}
_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {
            "type": "string",
            "description": "Tensor name; a feature name in the one-tensor-per-feature layout",
        },
        "shape": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0},
            "description": "[rows, features] for one tensor, or [rows] per feature",
        },
        "datatype": {
            "type": "string",
            "enum": ["BOOL", "INT32", "INT64", "FP32", "FP64", "BYTES"],
            "description": "Element type (also INT8..UINT64 and FP16); BYTES for text features",
        },
        "data": {"type": "array", "description": "The values, flat in row-major order or nested by shape"},
        "parameters": {"type": "object", "description": "Tensor parameters (ignored)"},
    },
}
INFER_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "id": {"type": "string", "description": "Echoed in the response (default: the request id)"},
        "parameters": {
            "type": "object",
            "description": "Request parameters; unit_id is the sticky experiment unit (router mode); "
            "groups holds the group attributes for fairness monitoring, as in the native API "
            "(an object, or its JSON text)",
        },
        "inputs": {
            "type": "array",
            "items": _TENSOR,
            "minItems": 1,
            "description": "One [rows, features] tensor, or one 1-D tensor per named feature",
        },
        "outputs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {
                        "type": "string",
                        "enum": ["predict", "predict_proba"],
                        "description": "predict_proba only for probabilistic classifiers",
                    }
                },
            },
            "description": "The outputs wanted (left out: predict)",
        },
    },
    "example": {
        "inputs": [
            {"name": "input-0", "shape": [2, 3], "datatype": "FP64", "data": [41, 52000, 0.7, 29, 31000, 0.2]}
        ],
        "outputs": [{"name": "predict"}],
    },
}


def request_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A pydantic body's JSON Schema as FastAPI's OpenAPI document shows it (without null defaults),
    for a hot route that validates its body with ``model``."""
    schema = model.model_json_schema()
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]
    return schema


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: str = Field(description="What went wrong and what to do")
    code: str = Field(description="A stable machine-readable code (see the error codes)")
    field: str | None = Field(None, description="The request field at fault, for bad input")
    request_id: str | None = Field(None, description="The request id, also in the X-Request-ID header")


class PredictResponse(BaseModel):
    model: str = Field(description="The model's name")
    version: str = Field(description="The version that answered")
    request_id: str = Field(description="The request id (also in X-Request-ID)")
    prediction: Any = Field(description="The prediction for the row")


class BatchResponse(BaseModel):
    model: str = Field(description="The model's name")
    version: str = Field(description="The version that answered")
    request_id: str = Field(description="The request id (also in X-Request-ID)")
    predictions: list[Any] = Field(description="One prediction per row, in the order of the rows")


class OutputTensor(BaseModel):
    name: str = Field(description="predict or predict_proba")
    shape: list[int]
    datatype: str
    data: list[Any]


class InferResponse(BaseModel):
    model_name: str
    model_version: str = Field(description="The version that answered")
    id: str = Field(description="The request's id, or the request id")
    outputs: list[OutputTensor] = Field(description="The requested outputs")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"request_id": "9f1c0a7e42b1000000002a", "value": 1.0}],
            # Something to record: the metric, or an outcome that is not null.
            "anyOf": [
                {"required": ["value"], "properties": {"value": {"type": "number"}}},
                {"required": ["outcome"], "properties": {"outcome": {"not": {"type": "null"}}}},
            ],
        }
    )

    request_id: str = Field(
        min_length=1, max_length=64, description="The id of the request being reported on"
    )
    value: float | None = Field(
        None, strict=True, allow_inf_nan=False, description="The experiment metric observed for this request"
    )
    outcome: Any = Field(None, description="The observed truth, stored beside the logged prediction")
    variant: str | None = Field(
        None,
        min_length=1,
        description=(
            "Router mode: the variant to credit, for a request id the router did not issue (admin role only);"
            " ids the router issued name their variant themselves"
        ),
    )


class KpiRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "revenue", "value": 12.5, "request_id": "9f1c0a7e42b1000000002a"}],
            # Per request or per unit: exactly one of the two ids is a string.
            "oneOf": [
                {"required": ["request_id"], "properties": {"request_id": {"type": "string"}}},
                {"required": ["unit_id"], "properties": {"unit_id": {"type": "string"}}},
            ],
        },
    )

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$",
        description="The business KPI, e.g. revenue, conversion or loss",
    )
    value: float = Field(strict=True, allow_inf_nan=False, description="Its value for this request or unit")
    request_id: str | None = Field(
        None, min_length=1, max_length=64, description="The request the value is for (X-Request-ID)"
    )
    unit_id: str | None = Field(
        None, min_length=1, max_length=128, description="Or the unit (user, account) the value is for"
    )
    model: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Serving mode: the model (name, name:version or name@alias); optional with one loaded",
    )


class KpiResponse(BaseModel):
    name: str = Field(description="The KPI")
    request_id: str | None = Field(description="The request it was for, as sent")
    unit_id: str | None = Field(description="The unit it was for, as sent")
    model: str | None = Field(description="Serving mode: the model it was recorded for")
    version: str | None = Field(description="Serving mode: the version it was recorded for")
    recorded: bool = Field(description="Serving mode: recorded for monitoring (MLPY_MONITORING on)")
    variant: str | None = Field(description="Router mode: the variant of the request or unit")
    counted: bool = Field(description="Router mode: counted for the experiment (its metric, not a repeat)")


class WeightsRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"weights": {"A": 0.2, "B": 0.8}}]})

    weights: dict[str, Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0)]] = Field(
        description="Variant name to weight (normalised to sum to 1)"
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (400, "Malformed body"),
        (401, "Missing or unknown credential"),
        (403, "Role not allowed"),
        (404, "Model not loaded"),
        (413, "Body or batch too large"),
        (422, "Invalid input, naming the field"),
    )
}
_MORE_ERRORS = {
    409: "The model could not be loaded or verified; the version already serving keeps serving",
    502: "The chosen variant is unreachable",
    503: "Not ready: the models are still loading",
    504: "The chosen variant did not answer in time",
}


def errors(*more: int) -> dict[int | str, dict[str, Any]]:
    """The shared error responses, plus those an operation adds (409, 502, 503, 504)."""
    return {**ERRORS, **{code: {"model": ErrorResponse, "description": _MORE_ERRORS[code]} for code in more}}

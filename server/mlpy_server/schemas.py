"""What /docs shows: request and response shapes.

The hot endpoints validate by hand (faster, and with messages naming the exact value), so their
request schemas are given here as JSON Schema and attached with ``openapi_extra``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

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
    ]
}
_MODEL_ID = {"type": "string", "description": "name (its production alias), name:version or name@alias"}

PREDICT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["features"],
    "properties": {
        "model": _MODEL_ID,
        "features": _ROW,
        "unit_id": {"type": "string", "description": "Sticky experiment unit (router mode)"},
    },
    "example": {"features": {"x0": 1.5, "x1": -0.2}},
}
BATCH_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["instances"],
    "properties": {"model": _MODEL_ID, "instances": {"type": "array", "items": _ROW, "minItems": 1}},
    "example": {"instances": [[1.5, -0.2], [0.3, 2.0]]},
}
_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {"type": "string", "enum": ["BOOL", "INT32", "INT64", "FP32", "FP64", "BYTES"]},
        "data": {"type": "array"},
        "parameters": {"type": "object"},
    },
}
INFER_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "id": {"type": "string"},
        "parameters": {"type": "object"},
        "inputs": {"type": "array", "items": _TENSOR, "minItems": 1},
        "outputs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
    },
    "example": {"inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [1.5, -0.2]}]},
}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class ErrorResponse(BaseModel):
    error: str = Field(description="What went wrong and what to do")
    code: str
    field: str | None = Field(None, description="The request field at fault")
    request_id: str | None = None


class PredictResponse(BaseModel):
    model: str
    version: str
    request_id: str
    prediction: Any


class BatchResponse(BaseModel):
    model: str
    version: str
    request_id: str
    predictions: list[Any]


class OutputTensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferResponse(BaseModel):
    model_name: str
    model_version: str
    id: str
    outputs: list[OutputTensor]


class FeedbackRequest(BaseModel):
    request_id: str = Field(min_length=1, max_length=64)
    value: float | None = Field(None, description="The experiment metric observed for this request")
    outcome: Any = Field(None, description="The observed truth, stored beside the logged prediction")
    variant: str | None = Field(
        None, description="Router mode: the variant, when this replica did not route it"
    )


class WeightsRequest(BaseModel):
    weights: dict[str, float] = Field(description="Variant name to weight (normalised to sum to 1)")


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

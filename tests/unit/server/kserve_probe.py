"""Drive an mlpy server with the kserve SDK's own clients and print what they saw, as one JSON object.

Runs in .venv-kserve (scripts/setup-venv-kserve.sh), not in mlpy's virtualenv: kserve pins pandas
below 3. ``python kserve_probe.py HTTP_URL GRPC_TARGET ROUTER_URL``; test_kserve_client.py runs it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import numpy as np
from kserve import InferenceGRPCClient, InferenceRESTClient, RESTConfig
from kserve.protocol.infer_type import InferInput, InferRequest, RequestedOutput

ROWS = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])


def rows_input(binary: bool = True) -> InferInput:
    tensor = InferInput("input-0", list(ROWS.shape), "FP64")
    tensor.set_data_from_numpy(ROWS, binary_data=binary)
    return tensor


def cities_inputs(binary: bool) -> list[InferInput]:
    amount = InferInput("amount", [2], "FP64")
    amount.set_data_from_numpy(np.array([1.0, 8.0]), binary_data=binary)
    city = InferInput("city", [2], "BYTES")
    city.set_data_from_numpy(np.array([b"paris", b"lyon"], dtype=object), binary_data=binary)
    return [amount, city]


def plain(values: Any) -> Any:
    return [v.decode() if isinstance(v, bytes) else v for v in np.asarray(values).ravel().tolist()]


async def over_rest(url: str, seen: dict[str, Any], prefix: str) -> None:
    """Health, readiness and inference: the SDK's clients have no metadata call (tritonclient's tests
    cover metadata)."""
    async with InferenceRESTClient(RESTConfig(protocol="v2", timeout=10, retries=0)) as client:
        seen[f"{prefix}_live"] = await client.is_server_live(url)
        seen[f"{prefix}_ready"] = await client.is_server_ready(url)
        seen[f"{prefix}_model_ready"] = await client.is_model_ready(url, "lin")
        for binary in (True, False):
            request = InferRequest("lin", [rows_input(binary)], request_id=f"kserve-{binary}")
            answer = await client.infer(url, request, model_name="lin")
            seen[f"{prefix}_lin_{'binary' if binary else 'json'}"] = plain(answer.outputs[0].as_numpy())
            seen[f"{prefix}_id_{'binary' if binary else 'json'}"] = answer.id


async def main(http_url: str, grpc_target: str, router_url: str) -> None:
    seen: dict[str, Any] = {}
    await over_rest(http_url, seen, "rest")
    async with InferenceRESTClient(RESTConfig(protocol="v2", timeout=10, retries=0)) as client:
        request = InferRequest("cities", cities_inputs(True), request_outputs=[RequestedOutput("predict")])
        answer = await client.infer(http_url, request, model_name="cities")
        seen["rest_cities"] = plain(answer.outputs[0].as_numpy())
    await over_rest(router_url, seen, "router")
    async with InferenceGRPCClient(grpc_target, timeout=10) as client:
        seen["grpc_live"] = await client.is_server_live()
        seen["grpc_ready"] = await client.is_server_ready()
        seen["grpc_model_ready"] = await client.is_model_ready("lin")
        answer = await client.infer(InferRequest("lin", [rows_input()]))
        seen["grpc_lin"] = plain(answer.outputs[0].as_numpy())
        request = InferRequest("cities", cities_inputs(True), request_outputs=[RequestedOutput("predict")])
        seen["grpc_cities"] = plain((await client.infer(request)).outputs[0].as_numpy())
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))

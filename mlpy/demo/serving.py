"""Demo steps that serve: an A/B test through the real router with feedback, and the API itself.

Every server here is the real ``mlpy_server`` application under uvicorn on a loopback port; the
router forwards over HTTP to two model servers exactly as it does in a cluster.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import yaml

from mlpy.demo.data import TARGET


@contextmanager
def running(settings: Any, port: int = 0) -> Iterator[str]:
    """One mlpy server in a background thread until the block ends; yields its base URL.

    The socket is bound here and handed to uvicorn, so port 0 (any free port) has no window in
    which another process could take the port between choosing and listening."""
    import uvicorn

    from mlpy_server import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not ready(base):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the demo server on port {port} did not become ready")
            time.sleep(0.1)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def ab_test(
    model: str, control: int, candidate: int, test: pd.DataFrame, output: Path, *, requests: int = 600
) -> dict[str, Any]:
    """Route ``requests`` applicants through the router (sticky per applicant), send each one's observed
    outcome as feedback (1 when the model's decision was right), and read the decision."""
    from mlpy.experiments import evaluate
    from mlpy_server import ServerSettings

    spec: dict[str, Any] = {
        "model": model,
        "variants": [
            {"name": "control", "modelVersion": f"{model}-v{control}", "weight": 50},
            {"name": "candidate", "modelVersion": f"{model}-v{candidate}", "weight": 50},
        ],
        "strategy": "thompson-sampling",
        "metric": {"name": "correct-decision", "goal": "maximize", "type": "proportion"},
        "stopping": {"minSamplesPerVariant": 100, "confidence": 0.95, "maxDuration": "1h"},
    }
    with (
        running(ServerSettings(models=(f"{model}:{control}",))) as control_url,
        running(ServerSettings(models=(f"{model}:{candidate}",))) as candidate_url,
    ):
        variants = [
            {**spec["variants"][0], "upstream": control_url},
            {**spec["variants"][1], "upstream": candidate_url},
        ]
        config = output / "experiment.yaml"
        config.write_text(yaml.safe_dump({"name": f"demo-{model}", "spec": {**spec, "variants": variants}}))
        router_settings = ServerSettings(experiment=str(config))
        with (
            running(router_settings) as router,
            httpx.Client(base_url=router, timeout=10) as http,
        ):
            rows = test.sample(n=min(requests, len(test)), random_state=0)
            features = rows.drop(columns=[TARGET])
            for index, (_, row) in enumerate(features.iterrows()):
                body = {"features": plain(row.to_dict()), "unit_id": f"applicant-{index}"}
                answer = http.post("/predict", json=body).raise_for_status().json()
                correct = float(int(answer["prediction"]) == int(rows[TARGET].iloc[index]))
                http.post("/feedback", json={"request_id": answer["request_id"], "value": correct})
            time.sleep(1.5)  # the router flushes its statistics once a second
            stats = http.get("/experiment").raise_for_status().json()
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    per_variant = {v["name"]: v["stats"] for v in stats["variants"]}
    evaluation = evaluate(spec, per_variant, now, now).to_dict()
    return {"stats": stats, "evaluation": evaluation, "requests": len(rows)}


def plain(values: dict[str, Any]) -> dict[str, Any]:
    return {key: (value.item() if isinstance(value, np.generic) else value) for key, value in values.items()}

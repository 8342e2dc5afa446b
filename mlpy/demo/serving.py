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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(settings: Any, port: int) -> Iterator[str]:
    """One mlpy server in a background thread until the block ends; yields its base URL."""
    import uvicorn

    from mlpy_server import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        server.should_exit = True
        raise RuntimeError(f"the demo server on port {port} did not become ready")
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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
    ports = {"control": free_port(), "candidate": free_port(), "router": free_port()}
    with (
        running(ServerSettings(models=(f"{model}:{control}",)), ports["control"]) as control_url,
        running(ServerSettings(models=(f"{model}:{candidate}",)), ports["candidate"]) as candidate_url,
    ):
        variants = [
            {**spec["variants"][0], "upstream": control_url},
            {**spec["variants"][1], "upstream": candidate_url},
        ]
        config = output / "experiment.yaml"
        config.write_text(yaml.safe_dump({"name": f"demo-{model}", "spec": {**spec, "variants": variants}}))
        router_settings = ServerSettings(experiment=str(config))
        with (
            running(router_settings, ports["router"]) as router,
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

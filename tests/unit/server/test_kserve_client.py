"""The kserve SDK's own clients (InferenceRESTClient in binary and JSON, InferenceGRPCClient) against a
real server and through the router: health, readiness, inference, BYTES inputs.

The clients run in .venv-kserve (kserve pins pandas below 3), by kserve_probe.py, as a user's
program would; this test starts the servers and checks what the clients saw.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from localk8s import free_port
from mlpy.registry import ModelRegistry
from mlpy_server import ServerSettings, create_app
from tests.conftest import IN_CI
from tests.unit.server.conftest import (
    COEF,
    ThreadedServer,
    experiment_file,
    register_cities,
    wait_until_ready,
)

REPO = Path(__file__).resolve().parents[3]
KSERVE_PYTHON = REPO / ".venv-kserve" / "bin" / "python"
ROWS = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])


def test_kserve_clients_work_unchanged(
    make_settings: Callable[..., ServerSettings],
    serve_app: Callable[[Any], ThreadedServer],
    registry: ModelRegistry,
    tmp_path: Path,
) -> None:
    if not KSERVE_PYTHON.exists():
        reason = "the kserve client is not installed: bash scripts/setup-venv-kserve.sh"
        if IN_CI:
            pytest.fail(f"CI must provide it ({reason})", pytrace=False)
        pytest.skip(reason)
    model, frame = register_cities(registry)
    grpc_port = free_port()
    server = wait_until_ready(
        serve_app(create_app(make_settings(models=("lin", "cities"), grpc_port=grpc_port))).url
    )
    path = experiment_file(tmp_path, {"A": server, "B": server})
    router = wait_until_ready(serve_app(create_app(ServerSettings(experiment=str(path)))).url)
    done = subprocess.run(
        [
            str(KSERVE_PYTHON),
            str(Path(__file__).with_name("kserve_probe.py")),
            server,
            f"127.0.0.1:{grpc_port}",
            router,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    expected = (ROWS @ COEF + 0.5).tolist()
    for prefix in ("rest", "router"):
        assert seen[f"{prefix}_live"] is True
        assert seen[f"{prefix}_ready"] is True
        assert seen[f"{prefix}_model_ready"] is True  # the router asks a variant
        for mode in ("binary", "json"):
            np.testing.assert_allclose(seen[f"{prefix}_lin_{mode}"], expected)
            assert seen[f"{prefix}_id_{mode}"] == f"kserve-{mode == 'binary'}"
    cities = model.predict(frame.iloc[[0, 3]]).tolist()
    assert seen["rest_cities"] == cities
    assert (seen["grpc_live"], seen["grpc_ready"], seen["grpc_model_ready"]) == (True, True, True)
    np.testing.assert_allclose(seen["grpc_lin"], expected)
    assert seen["grpc_cities"] == cities

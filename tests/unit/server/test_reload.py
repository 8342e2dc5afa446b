"""Reloads swap atomically: predictions hammered from threads during reloads never fail."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

from mlpy.registry import ModelRegistry
from mlpy_server import create_app
from mlpy_server.auth import hash_key
from mlpy_server.settings import ServerSettings


def test_no_request_fails_while_the_model_is_reloaded(
    registry: ModelRegistry, make_settings: Callable[..., ServerSettings], serve_app: Callable[..., Any]
) -> None:
    server = serve_app(create_app(make_settings(api_keys=(f"ops:admin:{hash_key('k')}",))))
    with httpx.Client(base_url=server.url, timeout=10) as admin:
        for _ in range(200):
            if admin.get("/readyz").status_code == 200:
                break
            threading.Event().wait(0.05)
    failures: list[str] = []
    versions: set[str] = set()
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=server.url, timeout=10, headers={"X-API-Key": "k"}) as client:
            while not stop.is_set():
                response = client.post("/predict", json={"model": "lin", "features": [1, 2, 3]})
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    versions.add(response.json()["version"])

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    with httpx.Client(base_url=server.url, timeout=30, headers={"X-API-Key": "k"}) as admin:
        for version in (2, 1, 2):
            registry.promote("lin", version)
            reloaded = admin.post("/models/lin/reload")
            assert reloaded.status_code == 200, reloaded.text
            assert reloaded.json()["loaded"]["version"] == str(version)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert versions == {"1", "2"}

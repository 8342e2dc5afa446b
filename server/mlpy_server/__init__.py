"""mlpy's model server and A/B router: a FastAPI app built by :func:`create_app`.

The names load on first use (mlpy.faces): ``mlpy serve --hash-key`` does not start FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy_server.app import create_app
    from mlpy_server.auth import Authenticator
    from mlpy_server.logs import uvicorn_log_config
    from mlpy_server.router_plan import load_experiment
    from mlpy_server.settings import ServerSettings

__all__ = ["Authenticator", "ServerSettings", "create_app", "load_experiment", "uvicorn_log_config"]

_HOMES = {
    "Authenticator": "mlpy_server.auth",
    "ServerSettings": "mlpy_server.settings",
    "create_app": "mlpy_server.app",
    "load_experiment": "mlpy_server.router_plan",
    "uvicorn_log_config": "mlpy_server.logs",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)

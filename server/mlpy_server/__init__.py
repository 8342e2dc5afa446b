"""mlpy's model server and A/B router: a FastAPI app built by :func:`create_app`."""

from mlpy_server.app import create_app
from mlpy_server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]

"""Where mlpy keeps its data when nobody says otherwise.

Everything works on embedded defaults (a SQLite file and a local folder under
``MLPY_HOME``), so a laptop needs no server; production points ``MLPY_STORE`` at
PostgreSQL and ``MLPY_ARTIFACTS`` at object storage.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def home() -> Path:
    """The folder for embedded defaults (``MLPY_HOME``, else ``~/.mlpy``)."""
    return Path(os.environ.get("MLPY_HOME") or Path.home() / ".mlpy").expanduser()


def default_store_url() -> str:
    return f"sqlite:///{home() / 'mlpy.db'}"


def default_artifacts_url() -> str:
    return str(home() / "artifacts")


@dataclass(frozen=True)
class Locations:
    """The metadata store URL and the artifact root URL in use."""

    store: str
    artifacts: str

    @classmethod
    def resolve(cls, store: str | None = None, artifacts: str | None = None) -> Locations:
        """Explicit values first, then ``MLPY_STORE``/``MLPY_ARTIFACTS``, then the embedded defaults."""
        return cls(
            store=store or os.environ.get("MLPY_STORE") or default_store_url(),
            artifacts=artifacts or os.environ.get("MLPY_ARTIFACTS") or default_artifacts_url(),
        )

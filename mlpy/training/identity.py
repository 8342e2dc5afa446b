"""The code's identity for a version's lineage: the package version, the git commit, the image."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: Set in the training container (the Kubernetes Job does) to the image it runs.
IMAGE_VARIABLES = ("MLPY_TRAINING_IMAGE", "MLPY_TRAINING_IMAGE_DIGEST")


def code_identity(function: Any) -> dict[str, str]:
    """What can be known of the code behind ``function``: each key only when it is known."""
    module_name = getattr(function, "__module__", "") or ""
    identity: dict[str, str] = {}
    top = module_name.split(".", 1)[0]
    distributions = metadata.packages_distributions().get(top) or []
    for distribution in distributions[:1]:
        with contextlib.suppress(metadata.PackageNotFoundError):
            identity["package"] = f"{distribution}=={metadata.version(distribution)}"
    source = getattr(sys.modules.get(module_name), "__file__", None)
    if source:
        commit = _git_commit(Path(source).parent)
        if commit:
            identity["git_commit"] = commit
    image, digest = (os.environ.get(name) for name in IMAGE_VARIABLES)
    if image:
        identity["image"] = image
    if digest:
        identity["image_digest"] = digest
    return identity


def _git_commit(folder: Path) -> str | None:
    """The commit of the work tree holding ``folder``, with ``-dirty`` when it has changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip()
    return f"{commit}-dirty" if status.stdout.strip() else commit

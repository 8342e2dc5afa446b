"""What ships can verify public-key tokens: ``cryptography`` reaches ``mlpy[all]``, ``mlpy[server]``
and the server image through their own requirements, not only through the dev tools (which bring it
for the local cluster too, so a test of RS256 alone would pass without it)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]


def closure(distribution: str, extras: set[str]) -> set[str]:
    """Every distribution (lower-case) that installing ``distribution[extras]`` brings, transitively."""
    seen: set[str] = set()
    todo = [(distribution, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        key = f"{name.lower()}{sorted(wanted)}"
        if key in seen:
            continue
        seen.add(key)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            environment = [{"extra": extra} for extra in wanted] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environment):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return {key.split("[")[0] for key in seen}


@pytest.mark.parametrize("extras", [{"server"}, {"all"}])
def test_the_server_extras_bring_cryptography(extras: set[str]) -> None:
    assert "cryptography" in closure("mlpy", extras)


def test_the_base_install_stays_without_it() -> None:
    assert "cryptography" not in closure("mlpy", set())


def test_the_server_image_installs_the_server_extra() -> None:
    dockerfile = (REPO / "Dockerfile.server").read_text()
    installed = re.search(r'pip install -c constraints.txt "\.\[([a-z0-9,]+)\]"', dockerfile)
    assert installed is not None, "Dockerfile.server no longer installs the package with its extras"
    assert "server" in installed.group(1).split(",")

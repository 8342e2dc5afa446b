"""The images: hadolint, the shape every image must have, and what the server image runs, as a process."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from localk8s import free_port

IMAGES = ("Dockerfile.server", "Dockerfile.operator")


@dataclass
class Dockerfile:
    """The instructions of the final stage that decide what a container runs."""

    stages: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    expose: list[int] = field(default_factory=list)
    user: str = ""
    healthcheck: list[str] = field(default_factory=list)


def parse(path: Path) -> Dockerfile:
    text = re.sub(r"\\\n\s*", " ", path.read_text())  # join continuation lines
    parsed = Dockerfile()
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "FROM":
            parsed.stages.append(rest)
            parsed.env.clear()  # ENV does not cross stages
        elif word == "ENTRYPOINT":
            parsed.entrypoint = json.loads(rest)
        elif word == "CMD":
            parsed.cmd = json.loads(rest)
        elif word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                parsed.env[key] = value
        elif word == "EXPOSE":
            parsed.expose = [int(p.split("/")[0]) for p in rest.split()]
        elif word == "USER":
            parsed.user = rest
        elif word == "HEALTHCHECK":
            parsed.healthcheck = json.loads(rest[rest.index("CMD ") + 4 :])
    return parsed


@pytest.mark.parametrize("name", IMAGES)
def test_hadolint_finds_nothing(hadolint: str, repo: Path, name: str) -> None:
    done = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", "--format", "json", str(repo / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout or "[]") == []


def test_hadolint_catches_an_unpinned_base(hadolint: str, tmp_path: Path) -> None:
    """The control: the linter runs the rules it should (here DL3007, the `latest` tag)."""
    bad = tmp_path / "Dockerfile"
    bad.write_text('FROM python:latest\nUSER 10001\nCMD ["python"]\n')
    done = subprocess.run(
        [hadolint, "--format", "json", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "DL3007" in {finding["code"] for finding in json.loads(done.stdout)}


@pytest.mark.parametrize("name", IMAGES)
def test_image_is_multi_stage_pinned_non_root_with_a_health_check(repo: Path, name: str) -> None:
    image = parse(repo / name)
    assert len(image.stages) >= 2
    assert image.stages[0].endswith(" AS builder")
    for stage in image.stages:
        base = stage.split()[0]
        # A patch release and a Debian release: a rebuild gets the same Python on the same distribution.
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base
    assert image.user == "10001:10001"
    assert image.healthcheck[:2] == ["python", "-c"]
    assert image.entrypoint
    assert image.env["PYTHONDONTWRITEBYTECODE"] == "1"


def test_build_context_holds_only_the_sources(repo: Path) -> None:
    rules = [line for line in (repo / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert rules[0] == "*"
    assert {r.lstrip("!") for r in rules if r.startswith("!")} == {
        "pyproject.toml", "constraints.txt", "README.md", "mlpy/", "server/", "operator/",
    }  # fmt: skip


def _model_file(tmp_path: Path) -> tuple[Path, str]:
    import hashlib

    import numpy as np
    import skops.io
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_server_image_command_serves_and_passes_its_health_check(repo: Path, tmp_path: Path) -> None:
    """ENTRYPOINT + CMD with the image's ENV, as the operator's Deployment runs it (a model by URI)."""
    image = parse(repo / "Dockerfile.server")
    assert image.entrypoint == ["mlpy"]
    assert image.expose == [8000]
    assert image.cmd == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    port = free_port()
    # Only the address changes: loopback and a free port instead of the container's 0.0.0.0:8000.
    argv = [str(Path(sys.executable).with_name(image.entrypoint[0])), *image.cmd]
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    model, sha = _model_file(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLPY_")}
    env.update({k: v for k, v in image.env.items() if k != "PATH"})
    env.update({"HOME": str(tmp_path), "MLPY_HOME": str(tmp_path / "mlpy")})
    env.update({"MLPY_MODEL_URI": str(model), "MLPY_MODEL_SHA256": sha, "MLPY_MODEL_NAME": "probe"})
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                    assert json.loads(resp.read())["models"] == ["probe"]
                    break
            except OSError:
                assert proc.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.3)
        probe = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in image.healthcheck]
        probe[0] = sys.executable
        assert subprocess.run(probe, timeout=30).returncode == 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    # The same health check fails once nothing answers, so it does check something.
    assert subprocess.run(probe, capture_output=True, timeout=30).returncode != 0


def test_server_image_default_command_without_a_model_fails_in_one_line(repo: Path, tmp_path: Path) -> None:
    image = parse(repo / "Dockerfile.server")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLPY_")}
    env["MLPY_HOME"] = str(tmp_path)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("mlpy")), *image.cmd],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: nothing to serve")
    assert len(done.stderr.strip().splitlines()) == 1

"""``cluster.sh start`` brings up the real node by default: images that are only out of date are
built first rather than turning the start into kwok nodes only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import localk8s
from localk8s import cli, cluster, images
from localk8s.errors import ImageBuildError

STALE = ["ghcr.io/mlpy/mlpy-server:1"]


class FakeCluster:
    """Stands in for LocalCluster: records the start, decides the node as the real one would."""

    def __init__(self, state_dir: Path, binaries: dict[str, Path], node: str, **_: Any) -> None:
        self.state_dir, self.node, self.binaries = state_dir, node, binaries
        self.net = localk8s.NodeNetwork()
        self.server, self.startup_seconds = "https://10.244.0.1:6443", 1.0
        self.kubeconfig = state_dir / "kubeconfig"
        self.real_node, self.node_skipped = False, None

    def start(self) -> None:
        EVENTS.append("cluster start")
        reason = None if self.node != "off" else "kwok nodes only, as asked"
        reason = reason or cluster.node_unavailable_reason(self.binaries)
        self.real_node, self.node_skipped = reason is None, reason


EVENTS: list[str] = []


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A root machine with every package and binary, whose images are stale until built."""
    EVENTS.clear()
    state: dict[str, Any] = {"stale": list(STALE), "build_blockers": [], "node_blockers": []}

    def build_images() -> dict[str, Any]:
        EVENTS.append("build images")
        if state.get("build_fails"):
            raise ImageBuildError("`buildah bud --pull=never ...` failed (1); log /tmp/build.log:\nno space")
        state["stale"] = []
        return {}

    monkeypatch.setattr(images, "stale_images", lambda: list(state["stale"]))
    monkeypatch.setattr(images, "build_blockers", lambda: list(state["build_blockers"]))
    monkeypatch.setattr(images, "build_images", build_images)
    monkeypatch.setattr(cluster, "node_blockers", lambda: list(state["node_blockers"]))
    monkeypatch.setattr(cluster.nodelock, "holder", lambda: None)
    every = (*localk8s.BINARIES, *localk8s.NODE_BINARIES)
    monkeypatch.setattr(cli, "find_binaries", lambda _names: {n: Path("/bin/true") for n in every})
    monkeypatch.setattr(cli, "LocalCluster", FakeCluster)
    return state


def start(tmp_path: Path, *flags: str) -> int:
    return cli.main(["--dir", str(tmp_path / "state"), "start", *flags])


def test_a_default_start_builds_images_that_are_only_out_of_date(
    machine: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert start(tmp_path) == 0
    out = capsys.readouterr().out
    assert EVENTS == ["build images", "cluster start"]
    assert "a real node and a kwok node" in out
    assert "bash scripts/k8s/cluster.sh images" in out.splitlines()[0]


def test_kwok_only_builds_nothing(machine: dict[str, Any], tmp_path: Path) -> None:
    assert start(tmp_path, "--kwok-only") == 0
    assert EVENTS == ["cluster start"]


@pytest.mark.parametrize(
    "blocked",
    [
        {"build_blockers": ["image build tools missing: buildah"]},
        {"node_blockers": ["not root: a real node needs root"]},
    ],
)
def test_no_build_where_the_node_could_not_run_anyway(
    machine: dict[str, Any], blocked: dict[str, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.update(blocked)
    assert start(tmp_path) == 0
    out = capsys.readouterr().out
    assert EVENTS == ["cluster start"]
    assert "kwok nodes only" in out
    if "build_blockers" in blocked:
        assert "images not built: ghcr.io/mlpy/mlpy-server:1 (bash scripts/k8s/cluster.sh images)" in out
        binaries = {n: Path("/bin/true") for n in localk8s.NODE_BINARIES}
        assert "image build tools missing: buildah" in str(cluster.start_blockers(binaries))


def test_a_failed_build_falls_back_to_kwok_by_default_and_fails_a_real_node_start(
    machine: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine["build_fails"] = True
    assert start(tmp_path) == 0
    out = capsys.readouterr().out
    assert "the build failed, so kwok nodes only: `buildah bud --pull=never ...` failed (1)" in out
    assert "no space" not in out  # one line, naming the log
    assert start(tmp_path, "--real-node") == 1
    assert "error: `buildah bud" in capsys.readouterr().err

"""The CLI reads an experiment's statistics from Redis when --stats names it."""

from __future__ import annotations

import json
import uuid

import pytest

from mlpy.cli.main import main
from mlpy.experiments import VariantStats
from mlpy.experiments.backends import open_backend

pytestmark = pytest.mark.integration


def test_analyse_with_redis_stats(
    redis_url: str, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    group = ["experiment", "--store", sqlite_url, "--stats", redis_url]
    assert (
        main([*group, "create", name, "--variant", "A=50", "--variant", "B=50", "--type", "proportion"]) == 0
    )
    backend = open_backend(redis_url)
    try:
        backend.add(
            name,
            {
                "A": VariantStats(5000, 5000.0, 5000, 500.0, 500.0),
                "B": VariantStats(5000, 5000.0, 5000, 650.0, 650.0),
            },
        )
        capsys.readouterr()
        assert main([*group, "analyse", name, "-o", "json"]) == 0
        analysis = json.loads(capsys.readouterr().out)["analysis"]
        assert analysis["variants"]["B"]["n"] == 5000
        assert (analysis["decision"], analysis["winner"]) == ("ship", "B")
    finally:
        backend.clear(name)

"""bench/server_throughput.py says why its binary rows have no MLServer row beside them (checked without
running a benchmark: its report is printed from given results)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[3] / "bench"


def test_the_binary_rows_say_mlserver_has_none_and_where_the_grpc_rows_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    bench = importlib.import_module("server_throughput")
    for text in (bench.__doc__ or "", bench.BINARY_NOTE):
        assert "no binary tensor extension over HTTP" in " ".join(text.split())
        assert "bench/server_grpc.py" in text
    (tmp_path / "results").mkdir()
    monkeypatch.setattr(bench, "BENCH", tmp_path)  # the report's JSON goes here, not to bench/results
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    rows = [
        bench.Result(name, 1, 1000.0, 1.0, 2.0, 400.0, 0)
        for name in ("mlpy +metrics", "mlpy +metrics, binary")
    ]
    bench.report(rows, (0.0, 0.0, 0.0), {})
    assert f"note: {bench.BINARY_NOTE}" in capsys.readouterr().out

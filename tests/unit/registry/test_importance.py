"""Permutation importance stored on a version: computed from validation data, or given precomputed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from mlpy.cli.main import main
from mlpy.registry import InvalidInputError, ModelRegistry
from mlpy.registry.importance import MAX_ROWS


def _validation(rows: int = 500) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(9)
    x = pd.DataFrame({"age": rng.normal(40, 10, rows), "income": rng.normal(50, 5, rows)})
    return x, 2 * x["age"] + x["income"]


def test_validation_data_gives_each_feature_its_permutation_importance(
    registry: ModelRegistry, regressor: LinearRegression
) -> None:
    version = registry.register("house", regressor, validation=_validation())
    assert version.importance is not None
    assert set(version.importance) == {"age", "income"}
    # age moves the target by 2 x 10 per sd, income by 1 x 5: shuffling age costs far more R².
    assert version.importance["age"]["mean"] > 4 * version.importance["income"]["mean"] > 0
    assert version.importance["age"]["std"] >= 0
    stored = registry.get_version("house", version.version)
    assert stored.importance == version.importance
    assert stored.to_dict()["importance"] == version.importance
    again = registry.register("house", regressor, validation=_validation())
    assert again.importance == version.importance  # seeded: registering twice gives the same figures


def test_large_validation_sets_are_sampled(
    sqlite_registry: ModelRegistry, regressor: LinearRegression
) -> None:
    x, y = _validation(MAX_ROWS * 3)
    version = sqlite_registry.register("house", regressor, validation=(x, y))
    assert version.importance is not None
    assert version.importance["age"]["mean"] > version.importance["income"]["mean"]


def test_precomputed_positional_and_missing_importance(
    sqlite_registry: ModelRegistry, regressor: LinearRegression, classifier: Any
) -> None:
    given = sqlite_registry.register("house", regressor, importance={"age": 0.9, "income": {"mean": 0.1}})
    assert given.importance == {"age": {"mean": 0.9, "std": 0.0}, "income": {"mean": 0.1, "std": 0.0}}
    assert sqlite_registry.register("house", regressor).importance is None
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 3))
    positional = sqlite_registry.register("clf", classifier, validation=(x, (x[:, 0] > 0).astype(int)))
    assert positional.importance is not None
    assert max(positional.importance, key=lambda name: positional.importance[name]["mean"]) == "x0"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"importance": {"age": "high"}}, "importance of 'age'"),
        ({"importance": {"age": float("nan")}}, "finite"),
        ({"importance": {}}, "empty"),
        ({"importance": {"age": 1.0}, "validation": _validation()}, "not both"),
        ({"validation": (np.ones((5, 2)), np.ones(4))}, "matching rows"),
        ({"validation": "data"}, "pair"),
    ],
)
def test_bad_importance_is_refused(
    sqlite_registry: ModelRegistry, regressor: LinearRegression, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        sqlite_registry.register("house", regressor, **kwargs)
    assert sqlite_registry.list_models().total == 0


def test_registry_show_prints_the_importance(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    tmp_path: Path,
    regressor: LinearRegression,
) -> None:
    monkeypatch.setenv("MLPY_STORE", sqlite_url)
    monkeypatch.setenv("MLPY_ARTIFACTS", str(tmp_path / "artifacts"))
    ModelRegistry().register("house", regressor, importance={"age": 0.7, "income": 0.2})
    assert main(["registry", "show", "house", "1", "-o", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["importance"] == {"age": {"mean": 0.7, "std": 0.0}, "income": {"mean": 0.2, "std": 0.0}}
    assert main(["registry", "show", "house", "1"]) == 0
    assert "importance" in capsys.readouterr().out

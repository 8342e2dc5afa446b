"""register(..., compile=True) and ``mlpy registry register --compile`` record the conversion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier

from mlpy.cli.main import main
from mlpy.registry import ModelRegistry
from tests.unit.compiled.lying import lie_on


def forest() -> RandomForestClassifier:
    rng = np.random.default_rng(21)
    x = rng.normal(size=(300, 4))
    model = RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0)
    return model.fit(x, (x[:, 0] > 0).astype(int))


class Threshold(ClassifierMixin, BaseEstimator):
    """A model of the user's own: no converter knows it."""

    def fit(self, x: Any, y: Any) -> Threshold:
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.asarray(x).shape[1]
        return self

    def predict(self, x: Any) -> Any:
        return self.classes_[(np.asarray(x)[:, 0] > 0).astype(int)]


def test_a_compiling_model_records_its_verification(sqlite_url: str, tmp_path: Path) -> None:
    registry = ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
    version = registry.register("forest", forest(), compile=True, tags={"team": "risk"})
    tags = version.tags
    assert tags["team"] == "risk"
    assert tags["mlpy.compiled"] == "verified"
    assert tags["mlpy.compiled.verified_rows"] == "512"
    assert float(tags["mlpy.compiled.max_difference"]) <= float(tags["mlpy.compiled.tolerance"])
    assert "onnxruntime" in tags["mlpy.compiled.runtime"]
    assert "mlpy.compiled" not in registry.register("forest", forest()).tags  # only when asked


def test_the_registered_input_example_is_verified_too(sqlite_url: str, tmp_path: Path) -> None:
    registry = ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
    example = np.random.default_rng(23).normal(size=(7, 4))
    version = registry.register("forest", forest(), input_example=example, compile=True)
    assert len(version.signature["example"]) == 7
    assert version.tags["mlpy.compiled.verified_rows"] == "519"  # 7 example rows and 512 probes


def test_the_stored_sample_is_verified_too(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """validation=(X, y) keeps 200 of X's rows in the signature; registration verifies on them, and
    an engine wrong on those real rows alone is refused."""
    registry = ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
    model = forest()
    x = np.random.default_rng(24).normal(size=(400, 4))
    version = registry.register("forest", model, validation=(x, model.predict(x)), compile=True)
    assert version.signature is not None
    sample = version.signature["sample"]
    assert len(sample) == 200
    assert all(row in x.tolist() for row in sample)
    assert version.tags["mlpy.compiled.verified_rows"] == "712"  # 200 sample rows and 512 probes
    assert version.tags["mlpy.compiled.sample_rows"] == "200"
    lie_on(monkeypatch, np.asarray(sample[:2]))
    refused = registry.register("forest", model, validation=(x, model.predict(x)), compile=True)
    assert refused.tags["mlpy.compiled"] == "refused"
    assert (
        "disagrees with scikit-learn on 712 rows (200 of the stored sample, 512 probe rows)"
        in refused.tags["mlpy.compiled.reason"]
    )


def test_a_model_that_cannot_compile_is_registered_with_the_reason(sqlite_url: str, tmp_path: Path) -> None:
    registry = ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
    model = Threshold().fit(np.zeros((4, 2)), [0, 1, 0, 1])
    version = registry.register("own", model, format="pickle", compile=True)
    assert version.version == 1
    assert version.tags["mlpy.compiled"] == "refused"
    assert "skl2onnx cannot convert Threshold" in version.tags["mlpy.compiled.reason"]


def test_the_cli_prints_what_it_recorded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "forest.skops"
    skops.io.dump(forest(), path)
    assert main(["registry", "register", "forest", str(path), "--compile"]) == 0
    out = capsys.readouterr().out
    assert "registered forest version 1" in out
    assert "compiled: verified on 512 rows, largest difference" in out


def test_without_the_extra_the_record_says_what_to_install(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlpy.compiled.compiling as compiling_module

    monkeypatch.setattr(compiling_module, "runtime_versions", lambda: {})
    registry = ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
    tags: dict[str, Any] = registry.register("forest", forest(), compile=True).tags
    assert tags["mlpy.compiled"] == "refused"
    assert "pip install 'mlpy[compiled]'" in tags["mlpy.compiled.reason"]

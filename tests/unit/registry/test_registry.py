"""The registry's behaviour, once on SQLite and once on real PostgreSQL (the ``store_url`` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlpy.registry import (
    AliasError,
    ArtifactIntegrityError,
    InvalidInputError,
    ModelNotFoundError,
    ModelRegistry,
    VersionNotFoundError,
)


def test_versions_count_up_and_keep_their_metadata(registry: ModelRegistry, regressor: Any) -> None:
    first = registry.register(
        "house",
        regressor,
        metrics={"rmse": 3.5},
        params={"alpha": 0.1, "fit_intercept": True},
        tags={"team": "pricing"},
        description="baseline",
        author="ada",
    )
    second = registry.register("house", regressor, metrics={"rmse": 3.1}, parent=first.version)
    assert (first.version, second.version) == (1, 2)
    shown = registry.get_version("house", 1)
    assert shown.metrics == {"rmse": 3.5}
    assert shown.params == {"alpha": 0.1, "fit_intercept": True}
    assert shown.tags == {"team": "pricing"}
    assert shown.description == "baseline"
    assert shown.author == "ada"
    assert shown.estimator == "sklearn.linear_model._base.LinearRegression"
    assert shown.signature == {
        "inputs": [{"name": "age", "type": "number"}, {"name": "income", "type": "number"}],
        "output": {"task": "regression"},
    }
    assert len(shown.sha256) == 64
    assert shown.size_bytes == Path(shown.artifact_uri).stat().st_size
    assert registry.get_version("house", 2).parent == "house:1"
    assert registry.get_version("house", "latest").version == 2
    assert first.artifact_uri != second.artifact_uri


def test_signature_from_an_input_example(registry: ModelRegistry, classifier: Any) -> None:
    example = pd.DataFrame({"a": [1.0], "b": [2], "c": ["x"]})
    version = registry.register("clf", classifier, input_example=example)
    assert version.signature is not None
    assert version.signature["inputs"] == [
        {"name": "a", "type": "number"},
        {"name": "b", "type": "integer"},
        {"name": "c", "type": "string"},
    ]
    assert version.signature["output"] == {"task": "classification", "classes": [0, 1]}
    # The example's rows are kept, as JSON values: what the model takes, and rows a compiled model
    # must answer as scikit-learn does.
    assert version.signature["example"] == [[1.0, 2, "x"]]


def test_a_sample_of_real_rows_is_kept_in_the_inputs_order(registry: ModelRegistry, classifier: Any) -> None:
    """Up to 200 rows of validation X (columns put in the signature's order), else of an input
    example longer than the 20 rows kept as the example; none from a short example."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"b": rng.integers(0, 9, 500), "a": rng.normal(size=500), "c": rng.normal(size=500)})
    signature = {
        "inputs": [{"name": n, "type": t} for n, t in [("a", "number"), ("b", "integer"), ("c", "number")]]
    }
    version = registry.register("clf", classifier, signature=signature, validation=(frame, np.zeros(500)))
    assert version.signature is not None
    sample = version.signature["sample"]
    assert len(sample) == 200
    rows = set(map(tuple, frame[["a", "b", "c"]].to_numpy(dtype=object).tolist()))
    assert all(tuple(row) in rows for row in sample)
    assert registry.get_version("clf", version.version).signature == version.signature
    assert signature.keys() == {"inputs"}  # the caller's dict is left as it was
    long = registry.register("clf", classifier, input_example=frame.iloc[:60])
    assert long.signature is not None
    assert (len(long.signature["example"]), len(long.signature["sample"])) == (20, 60)
    short = registry.register("clf", classifier, input_example=frame.iloc[:8])
    assert short.signature is not None
    assert "sample" not in short.signature


def test_a_wide_models_sample_is_bounded_in_values() -> None:
    from mlpy.registry.signature import SAMPLE_VALUES, with_sample

    signature = {"inputs": [{"name": f"x{i}", "type": "number"} for i in range(1_000)]}
    sampled = with_sample(signature, np.ones((300, 1_000)), validation=True)
    assert sampled is not None
    assert len(sampled["sample"]) == SAMPLE_VALUES // 1_000
    assert with_sample(signature, np.ones((300, 7)), validation=True) == signature  # not its inputs


def test_an_input_example_keeps_at_most_twenty_rows_and_no_non_finite_numbers() -> None:
    from mlpy.registry.signature import example_rows

    frame = pd.DataFrame({"a": [float("nan")] + [1.5] * 30, "b": range(31)})
    rows = example_rows(frame)
    assert len(rows) == 20
    assert rows[0] == [None, 0]
    assert rows[1] == [1.5, 1]
    assert example_rows(np.arange(3.0)) == [[0.0], [1.0], [2.0]]


def test_load_round_trips_the_model(registry: ModelRegistry, regressor: Any) -> None:
    registry.register("house", regressor)
    frame = pd.DataFrame({"age": [30.0], "income": [40.0]})
    assert registry.load("house", 1).predict(frame) == pytest.approx(regressor.predict(frame))


def test_tampered_artifact_refuses_to_load(registry: ModelRegistry, regressor: Any) -> None:
    version = registry.register("house", regressor)
    path = Path(version.artifact_uri)
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(ArtifactIntegrityError) as caught:
        registry.load("house", 1)
    assert version.sha256 in str(caught.value)
    assert caught.value.actual in str(caught.value)
    assert caught.value.actual != version.sha256
    check = registry.verify("house", 1)
    assert not check.ok
    assert check.expected_sha256 == version.sha256


def test_missing_artifact_fails_verification(registry: ModelRegistry, regressor: Any) -> None:
    version = registry.register("house", regressor)
    Path(version.artifact_uri).unlink()
    result = registry.verify("house", "1")
    assert not result.ok
    assert result.problem is not None
    assert "does not exist" in result.problem


def test_promote_rollback_and_audit_log(registry: ModelRegistry, regressor: Any) -> None:
    for _ in range(3):
        registry.register("house", regressor)
    registry.promote("house", 1, reason="first", actor="ada")
    registry.promote("house", 2)
    registry.promote("house", 3, reason="better rmse")
    registry.promote("house", 2, alias="staging")
    assert registry.get_version("house", "@production").version == 3
    assert registry.rollback("house").to_version == 2
    assert registry.rollback("house", reason="still bad").to_version == 1
    with pytest.raises(AliasError, match="no earlier version"):
        registry.rollback("house")
    assert registry.get_version("house", "@production").version == 1
    assert registry.get_version("house", "@staging").version == 2
    log = registry.history("house", alias="production")
    assert [(e.action, e.from_version, e.to_version) for e in log] == [
        ("promote", None, 1),
        ("promote", 1, 2),
        ("promote", 2, 3),
        ("rollback", 3, 2),
        ("rollback", 2, 1),
    ]
    assert log[0].actor == "ada"
    assert log[0].reason == "first"
    assert log[-1].reason == "still bad"
    assert len(registry.history("house")) == 6
    assert registry.get_version("house", 1).aliases == ("production",)


def test_rollback_after_a_new_promotion(registry: ModelRegistry, regressor: Any) -> None:
    for _ in range(3):
        registry.register("m", regressor)
    registry.promote("m", 1)
    registry.promote("m", 2)
    registry.rollback("m")
    registry.promote("m", 3)
    assert registry.rollback("m").to_version == 1


def test_unknown_things_name_themselves(registry: ModelRegistry, regressor: Any) -> None:
    with pytest.raises(ModelNotFoundError, match="'ghost'"):
        registry.get_version("ghost", 1)
    registry.register("house", regressor)
    with pytest.raises(VersionNotFoundError, match="no version 9"):
        registry.get_version("house", 9)
    with pytest.raises(VersionNotFoundError, match="no alias 'production'"):
        registry.get_version("house", "@production")
    with pytest.raises(InvalidInputError, match="parent"):
        registry.register("house", regressor, parent=42)
    with pytest.raises(InvalidInputError, match="finite"):
        registry.register("house", regressor, metrics={"rmse": float("nan")})
    with pytest.raises(InvalidInputError, match="no predict"):
        registry.register("house", object())


def test_compare(registry: ModelRegistry, regressor: Any) -> None:
    registry.register("m", regressor, metrics={"rmse": 2.0, "mae": 1.0}, params={"depth": 3, "lr": 0.1})
    registry.register("m", regressor, metrics={"rmse": 1.5, "r2": 0.9}, params={"depth": 5, "lr": 0.1})
    result = registry.compare("m", 1, 2)
    assert result.metrics["rmse"].delta == pytest.approx(-0.5)
    assert result.metrics["mae"].b is None
    assert result.metrics["mae"].delta is None
    assert result.metrics["r2"].a is None
    assert set(result.params) == {"depth"}
    assert (result.params["depth"].a, result.params["depth"].b) == (3, 5)


def test_gc_keeps_newest_and_aliased(registry: ModelRegistry, regressor: Any) -> None:
    versions = [registry.register("m", regressor) for _ in range(6)]
    registry.promote("m", 2)
    plan = registry.gc("m", keep=2, dry_run=True)
    assert plan.deleted == [1, 3, 4]
    assert plan.protected == {2: ["production"]}
    assert all(Path(v.artifact_uri).exists() for v in versions)

    done = registry.gc("m", keep=2)
    assert done.deleted == [1, 3, 4]
    assert sorted(v.version for v in registry.search_versions("m").items) == [2, 5, 6]
    for version in versions:
        assert Path(version.artifact_uri).exists() == (version.version in {2, 5, 6})
    with pytest.raises(VersionNotFoundError, match="deleted"):
        registry.get_version("m", 1)
    # Numbers are never reissued, even after the newest versions are gone.
    registry.gc("m", keep=0)
    assert registry.register("m", regressor).version == 7
    with pytest.raises(InvalidInputError):
        registry.gc("m", keep=-1)


def test_rollback_refuses_a_deleted_target(registry: ModelRegistry, regressor: Any) -> None:
    for _ in range(2):
        registry.register("m", regressor)
    registry.promote("m", 1)
    registry.promote("m", 2)
    registry.gc("m", keep=0)
    with pytest.raises(AliasError, match="deleted"):
        registry.rollback("m")


def test_search_pages_filters_and_orders(registry: ModelRegistry, regressor: Any) -> None:
    for i in range(7):
        registry.register(
            "m", regressor, metrics={"acc": i / 10}, tags={"parity": "even" if i % 2 == 0 else "odd"}
        )
    registry.register("other", regressor)
    first = registry.search_versions("m", page_size=3)
    assert [v.version for v in first.items] == [7, 6, 5]
    assert first.total == 7
    second = registry.search_versions("m", page_size=3, page_token=first.next_page_token)
    third = registry.search_versions("m", page_size=3, page_token=second.next_page_token)
    assert [v.version for v in second.items + third.items] == [4, 3, 2, 1]
    assert third.next_page_token is None
    assert [v.version for v in registry.search_versions("m", tags={"parity": "odd"}).items] == [6, 4, 2]
    best = registry.search_versions("m", order_by="metric:acc", page_size=1).items[0]
    assert best.version == 7
    registry.promote("m", 3)
    assert [v.version for v in registry.search_versions(alias="production").items] == [3]
    assert registry.search_versions().total == 8
    models = registry.list_models()
    assert [(m.name, m.versions, m.aliases) for m in models.items] == [
        ("m", 7, {"production": 3}),
        ("other", 1, {}),
    ]
    with pytest.raises(InvalidInputError):
        registry.search_versions("m", order_by="nonsense")
    with pytest.raises(InvalidInputError):
        registry.search_versions("m", page_token="x")


def test_tags_are_strings_and_a_missing_metric_sorts_last(registry: ModelRegistry, regressor: Any) -> None:
    """Listings filter and order in SQL: tags compare as the strings they are kept as, and versions
    without the metric come last whichever way they are ordered."""
    registry.register("m", regressor, metrics={"acc": 0.5}, tags={"fold": 3, "ok": True})
    registry.register("m", regressor)
    registry.register("m", regressor, metrics={"acc": 0.9})
    assert registry.get_version("m", 1).tags == {"fold": "3", "ok": "True"}
    assert [v.version for v in registry.search_versions("m", tags={"fold": 3, "ok": "True"}).items] == [1]
    up = registry.search_versions("m", order_by="metric:acc", descending=False).items
    down = registry.search_versions("m", order_by="metric:acc").items
    assert ([v.version for v in up], [v.version for v in down]) == ([1, 3, 2], [3, 1, 2])
    assert [v.version for v in registry.search_versions("m", order_by="created", descending=False).items] == [
        1,
        2,
        3,
    ]


def test_lineage_follows_parents(registry: ModelRegistry, regressor: Any) -> None:
    registry.register("base", regressor)
    registry.register("tuned", regressor, parent="base:1")
    registry.register("tuned", regressor, parent=1)
    assert [v.ref for v in registry.lineage("tuned", 2)] == ["tuned:2", "tuned:1", "base:1"]


def test_register_file_formats(registry: ModelRegistry, regressor: Any, tmp_path: Path) -> None:
    import joblib
    import skops.io

    skops_file = tmp_path / "m.skops"
    skops.io.dump(regressor, skops_file)
    assert registry.register_file("m", skops_file).format == "skops"
    joblib_file = tmp_path / "m.joblib"
    joblib.dump(regressor, joblib_file)
    from mlpy.registry import UntrustedFormatError

    with pytest.raises(UntrustedFormatError):
        registry.register_file("m", joblib_file)
    trusted = registry.register_file("m", joblib_file, trust_pickle=True)
    assert trusted.format == "joblib"
    with pytest.raises(UntrustedFormatError):
        registry.load("m", trusted.version)
    x = np.array([[30.0, 40.0]])
    frame = pd.DataFrame(x, columns=["age", "income"])
    assert registry.load("m", trusted.version, trust_pickle=True).predict(frame) == pytest.approx(
        regressor.predict(frame)
    )
    with pytest.raises(InvalidInputError, match="cannot read"):
        registry.register_file("m", tmp_path / "missing.skops")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(InvalidInputError, match="cannot tell the format"):
        registry.register_file("m", tmp_path / "m.txt")
    (tmp_path / "broken.skops").write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError):
        registry.register_file("m", tmp_path / "broken.skops")


def test_a_retried_registration_of_the_same_model_object_finds_its_version(
    registry: ModelRegistry, classifier: Any
) -> None:
    first = registry.register("retry", classifier, if_new=True)
    again = registry.register("retry", classifier, if_new=True)
    assert again.version == first.version == 1
    assert [v.version for v in registry.search_versions("retry").items] == [1]
    copy = registry.register("retry", classifier)  # without if_new a second version holds the same bytes
    assert (copy.version, copy.sha256) == (2, first.sha256)


def test_concurrent_retries_register_the_bytes_once(registry: ModelRegistry, regressor: Any) -> None:
    """The check and the new version are one transaction: of racing retries, one registers."""
    from concurrent.futures import ThreadPoolExecutor

    registry.register("race", regressor)  # the model exists, so every retry takes its row lock
    registry.gc("race", keep=0)
    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(lambda _: registry.register("race", regressor, if_new=True).version, range(8)))
    assert len(set(made)) == 1, made
    assert [v.version for v in registry.search_versions("race").items] == made[:1]

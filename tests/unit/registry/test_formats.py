from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression

from mlpy.registry import UntrustedFormatError
from mlpy.registry.formats import ArtifactFormat, dump, load


class Shady:
    """A class from outside scikit-learn: skops cannot vouch for it."""

    def predict(self, x: Any) -> Any:
        return x


def test_skops_round_trip_needs_no_trust_for_sklearn() -> None:
    x = np.random.default_rng(0).normal(size=(50, 4))
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, x[:, 0] > 0)
    loaded = load(dump(forest, ArtifactFormat.skops), ArtifactFormat.skops)
    np.testing.assert_array_equal(loaded.predict(x), forest.predict(x))


def test_one_model_always_dumps_to_the_same_skops_bytes() -> None:
    """skops names members after object ids and stamps times; the registry's bytes depend on the model
    alone, so a retried ``register(model, if_new=True)`` finds the version by its SHA-256."""
    import io
    import zipfile

    import pandas as pd
    import skops.io
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=80), "b": rng.normal(size=80), "c": rng.choice(["x", "y"], 80)}
    )
    target = frame["a"] > 0

    def pipeline() -> Any:
        columns = ColumnTransformer([("num", StandardScaler(), ["a", "b"]), ("cat", OneHotEncoder(), ["c"])])
        return make_pipeline(columns, HistGradientBoostingClassifier(max_iter=5, random_state=0)).fit(
            frame, target
        )

    def forest() -> Any:
        x = frame[["a", "b"]].to_numpy()
        return RandomForestClassifier(n_estimators=3, random_state=0).fit(x, target)

    for make, rows in ((pipeline, frame), (forest, frame[["a", "b"]].to_numpy())):
        first, second = make(), make()
        raw = [skops.io.dumps(first), skops.io.dumps(second)]
        assert raw[0] != raw[1]  # what skops alone gives: the canonical form is needed
        data = dump(first, ArtifactFormat.skops)
        assert dump(first, ArtifactFormat.skops) == data == dump(second, ArtifactFormat.skops)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        loaded = load(data, ArtifactFormat.skops)
        np.testing.assert_array_equal(loaded.predict_proba(rows), first.predict_proba(rows))


def test_skops_refuses_foreign_types_unless_trusted() -> None:
    data = dump(Shady(), ArtifactFormat.skops)
    with pytest.raises(UntrustedFormatError, match="Shady"):
        load(data, ArtifactFormat.skops)
    name = f"{Shady.__module__}.Shady"
    assert isinstance(load(data, ArtifactFormat.skops, trusted_types=[name]), Shady)


@pytest.mark.parametrize("fmt", [ArtifactFormat.pickle, ArtifactFormat.joblib])
def test_pickle_formats_need_trust(fmt: ArtifactFormat) -> None:
    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    data = dump(model, fmt)
    with pytest.raises(UntrustedFormatError, match="arbitrary code"):
        load(data, fmt)
    assert load(data, fmt, trust_pickle=True).predict([[2.0]])[0] == pytest.approx(2.0)


def test_pickle_is_never_opened_without_trust() -> None:
    class Boom:
        def __reduce__(self) -> tuple[Any, ...]:
            return (exec, ("raise SystemExit('pickle ran code')",))

    with pytest.raises(UntrustedFormatError):
        load(pickle.dumps(Boom()), ArtifactFormat.pickle)

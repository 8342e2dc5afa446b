"""Four candidate models on the credit data: scikit-learn pipelines, scored on a held-out split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mlpy.demo.data import CATEGORICAL, NUMERIC, TARGET


@dataclass(frozen=True)
class Trained:
    name: str
    model: Any
    metrics: dict[str, float]
    params: dict[str, Any]


def _pipeline(estimator: Any) -> Pipeline:
    features = ColumnTransformer(
        [
            ("numeric", StandardScaler(), NUMERIC),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )
    return Pipeline([("features", features), ("model", estimator)])


def candidates() -> dict[str, Any]:
    return {
        "logistic-regression": LogisticRegression(max_iter=500, C=1.0),
        "decision-tree": DecisionTreeClassifier(max_depth=6, random_state=0),
        "random-forest": RandomForestClassifier(n_estimators=60, max_depth=8, random_state=0, n_jobs=1),
        "gradient-boosting": HistGradientBoostingClassifier(max_iter=120, learning_rate=0.1, random_state=0),
    }


def train_all(data: pd.DataFrame, *, seed: int = 0) -> tuple[list[Trained], pd.DataFrame]:
    """Fit every candidate on the same split; returns them with their held-out metrics, and the test split."""
    train, test = train_test_split(data, test_size=0.25, random_state=seed, stratify=data[TARGET])
    trained = []
    for name, estimator in candidates().items():
        model = _pipeline(estimator).fit(train.drop(columns=[TARGET]), train[TARGET])
        scores = model.predict_proba(test.drop(columns=[TARGET]))[:, 1]
        metrics = {
            "auc": round(float(roc_auc_score(test[TARGET], scores)), 4),
            "accuracy": round(float(accuracy_score(test[TARGET], scores >= 0.5)), 4),
        }
        params = {k: v for k, v in estimator.get_params().items() if isinstance(v, int | float | str | bool)}
        trained.append(Trained(name, model, metrics, params))
    return trained, test

"""A loaded model and what the server needs to feed it: feature order, types, output kind."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from mlpy.compiled import CompiledModel, CompileRefusedError, compile_model
from mlpy.registry import (
    NUMERIC_TYPES,
    infer_signature,
    takes_named_columns,
    text_categories,
    verification_rows,
)
from mlpy.store import utcnow
from mlpy_server.fastpath import compile_predictor

# The server orders named features itself, so sklearn's reminder that an ndarray has no column names
# is noise (and a warnings.warn call per request).
warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)

_configured = threading.local()


def _assume_finite() -> None:
    """Skip sklearn's own finiteness scan: every input is checked for NaN/inf before predict.

    sklearn keeps its configuration per thread, so each thread that predicts sets it once.
    """
    if not getattr(_configured, "done", False):
        import sklearn  # not at module level: a router, which never predicts, starts 2 s sooner

        sklearn.set_config(assume_finite=True)
        _configured.done = True


@dataclass(frozen=True)
class Answer:
    """What one call gives: the predictions, and the class probabilities when they were asked for."""

    predictions: np.ndarray
    probabilities: np.ndarray | None = None

    def split(self, counts: Sequence[int]) -> list[Answer]:
        """The answers of the requests whose rows (``counts`` each, in order) were predicted together."""
        edges = np.cumsum(counts)[:-1]
        predictions = np.split(np.asarray(self.predictions), edges)
        if self.probabilities is None:
            return [Answer(p) for p in predictions]
        return [Answer(p, q) for p, q in zip(predictions, np.split(self.probabilities, edges), strict=True)]


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    model: Any
    source: str
    artifact_uri: str
    sha256: str
    format: str
    signature: dict[str, Any] | None
    aliases: tuple[str, ...] = ()
    loaded_at: datetime = field(default_factory=utcnow)
    feature_names: tuple[str, ...] = ()
    feature_types: tuple[str, ...] = ()
    task: str = "regression"
    classes: tuple[Any, ...] = ()
    # A verified numpy shortcut for validated float64 input (see fastpath.py), when the model has one.
    shortcut: Callable[[np.ndarray], np.ndarray] | None = None
    # Takes a DataFrame with named columns: text features, or a column transformer selecting by name.
    frame: bool = False
    # The model compiled (ONNX Runtime or treelite) and proven equal to scikit-learn (mlpy.compiled),
    # when asked for and it agrees; otherwise why not.
    compiled: CompiledModel | None = None
    compiled_refusal: str | None = None
    # The group attributes its requests may carry (the registry's mlpy.fairness.groups tag).
    sensitive_features: tuple[str, ...] = ()

    @classmethod
    def build(cls, **fields: Any) -> ServedModel:
        """Derive the feature layout from the signature, else from the fitted model."""
        model, signature = fields["model"], fields.get("signature")
        inputs = (signature or {}).get("inputs") or []
        names = tuple(str(i["name"]) for i in inputs)
        types = tuple(str(i.get("type", "number")) for i in inputs)
        if not names and hasattr(model, "feature_names_in_"):
            inferred = infer_signature(model) or {}
            names = tuple(str(i["name"]) for i in inferred.get("inputs", []))
            types = tuple(str(i["type"]) for i in inferred.get("inputs", []))
        elif not names and hasattr(model, "n_features_in_"):
            names = tuple(f"x{i}" for i in range(int(model.n_features_in_)))
            types = ("number",) * len(names)
        output = (signature or {}).get("output") or {}
        fitted_classes = getattr(model, "classes_", None)
        # tolist(): numpy scalars are not JSON; the classes are shown in /models and v2 metadata.
        classes = tuple(
            output.get("classes") or ([] if fitted_classes is None else np.asarray(fitted_classes).tolist())
        )
        task = str(output.get("task") or ("classification" if classes else "regression"))
        shortcut = None
        if fields.pop("fast", True) and names and all(t in NUMERIC_TYPES for t in types):
            shortcut = compile_predictor(model, len(names))
        frame = takes_named_columns(model, types)
        compiled, refusal = None, None
        if fields.pop("compile", False) and shortcut is None:
            try:
                # The same rows as the check at registration: probes, input example, stored sample.
                compiled = compile_model(
                    model,
                    names,
                    types,
                    by_name=frame,
                    categories=text_categories(model),
                    **verification_rows(signature),
                )
            except CompileRefusedError as exc:
                refusal = str(exc)
        return cls(
            **fields,
            feature_names=names,
            feature_types=types,
            task=task,
            classes=classes,
            shortcut=shortcut,
            frame=frame,
            compiled=compiled,
            compiled_refusal=refusal,
        )

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def numeric(self) -> bool:
        return all(t in NUMERIC_TYPES for t in self.feature_types)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def predict(self, features: Any) -> np.ndarray:
        if self.shortcut is not None and type(features) is np.ndarray:
            return self.shortcut(features)
        if self.compiled is not None:
            return self.compiled.predict(features)
        _assume_finite()
        return np.asarray(self.model.predict(self.model_input(features)))

    def answer(self, features: Any, probabilities: bool = False) -> Answer:
        """The predictions, with the probabilities when asked: a compiled classifier gives both from one
        run (its labels are the probabilities' argmax), scikit-learn from two calls."""
        if probabilities and self.compiled is not None and self.compiled.classes is not None:
            labels, proba = self.compiled.labels_and_probabilities(features)
            return Answer(labels, proba)
        predictions = self.predict(features)
        return Answer(predictions, self.predict_proba(features) if probabilities else None)

    def predict_proba(self, features: Any) -> np.ndarray:
        if self.compiled is not None:
            return self.compiled.predict_proba(features)
        _assume_finite()
        return np.asarray(self.model.predict_proba(self.model_input(features)))

    def model_input(self, features: Any) -> Any:
        """What scikit-learn is given: the matrix, or for models that take named columns a DataFrame
        with a float64 column per number and the text as it came."""
        if not self.frame or type(features) is not np.ndarray:
            return features
        import pandas as pd

        columns = {
            name: features[:, j].astype(np.float64) if kind in NUMERIC_TYPES else features[:, j]
            for j, (name, kind) in enumerate(zip(self.feature_names, self.feature_types, strict=True))
        }
        return pd.DataFrame(columns)

    @property
    def path(self) -> str:
        """Which code answers this model's predictions."""
        if self.shortcut is not None:
            return "linear shortcut"
        if self.compiled is not None:
            return f"compiled ({self.compiled.runtime})"
        return "scikit-learn predict"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "artifact_uri": self.artifact_uri,
            "sha256": self.sha256,
            "format": self.format,
            "aliases": list(self.aliases),
            "loaded_at": self.loaded_at.isoformat(),
            "estimator": f"{type(self.model).__module__}.{type(self.model).__qualname__}",
            "task": self.task,
            "fast_path": self.shortcut is not None,
            "prediction_path": self.path,
            "compiled": self._compiled_status(),
            "sensitive_features": list(self.sensitive_features),
            "classes": list(self.classes),
            "inputs": [
                {"name": n, "type": t} for n, t in zip(self.feature_names, self.feature_types, strict=True)
            ],
        }

    def _compiled_status(self) -> dict[str, Any] | None:
        if self.compiled is not None:
            return {"used": True, **self.compiled.describe()}
        if self.compiled_refusal is not None:
            return {"used": False, "reason": self.compiled_refusal}
        return None

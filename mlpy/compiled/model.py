"""A compiled model: an engine proven to answer as scikit-learn does, and what the proof found."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlpy.compiled.errors import CompileRefusedError
from mlpy.compiled.probes import TOLERANCE

# Takes what scikit-learn takes (the validated matrix, or a DataFrame for models that select columns
# by name) and answers a classifier's class probabilities or a regressor's values.
Engine = Callable[[Any], np.ndarray]


@dataclass
class CompiledModel:
    """``predict`` and ``predict_proba`` take what scikit-learn takes. Classifiers answer
    ``classes_[argmax(probabilities)]``, so labels keep scikit-learn's types."""

    engine: Engine
    runtime: str  # which engine answers: "ONNX Runtime" or "treelite"
    classes: np.ndarray | None
    versions: Mapping[str, str] = field(default_factory=dict)
    text_inputs: frozenset[str] = frozenset()
    verified_rows: int = 0
    example_rows: int = 0  # of the verified rows, how many came from the registered input example
    sample_rows: int = 0  # and how many from the real rows stored with the version
    max_difference: float = 0.0
    # Why the engines tried before this one were not used, by engine.
    passed_over: Mapping[str, str] = field(default_factory=dict)

    def predict(self, features: Any) -> np.ndarray:
        out = self.engine(features)
        if self.classes is None:
            return np.asarray(out, dtype=np.float64).reshape(len(out), -1).squeeze(axis=1)
        return np.asarray(self.classes[np.argmax(out, axis=1)])

    def predict_proba(self, features: Any) -> np.ndarray:
        return self.labels_and_probabilities(features)[1]

    def labels_and_probabilities(self, features: Any) -> tuple[np.ndarray, np.ndarray]:
        """A classifier's labels and probabilities from one run of the engine."""
        if self.classes is None:
            raise CompileRefusedError("a regressor has no class probabilities")
        proba = np.asarray(self.engine(features), dtype=np.float64)
        return np.asarray(self.classes[np.argmax(proba, axis=1)]), proba

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "engine": self.runtime,
            "runtime": " ".join(f"{k} {v}" for k, v in self.versions.items()),
            "verified_rows": self.verified_rows,
            "example_rows": self.example_rows,
            "sample_rows": self.sample_rows,
            "max_difference": self.max_difference,
            "tolerance": TOLERANCE,
        }
        if self.passed_over:
            described["passed_over"] = dict(self.passed_over)
        return described

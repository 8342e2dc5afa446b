"""Jobs the queue runs. Each takes and returns plain values: RQ stores them in Redis between processes."""

from __future__ import annotations

from typing import Any

from mlpy.config import Locations
from mlpy.demo import TARGET, credit_data, train_all
from mlpy.drift import DriftProfile, with_predictions
from mlpy.registry import ModelRegistry
from mlpy.worker.references import REFERENCE_TAG, save_profile


def train_and_register(
    name: str,
    *,
    rows: int = 5_000,
    seed: int = 0,
    promote: bool = True,
    store: str | None = None,
    artifacts: str | None = None,
) -> dict[str, Any]:
    """Train the candidate pipelines on the credit data, register the best with its drift reference.

    The reference profile of the training inputs (and of the model's outputs on them) is stored beside
    the artifacts and named in the version's tags, and the version keeps its permutation importance, so
    a scheduled drift check of this version needs no other configuration.
    """
    locations = Locations.resolve(store, artifacts)
    registry = ModelRegistry(locations.store, locations.artifacts)
    data = credit_data(rows, seed=seed)
    trained, _ = train_all(data, seed=seed)
    best = max(trained, key=lambda candidate: candidate.metrics["auc"])
    inputs = data.drop(columns=[TARGET])
    # The reference keeps the model's outputs on the training inputs too: prediction drift.
    reference = save_profile(
        DriftProfile.from_data(
            with_predictions(inputs, best.model), source=f"credit_data(rows={rows}, seed={seed})"
        ),
        locations.artifacts,
        name,
    )
    # A fresh sample of the same data for the permutation importance that weighs each feature's drift.
    held_out = credit_data(rows, seed=seed + 1)
    version = registry.register(
        name,
        best.model,
        metrics=best.metrics,
        params={**best.params, "rows": rows, "seed": seed},
        tags={"candidate": best.name, "trained_by": "mlpy-worker", REFERENCE_TAG: reference},
        description=f"{best.name}, best AUC of {len(trained)} candidates",
        input_example=inputs.head(5),
        validation=(held_out.drop(columns=[TARGET]), held_out[TARGET]),
    )
    if promote:
        registry.promote(name, version.version, reason="trained by the worker: best candidate")
    return {
        "model": name,
        "version": version.version,
        "candidate": best.name,
        "metrics": best.metrics,
        "promoted": promote,
        "reference": reference,
        "sha256": version.sha256,
    }

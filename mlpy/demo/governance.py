"""The demo's governance step: the production version's model card, the fairness of its two age
groups on logged and labelled predictions, and the audit chain verified end to end."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from mlpy.audit import AuditLog
from mlpy.cards import build_card, render
from mlpy.demo.data import NUMERIC
from mlpy.monitoring import fairness_report
from mlpy.predlog import LoggedPrediction, PredictionLogger
from mlpy.registry import ModelRegistry
from mlpy.store import utcnow

#: The demo's sensitive feature: whether an applicant is under 40 (not an input of the models).
AGE_BAND = "age_band"
#: Rows per logged request, as a batch client would send them.
BATCH = 100


def age_bands(frame: pd.DataFrame) -> list[str]:
    return ["under 40" if age < 40 else "40 and over" for age in frame["age"]]


def governance_summary(
    registry: ModelRegistry, model: str, test: pd.DataFrame, output: Path
) -> dict[str, Any]:
    """Log the production model's predictions on the held-out applicants with their age band and
    outcome (as the server and feedback would), then read the card, the fairness and the audit chain."""
    production = registry.get_version(model, "@production")
    estimator = registry.load(model, "@production")
    inputs = test.drop(columns=["default"])
    predictions = estimator.predict(inputs)
    logger = PredictionLogger(registry.store.url)
    at = utcnow() - timedelta(minutes=1)
    run = uuid.uuid4().hex[:8]
    bands, numbers = age_bands(test), inputs[NUMERIC].to_numpy().tolist()
    for start in range(0, len(test), BATCH):
        request_id, rows = f"demo-{run}-{start}", slice(start, start + BATCH)
        logged = [int(p) for p in predictions[rows]]
        entry = LoggedPrediction(
            request_id,
            model,
            str(production.version),
            numbers[rows],
            logged,
            groups={AGE_BAND: bands[rows]},
            ts=at,
        )
        logger.offer(entry)
        logger.record_outcome(request_id, [int(o) for o in test["default"].iloc[rows]])
    logger.flush()
    report = fairness_report(registry.store, model, str(production.version), timedelta(hours=1))
    (found,) = [a for a in report.attributes if a.attribute == AGE_BAND]
    card = output / "model-card.html"
    card.write_text(render(build_card(registry, model, "@production"), "html"), encoding="utf-8")
    audit = AuditLog(registry.store).verify()
    return {
        "card": card,
        "groups": {g.group: g.selection_rate for g in found.groups},
        "demographic_parity_difference": found.demographic_parity_difference,
        "equalized_odds_difference": found.equalized_odds_difference,
        "audit": audit,
    }

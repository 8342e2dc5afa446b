"""Generated credit-risk data: numeric and categorical columns with a known signal, and a shifted window."""

from __future__ import annotations

import numpy as np
import pandas as pd

NUMERIC = ["age", "income", "debt_ratio", "credit_lines", "late_payments"]
CATEGORICAL = ["region", "employment"]
TARGET = "default"
REGIONS = ["north", "south", "east", "west"]
EMPLOYMENT = ["salaried", "self-employed", "student", "retired"]


def credit_data(rows: int = 30_000, *, seed: int = 0) -> pd.DataFrame:
    """Applicants and whether they defaulted; the label follows income, debt, late payments, employment."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(42, 12, rows).clip(18, 90).round(),
            "income": rng.lognormal(10.6, 0.45, rows).round(-1),
            "debt_ratio": rng.beta(2, 5, rows),
            "credit_lines": rng.poisson(4, rows).astype(float),
            "late_payments": rng.poisson(0.6, rows).astype(float),
            "region": rng.choice(REGIONS, rows, p=[0.3, 0.3, 0.2, 0.2]),
            "employment": rng.choice(EMPLOYMENT, rows, p=[0.6, 0.2, 0.1, 0.1]),
        }
    )
    logit = (
        -2.2
        + 3.0 * frame["debt_ratio"]
        + 0.55 * frame["late_payments"]
        - 0.9 * (np.log(frame["income"]) - 10.6)
        + 0.6 * (frame["employment"] == "student")
        - 0.01 * (frame["age"] - 42)
    )
    frame[TARGET] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def shifted_window(reference: pd.DataFrame, *, rows: int = 5_000, seed: int = 1) -> pd.DataFrame:
    """A later window where incomes fell, debt rose and students became common: the drift to find."""
    rng = np.random.default_rng(seed)
    window = credit_data(rows, seed=seed).drop(columns=[TARGET])
    window["income"] = (window["income"] * 0.8).round(-1)
    window["debt_ratio"] = (window["debt_ratio"] + 0.08).clip(0, 1)
    students = rng.random(rows) < 0.25
    window.loc[students, "employment"] = "student"
    return window

"""Evidently's side of bench/drift_benchmark.py; runs in bench/.venv-evidently (pandas<3), not mlpy's venv.

Usage: .venv-evidently/bin/python drift_evidently_run.py REFERENCE.parquet CURRENT.parquet RESULT.json
Reads both files with pandas, runs Evidently's default DataDriftPreset, and writes its per-column verdicts
and the time spent reading and computing.
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

# Evidently's p-value tests flag drift below the threshold; its distances at or above it.
P_VALUE_METHODS = ("K-S", "chi-square", "Z-test", "p_value", "Anderson", "Cramer", "Epps", "Fisher", "T-Test")


def main(reference_path: str, current_path: str, result_path: str) -> None:
    started = time.perf_counter()
    reference = pd.read_parquet(reference_path)
    current = pd.read_parquet(current_path)
    read_seconds = time.perf_counter() - started
    numeric = [c for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
    categorical = [c for c in reference.columns if c not in numeric]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    started = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    report_seconds = time.perf_counter() - started
    columns = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        method, threshold, value = config["method"], config["threshold"], metric["value"]
        is_p_value = any(word.lower() in method.lower() for word in P_VALUE_METHODS)
        drifted = bool(value < threshold if is_p_value else value >= threshold)
        columns[config["column"]] = {
            "method": method,
            "score": float(value),
            "threshold": float(threshold),
            "drifted": drifted,
        }
    with open(result_path, "w") as handle:
        json.dump(
            {"read_seconds": read_seconds, "report_seconds": report_seconds, "columns": columns}, handle
        )


if __name__ == "__main__":
    main(*sys.argv[1:4])

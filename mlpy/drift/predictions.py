"""The model's outputs as one more column, ``prediction``, judged like the inputs.

The profile is where the raw reference is at hand, so that is where the model runs on it: the profile
then keeps the distribution of the reference predictions like any column (numeric for regression
outputs and scores, categorical for class labels). A window brings its own ``prediction`` column (the
prediction log records each output), or the check runs the model on the window's inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mlpy.drift.columns import as_table
from mlpy.drift.errors import SchemaMismatchError
from mlpy.drift.profile import DriftProfile
from mlpy.drift.sources import read_table

PREDICTION = "prediction"


def model_inputs(model: Any, available: list[str]) -> list[str]:
    """The columns the model was fitted on (``feature_names_in_``), else every column but ``prediction``."""
    names = getattr(model, "feature_names_in_", None)
    wanted = [str(name) for name in names] if names is not None else [c for c in available if c != PREDICTION]
    missing = [name for name in wanted if name not in available]
    if missing:
        raise SchemaMismatchError(
            f"the model needs column(s) {', '.join(missing)}, which the data lacks",
            hint="profile and check the model's input columns, or log predictions with the window",
        )
    return wanted


def with_predictions(data: Any, model: Any) -> pa.Table:
    """``data`` (a table, DataFrame or mapping) with the model's output appended as ``prediction``."""
    table = as_table(data)
    if PREDICTION in table.column_names:
        return table
    inputs = table.select(model_inputs(model, list(table.column_names))).to_pandas()
    try:
        output = np.asarray(model.predict(inputs))
    except Exception as exc:  # a model raises whatever its estimator raises on bad input
        raise SchemaMismatchError(
            f"the model cannot predict on this data: {exc}",
            hint="check that the data holds the model's input columns with their training types",
        ) from exc
    if output.ndim == 2 and output.shape[1] == 1:
        output = output[:, 0]
    if output.ndim != 1:
        raise SchemaMismatchError(
            f"the model returns {output.shape[1]} outputs per row; prediction drift takes one",
            hint="check the outputs' drift from a logged prediction column instead",
        )
    column = pa.array(output if output.dtype.kind in "biuf" else output.astype(str))
    return table.append_column(PREDICTION, column)


def with_model(
    reference: Any, current: Any, model: Any, features: list[str] | None
) -> tuple[Any, Any, list[str] | None]:
    """A check's inputs once the model has run where its outputs are missing.

    Raw reference data gets its predictions; a stored profile must already hold them (it keeps no
    rows to run the model on). The window gets them unless it brings its own ``prediction`` column.
    """
    if isinstance(reference, DriftProfile):
        if PREDICTION not in reference.columns:
            raise SchemaMismatchError(
                "the profile holds no reference predictions to compare the model's outputs with",
                hint="profile the reference with the model (mlpy drift profile --model ...)",
            )
    else:
        reference = with_predictions(read_table(reference) if _is_path(reference) else reference, model)
    current = with_predictions(read_table(current) if _is_path(current) else current, model)
    if features is not None and PREDICTION not in features:
        features = [*features, PREDICTION]
    return reference, current, features


def _is_path(data: Any) -> bool:
    return isinstance(data, str | Path)

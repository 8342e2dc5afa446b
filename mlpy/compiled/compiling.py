"""Compile a model with the first engine that reproduces scikit-learn, and record the answer.

ONNX Runtime goes first (for a forest it is several times faster than treelite's GTIL); treelite
takes what ONNX Runtime cannot run exactly, such as HistGradientBoosting. Each engine must pass the
same proof: identical labels, probabilities and values within :data:`TOLERANCE`, on probe rows made
from the model itself, on the registered input example and on the real rows stored with the version
(mlpy.registry.with_sample): probes alone cannot aim at the thresholds of a pipeline's trees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mlpy.compiled import onnx, trees
from mlpy.compiled.errors import CompileRefusedError
from mlpy.compiled.model import CompiledModel, Engine
from mlpy.compiled.probes import disagreement, probe_frame

EXTRA_HINT = "install the compiled extra: pip install 'mlpy[compiled]'"


def runtime_versions() -> dict[str, str]:
    """The engines' versions, or an empty mapping when the extra is missing (or part of it)."""
    found = {**onnx.versions(), **trees.versions()}
    return found if len(found) == 3 else {}


def _engines(
    model: Any, names: Sequence[str], text: frozenset[str], by_name: bool, classifier: bool
) -> list[tuple[str, Callable[[], Engine], dict[str, str]]]:
    """Each engine by name, how to build it, and its library versions, in the order they are tried."""
    return [
        (
            onnx.NAME,
            lambda: onnx.onnx_engine(model, names, text, by_name=by_name, classifier=classifier),
            onnx.versions(),
        ),
        (trees.NAME, lambda: trees.treelite_engine(model, names), trees.versions()),
    ]


def compile_model(
    model: Any,
    feature_names: Sequence[str],
    feature_types: Sequence[str],
    *,
    by_name: bool,
    categories: Mapping[str, Sequence[str]] | None = None,
    examples: Sequence[Sequence[Any]] | None = None,
    sample: Sequence[Sequence[Any]] | None = None,
) -> CompiledModel:
    """Compile ``model`` and prove it on probe rows, plus ``examples`` and ``sample`` (rows in the
    inputs' order: the input example and the stored sample a registry keeps in the signature);
    raises :class:`CompileRefusedError` saying why each engine cannot be used.

    ``by_name``: the model takes a DataFrame (one input per column). ``categories``: the text
    values each text column's encoder knows, for the probes."""
    if not runtime_versions():
        raise CompileRefusedError(
            "ONNX Runtime, skl2onnx and treelite are not all installed", hint=EXTRA_HINT
        )
    if not feature_names:
        raise CompileRefusedError("the model's inputs are unknown (register it with a signature)")
    text = frozenset(n for n, t in zip(feature_names, feature_types, strict=True) if t == "string")
    if text and not by_name:
        raise CompileRefusedError("text inputs need a model that selects its columns by name")
    classes = np.asarray(model.classes_) if hasattr(model, "classes_") else None
    probes = _probes(model, feature_names, feature_types, by_name, categories or {}, examples, sample)
    refusals: dict[str, str] = {}
    for name, build, versions in _engines(model, feature_names, text, by_name, classes is not None):
        try:
            compiled = CompiledModel(
                engine=build(), runtime=name, classes=classes, versions=versions, text_inputs=text
            )
            _verify(compiled, model, *probes)
        except CompileRefusedError as exc:
            refusals[name] = str(exc)
            continue
        compiled.passed_over = refusals
        return compiled
    raise CompileRefusedError("; ".join(f"{name}: {why}" for name, why in refusals.items()))


def _probes(
    model: Any,
    names: Sequence[str],
    types: Sequence[str],
    by_name: bool,
    categories: Mapping[str, Sequence[str]],
    examples: Sequence[Sequence[Any]] | None,
    sample: Sequence[Sequence[Any]] | None,
) -> tuple[Any, int, int]:
    """The rows every engine must get right, as the server would pass them, and how many of them
    came from the examples and from the sample."""
    import pandas as pd

    columns = probe_frame(model, names, types, categories)

    def complete(rows: Sequence[Sequence[Any]] | None) -> list[Sequence[Any]]:
        # A row with a missing value is left out (the server refuses those before predict).
        return [row for row in rows or () if len(row) == len(names) and all(v is not None for v in row)]

    from_example, from_sample = complete(examples), complete(sample)
    usable = from_example + from_sample  # real rows first, then the probes
    if usable:
        columns = {
            n: np.concatenate([np.asarray([row[j] for row in usable], dtype=columns[n].dtype), columns[n]])
            for j, n in enumerate(names)
        }
    frame = pd.DataFrame(columns)
    return (frame if by_name else frame.to_numpy(dtype=np.float64)), len(from_example), len(from_sample)


def _verify(compiled: CompiledModel, model: Any, probes: Any, example_rows: int, sample_rows: int) -> None:
    try:
        expected = np.asarray(model.predict(probes))
        got = compiled.predict(probes)
    except Exception as exc:
        raise CompileRefusedError(
            f"the compiled model failed on the verification rows: {type(exc).__name__}: {exc}"
        ) from exc
    problem, worst = disagreement(expected, got, "predictions")
    if problem is None and compiled.classes is not None and hasattr(model, "predict_proba"):
        problem, worst = disagreement(
            np.asarray(model.predict_proba(probes)), compiled.predict_proba(probes), "probabilities"
        )
    if problem is not None:
        raise CompileRefusedError(
            "the compiled model disagrees with scikit-learn on"
            f" {_counted(len(probes), example_rows, sample_rows)}: {problem}"
        )
    compiled.verified_rows = len(probes)
    compiled.example_rows = example_rows
    compiled.sample_rows = sample_rows
    compiled.max_difference = worst


def _counted(rows: int, example_rows: int, sample_rows: int) -> str:
    """``712 rows (200 of the stored sample, 512 probe rows)``: which rows a verdict rests on."""
    if not example_rows and not sample_rows:
        return f"{rows} probe rows"
    parts = [
        f"{n} {what}"
        for n, what in (
            (example_rows, "of the input example"),
            (sample_rows, "of the stored sample"),
            (rows - example_rows - sample_rows, "probe rows"),
        )
        if n
    ]
    return f"{rows} rows ({', '.join(parts)})"


def conversion_tags(
    model: Any,
    feature_names: Sequence[str],
    feature_types: Sequence[str],
    *,
    by_name: bool,
    categories: Mapping[str, Sequence[str]] | None = None,
    examples: Sequence[Sequence[Any]] | None = None,
    sample: Sequence[Sequence[Any]] | None = None,
) -> dict[str, str]:
    """What a registry records about compiling ``model``: verified (engine, runtime, rows, largest
    difference) or refused (why). Never raises for a model that cannot be compiled: that is an
    answer too."""
    try:
        compiled = compile_model(
            model,
            feature_names,
            feature_types,
            by_name=by_name,
            categories=categories,
            examples=examples,
            sample=sample,
        )
    except CompileRefusedError as exc:
        return {"mlpy.compiled": "refused", "mlpy.compiled.reason": str(exc)[:500]}
    described = compiled.describe()
    return {
        "mlpy.compiled": "verified",
        "mlpy.compiled.engine": str(described["engine"]),
        "mlpy.compiled.runtime": str(described["runtime"]),
        "mlpy.compiled.verified_rows": str(described["verified_rows"]),
        "mlpy.compiled.sample_rows": str(described["sample_rows"]),
        "mlpy.compiled.max_difference": f"{described['max_difference']:.3g}",
        "mlpy.compiled.tolerance": f"{described['tolerance']:g}",
    }

"""Comparing a current window with a reference profile, column by column, then as a dataset."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mlpy.corrections import Correction
from mlpy.drift.columns import as_table, categorical_column, numeric_column
from mlpy.drift.errors import MethodError, SchemaMismatchError
from mlpy.drift.importance import importance_shares
from mlpy.drift.methods import (
    DEFAULT_DRIFT_SHARE,
    DEFAULT_SHAPE_MIN_EFFECT,
    NULL_SHARE_MIN_DELTA,
    Criterion,
    Method,
    criterion_for,
    parse_method,
)
from mlpy.drift.predictions import PREDICTION, with_model
from mlpy.drift.profile import (
    OTHER,
    CategoricalProfile,
    ColumnProfile,
    DriftProfile,
    NumericProfile,
    bucket_counts,
    point_counts,
)
from mlpy.drift.report import Chart, DriftReport, FeatureDrift, ShapeDrift, Share
from mlpy.drift.shape import shape_test
from mlpy.drift.sources import ColumnSource, map_columns
from mlpy.drift.stats import (
    FloatArray,
    IntArray,
    TestResult,
    chi_square,
    hellinger,
    jensen_shannon,
    ks_two_sample,
    normalised_wasserstein,
    psi,
    two_proportion_p_value,
)
from mlpy.drift.verdicts import apply_correction, with_verdict

SIGNIFICANCE_FOR_SHARES = 0.05
CHART_CATEGORIES = 12

Progress = Callable[[str], None]


def check(
    reference: DriftProfile | Any,
    current: Any,
    *,
    methods: Mapping[str, str | Method] | None = None,
    thresholds: Mapping[str, float] | None = None,
    min_effects: Mapping[str, float] | None = None,
    drift_share: float = DEFAULT_DRIFT_SHARE,
    correction: str | Correction | None = None,
    features: Sequence[str] | None = None,
    progress: Progress | None = None,
    shape_min_effect: float | None = DEFAULT_SHAPE_MIN_EFFECT,
    importance: Mapping[str, Any] | None = None,
    model: Any = None,
) -> DriftReport:
    """Judge every reference column (or ``features``) in ``current``; both may be data or file paths.

    ``methods``, ``thresholds`` and ``min_effects`` are per column; a key ``"*"`` sets every column.
    KS columns also run the shape test with ``shape_min_effect`` (None: KS alone). ``importance``
    (``{feature: mean}``, or a registered version's ``importance``) weighs the columns' drift scores
    into the report's ``importance_weighted_drift`` and ``ranking``. With ``model``, its outputs are
    one more column, ``prediction`` (see predictions.py).
    """
    started = time.perf_counter()
    if not 0 < drift_share <= 1:
        raise MethodError(f"drift share {drift_share} is out of range", hint="use a share in (0, 1]")
    try:
        chosen = Correction.parse(correction)
    except ValueError as exc:
        raise MethodError(str(exc), hint="e.g. --correction bonferroni") from exc
    current_label = str(current) if isinstance(current, str | Path) else None
    if model is not None:
        reference, current, features = with_model(reference, current, model, _listed(features))
    profile = _as_profile(reference, features)
    names = profile.require(features)
    _reject_unknown_keys(names, methods, thresholds, min_effects)
    try:
        source, current_source = _as_current(current, names)
    except SchemaMismatchError as exc:
        if PREDICTION not in names or model is not None:
            raise
        raise SchemaMismatchError(
            f"{exc.args[0]}; the profile holds the model's outputs ({PREDICTION})",
            hint="give the model (--model), a window with the logged predictions, or leave prediction "
            "out with --features",
        ) from exc
    current_source = current_source or current_label
    if shape_min_effect is not None and not 0 <= shape_min_effect <= 1:
        raise MethodError(
            f"shape minimum effect {shape_min_effect} is out of range", hint="use a value in [0, 1]"
        )
    shares = None if importance is None else importance_shares(importance, names)
    criteria = {
        name: _criterion(name, profile.columns[name], methods, thresholds, min_effects, shape_min_effect)
        for name in names
    }

    def judge(name: str) -> FeatureDrift:
        return judge_column(profile.columns[name], source.column(name), criteria[name])

    judged = map_columns(names, judge, progress)
    results = apply_correction(judged, chosen)
    return DriftReport(
        features=results,
        drift_share_threshold=drift_share,
        correction=None if chosen is Correction.none else chosen.value,
        reference_rows=profile.rows,
        current_rows=source.num_rows,
        reference_source=profile.source,
        current_source=current_source,
        duration_seconds=time.perf_counter() - started,
        importance=shares,
    )


def _listed(features: Sequence[str] | None) -> list[str] | None:
    return None if features is None else list(features)


def _as_profile(reference: DriftProfile | Any, features: Sequence[str] | None) -> DriftProfile:
    if isinstance(reference, DriftProfile):
        return reference
    if isinstance(reference, str | Path):
        return DriftProfile.from_file(reference, columns=features)
    return DriftProfile.from_data(reference, columns=features)


def _as_current(current: Any, names: Sequence[str]) -> tuple[ColumnSource, str | None]:
    if isinstance(current, str | Path):
        return ColumnSource(current, names), str(current)
    return ColumnSource(as_table(current), names), None


def _reject_unknown_keys(names: Sequence[str], *options: Mapping[str, Any] | None) -> None:
    for option in options:
        for key in option or {}:
            if key != "*" and key not in names:
                raise MethodError(
                    f"a method or threshold is set for {key!r}, which is not a checked column",
                    hint=f"checked columns: {', '.join(names)}",
                )


def _criterion(
    name: str,
    profile: ColumnProfile,
    methods: Mapping[str, str | Method] | None,
    thresholds: Mapping[str, float] | None,
    min_effects: Mapping[str, float] | None,
    shape_min_effect: float | None,
) -> Criterion:
    raw = _pick(methods, name)
    method = parse_method(raw) if isinstance(raw, str) else raw
    discrete = isinstance(profile, NumericProfile) and profile.discrete
    return criterion_for(
        name,
        profile.kind,
        discrete,
        method,
        _pick(thresholds, name),
        _pick(min_effects, name),
        shape_min_effect,
    )


def _pick(options: Mapping[str, Any] | None, name: str) -> Any:
    if not options:
        return None
    return options.get(name, options.get("*"))


def judge_column(profile: ColumnProfile, column: pa.ChunkedArray, criterion: Criterion) -> FeatureDrift:
    if isinstance(profile, NumericProfile):
        return _judge_numeric(profile, column, criterion)
    return _judge_categorical(profile, column, criterion)


def _judge_numeric(profile: NumericProfile, column: pa.ChunkedArray, criterion: Criterion) -> FeatureDrift:
    current = numeric_column(profile.name, column)
    nulls = _share(profile.nulls, profile.rows, current.nulls, current.rows)
    infinities = _share(profile.infinities, profile.rows, current.infinities, current.rows)
    if profile.discrete:
        reference_counts = profile.counts
        current_counts = point_counts(current.values, profile.edges)
        labels = [_label(value) for value in profile.edges] + ["(unseen)"]
    else:
        reference_counts = profile.counts
        current_counts = bucket_counts(current.values, profile.edges)
        labels = []
    if profile.discrete:
        chart = Chart(labels, reference_counts.tolist(), current_counts.tolist())
    else:
        chart_current = bucket_counts(current.values, profile.chart_edges)
        chart = Chart(
            _edge_labels(profile.chart_edges),
            profile.chart_counts.tolist(),
            chart_current.tolist(),
            edges=profile.chart_edges.tolist(),
        )
    base = _undecided(
        profile.name,
        profile.kind.value,
        criterion,
        nulls,
        reference_count=profile.count,
        current_count=len(current.values),
        chart=chart,
        inf_share=infinities,
        reference_sample=None if profile.exact else len(profile.sketch),
    )
    if len(current.values) == 0 or profile.count == 0:
        side = "current window" if len(current.values) == 0 else "reference"
        return dataclasses.replace(base, note=f"no finite values in the {side}; judged on null share only")
    method = criterion.method
    if method is Method.ks:
        result = ks_two_sample(profile.sketch, current.values, n_reference=profile.count)
        base = dataclasses.replace(base, shape=_shape(profile, current.values, criterion))
    elif method is Method.wasserstein:
        distance = normalised_wasserstein(profile.sketch, current.values, profile.std)
        result = TestResult(distance, None, distance)
    else:
        result = _bucket_statistic(method, reference_counts, current_counts)
    unseen = float(current_counts[-1]) / len(current.values) if profile.discrete else None
    return _decide(dataclasses.replace(base, unseen_share=unseen), result, criterion)


def _judge_categorical(
    profile: CategoricalProfile, column: pa.ChunkedArray, criterion: Criterion
) -> FeatureDrift:
    current = categorical_column(profile.name, column)
    nulls = _share(profile.nulls, profile.rows, current.nulls, current.rows)
    known = [current.counts.get(label, 0) for label in profile.categories]
    current_total = current.rows - current.nulls
    rest = current_total - sum(known)
    reference_counts = np.append(profile.counts, profile.other).astype(np.int64)
    current_counts = np.asarray([*known, rest], dtype=np.int64)
    known_labels = set(profile.categories)
    unseen = sum(count for label, count in current.counts.items() if label not in known_labels)
    rest_label = OTHER if profile.other else "(unseen)"
    base = _undecided(
        profile.name,
        profile.kind.value,
        criterion,
        nulls,
        reference_count=profile.count,
        current_count=current_total,
        chart=_category_chart([*profile.categories, rest_label], reference_counts, current_counts),
        unseen_share=unseen / current_total if current_total else None,
    )
    if current_total == 0 or profile.count == 0:
        side = "current window" if current_total == 0 else "reference"
        return dataclasses.replace(base, note=f"no values in the {side}; judged on null share only")
    return _decide(base, _bucket_statistic(criterion.method, reference_counts, current_counts), criterion)


def _undecided(
    name: str,
    kind: str,
    criterion: Criterion,
    nulls: Share,
    *,
    reference_count: int,
    current_count: int,
    chart: Chart,
    inf_share: Share | None = None,
    unseen_share: float | None = None,
    reference_sample: int | None = None,
) -> FeatureDrift:
    """A column's result before its test runs: drifted only if its null (or infinity) share moved."""
    return FeatureDrift(
        name=name,
        kind=kind,
        method=criterion.method.value,
        statistic=None,
        p_value=None,
        threshold=criterion.threshold,
        drifted=nulls.drifted or (inf_share is not None and inf_share.drifted),
        min_effect=criterion.min_effect,
        null_share=nulls,
        reference_count=reference_count,
        current_count=current_count,
        chart=chart,
        inf_share=inf_share,
        unseen_share=unseen_share,
        reference_sample=reference_sample,
    )


def _shape(profile: NumericProfile, values: FloatArray, criterion: Criterion) -> ShapeDrift | None:
    if criterion.shape_min_effect is None:
        return None
    result = shape_test(
        profile.sketch,
        values,
        reference_mean=profile.mean,
        reference_std=profile.std,
        n_reference=profile.count,
    )
    if result is None or result.p_value is None:
        return None
    return ShapeDrift(
        statistic=result.statistic,
        p_value=result.p_value,
        p_value_adjusted=result.p_value,
        effect_size=result.effect_size,
        min_effect=criterion.shape_min_effect,
        threshold=criterion.threshold,
    )


def _bucket_statistic(method: Method, reference: IntArray, current: IntArray) -> TestResult:
    if method is Method.chisquare:
        return chi_square(reference, current)
    if method is Method.psi:
        value = psi(reference, current)
    elif method is Method.jensenshannon:
        value = jensen_shannon(reference, current)
    elif method is Method.hellinger:
        value = hellinger(reference, current)
    else:  # pragma: no cover - criterion_for rejects numeric-only methods on buckets
        raise MethodError(f"{method.value} needs a numeric column")
    return TestResult(value, None, value)


def _decide(base: FeatureDrift, result: TestResult, criterion: Criterion) -> FeatureDrift:
    feature = dataclasses.replace(
        base,
        statistic=result.statistic,
        p_value=result.p_value,
        p_value_adjusted=result.p_value,
        effect_size=result.effect_size,
    )
    return with_verdict(feature, criterion.method)


def _share(ref_hits: int, ref_rows: int, cur_hits: int, cur_rows: int) -> Share:
    """Shares on both sides; drifted when they differ by NULL_SHARE_MIN_DELTA or more, significantly."""
    ref = ref_hits / ref_rows if ref_rows else None
    cur = cur_hits / cur_rows if cur_rows else None
    if ref is None or cur is None or abs(cur - ref) < NULL_SHARE_MIN_DELTA:
        return Share(ref, cur, False)
    p = two_proportion_p_value(ref_hits, ref_rows, cur_hits, cur_rows)
    return Share(ref, cur, p < SIGNIFICANCE_FOR_SHARES)


def _category_chart(labels: list[str], reference: IntArray, current: IntArray) -> Chart:
    """The categories that weigh most on either side, the rest summed into one bar."""
    weight = reference / max(reference.sum(), 1) + current / max(current.sum(), 1)
    order = [int(i) for i in np.argsort(-weight, kind="stable") if weight[i] > 0]
    shown, hidden = order[:CHART_CATEGORIES], order[CHART_CATEGORIES:]
    chart_labels = [labels[i] for i in shown]
    ref = [int(reference[i]) for i in shown]
    cur = [int(current[i]) for i in shown]
    if hidden:
        chart_labels.append(f"{len(hidden)} more")
        ref.append(int(sum(reference[i] for i in hidden)))
        cur.append(int(sum(current[i] for i in hidden)))
    return Chart(chart_labels, ref, cur)


def _label(value: float) -> str:
    """A discrete value as written, to 6 significant digits: 0.00001 rather than 1e-05, down to 10^-9."""
    if math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    if math.isfinite(value) and 1e-9 <= abs(value) < 1e16:
        return str(np.format_float_positional(value, precision=6, unique=False, fractional=False, trim="-"))
    return f"{value:.6g}"


def _edge_labels(edges: Any) -> list[str]:
    """One label per bucket: its lower edge, with '<' for the open first bucket."""
    if len(edges) == 0:
        return ["all"]
    return [f"<{edges[0]:.3g}"] + [f"{edge:.3g}" for edge in edges]

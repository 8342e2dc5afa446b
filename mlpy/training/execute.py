"""Running one training job where it is: read the data, call the user's function, check what it
returned, register the result with its lineage and drift reference, then apply the promotion gate.

Every failure is recorded on the run before it is raised. Nothing is registered until the function has
returned a checked result, and the registry's own journal makes the registration itself all-or-nothing,
so a failed job never leaves a half-registered version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlpy.config import Locations
from mlpy.drift import DriftProfile
from mlpy.registry import DRIFT_REFERENCE_TAG, ModelRegistry
from mlpy.store import open_store
from mlpy.training.entry import load_entry_point
from mlpy.training.gate import decide, holder
from mlpy.training.identity import code_identity
from mlpy.training.inputs import LoadedInput, load_inputs
from mlpy.training.outcome import Fitted, check_result
from mlpy.training.references import store_profile, store_trials
from mlpy.training.runs import RunLog
from mlpy.training.search import grid_fit
from mlpy.training.spec import TrainingSpec

TAG = "mlpy.train"
#: The version's tag naming its search's trials (a JSON artifact beside the model).
TRIALS_TAG = f"{TAG}.trials"
#: Runs the function for a job and returns what to register (one call, or a search's best trial).
Fit = Callable[[Callable[..., Any], dict[str, Any], TrainingSpec], Fitted]


def run_job(
    spec: dict[str, Any],
    *,
    run_id: str | None = None,
    backend: str = "local",
    store: str | None = None,
    artifacts: str | None = None,
    fit: Fit | None = None,
) -> dict[str, Any]:
    """Run the job ``spec`` (a dict, as queues and pods pass it) and return its result as plain data.

    A spec with a search runs its trials with ``fit`` (default: one after another in this process).
    """
    locations = Locations.resolve(store, artifacts)
    log = RunLog(open_store(locations.store))
    parsed = TrainingSpec.from_dict(spec)
    if run_id is None:
        run_id = log.create(parsed.to_dict(), parsed.model, backend).id
    log.started(run_id)
    try:
        if fit is None and parsed.search is not None:
            fit = grid_fit()
        result = train(parsed, ModelRegistry(locations.store, locations.artifacts), run_id=run_id, fit=fit)
    except Exception as exc:
        log.failed(run_id, f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        raise
    log.succeeded(run_id, result)
    return result


def train(
    spec: TrainingSpec,
    registry: ModelRegistry,
    *,
    run_id: str,
    fit: Fit | None = None,
) -> dict[str, Any]:
    """The job's work, given where to register. ``fit`` replaces calling the function once: a search
    calls it per trial and returns the best."""
    function = load_entry_point(spec.entry_point)
    inputs = load_inputs(spec.data)
    frames = {name: loaded.frame for name, loaded in inputs.items()}
    if fit is None:
        fitted = Fitted(
            check_result(function(frames, dict(spec.params)), spec.entry_point), dict(spec.params)
        )
    else:
        fitted = fit(function, frames, spec)
    trained, params = fitted.trained, _scalars(fitted.params)
    features = _feature_frame(trained.estimator, inputs)
    gate = spec.promote
    current = holder(registry, spec.model, gate.alias if gate else "production")
    decision = decide(gate, trained.metrics, current) if gate is not None else None
    # The drift reference of the training inputs, beside the model's artifacts.
    source = next(iter(inputs.values())).uri
    reference = store_profile(DriftProfile.from_data(features, source=source), registry.artifacts, spec.model)
    kept: dict[str, str] = {}
    if "trials" in fitted.extra:
        kept[TRIALS_TAG] = store_trials(fitted.extra["trials"], registry.artifacts, spec.model)
    version = registry.register(
        spec.model,
        trained.estimator,
        metrics=trained.metrics,
        params=params,
        tags={**_lineage_tags(spec, inputs, function, run_id), DRIFT_REFERENCE_TAG: reference, **kept},
        description=spec.description or f"trained by {spec.entry_point} (run {run_id})",
        parent=None if current is None else current.version,
        # The whole frame: the signature keeps its first rows as the example and, without validation
        # data, a sample of its rows to verify compiled models on (mlpy.registry.with_sample).
        input_example=features if hasattr(trained.estimator, "feature_names_in_") else None,
        validation=trained.validation,
    )
    promoted = False
    if decision is not None and decision.promote and gate is not None:
        registry.promote(
            spec.model, version.version, alias=gate.alias, reason=f"run {run_id}: {decision.reason}"
        )
        promoted = True
    return {
        "run": run_id,
        "model": spec.model,
        "version": version.version,
        "sha256": version.sha256,
        "metrics": trained.metrics,
        "params": params,
        "parent": None if current is None else current.version,
        "promoted": promoted,
        "gate": None if decision is None else decision.to_dict(),
        "reference": reference,
        "data": {name: {"uri": i.uri, "sha256": i.sha256, "rows": i.rows} for name, i in inputs.items()},
        **fitted.extra,
        **({"trials_uri": kept[TRIALS_TAG]} if kept else {}),
    }


def _lineage_tags(
    spec: TrainingSpec, inputs: dict[str, LoadedInput], function: Any, run_id: str
) -> dict[str, str]:
    tags = {f"{TAG}.run": run_id, f"{TAG}.entry_point": spec.entry_point}
    for name, loaded in inputs.items():
        tags[f"{TAG}.data.{name}"] = loaded.uri
        tags[f"{TAG}.data.{name}.sha256"] = loaded.sha256
    for key, value in code_identity(function).items():
        tags[f"{TAG}.code.{key}"] = value
    return tags


def _feature_frame(estimator: Any, inputs: dict[str, LoadedInput]) -> Any:
    """The training inputs the model reads: the first input's columns the estimator was fitted on."""
    frame = next(iter(inputs.values())).frame
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return frame
    return frame[[str(name) for name in names if str(name) in frame.columns]]


def _scalars(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as the registry keeps them: JSON scalars (lists and the like as their text)."""
    return {
        k: v if v is None or isinstance(v, str | int | float | bool) else str(v) for k, v in params.items()
    }

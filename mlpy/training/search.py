"""A grid search over the user's function: one trial per combination, run by joblib (in this process,
or on a Ray cluster through Ray's joblib backend), the best registered with every trial kept."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mlpy.training.errors import TrainingResultError
from mlpy.training.outcome import Fitted, Trained, check_result
from mlpy.training.spec import SearchSpace, TrainingSpec


def trial(function: Callable[..., Any], frames: dict[str, Any], params: dict[str, Any], entry: str) -> Any:
    """One trial: the function on ``params``, its result checked; returns (trained, seconds)."""
    started = time.perf_counter()
    trained = check_result(function(frames, dict(params)), entry)
    return trained, time.perf_counter() - started


def grid_fit(
    backend: str | None = None, n_jobs: int = 1
) -> Callable[[Callable[..., Any], dict[str, Any], TrainingSpec], Fitted]:
    """A ``fit`` for :func:`mlpy.training.execute.train` that searches the spec's grid with joblib:
    ``backend=None`` in this process (``n_jobs`` processes), ``"ray"`` on the connected Ray cluster."""

    def fit(function: Callable[..., Any], frames: dict[str, Any], spec: TrainingSpec) -> Fitted:
        from joblib import Parallel, delayed, parallel_backend

        search = spec.search
        if search is None:
            raise TrainingResultError("grid_fit needs a spec with a search")
        candidates = search.candidates(spec.params)
        started = time.perf_counter()
        calls = (delayed(trial)(function, frames, params, spec.entry_point) for params in candidates)
        if backend is None:
            outcomes = Parallel(n_jobs=n_jobs)(calls)
        else:
            with parallel_backend(backend, n_jobs=n_jobs):
                outcomes = Parallel()(calls)
        return best_of(search, candidates, list(outcomes), time.perf_counter() - started)

    return fit


def best_of(
    search: SearchSpace,
    candidates: list[dict[str, Any]],
    outcomes: list[tuple[Trained, float]],
    seconds: float,
) -> Fitted:
    missing = [i for i, (trained, _) in enumerate(outcomes) if search.metric not in trained.metrics]
    if missing:
        raise TrainingResultError(
            f"the search ranks by {search.metric!r}, which trial {missing[0] + 1} did not return",
            hint=f"return {search.metric} from every call",
        )
    sign = 1.0 if search.lower_is_better else -1.0
    ranked = sorted(range(len(outcomes)), key=lambda i: sign * outcomes[i][0].metrics[search.metric])
    best = ranked[0]
    trials = [
        {
            "trial": i + 1,
            "params": candidates[i],
            "metrics": outcomes[i][0].metrics,
            "seconds": round(outcomes[i][1], 4),
        }
        for i in range(len(outcomes))
    ]
    extra = {
        "search": {
            "metric": search.metric,
            "trials": len(trials),
            "best_trial": best + 1,
            "seconds": round(seconds, 3),
        },
        "trials": trials,
    }
    return Fitted(outcomes[best][0], candidates[best], extra)

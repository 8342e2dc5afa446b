"""A grid search over the user's function: one trial per combination, run by joblib (in this process,
or on a Ray cluster through Ray's joblib backend), the best registered with every trial kept, each with
the node it ran on."""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from typing import Any

from mlpy.training.errors import TrainingResultError
from mlpy.training.outcome import Fitted, Trained, check_result
from mlpy.training.spec import SearchSpace, TrainingSpec

#: What one trial gives back: its checked result, its seconds, the node it ran on, when it started.
Outcome = tuple[Trained, float, str, float]


def trial(
    function: Callable[..., Any], frames: dict[str, Any], params: dict[str, Any], entry: str
) -> Outcome:
    """One trial: the function on ``params``, its result checked."""
    began, started = time.time(), time.perf_counter()
    trained = check_result(function(frames, dict(params)), entry)
    return trained, time.perf_counter() - started, node_name(), began


def node_name() -> str:
    """Where this process runs: the Ray node id inside a Ray worker, else the host name."""
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        return str(ray.get_runtime_context().get_node_id())
    return platform.node()


def grid_fit(
    backend: str | None = None, n_jobs: int = 1
) -> Callable[[Callable[..., Any], dict[str, Any], TrainingSpec], Fitted]:
    """A ``fit`` for :func:`mlpy.training.execute.train` that searches the spec's grid with joblib:
    ``backend=None`` in this process (``n_jobs`` processes), ``"ray"`` on the connected Ray cluster
    (``n_jobs=-1``: one trial per CPU of the whole cluster)."""

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
            options: dict[str, Any] = {}
            if backend == "ray":
                from ray.util.joblib import register_ray

                register_ray()  # type: ignore[no-untyped-call]
                # Each worker of the pool holds a CPU (Ray's actors hold none by default, so they
                # could crowd one node), spread over the nodes.
                options["ray_remote_args"] = {"num_cpus": 1, "scheduling_strategy": "SPREAD"}
            # One trial per task: a trial is a whole fit, so batching saves little and would leave
            # CPUs idle at the end of a small grid.
            with parallel_backend(backend, n_jobs=n_jobs, **options):
                outcomes = Parallel(batch_size=1)(calls)
        return best_of(search, candidates, list(outcomes), time.perf_counter() - started)

    return fit


def best_of(
    search: SearchSpace,
    candidates: list[dict[str, Any]],
    outcomes: list[Outcome],
    seconds: float,
) -> Fitted:
    missing = [i for i, outcome in enumerate(outcomes) if search.metric not in outcome[0].metrics]
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
            "node": outcomes[i][2],
            "started": round(outcomes[i][3], 3),
        }
        for i in range(len(outcomes))
    ]
    extra = {
        "search": {
            "metric": search.metric,
            "trials": len(trials),
            "best_trial": best + 1,
            "seconds": round(seconds, 3),
            "nodes": len({outcome[2] for outcome in outcomes}),
        },
        "trials": trials,
    }
    return Fitted(outcomes[best][0], candidates[best], extra)

"""Training jobs with the user's own code and data: a spec names an entry point, its data, parameters,
the model to register and a promotion gate; the job runs here, on the Redis queue, as a Kubernetes Job
or on a Ray cluster, and every run is recorded in the metadata store (``mlpy train``).

The names load on first use (mlpy.faces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy.training.checks import preflight
    from mlpy.training.errors import (
        BackendUnavailableError,
        EntryPointError,
        InvalidTrainingSpecError,
        RunNotFoundError,
        TrainingDataError,
        TrainingError,
        TrainingResultError,
    )
    from mlpy.training.execute import run_job, train
    from mlpy.training.outcome import Fitted, Trained
    from mlpy.training.raycluster import connect_ray, disconnect_ray, run_on_ray
    from mlpy.training.references import store_profile
    from mlpy.training.runs import RunLog, TrainingRun
    from mlpy.training.search import grid_fit
    from mlpy.training.spec import PromotionGate, SearchSpace, TrainingSpec

__all__ = [
    "BackendUnavailableError",
    "EntryPointError",
    "Fitted",
    "InvalidTrainingSpecError",
    "PromotionGate",
    "RunLog",
    "RunNotFoundError",
    "SearchSpace",
    "Trained",
    "TrainingDataError",
    "TrainingError",
    "TrainingResultError",
    "TrainingRun",
    "TrainingSpec",
    "connect_ray",
    "disconnect_ray",
    "grid_fit",
    "preflight",
    "run_job",
    "run_on_ray",
    "store_profile",
    "train",
]

_HOMES = {
    "BackendUnavailableError": "mlpy.training.errors",
    "EntryPointError": "mlpy.training.errors",
    "Fitted": "mlpy.training.outcome",
    "InvalidTrainingSpecError": "mlpy.training.errors",
    "PromotionGate": "mlpy.training.spec",
    "RunLog": "mlpy.training.runs",
    "RunNotFoundError": "mlpy.training.errors",
    "SearchSpace": "mlpy.training.spec",
    "Trained": "mlpy.training.outcome",
    "TrainingDataError": "mlpy.training.errors",
    "TrainingError": "mlpy.training.errors",
    "TrainingResultError": "mlpy.training.errors",
    "TrainingRun": "mlpy.training.runs",
    "TrainingSpec": "mlpy.training.spec",
    "grid_fit": "mlpy.training.search",
    "preflight": "mlpy.training.checks",
    "connect_ray": "mlpy.training.raycluster",
    "disconnect_ray": "mlpy.training.raycluster",
    "run_job": "mlpy.training.execute",
    "run_on_ray": "mlpy.training.raycluster",
    "store_profile": "mlpy.training.references",
    "train": "mlpy.training.execute",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)

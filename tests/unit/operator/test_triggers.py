"""Every kind's reconcile runs on resume, create and spec updates, under the handler ids kopf keeps."""

from __future__ import annotations

import kopf

import mlpy_operator.handlers  # noqa: F401  (registers the handlers)


def test_each_kind_reconciles_on_resume_create_and_spec_update() -> None:
    registry = kopf.get_default_registry()
    seen = {(h.id, h.reason.value if h.reason else "resume") for h in registry._changing.get_all_handlers()}
    for handler in ("modelversion_changed", "experiment_changed", "drift_monitor_changed"):
        assert {(handler, "resume"), (handler, "create"), (f"{handler}/spec", "update")} <= seen

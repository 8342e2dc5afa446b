"""Operator start-up: kopf settings, progress kept under the mlpy.io prefix, metrics endpoint."""

from __future__ import annotations

import logging
from typing import Any

import kopf
from prometheus_client import start_http_server

from mlpy_operator.constants import ANNOTATION_PREFIX, API_VERSION
from mlpy_operator.runtime import config, kube_client


@kopf.on.startup()
def configure(
    settings: kopf.OperatorSettings, logger: logging.Logger | logging.LoggerAdapter[Any], **_: Any
) -> None:
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{ANNOTATION_PREFIX}/finalizer"
    settings.peering.standalone = True
    settings.execution.max_workers = 8
    # Failures are reported by the handlers themselves (a condition, a Warning Event, a log line);
    # kopf's own Events would say the same again in its words.
    settings.posting.enabled = False
    settings.watching.server_timeout = 300
    # Discover the API now: a failure shows at start, and the first reconcile does not pay for it.
    for kind in ("ModelVersion", "Experiment", "DriftMonitor"):
        kube_client().dynamic.resources.get(api_version=API_VERSION, kind=kind)
    port = config().metrics_port
    if port:
        start_http_server(port)
        logger.info("metrics on :%d/metrics", port)


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod, the ServiceAccount; elsewhere, KUBECONFIG as it is now (not when a library was imported)."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

"""The operator's entries in the audit log: Experiments started, decided and promoted, and the stable
Service created or switched.

The log lives in the SQL metadata store (the chart's ``stores.metadata``: ``MLPY_PREDLOG_STORE`` or
``MLPY_STORE``); without one the operator writes no entries. A Kubernetes change cannot share a
database transaction, so the entry is written after the change is applied, and writing it can never
fail a reconcile: a failure is one warning in the log, here, and nothing else.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from typing import Any

from mlpy.audit import AuditLog
from mlpy_operator.runtime import config

log = logging.getLogger("mlpy_operator")


def operator_actor() -> str:
    """``operator:<service account>`` (``MLPY_OPERATOR_SERVICE_ACCOUNT``), else ``operator:<host name>``."""
    return f"operator:{os.environ.get('MLPY_OPERATOR_SERVICE_ACCOUNT') or socket.gethostname()}"


def selector_text(selector: Mapping[str, Any] | None) -> str | None:
    """A Service selector as the log shows it: ``mlpy.io/modelversion=credit-v2``."""
    if not selector:
        return None
    return ",".join(f"{key}={value}" for key, value in sorted(selector.items()))


def record(
    action: str,
    subject: str,
    *,
    from_value: str | None = None,
    to_value: str | None = None,
    reason: str | None = None,
    detail: Any = None,
) -> None:
    """Append one entry when the operator has a metadata store; never raises."""
    url = config().predlog_store_url
    if not url:
        return
    try:
        AuditLog(url).append(
            action,
            subject,
            actor=operator_actor(),
            from_value=from_value,
            to_value=to_value,
            reason=reason,
            detail=detail,
        )
    except Exception as exc:  # the action is done; the log line says its entry is missing
        log.warning("audit entry %s for %s not written: %s: %s", action, subject, type(exc).__name__, exc)

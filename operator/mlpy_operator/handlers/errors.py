"""How handlers turn failures into kopf's retry policy and make each one visible, in one place.

Every failure ends as a ``Ready=False`` condition with a reason and a message, a Warning Event (when
it is new) and a log line. What passes on its own (a busy or conflicting API, a namespace being
deleted, a variant not created yet) is retried soon; what would fail the same way again (a spec the
operator cannot act on, a child the API server rejects, a missing permission) is tried once per
generation: the resync timers leave it alone until the spec changes (``metadata.generation``) or the
operator restarts (its resume handlers try every object again).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from mlpy.errors import MlpyError
from mlpy_operator.conditions import condition, merge_conditions
from mlpy_operator.errors import SpecError, WaitingError
from mlpy_operator.metrics import observed

RETRY_DELAY_S = 5
log = logging.getLogger("mlpy_operator")
#: Failures only a new spec or a restarted operator can change; a timer does not repeat the refused call.
#: (Misconfigured is not one: a store the operator cannot reach now may answer at the next tick.)
SETTLED = frozenset({"InvalidSpec", "Rejected", "Forbidden"})


class PermanentFailure(kopf.PermanentError):
    """Retrying would fail the same way: ``reason`` names why (InvalidSpec, Rejected, Forbidden)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PassingFailure(kopf.TemporaryError):
    """It may pass on its own: retried after ``delay`` seconds."""

    def __init__(self, reason: str, message: str, delay: float = RETRY_DELAY_S) -> None:
        super().__init__(message, delay=delay)
        self.reason = reason


def _api_message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except ValueError:
        return str(exc.body or exc.reason)


@contextmanager
def reconciling(kind: str) -> Iterator[None]:
    """Count the reconcile and classify what goes wrong in it."""
    try:
        with observed(kind):
            yield
    except SpecError as exc:
        raise PermanentFailure("InvalidSpec", str(exc)) from exc
    except WaitingError as exc:
        raise PassingFailure("Waiting", str(exc), delay=10) from exc
    except MlpyError as exc:  # a store or setting the operator cannot use: fixed by its configuration
        raise PermanentFailure("Misconfigured", str(exc)) from exc
    except ApiException as exc:
        message = _api_message(exc)
        if _namespace_terminating(exc):
            raise PassingFailure("NamespaceTerminating", "the namespace is being deleted") from exc
        if exc.status in {404, 409, 429} or (exc.status or 0) >= 500:
            raise PassingFailure("ApiUnavailable", f"API server said {exc.status}: {message}") from exc
        if exc.status == 403:
            raise PermanentFailure(
                "Forbidden",
                f"the operator is not allowed to do this: {message}; grant its ServiceAccount the "
                "permission (the chart's rbac.create, or your own Role), then restart the operator "
                "(kubectl rollout restart deployment/mlpy-operator) or change the spec",
            ) from exc
        raise PermanentFailure(
            "Rejected",
            f"the API server rejected a child ({exc.status}): {message}; correct the spec",
        ) from exc
    except (kopf.PermanentError, kopf.TemporaryError):
        raise
    except Exception as exc:  # a bug or an outage nobody classified: visible, and retried
        raise PassingFailure("Error", f"{type(exc).__name__}: {exc}", delay=30) from exc


def _namespace_terminating(exc: ApiException) -> bool:
    """The 403 for creating in a namespace being deleted: not a missing permission, and it passes on
    its own (the object goes with its namespace), so it is retried quietly rather than logged."""
    return exc.status == 403 and "being terminated" in str(exc.body or "")


def reason_of(exc: kopf.PermanentError | kopf.TemporaryError) -> str:
    return str(getattr(exc, "reason", "Failed" if isinstance(exc, kopf.PermanentError) else "Waiting"))


def failure_status(
    body: dict[str, Any], reason: str, message: str, *, permanent: bool, also: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``Ready=False`` (and each condition in ``also``) with the reason; phase Failed or Pending."""
    meta = body.get("metadata") or {}
    generation = int(meta.get("generation", 1))
    old = (body.get("status") or {}).get("conditions")
    conditions = [condition(kind, False, reason, message, generation) for kind in ("Ready", *also)]
    return {
        "phase": "Failed" if permanent else "Pending",
        "observedGeneration": generation,
        "conditions": merge_conditions(old, conditions),
    }


def announce(api: Any, body: dict[str, Any], reason: str, message: str) -> None:
    """A log line and a Warning Event when the failure is new (not already the Ready condition);
    a failure that persists is said once, not on every retry or resync."""
    meta = body.get("metadata") or {}
    where = f"{body.get('kind', 'object')} {meta.get('namespace')}/{meta.get('name')}"
    conditions: list[dict[str, Any]] = (body.get("status") or {}).get("conditions") or []
    previous = next((c for c in conditions if c.get("type") == "Ready"), {})
    if previous.get("reason") == reason and previous.get("message") == message:
        log.debug("%s: still %s", where, reason)
        return
    log.error("%s: %s: %s", where, reason, message)
    try:
        api.event(body, reason, message, warning=True)
    except ApiException as exc:  # the Event is a courtesy: the condition and the log line stay
        log.warning("%s: could not post the Event (%s)", where, exc.status)


def settled(body: dict[str, Any]) -> bool:
    """Ready already reports a permanent failure of this very generation: the same call would be
    refused again, so a resync does not make it (the condition, Event and log line stay)."""
    meta = body.get("metadata") or {}
    conditions: list[dict[str, Any]] = (body.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), {})
    return (
        ready.get("status") == "False"
        and ready.get("reason") in SETTLED
        and ready.get("observedGeneration") == int(meta.get("generation", 1))
    )


def handled(
    api: Any,
    body: dict[str, Any],
    patch: kopf.Patch,
    reconcile: Any,
    *,
    also: tuple[str, ...] = (),
    timer: bool = False,
) -> None:
    """Run ``reconcile(body)`` and write the status it returns; on failure write the failure's
    status, announce it, and re-raise for kopf's retry policy (a timer waits for its next tick).
    A timer skips a generation whose failure is settled (see ``settled``)."""
    if timer and settled(body):
        log.debug(
            "%s %s: a permanent failure of this generation, not retried",
            body.get("kind"),
            body["metadata"].get("name"),
        )
        return
    try:
        patch.status.update(reconcile(body))
    except (kopf.PermanentError, kopf.TemporaryError) as exc:
        reason, message = reason_of(exc), str(exc)
        permanent = isinstance(exc, kopf.PermanentError)
        patch.status.update(failure_status(body, reason, message, permanent=permanent, also=also))
        if reason != "NamespaceTerminating":
            announce(api, body, reason, message)
        if not timer:
            raise

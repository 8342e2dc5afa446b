"""Router mode: send each request to one variant's server, sticky per unit, and learn from feedback.

Assignment and recording only touch memory (``mlpy.experiments.Experiment``); a background task
flushes the counts to the shared statistics and picks up new weights once a second. Each routed request
gets a signed id naming its variant (signed_ids.py), so feedback is credited on whichever replica gets
it, and counted once per request id across all replicas (claimed in the shared statistics backend).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import orjson

from mlpy.audit import acting_as
from mlpy.errors import MlpyError
from mlpy.experiments import (
    Breach,
    Experiment,
    GuardrailWatch,
    MirrorReport,
    VariantStats,
    analyse,
    new_signing_key,
    without,
)
from mlpy_server.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StatisticsUnavailableError,
    UpstreamError,
)
from mlpy_server.metrics import ServerMetrics
from mlpy_server.mirroring import ShadowCopies
from mlpy_server.router_plan import RouterPlan
from mlpy_server.signed_ids import RequestIdSigner
from mlpy_server.upstream import UpstreamConnectionError, UpstreamPool, UpstreamTimeoutError
from mlpy_server.variant_fairness import VariantFairnessReader

log = logging.getLogger("mlpy.server.router")

FORWARDED_HEADERS = frozenset(
    {
        b"content-type",
        b"authorization",
        b"x-api-key",
        b"accept",
        b"x-unit-id",
        b"inference-header-content-length",
    }
)


class ABRouter:
    def __init__(self, plan: RouterPlan, metrics: ServerMetrics, timeout_s: float) -> None:
        config = plan.config
        self.plan = plan
        # Refreshed by our task (off the event loop), never inline by assign().
        self.experiment = Experiment.from_config(
            plan.name, config, backend=plan.backend, refresh_interval_s=1e12
        )
        self.metrics = metrics
        self._timeout = timeout_s
        self._pool: UpstreamPool | None = None
        names = [v.name for v in config.variants]
        # Until the shared key is read (start), and if it cannot be: ids only this replica can verify.
        self._signer = RequestIdSigner(new_signing_key(), names)
        self._verifiers = [self._signer]
        self._key_shared = False
        self._task: asyncio.Task[None] | None = None
        self.refresh_interval_s = 1.0
        self._latency: dict[str, Any] = {}
        self._routed_counts: dict[tuple[str, int], Any] = {}
        self.last_refresh_error: str | None = None
        guardrails = config.guardrails
        candidates = [name for name in names if name != config.control]
        self.guardrails = GuardrailWatch(guardrails, candidates) if guardrails.enabled else None
        self.fairness = (
            VariantFairnessReader(plan.predlog_store, names, plan.started_at)
            if guardrails.fair and plan.predlog_store
            else None
        )
        self._next_window = time.monotonic() + guardrails.interval_s
        mirror = config.mirror
        self.mirror = None
        if mirror is not None and mirror.upstream:
            self.mirror = ShadowCopies(mirror, mirror.upstream, lambda: self._pool)

    async def start(self) -> None:
        self._pool = UpstreamPool(self._timeout)
        await anyio.to_thread.run_sync(self._share_key)
        self._task = asyncio.create_task(self._refresh_forever())

    def _share_key(self) -> None:
        """Sign with the key every replica reads from the backend; keep verifying ids signed before."""
        if self._key_shared:
            return
        try:
            key = self.plan.backend.signing_key(self.plan.name)
        except MlpyError as exc:
            self.last_refresh_error = str(exc)
            log.warning("experiment signing key not readable yet (ids verify on this replica only): %s", exc)
            return
        signer = RequestIdSigner(key, [v.name for v in self.plan.config.variants])
        self._verifiers = [signer, *self._verifiers]
        self._signer, self._key_shared = signer, True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.mirror is not None:
            await self.mirror.stop()
            await self._flush_mirror()
        if self._pool is not None:
            self._pool.close()
        try:
            await anyio.to_thread.run_sync(self.experiment.flush)
        except MlpyError as exc:
            log.warning("final flush of experiment statistics failed: %s", exc)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval_s)
            try:
                await anyio.to_thread.run_sync(self.experiment.refresh)
                await self._flush_mirror()
                await self._watch_guardrails()
                self.last_refresh_error = None
                if not self._key_shared:
                    await anyio.to_thread.run_sync(self._share_key)
            except MlpyError as exc:
                self.last_refresh_error = str(exc)
                log.warning("experiment statistics refresh failed (kept in memory): %s", exc)

    async def _flush_mirror(self) -> None:
        if self.mirror is None:
            return
        mirror = self.mirror
        counts = mirror.take()
        deltas = counts.deltas()
        if not deltas:
            return
        await self._deliver(deltas, lambda _: mirror.counts.add(counts))  # sent with the next flush

    async def _watch_guardrails(self) -> None:
        """Close the guardrails' window when it is due; roll back a variant that breached too long."""
        if self.guardrails is None or time.monotonic() < self._next_window:
            return
        self._next_window = time.monotonic() + self.guardrails.guardrails.interval_s
        fairness = None if self.fairness is None else await anyio.to_thread.run_sync(self.fairness.read)
        breach = self.guardrails.close_window(fairness)
        if breach is not None and self.experiment.current_weights().get(breach.variant, 0.0) > 0:
            await anyio.to_thread.run_sync(self._roll_back, breach)
        # Every window judged, for the operator: a canary's step advances only once they hold.
        await self._deliver(self.guardrails.take_windows(), self.guardrails.keep_windows)

    async def _deliver(
        self, deltas: Mapping[str, VariantStats], keep: Callable[[Mapping[str, VariantStats]], None]
    ) -> None:
        """Add counts to the shared backend; counts it could not take are kept, sent with the next ones."""
        try:
            await anyio.to_thread.run_sync(self.plan.backend.add, self.plan.name, deltas)
        except MlpyError:
            keep(deltas)
            raise

    def _roll_back(self, breach: Breach) -> None:
        weights = without(self.experiment.current_weights(), breach.variant, self.plan.config.control)
        # Published: every replica follows within a refresh, and the operator reads the reason.
        with acting_as("router guardrail"):  # who the audit log names (a SQL statistics store)
            self.experiment.set_weights(weights, reason=breach.reason)
        log.warning("experiment %s: rolled back: %s", self.plan.name, breach.reason)

    async def forward(
        self, path: str, body: bytes, headers: dict[str, str], request_id: str, unit_id: str | None
    ) -> tuple[int, bytes, dict[str, str], str, str]:
        """Send the request to the assigned variant.

        Returns status, body, the response headers to pass on, the variant, and the signed request id
        it was sent under.
        """
        variant = self.experiment.assign(unit_id)
        upstream = self.plan.upstreams[variant]
        signed = self._signer.issue(request_id, variant)
        sent = dict(headers)
        sent["x-request-id"] = signed
        sent["x-mlpy-variant"] = variant
        assert self._pool is not None, "router not started"
        start = time.perf_counter()
        try:
            status, content, answered = await self._pool.post(upstream, path, body, sent)
        except (UpstreamTimeoutError, UpstreamConnectionError) as exc:
            self._observe(variant, start, failed=True)
            failure = "timeout" if isinstance(exc, UpstreamTimeoutError) else "unreachable"
            self.metrics.routed.labels(variant, failure).inc()
            raise self._unavailable(variant, exc) from exc
        self._latency_child(variant).observe(time.perf_counter() - start)
        self._observe(variant, start, failed=status >= 500)
        self._routed_child(variant, status).inc()
        if self.mirror is not None:
            self.mirror.maybe_copy(path, body, sent, status, content)
        return status, content, answered, variant, signed

    async def read(self, path: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str], str]:
        """A GET the router cannot answer itself (it loads no models), answered by the variant of the
        X-Unit-ID header's unit, else by the control; counted nowhere, as it predicts nothing.

        Returns status, body, the response headers to pass on, and the variant.
        """
        unit = headers.pop("x-unit-id", None)
        variant = self.plan.config.control if unit is None else self.experiment.assign(unit, count=False)
        assert self._pool is not None, "router not started"
        try:
            status, content, answered = await self._pool.get(self.plan.upstreams[variant], path, headers)
        except (UpstreamTimeoutError, UpstreamConnectionError) as exc:
            raise self._unavailable(variant, exc) from exc
        return status, content, answered, variant

    def _unavailable(self, variant: str, exc: Exception) -> UpstreamError:
        """A 504 for a variant that did not answer in time, a 502 for one that could not be reached."""
        if isinstance(exc, UpstreamTimeoutError):
            error = UpstreamError(f"variant {variant!r} did not answer within {self._timeout}s")
            error.status = 504
            return error
        return UpstreamError(f"variant {variant!r} at {self.plan.upstreams[variant]} is unreachable: {exc}")

    def _observe(self, variant: str, start: float, failed: bool) -> None:
        if self.guardrails is not None:
            self.guardrails.observe(variant, time.perf_counter() - start, failed)

    def _latency_child(self, variant: str) -> Any:
        child = self._latency.get(variant)
        if child is None:
            child = self._latency[variant] = self.metrics.upstream_latency.labels(variant)
        return child

    def _routed_child(self, variant: str, status: int) -> Any:
        child = self._routed_counts.get((variant, status))
        if child is None:
            child = self._routed_counts[(variant, status)] = self.metrics.routed.labels(variant, str(status))
        return child

    def variant_of(self, request_id: str) -> str | None:
        """The variant a request id issued by this experiment's routers names, verified."""
        for signer in self._verifiers:
            variant = signer.variant_of(request_id)
            if variant is not None:
                return variant
        return None

    async def feedback(
        self, request_id: str, value: float | None, variant: str | None, may_attribute: bool
    ) -> tuple[str, bool]:
        """Credit ``value`` to the variant that served ``request_id``, once per id across replicas.

        Returns the variant and whether this call counted (False for a repeat). A variant named by the
        client is taken only for an id the router did not issue, and only from an admin credential
        (``may_attribute``): otherwise any client could credit the variant it likes.
        """
        issued = self.variant_of(request_id)
        if issued is not None and variant is not None and variant != issued:
            raise InvalidInputError(
                f"request {request_id!r} was served by variant {issued!r}, not {variant!r}",
                hint="leave 'variant' out: the request id names its variant",
                field="variant",
            )
        chosen = issued
        if chosen is None:
            if variant is None:
                raise NotFoundError(
                    f"request {request_id!r} was not routed by experiment {self.plan.name!r}",
                    hint="send the request_id of the routed response (it names its variant, signed)",
                    field="request_id",
                )
            if not may_attribute:
                raise PermissionDeniedError(
                    "naming the variant of a request the router did not route needs the admin role",
                    hint="send the request_id the router returned, which names its variant",
                )
            if variant not in self.plan.upstreams:
                raise InvalidInputError(
                    f"unknown variant {variant!r}",
                    hint=f"variants: {', '.join(self.plan.upstreams)}",
                    field="variant",
                )
            chosen = variant
        if value is None:
            return chosen, False
        metric = self.plan.config.metric
        if metric.from_kpi:
            raise InvalidInputError(
                f"experiment {self.plan.name!r} takes its metric from the KPI {metric.name!r}, not feedback",
                hint=f"send the value with POST /kpi (name {metric.name!r}), or leave 'value' out",
                field="value",
            )
        return chosen, await self.count_once(request_id, chosen, value)

    async def count_once(self, claim: str, variant: str, value: float) -> bool:
        """Record ``value`` for ``variant`` unless ``claim`` (a request id, or a unit's key) was counted
        before on any replica; returns whether this call counted."""
        try:
            value = self.plan.config.metric.check_value(value)
        except MlpyError as exc:
            raise InvalidInputError(str(exc), field="value") from exc
        try:
            first = await anyio.to_thread.run_sync(self.plan.backend.claim_feedback, self.plan.name, claim)
        except MlpyError as exc:
            raise StatisticsUnavailableError(
                f"value not counted: {exc}", hint="retry: a repeat is never counted twice"
            ) from exc
        if first:
            self.experiment.record(variant, value)
        return first

    def _mirror_status(self, stats: dict[str, VariantStats]) -> dict[str, Any] | None:
        """The shadow's agreement, failures and latency, from every replica's counts."""
        if self.mirror is None:
            return None
        report = MirrorReport.of(stats).to_document()
        return {**self.mirror.spec.to_dict(), **report, "skipped": self.mirror.skipped}

    def describe(self) -> dict[str, Any]:
        """Per-variant statistics and current weights, in the shape the operator reads, and the verdict
        on them now, so a router without an operator still says when to stop."""
        stats = self.experiment.stats()
        weights = self.experiment.current_weights()
        config = self.plan.config
        ordered = {v.name: stats.get(v.name, VariantStats()) for v in config.variants}
        verdict = analyse(
            ordered,
            config.metric,
            config.stopping,
            self.plan.started_at,
            datetime.now(UTC),
            control=config.control,
            strategy=config.strategy,
        )
        return {
            "experiment": self.plan.name,
            "strategy": str(config.strategy),
            "metric": config.metric.to_dict(),
            "weights": weights,
            "variants": [
                {
                    "name": v.name,
                    "upstream": self.plan.upstreams[v.name],
                    "model_version": v.model_version,
                    "weight": weights.get(v.name, 0.0),
                    "stats": stats[v.name].to_dict(),
                }
                for v in config.variants
            ],
            "analysis": verdict.to_dict(),
            "guardrails": None
            if self.guardrails is None
            else {**config.guardrails.to_dict(), "variants": dict(self.guardrails.last)},
            # Each variant's fairness from the prediction log, when a guardrail bounds a gap.
            "fairness": None if self.fairness is None else dict(self.fairness.last),
            # Weights set by hand or by a guardrail hold on every replica: which revision, and why.
            "pinned": None
            if self.experiment.pinned_revision is None
            else {"revision": self.experiment.pinned_revision, "reason": self.experiment.pinned_reason},
            "mirror": self._mirror_status(stats),
            "refresh_error": self.last_refresh_error,
        }


def forwarded_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request headers passed on to the variant (credentials, content type), from the raw scope."""
    return {
        name.decode("latin-1"): value.decode("latin-1") for name, value in raw if name in FORWARDED_HEADERS
    }


def unit_from_body(body: bytes) -> str | None:
    """``unit_id`` of a /predict body, or ``parameters.unit_id`` of an inference request, if any."""
    if b'"unit_id"' not in body:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    unit = data.get("unit_id")
    if unit is None and isinstance(data.get("parameters"), dict):
        unit = data["parameters"].get("unit_id")
    return None if unit is None else str(unit)

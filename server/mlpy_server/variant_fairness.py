"""Each candidate variant's fairness so far, for a router whose guardrails bound a fairness gap.

The router does not see group attributes or outcomes per variant itself: the variants' servers log
each request with its groups and the variant the router named (``X-MLPY-Variant``), and feedback
attaches the outcome by request id. So the figures are read from that prediction log, every guardrail
window, over the rows since the experiment began (mlpy.monitoring.fairness_by_variant).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from mlpy.errors import MlpyError
from mlpy.experiments import VariantFairness
from mlpy.store import Store, open_store, utcnow

log = logging.getLogger("mlpy.server.router")


class VariantFairnessReader:
    """Reads per window; a log that cannot be read yet leaves the variants unjudged, never raising."""

    def __init__(self, store_url: str, variants: Sequence[str], started_at: datetime) -> None:
        self.store_url = store_url
        self.variants = tuple(variants)
        self.started_at = started_at
        self._store: Store | None = None
        self.last_error: str | None = None
        #: The latest figures per variant (shown in GET /experiment).
        self.last: dict[str, dict[str, object]] = {}

    def read(self) -> VariantFairness:
        """Per variant, per sensitive feature: the gaps and the smallest group's samples."""
        from mlpy.monitoring import fairness_by_variant  # fairlearn and scikit-learn: only when asked

        try:
            if self._store is None:
                self._store = open_store(self.store_url)
            until = utcnow() + timedelta(minutes=1)
            reports = fairness_by_variant(self._store, self.variants, self.started_at, until)
        except MlpyError as exc:
            self.last_error = str(exc)
            log.warning("fairness guardrail cannot read the prediction log: %s", exc)
            return {}
        self.last_error = None
        self.last = {name: report.to_dict() for name, report in reports.items()}
        return {name: report.figures()["fairness"] for name, report in reports.items()}

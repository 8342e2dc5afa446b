"""What a router serves: the experiment, from a file or the metadata store, and each variant's upstream.

Read once at start (``mlpy serve --experiment``, and ``mlpy serve --check`` to fail early), apart from
the A/B router that acts on it (router.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from mlpy.experiments import ExperimentConfig, StatsBackend, open_backend
from mlpy_server.errors import ServerConfigError
from mlpy_server.settings import ServerSettings, parse_upstreams


@dataclass(frozen=True)
class RouterPlan:
    name: str
    config: ExperimentConfig
    upstreams: dict[str, str]
    backend: StatsBackend
    #: When the experiment began: its record's start, or the router's for a file.
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: Where the variants' servers log predictions: a fairness guardrail reads it.
    predlog_store: str | None = None


def load_experiment(settings: ServerSettings) -> RouterPlan:
    """The experiment from a YAML/JSON file or from the metadata store, and each variant's upstream URL."""
    source = settings.experiment or ""
    path = Path(source)
    file_upstreams: dict[str, str] = {}
    record = None
    backend_url = settings.experiment_stats_url
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.is_file():
        try:
            document = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ServerConfigError(f"cannot read experiment file {source}: {exc}") from exc
        if not isinstance(document, dict):
            raise ServerConfigError(f"experiment file {source} must hold a mapping with name and spec")
        spec = document.get("spec", document)
        name = str(document.get("name") or (document.get("metadata") or {}).get("name") or path.stem)
        config = ExperimentConfig.from_dict(spec)
        for variant in spec.get("variants", []):
            url = variant.get("upstream") or variant.get("url")
            if url:
                file_upstreams.update(parse_upstreams([f"{variant['name']}={url}"]))
        backend = open_backend(backend_url)
    else:
        from mlpy.experiments import ExperimentRepository
        from mlpy.store import open_store

        store = open_store(settings.locations.store)
        record = ExperimentRepository(store).get(source)
        name, config = record.name, record.config
        backend = open_backend(backend_url or settings.locations.store)
    upstreams = {**file_upstreams, **settings.upstreams}
    missing = [v.name for v in config.variants if v.name not in upstreams]
    if missing:
        raise ServerConfigError(
            f"experiment {name!r}: no upstream URL for variant {missing[0]!r}",
            hint=f"pass --upstream {missing[0]}=http://HOST:PORT (or MLPY_ROUTER_UPSTREAMS)",
        )
    unknown = sorted(set(upstreams) - {v.name for v in config.variants})
    if unknown:
        raise ServerConfigError(f"upstream given for unknown variant {unknown[0]!r}")
    started_at = record.started_at if record is not None else datetime.now(UTC)
    predlog_store = settings.predlog_store_url or settings.locations.store
    return RouterPlan(name, config, upstreams, backend, started_at, predlog_store)

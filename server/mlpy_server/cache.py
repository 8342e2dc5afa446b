"""The models this server holds, swapped atomically so a reload never fails a request.

Readers take one reference to an immutable mapping; a reload builds and warms the new model fully, then
publishes a new mapping in one assignment. Requests already running finish on the model they started with.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from mlpy.errors import MlpyError
from mlpy.registry import InvalidInputError as RegistryInputError
from mlpy.registry import (
    ModelNotFoundError,
    ModelRegistry,
    VersionNotFoundError,
    load_verified,
    parse_model_id,
    sensitive_features,
)
from mlpy.registry import RegistryError as RegistryFailure
from mlpy_server.errors import InvalidInputError, ModelLoadError, ModelNotLoadedError
from mlpy_server.served import ServedModel
from mlpy_server.settings import UriModel


@dataclass(frozen=True)
class LoadOptions:
    trust_pickle: bool = False
    trusted_types: tuple[str, ...] = ()
    fast_predict: bool = True
    compiled: bool = False


class ModelLoader:
    """Builds a :class:`ServedModel` from a registry id or an artifact URI, hash verified either way."""

    def __init__(
        self,
        registry: Callable[[], ModelRegistry] | None,
        uri_models: Mapping[str, UriModel],
        options: LoadOptions,
    ) -> None:
        # A factory: the metadata store is only opened when a registry id is first loaded.
        self._registry = registry
        self.uri_models = dict(uri_models)
        self.options = options

    def load(self, model_id: str) -> ServedModel:
        if model_id not in self.uri_models:
            try:
                parse_model_id(model_id)
            except RegistryInputError as exc:
                raise InvalidInputError(f"model id {model_id!r}: {exc}", field="model") from exc
        try:
            if model_id in self.uri_models:
                return self._load_uri(self.uri_models[model_id])
            return self._load_registry(model_id)
        except (ModelNotFoundError, VersionNotFoundError) as exc:
            raise ModelNotLoadedError(str(exc), field="model") from exc
        except MlpyError as exc:
            if isinstance(exc, ModelLoadError | ModelNotLoadedError | InvalidInputError):
                raise
            raise ModelLoadError(f"cannot load {model_id}: {exc}") from exc
        except Exception as exc:  # an artifact that unpickles into garbage, a broken file system...
            raise ModelLoadError(f"cannot load {model_id}: {type(exc).__name__}: {exc}") from exc

    def _load_uri(self, spec: UriModel) -> ServedModel:
        model = load_verified(
            spec.uri,
            spec.sha256,
            spec.format,
            trust_pickle=self.options.trust_pickle,
            trusted_types=self.options.trusted_types,
        )
        return _warmed(
            ServedModel.build(
                name=spec.name,
                version=spec.version,
                model=model,
                source="uri",
                artifact_uri=spec.uri,
                sha256=spec.sha256,
                format=spec.format,
                signature=None,
                sensitive_features=spec.sensitive_features,
                fast=self.options.fast_predict,
                compile=self.options.compiled,
            )
        )

    def _load_registry(self, model_id: str) -> ServedModel:
        if self._registry is None:
            raise ModelNotLoadedError(f"model {model_id!r} is not loaded and this server has no registry")
        name, ref = parse_model_id(model_id)
        registry = self._registry()
        record = registry.get_version(name, str(ref))
        model = registry.load_version(
            record, trust_pickle=self.options.trust_pickle, trusted_types=self.options.trusted_types
        )
        return _warmed(
            ServedModel.build(
                name=record.name,
                version=str(record.version),
                model=model,
                source="registry",
                artifact_uri=record.artifact_uri,
                sha256=record.sha256,
                format=record.format,
                signature=record.signature,
                aliases=tuple(record.aliases),
                sensitive_features=sensitive_features(record.tags),
                fast=self.options.fast_predict,
                compile=self.options.compiled,
            )
        )


def _warmed(served: ServedModel) -> ServedModel:
    """Predict once before publishing: a model that cannot predict never replaces one that can."""
    if served.n_features and served.numeric:
        zeros = np.zeros((1, served.n_features))
        if served.frame:
            import pandas as pd

            zeros = pd.DataFrame(zeros, columns=list(served.feature_names))
        try:
            served.predict(zeros)
        except Exception as exc:
            raise ModelLoadError(
                f"{served.ref} loaded but failed a warm-up prediction: {type(exc).__name__}: {exc}",
                hint="check that the artifact is a fitted model",
            ) from exc
    return served


class ModelCache:
    """Served models by the id they were asked for (``name``, ``name:3``, ``name@staging``)."""

    def __init__(self) -> None:
        self._by_id: Mapping[str, ServedModel] = {}
        self._write = threading.Lock()

    def put(self, model_id: str, served: ServedModel) -> ServedModel | None:
        with self._write:
            previous = self._by_id.get(model_id)
            self._by_id = {**self._by_id, model_id: served}
        return previous

    def remove(self, model_id: str) -> ServedModel:
        with self._write:
            key = self._key(model_id, self._by_id)
            served = self._by_id[key]
            self._by_id = {k: v for k, v in self._by_id.items() if k != key}
        return served

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def items(self) -> Iterable[tuple[str, ServedModel]]:
        return sorted(self._by_id.items())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, model_id: str | None) -> ServedModel:
        """The model for a request; ``None`` means the only model this server holds."""
        models = self._by_id
        if model_id is None:
            if len(models) == 1:
                return next(iter(models.values()))
            if not models:
                raise ModelNotLoadedError("no model is loaded yet", hint="wait for /readyz or load one")
            raise InvalidInputError(
                f"field 'model' is required: this server serves {', '.join(sorted(models))}",
                field="model",
            )
        served = models.get(model_id)
        if served is not None:
            return served
        return models[self._key(model_id, models)]

    def get_version(self, name: str, version: str | None) -> ServedModel:
        """Open Inference Protocol lookup: by model name, optionally a version number."""
        models = self._by_id
        if version is None:
            served = models.get(name)
            if served is not None:
                return served
            matches = [m for m in models.values() if m.name == name]
            if matches:
                return max(matches, key=lambda m: _version_key(m.version))
        else:
            for served in models.values():
                if served.name == name and served.version == version:
                    return served
        label = name if version is None else f"{name} version {version}"
        raise ModelNotLoadedError(
            f"model {label} is not loaded",
            hint=f"loaded: {', '.join(sorted(models)) or 'none'}",
            field="model",
        )

    @staticmethod
    def _key(model_id: str, models: Mapping[str, ServedModel]) -> str:
        if model_id in models:
            return model_id
        try:
            name, ref = parse_model_id(model_id)
        except RegistryFailure as exc:
            raise InvalidInputError(f"field 'model': {exc}", field="model") from exc
        for key, served in models.items():
            if served.name != name:
                continue
            if ref.number is not None and str(ref.number) == served.version:
                return key
            if ref.alias is not None and ref.alias in served.aliases:
                return key
        raise ModelNotLoadedError(
            f"model {model_id} is not loaded",
            hint=f"loaded: {', '.join(sorted(models)) or 'none'}",
            field="model",
        )


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isascii() and version.isdigit() else (-1, version)

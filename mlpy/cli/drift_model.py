"""``--model`` for ``mlpy drift``: a registered version's feature importance and the model itself.

The importance weighs each column's drift; the model, run on the reference when profiling and on the
window when checking, makes its outputs one more column (``prediction``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mlpy.drift import ColumnSource
    from mlpy.registry import ModelRegistry, ModelVersion

MODEL_HELP = "A registered version (NAME:3, NAME@production, NAME for its production alias)."


@dataclass(frozen=True)
class RegisteredModel:
    registry: ModelRegistry
    version: ModelVersion

    @cached_property
    def model(self) -> Any:
        """The model object, loaded (and its SHA-256 verified) on first use."""
        return self.registry.load_version(self.version)


def registered(model_id: str, store: str | None) -> RegisteredModel:
    """The version ``model_id`` names, in the registry of ``store`` (MLPY_STORE, MLPY_HOME otherwise)."""
    from mlpy.registry import ModelRegistry, RegistryError, parse_model_id

    try:
        name, ref = parse_model_id(model_id)
    except RegistryError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model") from exc
    registry = ModelRegistry(store)
    version = registry.get_version(name, str(ref))
    return RegisteredModel(registry, version)


def predicted_source(reference: str, names: list[str] | None, model: Any) -> ColumnSource:
    """The reference with the model's outputs as its ``prediction`` column."""
    from mlpy.drift import PREDICTION, ColumnSource, read_table, with_predictions

    table = with_predictions(read_table(reference), model)
    columns = None if names is None else [*names, PREDICTION]
    return ColumnSource(table, columns, label=repr(reference))

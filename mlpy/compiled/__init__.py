"""Compiled inference: a model run by ONNX Runtime or treelite, used only once it agrees.

:func:`compile_model` converts a fitted scikit-learn model, first for ONNX Runtime (skl2onnx), else
for treelite (tree ensembles, behind a pipeline's preprocessing done in numpy), runs the result on
probe rows made from the model itself (its split thresholds and its encoders' categories) and on any
rows given, and returns a :class:`CompiledModel` only when labels are identical and every probability
or value is within :data:`TOLERANCE` of scikit-learn's. Otherwise it raises
:class:`CompileRefusedError` saying why, and the caller keeps scikit-learn. Needs the ``compiled``
extra (``pip install 'mlpy[compiled]'``).

The names load on first use (mlpy.faces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy.compiled.compiling import compile_model, conversion_tags, runtime_versions
    from mlpy.compiled.errors import CompiledError, CompileRefusedError
    from mlpy.compiled.model import CompiledModel
    from mlpy.compiled.probes import TOLERANCE

__all__ = [
    "TOLERANCE",
    "CompileRefusedError",
    "CompiledError",
    "CompiledModel",
    "compile_model",
    "conversion_tags",
    "runtime_versions",
]

_HOMES = {
    "TOLERANCE": "mlpy.compiled.probes",
    "CompileRefusedError": "mlpy.compiled.errors",
    "CompiledError": "mlpy.compiled.errors",
    "CompiledModel": "mlpy.compiled.model",
    "compile_model": "mlpy.compiled.compiling",
    "conversion_tags": "mlpy.compiled.compiling",
    "runtime_versions": "mlpy.compiled.compiling",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)

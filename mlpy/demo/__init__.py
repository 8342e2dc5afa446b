"""``mlpy demo``: the whole product on embedded defaults, on generated data, with no network.

The names load on first use (mlpy.faces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy.demo.data import TARGET, credit_data
    from mlpy.demo.runner import run_demo
    from mlpy.demo.training import train_all

__all__ = [
    "TARGET",
    "credit_data",
    "run_demo",
    "train_all",
]

_HOMES = {
    "TARGET": "mlpy.demo.data",
    "credit_data": "mlpy.demo.data",
    "run_demo": "mlpy.demo.runner",
    "train_all": "mlpy.demo.training",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)

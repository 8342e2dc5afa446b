"""``python -m mlpy_operator``: run the operator (all namespaces, or MLPY_OPERATOR_NAMESPACES)."""

from __future__ import annotations

import kopf

import mlpy_operator.handlers  # noqa: F401 - registers the handlers
from mlpy_operator.runtime import config


def main() -> None:
    # kopf.run() sets up no logging of its own (the `kopf run` command does): without this the
    # operator's log stays empty, failures included.
    kopf.configure(verbose=False, log_format=kopf.LogFormat.PLAIN, log_prefix=True)
    namespaces = list(config().namespaces)
    kopf.run(standalone=True, clusterwide=not namespaces, namespaces=namespaces)


if __name__ == "__main__":
    main()

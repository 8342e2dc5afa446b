"""``python -m mlpy_operator``: run the operator (all namespaces, or MLPY_OPERATOR_NAMESPACES)."""

from __future__ import annotations

import sys

import kopf

from mlpy_operator.errors import OperatorError
from mlpy_operator.runtime import config


def main() -> int:
    # The settings are read before the handlers are registered (a timer's interval is one of them):
    # a malformed variable ends the process with one line naming it, not a traceback.
    try:
        namespaces = list(config().namespaces)
    except OperatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import mlpy_operator.handlers  # noqa: F401 - registers the handlers

    # kopf.run() sets up no logging of its own (the `kopf run` command does): without this the
    # operator's log stays empty, failures included.
    kopf.configure(verbose=False, log_format=kopf.LogFormat.PLAIN, log_prefix=True)
    kopf.run(standalone=True, clusterwide=not namespaces, namespaces=namespaces)
    return 0


if __name__ == "__main__":
    sys.exit(main())

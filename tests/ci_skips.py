"""Under CI (``CI=true``) a skipped test fails the run, and so does an xfail.

CI provides every service, binary and image, so a test skipped there is a gap in the setup, not a
choice: the suite runs with 0 skips. Each skip site already fails under CI on its own; this catches
the ones that do not (a new ``pytest.skip``, a ``skipif``, an empty parametrization). The hooks are
in a module of their own so a test can load them into a pytest run of its own (``-p tests.ci_skips``).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
#: The terminal reporter's outcome lists that count as "not run as written".
NOT_RUN = ("skipped", "xfailed", "xpassed")


def _not_run(config: pytest.Config) -> list[Any]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    stats: dict[str, list[Any]] = getattr(reporter, "stats", {})
    return [report for outcome in NOT_RUN for report in stats.get(outcome, [])]


def _reason(report: Any) -> str:
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail or 'no reason given'}"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _not_run(session.config) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    reports = _not_run(config) if IN_CI else []
    if not reports:
        return
    terminalreporter.write_sep(
        "=", f"{len(reports)} not run under CI=true, which fails the run (CI must provide what each needs)"
    )
    for report in reports:
        terminalreporter.write_line(f"{report.nodeid or report.fspath}: {_reason(report)}")

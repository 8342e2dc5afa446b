"""How ``mlpy drift check`` reads to a person: a table of columns, then the verdict in one line.

The same rows serve the terminal (a Rich table) and ``--out FILE`` (tab-separated text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from mlpy.cli.output import print_table

if TYPE_CHECKING:
    from mlpy.drift import DriftReport


def _rows(report: DriftReport) -> list[list[str]]:
    rows = []
    order = report.ranking if report.importance is not None else list(report.features)
    for feature in (report.features[name] for name in order):
        nulls = feature.null_share
        rows.append(
            [
                feature.name,
                feature.kind,
                feature.method + (" (shape)" if feature.shape is not None and feature.shape.drifted else ""),
                _fmt(feature.statistic),
                _fmt(feature.p_value),
                f"{feature.threshold:g}",
                f"{_pct(nulls.reference)} -> {_pct(nulls.current)}",
                "DRIFT" if feature.drifted else "ok",
            ]
        )
    return rows


HEADERS = ["column", "kind", "method", "statistic", "p-value", "threshold", "null share", "drift"]


def _verdict(report: DriftReport) -> str:
    state = "DATASET DRIFT" if report.dataset_drift else "no dataset drift"
    verdict = (
        f"{state}: {len(report.drifted_features)} of {len(report.features)} columns drifted "
        f"(share {report.drift_share:.2f}, threshold {report.drift_share_threshold:g})"
    )
    weighted = report.importance_weighted_drift
    if weighted is not None:
        verdict += f"\nimportance-weighted drift {weighted:.3f}; most: {', '.join(report.ranking[:3])}"
    return verdict


def print_text(report: DriftReport) -> None:
    print_table(None, HEADERS, _rows(report))
    typer.echo(_verdict(report))


def plain_text(report: DriftReport) -> str:
    lines = ["\t".join(HEADERS), *("\t".join(row) for row in _rows(report)), _verdict(report)]
    return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"

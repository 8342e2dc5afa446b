"""A self-contained HTML drift report: inline CSS and one small inline SVG chart per column, no scripts.

Each chart is two SVG paths (reference bars, current outline) rather than an element per bar, which
keeps a 100-column report to a few hundred kilobytes.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlpy.drift.report import Chart, DriftReport, FeatureDrift

WIDTH, HEIGHT, AXIS = 300, 110, 16
LABEL_CHARS = 10

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 8px}.verdict{padding:2px 8px;border-radius:4px;color:#fff}
.bad{background:#c62828}.good{background:#2e7d32}.muted{color:#666}
table{border-collapse:collapse;margin:16px 0;background:#fff}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #ddd;border-left:4px solid #2e7d32;padding:8px;width:310px}
.card.drift{border-left-color:#c62828}.card h3{margin:0;font-size:14px;overflow-wrap:anywhere}
.card p{margin:2px 0 6px;font-size:12px}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px}
svg text{font-size:9px;fill:#555;text-anchor:middle}
"""


def render_html(report: DriftReport, title: str = "Data drift report") -> str:
    verdict = (
        '<span class="verdict bad">dataset drift</span>'
        if report.dataset_drift
        else '<span class="verdict good">no dataset drift</span>'
    )
    drifted = len(report.drifted_features)
    summary = (
        f"<p>{verdict} {drifted} of {len(report.features)} columns drifted "
        f"(share {report.drift_share:.2f}, threshold {report.drift_share_threshold:.2f}"
        f"{', correction ' + _e(report.correction) if report.correction else ''}).</p>"
        f'<p class="muted">reference: {report.reference_rows:,} rows {_e(report.reference_source or "")}'
        f" &middot; current: {report.current_rows:,} rows {_e(report.current_source or '')}"
        f" &middot; {report.created_at:%Y-%m-%d %H:%M:%S} UTC</p>"
        '<p class="legend"><span style="background:#b0bec5"></span>reference'
        '<span style="background:#1565c0"></span>current</p>'
    )
    rows = "".join(_row(feature) for feature in report.features.values())
    table = (
        "<table><tr><th>column</th><th>kind</th><th>method</th><th>statistic</th><th>p-value</th>"
        f"<th>threshold</th><th>null share ref &rarr; cur</th><th>drift</th></tr>{rows}</table>"
    )
    cards = "".join(_card(feature) for feature in report.features.values())
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>{summary}{table}"
        f'<div class="grid">{cards}</div></body></html>'
    )


def _row(feature: FeatureDrift) -> str:
    nulls = feature.null_share
    return (
        f"<tr><td>{_e(feature.name)}</td><td>{feature.kind}</td><td>{feature.method}</td>"
        f"<td>{_fmt(feature.statistic)}</td><td>{_p(feature.p_value)}</td><td>{feature.threshold:g}</td>"
        f"<td>{_pct(nulls.reference)} &rarr; {_pct(nulls.current)}</td>"
        f"<td>{'<b>yes</b>' if feature.drifted else 'no'}</td></tr>"
    )


def _card(feature: FeatureDrift) -> str:
    cls = "card drift" if feature.drifted else "card"
    detail = f"{feature.method} = {_fmt(feature.statistic)}"
    if feature.p_value is not None:
        detail += f", p = {_p(feature.p_value)} (alpha {feature.threshold:g}),"
        detail += f" effect {_fmt(feature.effect_size)} (min {feature.min_effect:g})"
    else:
        detail += f", threshold {feature.threshold:g}"
    nulls = feature.null_share
    if nulls.drifted:
        detail += f"<br>null share {_pct(nulls.reference)} &rarr; {_pct(nulls.current)} (drift)"
    if feature.unseen_share:
        detail += f"<br>unseen in reference: {_pct(feature.unseen_share)} of rows"
    note = f"<br>{_e(feature.note)}" if feature.note else ""
    chart = _svg(feature.chart) if feature.chart is not None else ""
    return f'<div class="{cls}"><h3>{_e(feature.name)}</h3><p>{detail}{note}</p>{chart}</div>'


def _svg(chart: Chart) -> str:
    """Reference as filled bars, current as an outline over them, both as shares of their side."""
    buckets = len(chart.labels)
    ref_total = max(sum(chart.reference), 1)
    cur_total = max(sum(chart.current), 1)
    ref = [count / ref_total for count in chart.reference]
    cur = [count / cur_total for count in chart.current]
    top = max([*ref, *cur, 1e-12])
    plot_height = HEIGHT - AXIS
    step = WIDTH / max(buckets, 1)

    def y(share: float) -> float:
        return plot_height - share / top * (plot_height - 4)

    bars = "".join(
        f"M{i * step + 1:.1f} {plot_height}V{y(share):.1f}h{step - 2:.1f}V{plot_height}z"
        for i, share in enumerate(ref)
        if share > 0
    )
    outline = (
        f"M0 {plot_height}"
        + "".join(f"V{y(share):.1f}H{(i + 1) * step:.1f}" for i, share in enumerate(cur))
        + f"V{plot_height}"
    )
    labels = "".join(
        f'<text x="{i * step + step / 2:.1f}" y="{HEIGHT - 4}">{_e(_short(label))}</text>'
        for i, label in enumerate(chart.labels)
        if buckets <= 13 or i % max(buckets // 4, 1) == 1
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img"><path d="{bars}" fill="#b0bec5"/>'
        f'<path d="{outline}" fill="none" stroke="#1565c0" stroke-width="1.5"/>{labels}</svg>'
    )


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "\u2026"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _p(value: float | None) -> str:
    """A p-value that underflowed to 0 is below double precision, not zero."""
    return "<1e-300" if value == 0 else _fmt(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)

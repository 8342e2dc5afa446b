"""A self-contained HTML drift report: inline CSS and one small inline SVG chart per column, no scripts.

Static on purpose: it is read as a CI artifact or an e-mail attachment, where scripts do not run and
nothing may be fetched. Each chart is four SVG paths (grid, reference bars, current outline, axes) and
its labels rather than an element per bar, which keeps a 100-column report to a few hundred kilobytes.
"""

from __future__ import annotations

import html
import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlpy.drift.report import Chart, DriftReport, FeatureDrift

# The plot spans x LEFT..RIGHT and y TOP..BASE; the y axis labels sit left of LEFT, the x axis below BASE.
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BASE = 300, 114, 34, 296, 8, 98
# The advance of a digit in the charts' 9px sans-serif text (DejaVu Sans, among the widest): labels are
# kept apart and inside the chart with it. WIDE characters take 1.6 of it, capitals 1.15, NARROW ones 0.5.
CHAR, WIDE, NARROW = 5.8, frozenset("%@MWmw"), frozenset(".,:;!|'()[]ijlIft ")
P_FLOOR = 0.001
Label = tuple[float, float, str, str]  # x, y, text, text-anchor of a chart label
SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
SUPERSCRIPT = str.maketrans(
    "-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 8px}.verdict{padding:2px 8px;border-radius:4px;color:#fff}
.bad{background:#c62828}.good{background:#2e7d32}.muted{color:#666}
table{border-collapse:collapse;margin:16px 0;background:#fff}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;font-variant-numeric:tabular-nums}
td.n{text-align:right}tr.drift td:first-child{font-weight:600;border-left:3px solid #c62828}
.grid{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #ddd;border-left:4px solid #2e7d32;padding:8px;width:310px}
.card.drift{border-left-color:#c62828}.card h3{margin:0;font-size:14px;overflow-wrap:anywhere}
.card p{margin:2px 0 6px;font-size:12px}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px}
.card .axis{margin:0;font-size:11px}
.key{margin:2px 0 0;padding-left:22px;font-size:11px;overflow-wrap:anywhere}
svg text{font-size:9px;fill:#555}
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
        f"{_weighted(report)}"
        f'<p class="muted">reference: {report.reference_rows:,} rows {_e(report.reference_source or "")}'
        f" &middot; current: {report.current_rows:,} rows {_e(report.current_source or '')}"
        f" &middot; {report.created_at:%Y-%m-%d %H:%M:%S} UTC</p>"
        '<p class="legend"><span style="background:#b0bec5"></span>reference'
        '<span style="background:#1565c0"></span>current, as shares of each side\'s rows</p>'
        f'<p class="muted">Drifted columns first, then the rest, each {_order_note(report)}.</p>'
    )
    features = _ordered(report)
    rows = "".join(_row(feature) for feature in features)
    table = (
        "<table><tr><th>column</th><th>kind</th><th>method</th><th>statistic</th><th>p-value</th>"
        f"<th>threshold</th><th>null share ref &rarr; cur</th><th>drift</th></tr>{rows}</table>"
    )
    cards = "".join(_card(feature) for feature in features)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>{summary}{table}"
        f'<div class="grid">{cards}</div></body></html>'
    )


def _ordered(report: DriftReport) -> list[FeatureDrift]:
    """Drifted columns first, then the rest; each group by name (case-insensitively), or by ranking
    when the check had the model's feature importance (what matters most first).

    By name without importance: a name order lets a reader find a column in a long report.
    """
    if report.importance is not None:
        rank = {name: index for index, name in enumerate(report.ranking)}
        return sorted(report.features.values(), key=lambda f: (not f.drifted, rank[f.name]))
    return sorted(report.features.values(), key=lambda f: (not f.drifted, f.name.casefold(), f.name))


def _order_note(report: DriftReport) -> str:
    return "by name" if report.importance is None else "by importance-weighted drift"


def _weighted(report: DriftReport) -> str:
    weighted = report.importance_weighted_drift
    if weighted is None:
        return ""
    top = ", ".join(_e(name) for name in report.ranking[:3])
    return f"<p>Importance-weighted drift {_number(weighted)} (0 to 1); mattering most: {top}.</p>"


def _row(feature: FeatureDrift) -> str:
    nulls = feature.null_share
    p = feature.p_value
    exact = f' title="p = {_power(p, 3)}"' if p is not None and 0 < p < P_FLOOR else ""
    cls = ' class="drift"' if feature.drifted else ""
    return (
        f"<tr{cls}><td>{_e(feature.name)}</td><td>{feature.kind}</td>"
        f'<td>{feature.method}</td><td class="n">{_number(feature.statistic)}</td>'
        f'<td class="n"{exact}>{_p(p, feature.threshold)}</td><td class="n">{_number(feature.threshold)}</td>'
        f"<td>{_pct(nulls.reference)} &rarr; {_pct(nulls.current)}</td>"
        f"<td>{'<b>yes</b>' if feature.drifted else 'no'}</td></tr>"
    )


def _card(feature: FeatureDrift) -> str:
    cls = "card drift" if feature.drifted else "card"
    detail = f"{feature.method} = {_number(feature.statistic)}"
    if feature.p_value is not None:
        p = _p(feature.p_value, feature.threshold)
        detail += f", p {p if p.startswith('&lt;') else '= ' + p} (alpha {_number(feature.threshold)}),"
        detail += f" effect {_number(feature.effect_size)} (min {_number(feature.min_effect)})"
    else:
        detail += f", threshold {_number(feature.threshold)}"
    shape = feature.shape
    if shape is not None:
        p = _p(shape.p_value, shape.threshold)
        detail += (
            f"<br>shape (Anderson-Darling, standardised): effect {_number(shape.effect_size)}"
            f" (min {_number(shape.min_effect)}), p {p if p.startswith('&lt;') else '= ' + p}"
            f"{' (drift)' if shape.drifted else ''}"
        )
    nulls = feature.null_share
    if nulls.drifted:
        detail += f"<br>null share {_pct(nulls.reference)} &rarr; {_pct(nulls.current)} (drift)"
    if feature.unseen_share:
        detail += f"<br>unseen in reference: {_pct(feature.unseen_share)} of rows"
    note = f"<br>{_e(feature.note)}" if feature.note else ""
    chart = _chart(feature.chart) if feature.chart is not None else ""
    return f'<div class="{cls}"><h3>{_e(feature.name)}</h3><p>{detail}{note}</p>{chart}</div>'


def _chart(chart: Chart) -> str:
    """Reference as filled bars, current as an outline over them, both as shares of their side.

    A numeric histogram gets a value axis; other buckets are labelled under their bars when every
    label fits there, else numbered, with the full labels listed under the chart.
    """
    edges = list(chart.edges or [])
    labels = chart.labels if chart.edges is None else _edge_buckets(edges)
    buckets = max(len(chart.reference), 1)
    ref, cur = _shares(chart.reference), _shares(chart.current)
    axis_top, ticks = _share_ticks(max([*ref, *cur, 0.0]))
    step = (RIGHT - LEFT) / buckets

    def y(share: float) -> float:
        return BASE - share / axis_top * (BASE - TOP)

    bars = "".join(
        f"M{LEFT + i * step + 1:.1f} {BASE}V{y(share):.1f}h{step - 2:.1f}V{BASE}z"
        for i, share in enumerate(ref)
        if share > 0
    )
    outline = (
        f"M{LEFT} {BASE}"
        + "".join(f"V{y(share):.1f}H{LEFT + (i + 1) * step:.1f}" for i, share in enumerate(cur))
        + f"V{BASE}"
    )
    grid = "".join(f"M{LEFT} {y(tick):.1f}H{RIGHT}" for tick in ticks[1:])
    texts: list[Label] = [(LEFT - 3, y(tick) + 3, _tick_percent(tick), "end") for tick in ticks]
    below = ""
    if len(edges) >= 2:
        texts += _value_ticks(edges, step)
        below = (
            f'<p class="axis muted">outer bars: &lt; {_number(edges[0])} and &ge; {_number(edges[-1])}</p>'
        )
    elif all(_width(label) <= step - 2 for label in labels):
        texts += [(LEFT + (i + 0.5) * step, BASE + 12, label, "middle") for i, label in enumerate(labels)]
    else:
        every = math.ceil((_width(str(len(labels))) + 2) / step)
        texts += [
            (LEFT + (i + 0.5) * step, BASE + 12, str(i + 1), "middle")
            for i in range(len(labels))
            if i % every == 0
        ]
        items = "".join(
            f'<li>{_e(label)} <span class="muted">{_pct(r)} &rarr; {_pct(c)}</span></li>'
            for label, r, c in zip(labels, ref, cur, strict=False)
        )
        below = f'<ol class="key">{items}</ol>'
    return (
        f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-label="share of rows per bucket: reference bars, current outline">'
        f'<path d="{grid}" stroke="#eee"/><path d="{bars}" fill="#b0bec5"/>'
        f'<path d="{outline}" fill="none" stroke="#1565c0" stroke-width="1.5"/>'
        f'<path d="M{LEFT} {TOP}V{BASE}H{RIGHT}" fill="none" stroke="#999"/>'
        f"{''.join(_text(*text) for text in texts)}</svg>{below}"
    )


def _shares(counts: Sequence[int]) -> list[float]:
    total = max(sum(counts), 1)
    return [count / total for count in counts]


def _edge_buckets(edges: Sequence[float]) -> list[str]:
    """Names for the buckets of fewer than two edges (no data, or one value), where no axis is drawn."""
    if not edges:
        return ["all"]
    return [f"< {_number(edges[0])}"] + [f"\u2265 {_number(edge)}" for edge in edges]


def _share_ticks(top: float) -> tuple[float, list[float]]:
    """0 to the top share in at most 5 steps of 1, 2, 2.5 or 5 x 10^k: (axis top, ticks)."""
    top = top if top > 0 else 1.0
    exponent = math.floor(math.log10(top)) - 1
    while True:
        for mantissa in (1, 2, 2.5, 5):
            tick = mantissa * 10.0**exponent
            intervals = math.ceil(top / tick - 1e-9)
            if intervals <= 5:
                return intervals * tick, [i * tick for i in range(intervals + 1)]
        exponent += 1


def _tick_percent(share: float) -> str:
    """A percentage with only the decimals it needs: 25%, 2.5%."""
    return _trim(f"{share * 100:.2f}") + "%"


def _value_ticks(edges: Sequence[float], step: float) -> list[Label]:
    """Round values over the inner edges, placed by interpolating between the (equal-width) buckets."""
    low, high = edges[0], edges[-1]
    if not (high > low and math.isfinite(high - low)):
        return []
    exponent = math.floor(math.log10(high - low)) - 1
    tick = 0.0
    while not tick:
        for mantissa in (1, 2, 5):
            candidate = mantissa * 10.0**exponent
            if math.floor(high / candidate) - math.ceil(low / candidate) <= 4:
                tick = candidate
                break
        exponent += 1
    values = [k * tick for k in range(math.ceil(low / tick), math.floor(high / tick) + 1)]
    labels = _tick_labels(values, tick)

    def x(value: float) -> float:
        j = min(max(bisect_right(edges, value) - 1, 0), len(edges) - 2)
        width = edges[j + 1] - edges[j]
        return LEFT + step * (1 + j + ((value - edges[j]) / width if width else 0.0))

    placed = [(x(value), label) for value, label in zip(values, labels, strict=True)]
    # Thin the ticks until neighbouring labels have room (a few long labels on a narrow chart).
    keep = 1
    while any(b[0] - a[0] < (_width(a[1]) + _width(b[1])) / 2 + 4 for a, b in pairwise(placed[::keep])):
        keep += 1
    return [(px, BASE + 12, label, "middle") for px, label in placed[::keep]]


def _tick_labels(values: Sequence[float], tick: float) -> list[str]:
    """Axis values in one unit and with the decimals the tick step needs: 50k 100k 150k, 0.25 0.50 0.75.

    The unit (k, M, G or T, once values reach 10,000) is the largest the step holds whole: 200G, not 0.2T.
    """
    largest = max((abs(value) for value in values), default=0.0)
    if largest >= 1e15 or tick < 1e-6:
        return [_power(value, 2) if value else "0" for value in values]
    scale, suffix = 1.0, ""
    if largest >= 1e4:
        scale, suffix = next(((s, x) for s, x in SUFFIXES if tick >= s), (1.0, ""))
    unit = tick / scale
    decimals = next(d for d in range(13) if d == 12 or abs(round(unit, d) - unit) <= 1e-9 * unit)
    return [f"{value / scale:,.{decimals}f}{suffix}" if value else "0" for value in values]


def _width(text: str) -> float:
    return CHAR * sum(
        1.6 if char in WIDE else 0.5 if char in NARROW else 1.15 if char.isupper() else 1.0 for char in text
    )


def _text(x: float, y: float, text: str, anchor: str) -> str:
    """A chart label, moved to start at 0 or end at WIDTH where it would be cut off as anchored.

    The anchor is an attribute on every label: a style sheet rule would override it.
    """
    width = _width(text)
    left = x - width * {"start": 0.0, "middle": 0.5, "end": 1.0}[anchor]
    if left < 0:
        x, anchor = 0.0, "start"
    elif left + width > WIDTH:
        x, anchor = float(WIDTH), "end"
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{_e(text)}</text>'


def _number(value: float | None, digits: int = 4) -> str:
    """About ``digits`` significant digits, positional, with thousands separators: 1,234, 0.03125, 3.457M.

    A power of ten (a mantissa, a times sign, 10 and a superscript exponent) only where positional digits
    would run long: below 0.00001 and from 10^15.
    """
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "n/a" if math.isnan(value) else ("\u221e" if value > 0 else "-\u221e")
    size = abs(float(f"{value:.{digits}g}"))
    if size == 0:
        return "0"
    if size < 1e-5 or size >= 1e15:
        return _power(value, digits)
    if size >= 1e6:
        scale, suffix = next((s, x) for s, x in SUFFIXES if size >= s)
        mantissa = value / scale
        return _trim(f"{mantissa:.{max(digits - len(str(int(abs(mantissa)))), 0)}f}") + suffix
    decimals = max(digits - 1 - math.floor(math.log10(size)), 0)
    return _trim(f"{value:,.{decimals}f}")


def _power(value: float, digits: int) -> str:
    mantissa, exponent = f"{value:.{max(digits - 1, 0)}e}".split("e")
    return f"{_trim(mantissa)}\u00d710{str(int(exponent)).translate(SUPERSCRIPT)}"


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _p(value: float | None, alpha: float) -> str:
    """Three decimals, or "< 0.001" (as HTML) below that unless alpha is smaller, where the digits decide.

    A p-value that underflowed to 0 is below double precision, not zero.
    """
    if value is None:
        return "-"
    if not value < P_FLOOR:
        return f"{value:.3f}"
    if alpha >= P_FLOOR:
        return "&lt; 0.001"
    return "&lt; 10\u207b\u00b3\u2070\u2070" if value == 0 else _power(value, 2)


def _pct(value: float | None) -> str:
    """A share as a percentage (HTML), never rounded to 0% or 100% when it is not."""
    if value is None:
        return "-"
    if 0 < value < 0.001:
        return "&lt; 0.1%"
    if 0.999 < value < 1:
        return "&gt; 99.9%"
    return f"{value:.1%}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)

"""The HTML report is self-contained, small, readable, and has one chart per column."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from mlpy.drift import check
from mlpy.drift.html import _number, _p, _pct, _text, _tick_labels
from mlpy.drift.report import Chart, DriftReport, FeatureDrift

LONG_LABEL = "Premium subscription (annual, billed monthly) & <extras>"
SCIENTIFIC = re.compile(r"\d[eE][-+]?\d")


@dataclass
class _Svg:
    width: float
    height: float
    texts: list[tuple[float, float, str, str]] = field(default_factory=list)  # x, y, anchor, text


class _Page(HTMLParser):
    """Tags, URLs, visible text, the table's first column, the cards' titles and each chart's labels."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.sources: list[str] = []
        self.text: list[str] = []
        self.rows: list[str] = []
        self.cards: list[str] = []
        self.svgs: list[_Svg] = []
        self._open: list[str] = []
        self._cells = 0
        self._label: list[str] | None = None
        self._attrs: dict[str, str] = {}
        # The anchor a <text> without its own attribute gets: from the style sheet, else SVG's default.
        self.default_anchor = "start"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.sources += [value for key, value in values.items() if key in {"src", "href"}]
        self._open.append(tag)
        if tag == "tr":
            self._cells = 0
        elif tag == "td":
            self._cells += 1
        elif tag == "svg":
            _, _, width, height = (float(part) for part in values["viewbox"].split())
            self.svgs.append(_Svg(width, height))
        elif tag == "text":
            self._label, self._attrs = [], values

    def handle_endtag(self, tag: str) -> None:
        if tag == "text" and self._label is not None:
            anchor = self._attrs.get("text-anchor", self.default_anchor)
            x, y = float(self._attrs["x"]), float(self._attrs["y"])
            self.svgs[-1].texts.append((x, y, anchor, "".join(self._label)))
            self._label = None
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        where = self._open[-1] if self._open else ""
        if where == "style":
            if "text-anchor:middle" in data:
                self.default_anchor = "middle"
            return
        self.text.append(data)
        if self._label is not None:
            self._label.append(data)
        if where == "td" and self._cells == 1:
            self.rows.append(data)
        elif where == "h3":
            self.cards.append(data)


def _parse(text: str) -> _Page:
    parser = _Page()
    parser.feed(text)
    parser.close()
    return parser


def _feature(name: str, drifted: bool, p: float | None = 0.5, statistic: float = 0.1) -> FeatureDrift:
    return FeatureDrift(
        name=name,
        kind="numeric",
        method="ks",
        statistic=statistic,
        p_value=p,
        threshold=0.05,
        drifted=drifted,
        chart=Chart(["a", "b"], [3, 1], [1, 3]),
    )


@pytest.fixture
def awkward_report() -> DriftReport:
    """Large, tiny, negative and discrete numbers, a long label and many categories, most of them drifted."""
    rng = np.random.default_rng(7)
    n = 2_000

    def frame(shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "income": rng.lognormal(11 + shift, 1, n),
                "tiny": rng.normal(shift * 1e-5, 2e-5, n),
                "step": rng.choice([0.00001, 0.00002, 0.00005], n, p=[0.5 - shift / 4, 0.3, 0.2 + shift / 4]),
                "count": rng.integers(0, 10_000_000, n) * (1 + shift),
                "plan": rng.choice(
                    [LONG_LABEL, "basic", "trial"], n, p=[0.2 + shift / 4, 0.5, 0.3 - shift / 4]
                ),
                "shop": rng.choice([f"shop-{k}" for k in range(40)], n),
            }
        )

    return check(frame(0.0), frame(0.6))


def test_report_has_one_svg_per_column_and_no_external_resources(
    reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame
) -> None:
    page = check(reference_frame, drifted_frame).to_html()
    parsed = _parse(page)
    assert parsed.tags["svg"] == len(reference_frame.columns)
    assert "script" not in parsed.tags
    assert parsed.sources == []
    assert "http://" not in page  # not even the SVG namespace: there is nothing to fetch
    assert "https://" not in page
    assert page.startswith("<!doctype html>")
    assert "dataset drift" in page


def test_hundred_columns_stay_a_few_hundred_kilobytes() -> None:
    rng = np.random.default_rng(1)
    n = 2_000
    numeric = {f"num_{i}": rng.normal(size=n) for i in range(80)}
    categorical = {f"cat_{i}": rng.choice([f"value-{k}" for k in range(40)], n) for i in range(20)}
    reference = pd.DataFrame(numeric | categorical)
    current = reference.sample(frac=1.0, random_state=2).reset_index(drop=True) * 1  # same data, reordered
    page = check(reference, current).to_html()
    assert _parse(page).tags["svg"] == 100
    assert len(page.encode()) < 500_000


def test_column_names_and_labels_are_escaped() -> None:
    reference = pd.DataFrame({"<b>x</b>": ["<script>", "a&b"] * 20})
    page = check(reference, reference).to_html()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_drifted_columns_come_first_then_the_rest_each_by_name() -> None:
    features = [_feature("b_same", False), _feature("Zeta", True), _feature("c_same", False)]
    features.append(_feature("alpha", True))
    report = DriftReport({f.name: f for f in features}, 0.5, None, 4, 4)
    parsed = _parse(report.to_html())
    expected = ["alpha", "Zeta", "b_same", "c_same"]
    assert parsed.rows == expected
    assert parsed.cards == expected


def test_ordinary_values_read_without_scientific_notation(awkward_report: DriftReport) -> None:
    assert min(f.p_value or 1.0 for f in awkward_report.features.values()) < 1e-12
    text = " ".join(_parse(awkward_report.to_html()).text)
    assert SCIENTIFIC.findall(text) == []
    assert "< 0.001" in text
    assert "0.00001" in text  # the discrete column's values, as written
    assert re.search(r"\d+k\b", text)  # the income axis, in thousands


def test_a_p_value_that_underflowed_and_a_huge_statistic_read_plainly() -> None:
    features = [_feature("x", True, p=0.0, statistic=12_345_678.0), _feature("y", False, p=0.03125)]
    text = " ".join(_parse(DriftReport({f.name: f for f in features}, 0.5, None, 4, 4).to_html()).text)
    assert SCIENTIFIC.findall(text) == []
    assert "12.35M" in text
    assert "< 0.001" in text
    assert "0.031" in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "-"),
        (0.0, "0"),
        (0.2135, "0.2135"),
        (0.03125, "0.03125"),
        (999.2, "999.2"),
        (12_345.6, "12,346"),
        (3_400_000.0, "3.4M"),
        (999_999_999.0, "1G"),
        (-0.00002361, "-0.00002361"),
        (2.5e-7, "2.5\u00d710\u207b\u2077"),
        (float("inf"), "\u221e"),
    ],
)
def test_numbers_are_formatted_for_people(value: float | None, expected: str) -> None:
    assert _number(value) == expected


@pytest.mark.parametrize(
    ("value", "alpha", "expected"),
    [
        (0.4338, 0.05, "0.434"),
        (0.0312, 0.05, "0.031"),
        (1e-12, 0.05, "&lt; 0.001"),
        (0.0, 0.05, "&lt; 0.001"),
        (2e-6, 1e-4, "2\u00d710\u207b\u2076"),  # a smaller alpha: the digits decide, so they show
        (None, 0.05, "-"),
    ],
)
def test_p_values_are_formatted_against_their_alpha(value: float | None, alpha: float, expected: str) -> None:
    assert _p(value, alpha) == expected


def test_axis_values_share_one_unit_the_step_holds_whole() -> None:
    assert _tick_labels([2e11, 4e11, 1e12], 2e11) == ["200G", "400G", "1,000G"]
    assert _tick_labels([0.0, 50_000.0, 100_000.0], 50_000) == ["0", "50k", "100k"]
    assert _tick_labels([9_000.0, 9_500.0, 10_000.0], 500) == ["9,000", "9,500", "10,000"]
    assert _tick_labels([-2e-5, 0.0, 2e-5], 1e-5) == ["-0.00002", "0", "0.00002"]
    assert _tick_labels([0.25, 0.5], 0.25) == ["0.25", "0.50"]


def test_shares_never_round_to_none_or_all() -> None:
    assert [_pct(0.0), _pct(0.0004), _pct(0.25), _pct(0.9996), _pct(1.0)] == [
        "0.0%",
        "&lt; 0.1%",
        "25.0%",
        "&gt; 99.9%",
        "100.0%",
    ]


def test_every_chart_has_a_labelled_share_axis(awkward_report: DriftReport) -> None:
    parsed = _parse(awkward_report.to_html())
    assert len(parsed.svgs) == len(parsed.cards) == len(awkward_report.features)
    for name, svg in zip(parsed.cards, parsed.svgs, strict=True):
        ticks = sorted(((y, text) for _, y, _, text in svg.texts if text.endswith("%")), reverse=True)
        shares = [float(text.rstrip("%")) for _, text in ticks]  # bottom to top
        assert len(shares) >= 3, name
        assert shares[0] == 0
        assert shares == sorted(set(shares)), name
        chart = awkward_report.features[name].chart
        assert chart is not None
        top = max(max(chart.reference) / sum(chart.reference), max(chart.current) / sum(chart.current))
        assert shares[-1] >= 100 * top, name


def test_long_category_labels_appear_whole(awkward_report: DriftReport) -> None:
    page = awkward_report.to_html()
    card = page[page.index("<h3>plan</h3>") :].split("</div>")[0]
    assert "Premium subscription (annual, billed monthly) &amp; &lt;extras&gt;" in card
    assert LONG_LABEL in " ".join(_parse(page).text)
    short = _parse(
        check(pd.DataFrame({"c": ["a", "b", "c"] * 20}), pd.DataFrame({"c": ["a", "b"] * 30})).to_html()
    )
    assert {"a", "b", "c"} <= {text for *_, text in short.svgs[0].texts}  # short labels sit under their bars


def test_chart_labels_stay_inside_the_chart_and_apart(awkward_report: DriftReport) -> None:
    # A 9px DejaVu Sans (Debian's sans-serif, one of the widest): digits 0.636em, '%' 0.95em, '.' 0.318em.
    def width(text: str) -> float:
        return 9 * sum(0.95 if char == "%" else 0.318 if char in ".," else 0.636 for char in text)

    for svg in _parse(awkward_report.to_html()).svgs:
        boxes = []
        for x, y, anchor, text in svg.texts:
            left = x - width(text) * {"start": 0.0, "middle": 0.5, "end": 1.0}[anchor]
            assert left >= 0, (x, anchor, text)
            assert left + width(text) <= svg.width, (x, anchor, text)
            assert y - 7 >= 0, (y, text)  # the ascent above the baseline, the descent below
            assert y + 2 <= svg.height, (y, text)
            boxes.append((y, left, left + width(text)))
        for (y1, _, right), (y2, left, _) in itertools.pairwise(sorted(boxes)):
            assert y1 != y2 or right <= left, svg.texts  # labels on one line do not overlap


def test_a_label_that_would_be_cut_off_is_anchored_at_the_edge() -> None:
    assert _text(3.0, 110, "12,345", "middle") == '<text x="0.0" y="110.0" text-anchor="start">12,345</text>'
    assert _text(298.0, 110, "12,345", "middle").endswith('text-anchor="end">12,345</text>')
    assert 'x="150.0"' in _text(150.0, 110, "12,345", "middle")

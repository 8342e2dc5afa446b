"""The HTML report is self-contained, small, and has one chart per column."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd

from mlpy.drift import check


class _Counter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.sources += [value or "" for key, value in attrs if key in {"src", "href"}]


def _parse(text: str) -> _Counter:
    parser = _Counter()
    parser.feed(text)
    parser.close()
    return parser


def test_report_has_one_svg_per_column_and_no_external_resources(
    reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame
) -> None:
    page = check(reference_frame, drifted_frame).to_html()
    parsed = _parse(page)
    assert parsed.tags["svg"] == len(reference_frame.columns)
    assert "script" not in parsed.tags
    assert parsed.sources == []
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

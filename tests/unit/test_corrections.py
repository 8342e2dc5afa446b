"""One vocabulary of multiple-testing corrections, for drift and experiments alike."""

from __future__ import annotations

import pytest
from scipy import stats

from mlpy.corrections import Correction, adjust

P = [0.01, 0.04, 0.03, 0.20]


def test_names_and_the_short_name_for_benjamini_hochberg() -> None:
    assert Correction.parse(None) is Correction.none
    assert Correction.parse("bh") is Correction.benjamini_hochberg
    assert Correction.parse(" Holm ") is Correction.holm
    assert Correction.parse(Correction.bonferroni) is Correction.bonferroni
    with pytest.raises(ValueError, match="none, bonferroni, holm, benjamini-hochberg"):
        Correction.parse("sidak")


def test_each_correction_adjusts_as_its_definition_says() -> None:
    assert adjust(P, Correction.none) == P
    assert adjust([0.2], Correction.holm) == [0.2]
    assert adjust(P, Correction.bonferroni) == pytest.approx([0.04, 0.16, 0.12, 0.8])
    # Holm: sorted 0.01, 0.03, 0.04, 0.20 times 4, 3, 2, 1, made monotone.
    assert adjust(P, Correction.holm) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert adjust(P, Correction.benjamini_hochberg) == pytest.approx(list(stats.false_discovery_control(P)))

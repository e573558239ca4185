"""Notebook 04's correction for the publication of responders: inputs and sentences that turn."""

from __future__ import annotations

import numpy as np
import pandas as pd

import sclero_analysis as sa
from sclero_analysis.report import selection_findings as sf


def _correction(odds, lower, upper, corrected, pooled=0.95, reported=0.8, per_line=0.7):
    table = pd.DataFrame({"literature_pooled": [pooled], "odds": [odds], "odds_lower": [lower],
                          "odds_upper": [upper], "corrected": [corrected], "registry_reported": [reported],
                          "registry_all_lines": [per_line], "literature_n": [30], "registry_n": [90]},
                         index=pd.Index(["ivig"], name="tier"))
    return sf.Correction(odds=None, table=table, sensitivity=None)


def test_the_sentence_turns_with_the_interval_of_lambda():
    selected = sf.correction_plain_words(_correction(4.0, 1.5, 11.0, 0.83))
    unclear = sf.correction_plain_words(_correction(2.0, 0.6, 7.0, 0.90))
    opposite = sf.correction_plain_words(_correction(0.4, 0.2, 0.8, 0.98))
    assert "responders were selected for publication" in selected and "falls to 83%" in selected
    assert "cannot tell selection from chance" in unclear and "falls to 90%" in unclear
    assert "non-responders, not responders, were the likelier" in opposite and "rises to 98%" in opposite
    assert len({selected, unclear, opposite}) == 3


def test_a_tier_without_lambda_says_why_in_numbers():
    text = sf.correction_plain_words(_correction(np.nan, np.nan, np.nan, np.nan))
    assert "cannot be estimated (30 published and 90 registry lines" in text


def test_the_reporting_rule_bias_is_named_only_when_the_numbers_show_it():
    shown = sf.correction_plain_words(_correction(4.0, 1.5, 11.0, 0.83, reported=0.8, per_line=0.7))
    hidden = sf.correction_plain_words(_correction(4.0, 1.5, 11.0, 0.83, reported=0.7, per_line=0.8))
    assert "a report tells a patient's best line" in shown
    assert "best line" not in hidden


def test_a_users_registry_has_no_literature_and_the_section_says_so():
    literature, reason = sf.correction_literature("some/registry.xlsx")
    assert literature is None and "0 literature folders" in reason


def test_the_shipped_literature_is_corrected_against_the_shipped_registry():
    literature, reason = sf.correction_literature(None)
    correction = sf.correct_literature(literature, sa.load_example())
    table = correction.table
    assert reason == "" and list(table.index) == ["ivig", "immunosuppression", "cytoreduction", "other"]
    estimable = table.dropna(subset=["odds"])
    # corrected = literature's pooled logit - log λ
    logit = np.log(estimable["literature_pooled"] / (1 - estimable["literature_pooled"]))
    expected = 1 / (1 + np.exp(-(logit - np.log(estimable["odds"]))))
    np.testing.assert_allclose(estimable["corrected"], expected)
    assert table["truth_per_line"].notna().all()  # the shipped registry carries its truth
    assert any("SeparationWarning" in note for note in correction.notes)  # caveats kept as words

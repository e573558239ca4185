"""sa.selection_sensitivity: corrected pooled response, tipping point (closed forms), plot."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import special

import sclero_analysis as sa
from tests.reference.load import HERE

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def pooled():
    props = pd.read_csv(HERE / "data" / "literature_props.csv")
    return sa.pool_proportions(props, by="source_type", method="reml")


def test_at_lambda_one_the_corrected_equal_the_uncorrected(pooled):
    result = sa.selection_sensitivity(pooled, odds=(1, 4))
    at_one = result.summary[result.summary["odds"] == 1].set_index("group")
    expected = pooled.summary.set_index("source_type")
    for column in ("proportion", "lower", "upper"):
        np.testing.assert_allclose(at_one[column], expected.loc[at_one.index, column], rtol=1e-12)


def test_correction_subtracts_log_lambda_from_every_logit(pooled):
    result = sa.selection_sensitivity(pooled, odds=(8,))
    expected = pooled.summary.set_index("source_type")
    for column in ("proportion", "lower", "upper"):
        shifted = special.logit(result.summary.set_index("group")[column])
        np.testing.assert_allclose(shifted, special.logit(expected[column]) - np.log(8), rtol=1e-10)
    assert (result.summary["proportion"] < expected["proportion"].to_numpy()).all()


def test_the_tipping_point_has_its_closed_form_and_corrects_to_the_target(pooled):
    targets = pd.Series({"case report": 0.5, "series": 0.3})
    result = sa.selection_sensitivity(pooled, target=targets)
    tip = result.tipping
    summary = pooled.summary.set_index("source_type")
    for group, goal in targets.items():
        p = summary.loc[group, "proportion"]
        assert tip.loc[group, "tipping_odds"] == pytest.approx((p / (1 - p)) / (goal / (1 - goal)))
        again = sa.selection_sensitivity(pooled, odds=(tip.loc[group, "tipping_odds"],))
        corrected = again.summary.set_index("group").loc[group, "proportion"]
        assert corrected == pytest.approx(goal, rel=1e-10)
        # beyond tipping_odds_ci the interval's lower bound is below the target
        lower = summary.loc[group, "lower"]
        assert tip.loc[group, "tipping_odds_ci"] == pytest.approx((lower / (1 - lower)) / (goal / (1 - goal)))


def test_a_target_above_the_literature_says_so():
    table = pd.DataFrame({"proportion": [0.4], "lower": [0.3], "upper": [0.5]}, index=["ivig"])
    tip = sa.selection_sensitivity(table, target=0.6).tipping.loc["ivig"]
    assert tip["tipping_odds"] < 1 and "already below the target" in tip["note"]


def test_bad_odds_and_targets_are_refused(pooled):
    with pytest.raises(ValueError, match="positive"):
        sa.selection_sensitivity(pooled, odds=(0, 2))
    with pytest.raises(ValueError, match="between 0 and 1"):
        sa.selection_sensitivity(pooled, target=1.2)


def test_a_registry_tier_where_every_line_responded_gives_no_tipping_point_not_an_error():
    table = pd.DataFrame({"proportion": [0.9, 0.8], "lower": [0.7, 0.6], "upper": [0.97, 0.9]},
                         index=["ivig", "other"])
    tip = sa.selection_sensitivity(table, target=pd.Series({"ivig": 0.6, "other": 1.0})).tipping
    assert np.isnan(tip.loc["other", "tipping_odds"]) and "no finite λ" in tip.loc["other", "note"]
    assert tip.loc["ivig", "tipping_odds"] == pytest.approx((0.9 / 0.1) / (0.6 / 0.4))


def test_the_plot_has_one_curve_per_group_on_a_log_axis(pooled):
    result = sa.selection_sensitivity(pooled, target=0.5)
    ax = result.plot()
    assert ax.get_xscale() == "log" and len(ax.get_lines()) >= len(pooled.summary)
    plt.close(ax.figure)

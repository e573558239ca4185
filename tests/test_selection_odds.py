"""sa.publication_odds: λ from 2x2 tables (hand value, R glm/profile, Firth = Haldane), warnings."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.exceptions import ExcludedRowsWarning, SeparationWarning, SmallSampleWarning
from sclero_analysis.selection.logistic import fit_logistic, profile_interval
from sclero_analysis.selection.odds import odds_from_cells
from sclero_analysis.synthetic.examples import DATA_DIR
from sclero_analysis.synthetic.publication import reported_lines
from tests.reference.load import reference
from tests.selection_data import counts_series

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REF = reference("publication_odds")
# R's glm stops at a relative deviance change of 1e-8 (SE agrees to ~5e-5 relative); MASS's
# confint interpolates the profile with a spline (bounds agree to ~2e-4 relative).
SE_RTOL, BOUND_RTOL = 2e-4, 1e-3


def _lambda(cells, **kwargs):
    (a, b), (c, d) = cells
    literature = counts_series({"ivig": (a, b)}, prefix="L")
    registry = counts_series({"ivig": (c, d)}, prefix="R")
    return sa.publication_odds(literature, registry, **kwargs).summary.loc["ivig"]


@pytest.mark.parametrize("table", REF["tables"], ids=lambda t: "-".join(map(str, t["cells"])))
def test_lambda_of_a_two_by_two_table_is_the_cross_product_and_matches_r(table):
    a, b, c, d = table["cells"]
    row = odds_from_cells(a, b, c, d)
    assert row["odds"] == pytest.approx(a * d / (b * c), rel=1e-9)  # hand value
    assert row["log_odds"] == pytest.approx(table["log_odds"], abs=1e-7)  # glm: ~2e-8
    assert row["se"] == pytest.approx(table["se"], rel=SE_RTOL)
    assert row["lower"] == pytest.approx(table["lower"], rel=BOUND_RTOL)
    assert row["upper"] == pytest.approx(table["upper"], rel=BOUND_RTOL)
    # the exact (Fisher) interval is wider: the profile one sits inside it
    assert table["fisher_lower"] < row["lower"] and row["upper"] < table["fisher_upper"]
    assert row["literature_proportion"] == pytest.approx(a / (a + b))
    assert row["corrected_proportion"] == pytest.approx(c / (c + d))  # within a tier: the registry's
    assert "profile" in row["method"]


def test_the_public_function_counts_reported_lines_into_the_same_table():
    table = REF["tables"][0]
    a, b, c, d = table["cells"]
    row = _lambda(((a, b), (c, d)))
    assert row[["literature_responders", "literature_non_responders", "registry_responders",
                "registry_non_responders"]].tolist() == [a, b, c, d]
    assert row["odds"] == pytest.approx(a * d / (b * c), rel=1e-9)
    assert row["upper"] == pytest.approx(table["upper"], rel=BOUND_RTOL)


def test_a_covariate_conditional_odds_ratio_matches_r():
    ref = REF["covariate"]
    data = pd.DataFrame(ref["data"])
    x = np.column_stack([np.ones(len(data)), data["responded"], data["severity"]])
    y, n = data["literature"].to_numpy(float), np.ones(len(data))
    fit = fit_logistic(x, y, n)
    lower, upper = profile_interval(x, y, n, fit, 1)
    assert fit.coef[1] == pytest.approx(ref["log_odds"], abs=1e-7)
    assert np.sqrt(fit.cov[1, 1]) == pytest.approx(ref["se"], rel=SE_RTOL)
    assert np.exp([lower, upper]) == pytest.approx([ref["lower"], ref["upper"]], rel=BOUND_RTOL)


def test_covariates_enter_the_model_through_the_public_function():
    # mRSS differs between responders and non-responders and between sources: adjusting moves λ
    lit_mrss = [10.0] * 12 + [30.0] * 8 + [40.0] * 3 + [30.0] * 2
    reg_mrss = [10.0] * 10 + [30.0] * 10 + [40.0] * 12 + [10.0] * 8
    literature = counts_series({"ivig": (20, 5)}, prefix="L", mrss=lit_mrss)
    registry = counts_series({"ivig": (20, 20)}, prefix="R", mrss=reg_mrss)
    crude = sa.publication_odds(literature, registry).summary.loc["ivig"]
    adjusted = sa.publication_odds(literature, registry, covariates="mrss")
    assert crude["odds"] == pytest.approx(4.0)
    assert adjusted.summary.loc["ivig", "odds"] != pytest.approx(4.0, rel=1e-3)
    assert adjusted.summary.attrs["covariates"] == ("mrss",)


def test_an_empty_cell_gives_firths_estimate_a_finite_interval_and_a_warning():
    with pytest.warns(SeparationWarning, match="no published non-responder"):
        row = _lambda(((12, 0), (30, 10)))
    assert row["odds"] == pytest.approx(12.5 * 10.5 / (0.5 * 30.5), rel=1e-8)  # Haldane: +1/2 per cell
    assert np.isfinite(row["upper"]) and row["lower"] < row["odds"] < row["upper"] < 1e4
    assert "Firth" in row["method"]
    assert row["corrected_proportion"] == pytest.approx(30.5 / 41)


def test_a_group_without_non_responders_is_not_estimable_and_says_why():
    with pytest.warns(SmallSampleWarning, match="0 non-responders"):
        row = _lambda(((5, 0), (9, 0)))
    assert np.isnan(row["odds"]) and "not estimable" in row["note"]


def test_groups_are_in_tier_order_and_every_reported_line_is_counted_or_excluded():
    registry = sa.load_example()
    published = sa.publish_case_reports(registry, seed=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lam = sa.publication_odds(published, registry)
    assert list(lam.summary.index) == [t for t in sa.TIERS if t in lam.summary.index]
    told = reported_lines(registry.lines)
    assessed = told["best_response"].isin(["CR", "PR", "SD", "PD"])
    assert lam.summary["registry_n"].sum() == assessed.sum()
    left_out = [str(w.message) for w in caught if issubclass(w.category, ExcludedRowsWarning)]
    assert bool(left_out) == bool((~assessed).sum())
    assert lam.summary.attrs["interval"].startswith("profile likelihood")


def test_the_plot_draws_one_interval_per_estimable_group():
    registry = counts_series({"ivig": (20, 20), "cytoreduction": (10, 10)}, prefix="R")
    literature = counts_series({"ivig": (16, 4), "cytoreduction": (9, 3)}, prefix="L")
    lam = sa.publication_odds(literature, registry)
    ax = lam.plot()
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ivig", "cytoreduction"]
    plt.close(ax.figure)


def test_bad_options_are_refused():
    registry = counts_series({"ivig": (2, 2)}, prefix="R")
    with pytest.raises(ValueError, match="response_definition"):
        sa.publication_odds(registry, registry, response_definition="PR")
    with pytest.raises(KeyError, match="no column"):
        sa.publication_odds(registry, registry, covariates="shoe_size")


def test_a_literatures_cases_and_series_rows_are_both_counted():
    literature = sa.read_literature(DATA_DIR / "literature")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exceptions.ScleroWarning)  # empty cells in the shipped data
        lam = sa.publication_odds(literature, sa.load_example())
    told = reported_lines(literature.lines)
    cases = int(told["best_response"].isin(["CR", "PR", "SD", "PD"]).sum())
    series = literature.series[literature.series["response_definition"].astype(str) == "CR+PR"]
    assert lam.summary["literature_n"].sum() == cases + int(series["n"].sum())
    assert lam.summary["literature_responders"].sum() == (
        int(told["best_response"].isin(["CR", "PR"]).sum()) + int(series["responders"].sum()))

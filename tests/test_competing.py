"""Cumulative incidence, Gray's test and Fine-Gray against cmprsk 2.2 and survival 3.5
(tests/reference/competing.R). Tolerance 1e-10 relative (same methods, 15 significant digits;
agreement is ~1e-14).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sclero_analysis.survival import (
    SurvivalInputError,
    cumulative_incidence,
    fit_fine_gray,
    gray_test,
    kaplan_meier,
)

from .reference.load import TIERS, as_array, reference, relapse_data

RTOL = 1e-10
R = reference("competing")


def close(actual, expected, rtol=RTOL, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual, float), as_array(expected), rtol=rtol, atol=atol)


@pytest.mark.parametrize("cause, key", [(1, "cuminc_relapse"), (2, "cuminc_death")])
def test_cif_and_gray_variance_match_cuminc(cause, key):
    ci = cumulative_incidence(relapse_data(), cause=cause)
    for tier in TIERS:
        curve = ci.summary[ci.summary["group"] == tier]
        close(curve["time"], R[key][tier]["time"])
        close(curve["cif"], R[key][tier]["cif"])
        close(curve["se"] ** 2, R[key][tier]["var"])


@pytest.mark.parametrize("weights, key", [(None, "survfit_ij"), ("weight", "survfit_ij_weighted")])
def test_ij_variance_matches_survfit_multistate(weights, key):
    ci = cumulative_incidence(relapse_data(), variance="ij", weights=weights)
    s, r = ci.summary, R[key]
    assert s["group"].astype(str).tolist() == r["group"]
    close(s["time"], r["time"])
    close(s["cif"], r["cif"])
    close(s["se"], r["se"])
    close(s["n_risk"], r["n_risk"])


def test_worked_example_by_hand():
    # all-cause KM just before each time: 1, .8, .6, .4, .4; F1 jumps by S(t-)·d1/n:
    # 1·1/5 at t=1, .6·1/3 at t=3, .4·1/1 at t=5
    df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5], "event": [1, 2, 1, 0, 1]})
    cif = cumulative_incidence(df, group=None).summary["cif"].to_numpy()
    expected = np.cumsum([1.0 * 1 / 5, 0.0, 0.6 * 1 / 3, 0.0, 0.4 * 1 / 1])
    np.testing.assert_allclose(cif, expected, rtol=1e-12)


def test_cif_plus_competing_equals_one_minus_km():
    df = relapse_data()
    relapse = cumulative_incidence(df, cause=1).summary
    death = cumulative_incidence(df, cause=2).summary
    all_cause = kaplan_meier(df.assign(event=(df["event"] > 0).astype(int))).summary
    np.testing.assert_allclose(relapse["cif"] + death["cif"], 1 - all_cause["survival"], atol=1e-12)


def test_cif_invariants_and_limits():
    ci = cumulative_incidence(relapse_data())
    for _, curve in ci.summary.groupby("group", observed=True):
        assert (np.diff(curve["cif"]) >= 0).all() and curve["cif"].between(0, 1).all()
        ok = curve["lower"].notna()
        assert (curve.loc[ok, "lower"] <= curve.loc[ok, "cif"]).all()
        assert (curve.loc[ok, "upper"] >= curve.loc[ok, "cif"]).all()
    # log-log limits by hand at one point
    row = ci.summary.iloc[20]
    g, se_g = np.log(-np.log(row["cif"])), row["se"] / (row["cif"] * abs(np.log(row["cif"])))
    assert row["lower"] == pytest.approx(np.exp(-np.exp(g + stats.norm.ppf(0.975) * se_g)))


def test_cif_at_times():
    ci = cumulative_incidence(relapse_data())
    at = ci.at([0.0, 12.0, 1e6], extend=True).pivot(index="group", columns="time", values="estimate")
    assert (at[0.0] == 0).all()
    last = ci.summary.groupby("group", observed=True, sort=False)["cif"].last()
    np.testing.assert_allclose(at[1e6].to_numpy(), last.to_numpy())
    assert ci.at([1e6])["estimate"].isna().all()  # beyond the follow-up unless extend=True


@pytest.mark.parametrize("kwargs, key", [
    ({}, ("cuminc_relapse", "gray_statistic")),
    ({"cause": 2}, ("cuminc_death", "gray_statistic")),
    ({"strata": "sex"}, ("gray_strata_sex",)),
    ({"rho": 1}, ("gray_rho_1",)),
])
def test_gray_test_matches_cuminc(kwargs, key):
    expected = R
    for part in key:
        expected = expected[part]
    result = gray_test(relapse_data(), **kwargs)
    close(result.statistic, expected)
    assert result.dof == 3


def test_gray_test_two_groups_and_method():
    two = relapse_data().query("tier in ['ivig', 'cytoreduction']")
    close(gray_test(two).statistic, R["gray_two_groups"])
    assert cumulative_incidence(two).gray_test().statistic == pytest.approx(gray_test(two).statistic)


@pytest.mark.parametrize("key, formula, cause", [
    ("crr_relapse", "tier + age + mrss", 1), ("crr_death", "tier + age", 2),
    ("crr_age_only", "age", 1),
])
def test_fine_gray_matches_crr(key, formula, cause):
    fit = fit_fine_gray(relapse_data(), formula, cause=cause)
    r = R[key]
    close(fit.summary["coef"], r["coef"])
    close(fit.summary["se"], r["se"])
    close(fit.loglik, r["loglik"])
    close(fit.loglik_null, r["loglik_null"])
    assert fit.converged == r["converged"]


def test_fine_gray_docstring_case():
    df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5, 6, 7, 8], "event": [1, 2, 1, 0, 1, 2, 0, 1],
                       "x": [1.0, 0.2, 0.9, 0.4, 0.7, 0.1, 0.3, 0.8]})
    fit = fit_fine_gray(df, "x")
    close(fit.summary["coef"], R["crr_docstring"]["coef"])
    close(fit.summary["se"], R["crr_docstring"]["se"])


def test_competing_risks_bad_input():
    df = relapse_data()
    with pytest.raises(SurvivalInputError, match="variance='ij'"):
        cumulative_incidence(df, weights="weight", variance="gray")
    with pytest.raises(SurvivalInputError, match="variance='ij'"):
        cumulative_incidence(df.assign(id=1), cluster="id", variance="gray")
    assert cumulative_incidence(df, weights="weight").variance == "ij"
    with pytest.raises(SurvivalInputError, match="no events"):
        fit_fine_gray(df.assign(event=0), "age")
    with pytest.raises(SurvivalInputError, match="two groups"):
        gray_test(df[df["tier"] == "ivig"])
    with pytest.raises(SurvivalInputError, match="centre"):
        gray_test(df, strata="centre")

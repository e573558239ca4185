"""Kaplan-Meier, log-rank and RMST against R's survival 3.5 (tests/reference/survival.R).

Tolerance: 1e-10 relative (R writes 15 significant digits, the methods are the same and
agreement is ~1e-14; a looser tolerance would hide a regression of several orders).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sclero_analysis.exceptions import SmallSampleWarning
from sclero_analysis.survival import SurvivalInputError, kaplan_meier, logrank, rmst

from .reference.load import HERE, TIERS, as_array, reference, relapse_data

REFERENCE_DATA = HERE / "data"

RTOL = 1e-10
KM = reference("survival")["kaplan_meier"]
LR = reference("survival")["logrank"]
RM = reference("survival")["rmst"]
WORKED = pd.DataFrame({"time_months": [1, 2, 2, 3, 4], "event": [1, 1, 1, 0, 1]})
FLAT = pd.DataFrame({"time_months": [1, 2, 3, 4], "event": [1, 1, 1, 1]})


def close(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(actual, float), as_array(expected), rtol=rtol, atol=1e-12,
                               equal_nan=True)


def check_curve(km, r):
    s = km.summary
    assert s["group"].astype(str).tolist() == r["group"]
    for ours, theirs in [("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"),
                         ("n_censor", "n_censor"), ("survival", "survival"), ("lower", "lower"),
                         ("upper", "upper")]:
        close(s[ours], r[theirs])
    # R stores the SE of log S (logse = TRUE) or of S (IJ, logse = FALSE); ours is the SE of S
    r_se = as_array(r["std_err"])
    with np.errstate(invalid="ignore"):  # 0 * Inf where the curve reaches 0, NaN as in ours
        expected_se = r_se if not r["logse"] else as_array(r["survival"]) * r_se
    close(s["se"], expected_se)
    medians = km.medians
    close(medians["median"], r["median"])
    close(medians["lower"], r["median_lower"])
    close(medians["upper"], r["median_upper"])


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_km_by_tier_matches_r(conf_type):
    km = kaplan_meier(relapse_data(), conf_type=conf_type)  # warnings are errors in this suite
    check_curve(km, KM[f"relapse_{conf_type}"])


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_km_worked_example_matches_r(conf_type):
    check_curve(kaplan_meier(WORKED, group=None, conf_type=conf_type), KM[f"worked_{conf_type}"])


def test_worked_example_closed_form():
    # by hand: S = .8, .4, .4, 0; se(log S) at t=2 is sqrt(1/20 + 2/8); median 2
    s = kaplan_meier(WORKED, group=None).summary
    assert s["survival"].tolist() == pytest.approx([0.8, 0.4, 0.4, 0.0])
    assert s["se"].iloc[1] == pytest.approx(0.4 * np.sqrt(0.30))


def test_median_on_a_flat_at_one_half():
    km = kaplan_meier(FLAT, group=None)
    check_curve(km, KM["flat_log"])
    assert km.medians.loc["all", "median"] == 2.5


def test_weighted_km_non_integer_weights_use_ij_variance():
    km = kaplan_meier(relapse_data(), weights="weight")
    assert km.variance == "ij"
    check_curve(km, KM["relapse_weighted_ij"])


def test_weighted_km_integer_weights_keep_greenwood():
    km = kaplan_meier(relapse_data(), weights="iweight")
    assert km.variance == "greenwood"
    check_curve(km, KM["relapse_weighted_integer"])


def test_cause_two_treats_relapse_as_censored():
    check_curve(kaplan_meier(relapse_data(), cause=2), KM["relapse_death"])


def test_km_invariants():
    s = kaplan_meier(relapse_data(), conf_type="log-log").summary
    for _, curve in s.groupby("group", observed=True):
        assert (np.diff(curve["survival"]) <= 0).all()
        assert (np.diff(curve["n_risk"]) <= 0).all()
        assert curve["survival"].between(0, 1).all()
        ok = curve["lower"].notna()
        assert (curve.loc[ok, "lower"] <= curve.loc[ok, "survival"] + 1e-12).all()
        assert (curve.loc[ok, "upper"] >= curve.loc[ok, "survival"] - 1e-12).all()


def test_at_risk_and_survival_at():
    km = kaplan_meier(WORKED, group=None)
    assert km.at_risk([0, 1, 2.5, 4, 5]).loc["all"].tolist() == [5, 5, 2, 1, 0]
    assert km.survival_at([0, 1, 2.5, 10]).loc["all"].tolist() == pytest.approx([1, 0.8, 0.4, 0.0])


# --- log-rank ----------------------------------------------------------------------------------
def test_logrank_matches_survdiff():
    result = logrank(relapse_data())
    close(result.statistic, LR["rho0"]["statistic"])
    assert result.dof == LR["rho0"]["dof"]
    close(result.table["observed"], LR["rho0"]["observed"])
    close(result.table["expected"], LR["rho0"]["expected"])


def test_peto_peto_matches_survdiff_rho_1():
    close(logrank(relapse_data(), rho=1).statistic, LR["rho1"]["statistic"])


def test_stratified_logrank_matches_survdiff():
    result = logrank(relapse_data(), strata="sex")
    close(result.statistic, LR["strata_sex"]["statistic"])
    close(result.table["observed"], LR["strata_sex"]["observed_by_stratum"])
    close(result.table["expected"], LR["strata_sex"]["expected_by_stratum"])


def test_two_groups_and_docstring_case():
    two = relapse_data().query("tier in ['ivig', 'cytoreduction']")
    close(logrank(two).statistic, LR["two_groups"]["statistic"])
    doc = pd.DataFrame({"time_months": [1, 2, 3, 4, 5, 6], "event": [1, 1, 0, 1, 1, 0],
                        "tier": ["a", "a", "a", "b", "b", "b"]})
    close(logrank(doc).statistic, LR["docstring"]["statistic"])


def ordered(df: pd.DataFrame) -> pd.DataFrame:
    """The reference data with tier as an ordered categorical (R scored its levels 1..4)."""
    return df.assign(tier=df["tier"].cat.as_ordered())


def test_trend_test_matches_survdiff_variance():
    close(logrank(ordered(relapse_data()), trend=True).statistic, LR["trend"]["statistic"])
    close(logrank(ordered(relapse_data()), trend=True, strata="sex").statistic,
          LR["trend_strata_sex"]["statistic"])
    scores = {"ivig": 1, "immunosuppression": 2, "cytoreduction": 3, "other": 4}
    close(logrank(relapse_data(), trend=scores).statistic, LR["trend"]["statistic"])


def test_trend_refuses_unordered_levels_by_name():
    with pytest.raises(SurvivalInputError, match="unordered levels.*'other'"):
        logrank(relapse_data(), trend=True)
    text = relapse_data().assign(tier=lambda d: d["tier"].astype(str))
    with pytest.raises(SurvivalInputError, match="trend=True needs ordered levels"):
        logrank(text, trend=True)


def test_trend_equals_cox_score_test_without_ties():
    untied = pd.read_csv(REFERENCE_DATA / "relapse_untied.csv")
    untied["tier"] = pd.Categorical(untied["tier"], categories=TIERS, ordered=True)
    close(logrank(untied, trend=True).statistic, LR["trend_untied_cox_score"]["statistic"])


def test_logrank_bad_inputs():
    df = relapse_data()
    with pytest.raises(SurvivalInputError, match="two groups"):
        logrank(df[df["tier"] == "ivig"])
    with pytest.raises(SurvivalInputError, match="no events"):
        logrank(df.assign(event=0))
    with pytest.raises(SurvivalInputError, match="centre"):
        logrank(df, strata="centre")
    with pytest.raises(SurvivalInputError, match="one trend score per group"):
        logrank(df, trend=[1, 2])


# --- RMST --------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["relapse_24", "relapse_36"])
def test_rmst_matches_r(key):
    r = RM[key]
    result = rmst(relapse_data(), tau=r["tau"])
    close(result.summary["rmst"], r["rmst"])
    close(result.summary["se"], r["se"])


def test_rmst_weighted_integer_matches_r():
    r = RM["weighted_integer_24"]
    result = rmst(relapse_data(), tau=24, weights="iweight")
    close(result.summary["rmst"], r["rmst"])
    close(result.summary["se"], r["se"])


def test_rmst_worked_example_closed_form():
    # by hand: rmean(tau=4) = 2.6, variance 0.288
    result = rmst(WORKED, tau=4, group=None)
    assert result.summary.loc["all", "rmst"] == pytest.approx(2.6, rel=1e-12)
    assert result.summary.loc["all", "se"] ** 2 == pytest.approx(0.288, rel=1e-12)
    close(result.summary["rmst"], RM["worked_4"]["rmst"])


def test_rmst_differences_are_survrm2_contrasts():
    result = rmst(relapse_data(), tau=24)
    s, d = result.summary, result.differences
    assert len(d) == 6
    row = d[(d["group"] == "cytoreduction") & (d["reference"] == "ivig")].iloc[0]
    assert row["difference"] == pytest.approx(s.loc["cytoreduction", "rmst"] - s.loc["ivig", "rmst"])
    assert row["se"] == pytest.approx(np.hypot(s.loc["cytoreduction", "se"], s.loc["ivig", "se"]))
    assert row["lower"] < row["difference"] < row["upper"]


def test_rmst_tau_beyond_follow_up_is_refused():
    with pytest.raises(SurvivalInputError, match="tau"):
        rmst(relapse_data(), tau=500)
    with pytest.raises(SurvivalInputError, match="tau"):
        rmst(WORKED, tau=0, group=None)


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("change, message", [
    (lambda d: d.assign(time_months=-d["time_months"]), "negative"),
    (lambda d: d.assign(time_months=np.where(d.index == 3, np.nan, d["time_months"])), "rows 3"),
    (lambda d: d.assign(event=d["event"] + 0.5), "whole codes"),
    (lambda d: d.drop(columns="tier"), "group column 'tier'"),
    (lambda d: d.iloc[:0], "no rows"),
])
def test_bad_input_is_named(change, message):
    with pytest.raises(SurvivalInputError, match=message):
        kaplan_meier(change(relapse_data()))


def test_empty_group_and_group_without_events_warn():
    df = relapse_data()
    df = df[df["tier"] != "other"]
    with pytest.warns(SmallSampleWarning, match="'other' has no rows"):
        km = kaplan_meier(df)
    assert km.groups == ["ivig", "immunosuppression", "cytoreduction"]
    df.loc[df["tier"] == "cytoreduction", "event"] = 0
    with pytest.warns(SmallSampleWarning, match="no events"):
        km = kaplan_meier(df.assign(tier=df["tier"].cat.remove_unused_categories()))
    flat = km.summary[km.summary["group"] == "cytoreduction"]
    assert (flat["survival"] == 1).all() and np.isnan(km.medians.loc["cytoreduction", "median"])



def test_all_censored_and_single_row_groups():
    df = relapse_data()
    with pytest.warns(SmallSampleWarning, match="no events"):
        km = kaplan_meier(df.assign(event=0), group=None)
    assert (km.summary["survival"] == 1).all() and km.summary["lower"].notna().all()
    single = pd.concat([df[df["tier"] == "ivig"], df[df["tier"] == "other"].head(1).assign(event=1)])
    km = kaplan_meier(single.assign(tier=single["tier"].cat.remove_unused_categories()))
    one = km.summary[km.summary["group"] == "other"]
    assert len(one) == 1 and one["survival"].iloc[0] == 0.0 and np.isnan(one["lower"].iloc[0])


def test_rmst_invariants():
    df = relapse_data()
    for tau in (6, 12, 24, 36):
        s = rmst(df, tau=tau).summary
        assert ((s["rmst"] > 0) & (s["rmst"] <= tau)).all()
        assert (s["se"] >= 0).all()
    shorter, longer = rmst(df, tau=12).summary["rmst"], rmst(df, tau=24).summary["rmst"]
    assert (longer >= shorter).all()

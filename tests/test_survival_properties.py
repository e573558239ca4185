"""Properties of the survival estimators: one level order, row order irrelevant, and the
clustered variance's calibration over several seeds with Monte Carlo bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sclero_analysis.survival import (
    cumulative_incidence,
    fit_cox,
    fit_fine_gray,
    gray_test,
    kaplan_meier,
    logrank,
    rmst,
)

from .reference.load import HERE, relapse_data

SCORES = {"cytoreduction": 3, "immunosuppression": 2, "ivig": 1}


def text_lines() -> pd.DataFrame:
    """Reference lines with the tier as plain text (no categorical order) and patient ids."""
    df = relapse_data().assign(id=pd.read_csv(HERE / "data" / "clusters.csv")["id"])
    return df.assign(tier=df["tier"].astype(str)).iloc[::-1].reset_index(drop=True)


def test_text_groups_take_the_sorted_order_everywhere():
    df = text_lines()  # "other" appears first, "cytoreduction" later
    order = sorted(df["tier"].unique())
    assert kaplan_meier(df, cluster=False).groups == order
    assert cumulative_incidence(df, cluster=False).summary["group"].cat.categories.tolist() == order
    assert rmst(df, 24, cluster=False).summary.index.tolist() == order
    assert logrank(df, cluster=False).table.index.tolist() == order
    fit = fit_cox(df, "tier", cluster=False)
    assert fit.design.reference == {"tier": order[0]}  # the same reference as the curves' first
    assert fit_fine_gray(df, "tier", cluster=False).summary.index[0] == f"tier[{order[1]}]"


def _numbers(df: pd.DataFrame) -> dict[str, np.ndarray]:
    three = df[df["tier"] != "other"]
    return {
        "km": kaplan_meier(df, cluster="id").summary[["survival", "se", "lower"]].to_numpy(),
        "km_weighted": kaplan_meier(df, weights="weight", cluster=False).summary["se"].to_numpy(),
        "cif": cumulative_incidence(df, cluster=False).summary[["cif", "se"]].to_numpy(),
        "cif_ij": cumulative_incidence(df, cluster="id").summary["se"].to_numpy(),
        "gray": np.array([gray_test(df, cluster=False).statistic]),
        "logrank": np.array([logrank(df, cluster=False).statistic,
                             logrank(df, cluster="id").statistic,
                             logrank(three, trend=SCORES, cluster=False).statistic,
                             logrank(three, trend=SCORES, cluster="id").statistic,
                             logrank(df, strata="sex", cluster=False).statistic]),
        "rmst": rmst(df, 24, cluster="id").differences[["difference", "se"]].to_numpy(),
        "cox": fit_cox(df, "tier + age", cluster="id").summary[["coef", "se"]].to_numpy(),
        "fine_gray": fit_fine_gray(df, "tier", cluster=False).summary[["coef", "se"]].to_numpy(),
    }


@settings(max_examples=8)
@given(st.randoms(use_true_random=False))
def test_shuffling_rows_changes_no_number(random):
    df = text_lines()
    shuffled = df.iloc[random.sample(range(len(df)), len(df))].reset_index(drop=True)
    before, after = _numbers(df), _numbers(shuffled)
    for name, values in before.items():
        # summation order may differ: equal to rounding (the numbers themselves are ~1e-1..1e2)
        np.testing.assert_allclose(after[name], values, rtol=1e-10, atol=1e-13, err_msg=name)


# --- calibration of the clustered variance ---------------------------------------------------
N_PATIENTS, LINES_PER_PATIENT, FRAILTY_VARIANCE = 40, 3, 1.5
SEEDS, REPLICATES = (11, 12, 13, 14), 100


def _registry(rng: np.random.Generator) -> pd.DataFrame:
    """Lines of patients sharing a gamma frailty; the group is the patient's (no effect)."""
    frailty = rng.gamma(1 / FRAILTY_VARIANCE, FRAILTY_VARIANCE, N_PATIENTS)
    patient = np.repeat(np.arange(N_PATIENTS), LINES_PER_PATIENT)
    group = np.repeat(rng.integers(0, 2, N_PATIENTS), LINES_PER_PATIENT)
    event_time = rng.exponential(1 / (0.1 * frailty[patient]))
    censor = rng.uniform(2, 30, len(patient))
    return pd.DataFrame({"time_months": np.minimum(event_time, censor),
                         "event": (event_time <= censor).astype(int),
                         "tier": np.where(group == 1, "b", "a"), "patient_id": patient})


def _bound(rate: float, n: int) -> float:
    """Three Monte Carlo standard errors of a proportion estimated from n replicates."""
    return 3 * np.sqrt(rate * (1 - rate) / n)


@pytest.mark.slow
def test_clustered_logrank_holds_its_size_where_the_naive_one_does_not():
    rejected = {"naive": [], "clustered": []}
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for _ in range(REPLICATES):
            df = _registry(rng)
            rejected["naive"].append(logrank(df, cluster=False).p_value < 0.05)
            rejected["clustered"].append(logrank(df, cluster="patient_id").p_value < 0.05)
    n = len(SEEDS) * REPLICATES
    clustered, naive = np.mean(rejected["clustered"]), np.mean(rejected["naive"])
    assert abs(clustered - 0.05) < _bound(0.05, n) + 0.02  # robust score tests run a little hot
    assert naive > 0.05 + _bound(0.05, n)  # a patient's lines counted as independent evidence


@pytest.mark.slow
def test_clustered_km_intervals_cover_the_true_survival():
    t0, theta, rate = 6.0, FRAILTY_VARIANCE, 0.1
    truth = (1 + theta * rate * t0) ** (-1 / theta)  # marginal survival under gamma frailty
    covered = {"naive": [], "clustered": []}
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for _ in range(REPLICATES):
            df = _registry(rng)
            for kind, cluster in (("naive", False), ("clustered", "patient_id")):
                km = kaplan_meier(df, group=None, cluster=cluster).summary
                row = km[km["time"] <= t0].iloc[-1]
                covered[kind].append(row["lower"] <= truth <= row["upper"])
    n = len(SEEDS) * REPLICATES
    clustered, naive = np.mean(covered["clustered"]), np.mean(covered["naive"])
    assert abs(clustered - 0.95) < _bound(0.95, n) + 0.02
    assert naive < clustered - _bound(0.95, n)
    assert stats.binomtest(int(clustered * n), n, 0.95).pvalue > 1e-4

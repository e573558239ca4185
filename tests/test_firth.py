"""Firth-penalised Cox against a brute-force penalised likelihood maximised with scipy.

coxphf is not in Debian, so the reference is independent code: the Breslow partial likelihood
and its information written as plain loops over risk sets, penalised by ½ log|I|, maximised by
scipy (Nelder-Mead, tight tolerances). Tolerances: 1e-5 absolute on coefficients (coxphf's own
convergence rule stops at |Δβ| ≤ 1e-6), 1e-4 on profile limits (root finding on both sides).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from sclero_analysis.exceptions import SeparationWarning
from sclero_analysis.survival import SurvivalInputError
from sclero_analysis.survival.cox import fit_cox
from sclero_analysis.survival.coxcore import cox_data
from sclero_analysis.survival.design import design_matrix
from sclero_analysis.survival.firth import _limit, penalised

from .reference.load import relapse_data


def sparse_data() -> pd.DataFrame:
    """48 lines, 12 per tier, where the 'other' tier has no relapse at all (monotone likelihood)."""
    df = relapse_data().groupby("tier", observed=True).head(12).copy()
    df.loc[df["tier"] == "other", "event"] = 0
    return df.reset_index(drop=True)


def brute_force_penalised(x: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray) -> float:
    loglik, info = 0.0, np.zeros((x.shape[1], x.shape[1]))
    for t in np.unique(time[event]):
        dying = event & (time == t)
        at_risk = time >= t
        r = np.exp(x[at_risk] @ beta)
        xbar = r @ x[at_risk] / r.sum()
        loglik += (x[dying] @ beta).sum() - dying.sum() * np.log(r.sum())
        centred = x[at_risk] - xbar
        info += dying.sum() * (centred.T * r) @ centred / r.sum()
    return loglik + 0.5 * np.linalg.slogdet(info)[1]


def reference_fit(df, formula):
    x = design_matrix(df, formula).matrix
    time, event = df["time_months"].to_numpy(float), (df["event"] == 1).to_numpy()

    def objective(b):
        return -brute_force_penalised(x, time, event, b)

    best = optimize.minimize(objective, np.zeros(x.shape[1]), method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 40000, "maxfev": 40000})
    return x, time, event, best


def test_firth_maximises_the_penalised_likelihood():
    df = sparse_data()
    fit = fit_cox(df, "tier + age", firth=True)
    x, time, event, best = reference_fit(df, "tier + age")
    np.testing.assert_allclose(fit.summary["coef"], best.x, atol=1e-5)
    assert fit.loglik == pytest.approx(-best.fun, abs=1e-9)
    assert np.isfinite(fit.summary.loc["tier[other]", "coef"])


def test_modified_score_is_the_gradient_of_the_penalised_likelihood():
    df = sparse_data()
    design = design_matrix(df, "tier + age")
    time, event = df["time_months"].to_numpy(float), (df["event"] == 1).to_numpy()
    data = cox_data(design.matrix, np.ones(len(df)), time, event)
    beta = np.array([0.3, 0.8, -1.5, 0.02])
    analytic = penalised(data, beta).score
    h = 1e-6
    numeric = [(brute_force_penalised(design.matrix, time, event, beta + h * e)
                - brute_force_penalised(design.matrix, time, event, beta - h * e)) / (2 * h)
               for e in np.eye(len(beta))]
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


def test_profile_likelihood_interval_and_p_value():
    df = sparse_data()
    fit = fit_cox(df, "tier + age", firth=True)
    x, time, event, best = reference_fit(df, "tier + age")
    k = 2  # tier[other]
    target = -best.fun - stats.chi2.ppf(0.95, 1) / 2

    def profile(value):
        others = [i for i in range(x.shape[1]) if i != k]

        def objective(b):
            full = np.empty(x.shape[1])
            full[k], full[others] = value, b
            return -brute_force_penalised(x, time, event, full)

        return -optimize.minimize(objective, best.x[others], method="BFGS",
                                  options={"gtol": 1e-9}).fun

    row = fit.summary.loc["tier[other]"]
    # bracket each root around our limit; the root itself comes from the brute-force profile
    ours = np.log(row[["hr_lower", "hr_upper"]].to_numpy(float))
    lower = optimize.brentq(lambda v: profile(v) - target, ours[0] - 0.05, ours[0] + 0.05, xtol=1e-8)
    upper = optimize.brentq(lambda v: profile(v) - target, ours[1] - 0.05, ours[1] + 0.05, xtol=1e-8)
    assert np.log(row["hr_lower"]) == pytest.approx(lower, abs=1e-4)
    assert np.log(row["hr_upper"]) == pytest.approx(upper, abs=1e-4)
    p_reference = stats.chi2.sf(2 * (-best.fun - profile(0.0)), 1)
    assert row["p"] == pytest.approx(p_reference, abs=1e-5)


def test_ordinary_cox_diverges_where_firth_stays_finite():
    df = sparse_data()
    with pytest.warns(SeparationWarning):
        ordinary = fit_cox(df, "tier + age")
    firth = fit_cox(df, "tier + age", firth=True)
    assert abs(ordinary.summary.loc["tier[other]", "coef"]) > 8
    assert abs(firth.summary.loc["tier[other]", "coef"]) < 5


def test_firth_without_separation_is_close_to_ordinary_cox():
    df = relapse_data()
    firth = fit_cox(df, "age + mrss", firth=True)
    breslow = fit_cox(df, "age + mrss", ties="breslow")
    np.testing.assert_allclose(firth.summary["coef"], breslow.summary["coef"], atol=5e-3)


def test_firth_refuses_unsupported_options():
    with pytest.raises(SurvivalInputError, match="weights"):
        fit_cox(relapse_data(), "age", firth=True, weights="weight")


def test_a_covariate_never_at_risk_with_an_event_is_an_error_not_a_nan():
    # the single "other" line leaves before the first event: its column has zero information
    # at every beta, so the penalised likelihood has no finite maximum (coxphf fails as well)
    df = pd.DataFrame({
        "time_months": [0.5, 1, 2, 3, 4, 5, 6, 7, 8],
        "event": [0, 1, 1, 0, 1, 1, 0, 1, 1],
        "tier": pd.Categorical(["other", "ivig", "ivig", "ivig", "ivig", "cytoreduction",
                                "cytoreduction", "cytoreduction", "ivig"],
                               ["ivig", "cytoreduction", "other"]),
    })
    with pytest.raises(SurvivalInputError, match=r"\['tier\[other\]'\] carry no information"):
        fit_cox(df, "tier", ties="breslow", firth=True)


@pytest.mark.parametrize(("slope", "most_calls"),
                         [(lambda x: -3 * x**2, 8), (lambda x: 1.0, 60), (lambda x: np.nan, 60),
                          (lambda x: -1e-300, 60)],
                         ids=["exact", "wrong sign", "not finite", "vanishing"])
def test_the_interval_limit_search_finds_the_root_whatever_the_slope_says(slope, most_calls):
    # the profile's slope comes from the penalised score: where it is wrong (a stalled profile
    # far out), bisection keeps the search bracketed and it ends on the root as Brent's would
    calls = []

    def gap(x):
        calls.append(x)
        return 2 - x**3, slope(x)

    root = _limit(gap, inside=0.0, outside=5.0, guess=1.0)
    assert root == pytest.approx(2 ** (1 / 3), abs=1e-10)
    assert len(calls) <= most_calls

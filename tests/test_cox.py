"""Cox regression against R's coxph and cox.zph (tests/reference/cox.R), survival 3.5.

Tolerance: 1e-10 relative on coefficients, SEs, log-likelihoods, tests and concordance (same
method and iterations; R writes 15 significant digits).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sclero_analysis.exceptions import SeparationWarning, SmallSampleWarning
from sclero_analysis.survival import SurvivalInputError
from sclero_analysis.survival.cox import fit_cox

from .reference.load import HERE, TIERS, as_array, reference, relapse_data

RTOL = 1e-10
COX = reference("cox")["cox"]
FORMULA = "tier + age + mrss"


def close(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(actual, float), as_array(expected), rtol=rtol, atol=1e-10)


def split_data() -> pd.DataFrame:
    frame = pd.read_csv(HERE / "data" / "relapse_split.csv")
    frame["tier"] = pd.Categorical(frame["tier"], categories=TIERS)
    return frame


def check(fit, r, zph=True):
    close(fit.summary["coef"], r["coef"])
    close(fit.summary["se"], r["se"])
    if isinstance(r["se_naive"], list | float):
        close(fit.summary["se_naive"], r["se_naive"])
    close(fit.loglik, r["loglik"])
    close(fit.loglik_null, r["loglik_null"])
    close(fit.tests.loc["likelihood_ratio", "statistic"], r["lr"])
    close(fit.tests.loc["wald", "statistic"], r["wald"])
    close(fit.tests.loc["score", "statistic"], r["score"])
    if isinstance(r["robust_score"], float):
        close(fit.tests.loc["robust_score", "statistic"], r["robust_score"])
    close(fit.concordance, r["concordance"])
    assert fit.n_events == r["n_events"]
    if zph:
        for transform in ("km", "identity", "rank"):
            table, expected = fit.ph_test(transform), r[f"zph_{transform}"]
            assert table.index.tolist() == expected["term"]
            close(table["chisq"], expected["chisq"])
            close(table["p"], expected["p"])
            assert table["df"].tolist() == expected["df"]


@pytest.mark.parametrize("case, kwargs", [
    ("efron", {}),
    ("breslow", {"ties": "breslow"}),
    ("robust", {"robust": True}),
    ("cluster_site", {"cluster": "site"}),
    ("weighted", {"weights": "weight"}),
    ("weighted_breslow", {"weights": "weight", "ties": "breslow"}),
    ("integer_weights_robust", {"weights": "iweight", "robust": True}),
    ("strata_sex", {"strata": "sex"}),
])
def test_cox_matches_r(case, kwargs):
    check(fit_cox(relapse_data(), FORMULA, **kwargs), COX[case])


def test_weighted_clustered_stratified_efron():
    fit = fit_cox(relapse_data(), "tier + age", weights="weight", cluster="site", strata="sex")
    check(fit, COX["weighted_cluster_strata"])


def test_cause_specific_for_death():
    check(fit_cox(relapse_data(), "tier + age", cause=2), COX["death"])


def test_counting_process_equals_baseline_fit():
    fit = fit_cox(split_data(), FORMULA, time=("start_months", "stop_months"))
    check(fit, COX["counting_same_as_baseline"])
    baseline = fit_cox(relapse_data(), FORMULA)
    np.testing.assert_allclose(fit.summary["coef"], baseline.summary["coef"], rtol=1e-9)


def test_counting_process_time_varying_covariate():
    fit = fit_cox(split_data(), "tier + age + late_high_mrss", time=("start_months", "stop_months"))
    check(fit, COX["counting_time_varying"])


def test_counting_process_clustered_on_subject():
    fit = fit_cox(split_data(), "tier + late_high_mrss", time=("start_months", "stop_months"),
                  cluster="id")
    check(fit, COX["counting_cluster_id"], zph=False)


def test_docstring_example():
    df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5, 6, 7, 8], "event": [1, 1, 0, 1, 1, 0, 1, 0],
                       "x": [1.2, 0.4, 0.8, 0.1, 1.5, 0.3, 0.2, 0.9]})
    check(fit_cox(df, "x"), COX["docstring"], zph=False)


def test_summary_shape_and_reference_level():
    fit = fit_cox(relapse_data(), FORMULA)
    assert list(fit.summary.columns) == ["coef", "se", "hr", "hr_lower", "hr_upper", "z", "p", "n",
                                         "events"]
    assert fit.summary.index.tolist() == [
        "tier[immunosuppression]", "tier[cytoreduction]", "tier[other]", "age", "mrss"]
    assert fit.design.reference == {"tier": "ivig"}
    s = fit.summary
    assert np.allclose(s["hr"], np.exp(s["coef"]))
    assert (s["hr_lower"] < s["hr"]).all() and (s["hr"] < s["hr_upper"]).all()


def test_reference_level_follows_category_order():
    df = relapse_data()
    df["tier"] = df["tier"].cat.reorder_categories(["cytoreduction", "ivig", "immunosuppression", "other"])
    fit = fit_cox(df, "tier")
    assert fit.design.reference == {"tier": "cytoreduction"}
    base = fit_cox(relapse_data(), "tier")
    flipped = -base.summary.loc["tier[cytoreduction]", "coef"]
    assert fit.summary.loc["tier[ivig]", "coef"] == pytest.approx(flipped)


def test_monotone_likelihood_warns_and_suggests_firth():
    df = relapse_data()
    df.loc[df["tier"] == "other", "event"] = 0  # a tier with no events
    with pytest.warns(SeparationWarning, match="firth=True"):
        fit_cox(df, "tier + age")


@pytest.mark.parametrize("change, formula, message", [
    (lambda d: d, "tier + smoking", "smoking"),
    (lambda d: d.assign(mrss=d["mrss"].where(d.index != 4)), "tier + mrss", "missing in 1 rows"),
    (lambda d: d.assign(age2=d["age"] * 2), "age + age2", "collinear"),
    (lambda d: d.assign(event=0), "tier", "no events"),
    (lambda d: d.assign(time_months=-1.0), "tier", "negative"),
])
def test_bad_input_is_named(change, formula, message):
    with pytest.raises(SurvivalInputError, match=message):
        fit_cox(change(relapse_data()), formula)


def test_empty_level_is_dropped_with_warning():
    df = relapse_data()
    df = df[df["tier"] != "other"]
    with pytest.warns(SmallSampleWarning, match="other"):
        fit = fit_cox(df, "tier")
    assert "tier[other]" not in fit.summary.index


def test_cox_of_levels_from_counts_equals_the_row_by_row_fit():
    # fit_levels (counts per death time and level) is the same Efron partial likelihood as
    # coxcore.newton on the dummies, here on heavily tied integer days
    from sclero_analysis.survival.coxcore import cox_data, fit_levels, newton

    rng = np.random.default_rng(11)
    n = 6000
    level = rng.integers(0, 4, n)
    days = np.ceil(rng.exponential(300, n) * np.exp(-0.3 * level))
    time, event = days / 30.4375, rng.uniform(size=n) < 0.6
    beta, information, converged = fit_levels(time, event, level, 4)
    x = (level[:, None] == np.arange(1, 4)).astype(float)
    rows = newton(cox_data(x, np.ones(n), time, event), "efron", eps=1e-14, max_iter=50)
    assert converged and rows.converged
    np.testing.assert_allclose(beta, rows.beta, atol=1e-10)
    np.testing.assert_allclose(information, rows.evaluation.information, rtol=1e-9)

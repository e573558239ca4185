"""sa.step_selection against metafor::selmodel(type = "stepfun") (tests/reference/selection.R)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.exceptions import SmallSampleWarning
from sclero_analysis.selection.stepfun import loglik, step_data
from tests.reference.load import HERE, as_array, reference

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REF = reference("selection")
# metafor maximises with optim (BFGS, relative tolerance 1e-8) on log tau^2 and transformed
# deltas and differentiates with numDeriv: estimates and SEs agree to ~1e-5, hence 1e-4.
TOL = 1e-4
CONVERGED = [("hackshaw1998", "two_steps"), ("hackshaw1998", "three_steps"), ("pritz1997", "two_steps")]


def _data(name: str) -> pd.DataFrame:
    return pd.DataFrame(REF[name]["data"])


def _fit(name: str, key: str):
    ref = REF[name][key]
    return sa.step_selection(_data(name), steps=ref["steps"], alternative=ref["alternative"]), ref


@pytest.mark.parametrize(("name", "key"), CONVERGED)
def test_step_function_model_equals_metafor(name, key):
    fit, ref = _fit(name, key)
    row = fit.summary.iloc[0]
    for ours, theirs in [("estimate", "b"), ("se", "se"), ("tau2", "tau2"), ("se_tau2", "se_tau2"),
                         ("lrt", "LRT"), ("lrt_p", "LRTp"), ("loglik", "loglik"), ("lower", "ci_lb"),
                         ("upper", "ci_ub")]:
        assert row[ours] == pytest.approx(ref[theirs], abs=TOL), ours
    assert fit.deltas["delta"].to_numpy() == pytest.approx(as_array(ref["delta"]), abs=TOL)
    np.testing.assert_allclose(fit.deltas["se"].to_numpy()[1:], as_array(ref["se_delta"])[1:], atol=TOL)
    assert fit.deltas["k"].tolist() == ref["k_per_interval"]
    unadjusted = ref["unadjusted"]
    for ours, theirs in [("estimate_unadjusted", "b"), ("se_unadjusted", "se"),
                         ("tau2_unadjusted", "tau2"), ("loglik_unadjusted", "loglik")]:
        assert row[ours] == pytest.approx(unadjusted[theirs], abs=1e-6), ours


def test_where_metafor_stops_short_of_tau2_zero_we_reach_a_higher_likelihood():
    ref = REF["literature_series"]["two_steps"]
    data = _data("literature_series")
    with pytest.warns(SmallSampleWarning, match="tau\\^2 is estimated at 0"):
        fit = sa.step_selection(data, steps=ref["steps"])
    row = fit.summary.iloc[0]
    assert row["loglik"] >= ref["loglik"] - 1e-10 and row["tau2"] == 0
    assert row["estimate"] == pytest.approx(ref["b"], abs=TOL)
    assert fit.deltas["delta"].iloc[1] == pytest.approx(ref["delta"][1], abs=1e-3)
    # at metafor's own point, our likelihood gives metafor's value (the SEs there rest on a
    # Hessian that is nearly singular in tau^2, so they are compared on converged fits only)
    stepped = step_data(data["yi"], data["vi"], ref["steps"])
    theta = np.array([ref["b"], ref["tau2"], ref["delta"][1]])
    assert loglik(theta, stepped) == pytest.approx(ref["loglik"], abs=1e-8)
    assert row["se"] == pytest.approx(ref["se"], rel=0.1)


def test_a_pool_is_fitted_on_escalc_logits_per_source():
    props = pd.read_csv(HERE / "data" / "literature_props.csv")
    series = props[props["source_type"] == "series"]
    pooled = sa.pool_proportions(series, method="reml")
    ref = REF["literature_series"]
    with pytest.warns(SmallSampleWarning):
        fit = sa.step_selection(pooled, steps=(0.05, 1))
    assert fit.summary.loc[0, "estimate"] == pytest.approx(ref["two_steps"]["b"], abs=TOL)
    expected = 1 / (1 + np.exp(-ref["two_steps"]["b"]))
    assert fit.summary.loc[0, "proportion"] == pytest.approx(expected, abs=TOL)


def test_no_selection_means_delta_one_and_the_likelihood_of_the_random_effects_model():
    data = _data("hackshaw1998")
    stepped = step_data(data["yi"], data["vi"], [0.025, 0.5, 1])
    theta = np.array([0.2, 0.02, 1.0, 1.0])
    total = data["vi"] + 0.02
    normal = -0.5 * np.sum(np.log(2 * np.pi * total) + (data["yi"] - 0.2) ** 2 / total)
    assert loglik(theta, stepped) == pytest.approx(normal, rel=1e-12)


def test_an_empty_interval_is_refused_with_its_name():
    data = pd.DataFrame({"yi": [0.1, 0.2, 0.15], "vi": [0.04, 0.05, 0.03]})
    with pytest.raises(ValueError, match="0 < p <= 0.01"):
        sa.step_selection(data, steps=(0.01, 1))


def test_the_plot_draws_the_step_function():
    fit, _ = _fit("pritz1997", "two_steps")
    ax = fit.plot()
    assert ax.get_xlim() == (0, 1) and ax.get_ylabel().startswith("relative probability")
    plt.close(ax.figure)


def test_groups_are_fitted_separately():
    both = pd.concat([_data(name).assign(set=name) for name in ("hackshaw1998", "pritz1997")])
    fit = sa.step_selection(both, steps=(0.025, 1), by="set")
    for name in ("hackshaw1998", "pritz1997"):
        alone = _fit(name, "two_steps")[0].summary.iloc[0]
        row = fit.summary.set_index("set").loc[name]
        assert row["estimate"] == pytest.approx(alone["estimate"], abs=1e-8)
        assert row["se"] == pytest.approx(alone["se"], rel=1e-6)
    assert fit.deltas.groupby("set").size().tolist() == [2, 2]

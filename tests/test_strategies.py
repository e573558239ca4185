"""Management strategies: cloning and grace periods by hand, weighted curves against R, the
emulation's result and edge cases, and the generator's strategies (shares followed, truth)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import sclero_analysis as sa
from sclero_analysis.exceptions import NotEstimableWarning, StrategyError, UnadjustedCovariateWarning
from sclero_analysis.strategies.cloning import clone
from sclero_analysis.strategies.curves import weighted_curve
from sclero_analysis.strategies.weights import censoring_weights

matplotlib.use("Agg")
REFERENCE = Path(__file__).parent / "reference" / "strategies_weighted_km.json"
INF = np.inf


def _first(immuno, cyto, other=None):
    n = len(immuno)
    return {
        "immunosuppression": np.array(immuno, float),
        "cytoreduction": np.array(cyto, float),
        "other": np.full(n, INF) if other is None else np.array(other, float),
    }


# Five patients followed 10 months, relapse at 10 (status 1): by hand, with a 3-month check and
# a 1-month grace period. 0: responds at 2, never escalated; 1: no response, escalated at 3.5
# (in the grace period); 2: no response, not escalated (deviates at 4, the grace period's end);
# 3: escalated at 2.5 (before the check); 4: no response, cytoreduction at 3.2 (a tier the rule
# does not allow: deviates then).
HAND = dict(
    time=np.full(5, 10.0),
    status=np.ones(5, int),
    first=_first([INF, 3.5, INF, 2.5, INF], [INF, INF, INF, INF, 3.2]),
    responded=np.array([2.0, INF, INF, INF, INF]),
    severe=np.zeros(5, bool),
)


@pytest.mark.parametrize(
    ("strategy", "deviation", "status"),
    [
        (sa.Strategy.never_escalate(), [INF, 3.5, INF, 2.5, 3.2], [1, 0, 1, 0, 0]),
        (sa.Strategy.escalate_if_no_response(3, 1), [INF, INF, 4.0, 2.5, 3.2], [1, 1, 0, 0, 0]),
        (sa.Strategy.escalate_if_no_response(3, 0), [INF, 3.0, 3.0, 2.5, 3.0], [1, 0, 0, 0, 0]),
    ],
)
def test_cloning_and_grace_periods_by_hand(strategy, deviation, status):
    c = clone(strategy, HAND["time"], HAND["status"], HAND["first"], HAND["responded"], HAND["severe"])
    assert c.deviation.tolist() == deviation
    assert c.status.tolist() == status
    assert c.time.tolist() == np.minimum(10.0, deviation).tolist()


def test_an_outcome_within_the_grace_period_counts():
    # no response by 3, relapse at 3.4 before any escalation: follows (grace), the relapse counts
    c = clone(
        sa.Strategy.escalate_if_no_response(3, 1),
        np.array([3.4]),
        np.array([1]),
        _first([INF], [INF]),
        np.array([INF]),
        np.zeros(1, bool),
    )
    assert c.status.tolist() == [1] and not c.deviated[0]


def test_early_cytoreduction_rule_by_hand():
    # severe: cytoreduction at 0.5 (follows), at 2 (too late: deviates at 1), never (deviates at 1);
    # not severe: never escalate applies (immunosuppression at 6: deviates then)
    c = clone(
        sa.Strategy.early_cytoreduction(within_months=1),
        np.full(4, 10.0),
        np.ones(4, int),
        _first([INF, INF, INF, 6.0], [0.5, 2.0, INF, INF]),
        np.full(4, INF),
        np.array([True, True, True, False]),
    )
    assert c.deviation.tolist() == [INF, 1.0, 1.0, 6.0]
    assert c.window_end.tolist()[:3] == [1.0, 1.0, 1.0] and np.isnan(c.window_end[3])


def test_window_weight_is_the_inverse_share_of_compliers():
    # 4 clones without response enter the window (3, 4]; 2 escalate in it: after month 4 the
    # compliers weigh 1 / (2/4) = 2 unstabilised, before it 1 (no covariates, no other deviation)
    n = 4
    c = clone(
        sa.Strategy.escalate_if_no_response(3, 1),
        np.full(n, 8.0),
        np.zeros(n, int),
        _first([3.2, 3.7, INF, INF], [INF] * n),
        np.full(n, INF),
        np.zeros(n, bool),
    )
    pieces = censoring_weights(c, np.empty((n, 0)), np.full(n, INF), np.array([3.2, 3.7, INF, INF]), 8.0)
    late = pieces.month >= 4
    # months without any deviation get a probability near 0 from the ridge penalty (about 1e-3
    # per month with 4 clones), hence 1%, not exact
    assert np.allclose(pieces.unstabilised[late], 2.0, rtol=0.01)
    assert np.allclose(pieces.unstabilised[~late], 1.0, rtol=0.01)
    assert np.allclose(pieces.weight[late], 1.0, rtol=0.01)  # stabilised by the same share (ridge: 1%)
    assert set(np.unique(pieces.clone[late])) == {0, 1}


def test_the_line_in_course_response_is_read_month_by_month():
    import pandas as pd

    from sclero_analysis.strategies.timelines import Timelines

    # 0: PR at 1.5 on a first line, a new line (same tier) from 2.5 without response; 1: CR at 3;
    # 2: no response; 3: two lines started together, the second (in line order) responding at 1
    lines = pd.DataFrame({
        "row": [0, 0, 1, 2, 3, 3],
        "start_month": [0.0, 2.5, 0.0, 0.0, 0.0, 0.0],
        "best_response": ["PR", "SD", "CR", "PD", "SD", "PR"],
        "response_month": [1.5, np.nan, 3.0, np.nan, np.nan, 1.0],
    })
    t = Timelines(pd.DataFrame(index=range(4)), np.full(4, 9.0), np.zeros(4, int), {}, lines,
                  np.empty((4, 0)), ())
    got = t.line_responded(("CR", "PR"), 5).astype(int).tolist()
    assert got == [[0, 0, 1, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 1, 1, 1, 1]]
    assert t.line_responded(("CR",), 5)[1].tolist() == [False, False, False, True, True]
    assert t.response_month(("CR", "PR")).tolist() == [1.5, 3.0, INF, 1.0]  # any line's, for the rules


def test_monthly_weights_follow_the_response_of_the_line_in_course():
    # 8 patients who responded by month 1 (any line); 4 changed to a line without response at
    # month 2, and 2 of those escalate in month 3 (never escalate: they deviate). The followers
    # judged on the line in course stand in for those 2: 1 / (2/4) = 2 after month 3, the
    # others 1 (a model on the first response only would give everyone 1 / (6/8))
    n = 8
    escalated = np.array([3.5, 3.6, INF, INF, INF, INF, INF, INF])
    c = clone(sa.Strategy.never_escalate(), np.full(n, 8.0), np.zeros(n, int), _first(escalated, [INF] * n),
              np.full(n, 1.0), np.zeros(n, bool))
    in_course = np.ones((n, 8), bool)
    in_course[:4, 2:] = False
    pieces = censoring_weights(c, np.empty((n, 0)), np.full(n, 1.0), escalated, 8.0, line_responded=in_course)
    late = pieces.month >= 4
    changed = pieces.clone < 4
    assert set(np.unique(pieces.clone[late & changed])) == {2, 3}
    assert np.allclose(pieces.unstabilised[late & changed], 2.0, rtol=0.01)
    assert np.allclose(pieces.unstabilised[late & ~changed], 1.0, rtol=0.01)


def test_weighted_curves_match_r_survfit_with_weights():
    ref = json.loads(REFERENCE.read_text())
    d = {k: np.asarray(v, float) for k, v in ref["data"].items()}
    curve = weighted_curve(d["start"], d["stop"], d["status"].astype(int), d["weight"])
    survival, cif = curve.at(ref["times"])
    # the same arithmetic as survfit: agreement to rounding (R writes 15 significant digits)
    np.testing.assert_allclose(survival, ref["survival"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cif, ref["relapse_cif"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(curve.time, ref["event_times"])
    np.testing.assert_allclose(curve.survival, ref["survival_at_events"], rtol=1e-12, atol=1e-14)


@pytest.fixture(scope="module")
def registry():
    return sa.simulate_registry(sa.RegistryDesign(n_patients=300), seed=5, truth_lines_per_tier=20_000)


@pytest.fixture(scope="module")
def emulation(registry):
    return sa.emulate_strategies(registry, n_boot=20, seed=3, progress=False)


def test_result_tables_and_invariants(emulation):
    s = emulation.summary
    assert list(s.columns) == ["strategy", "measure", "time_months", "estimate", "lower", "upper"]
    assert set(s["strategy"]) == {"never_escalate", "escalate_if_no_response", "early_cytoreduction"}
    rfs = s[s["measure"] == "relapse_free_survival"]
    assert ((rfs["estimate"] >= 0) & (rfs["estimate"] <= 1)).all()
    assert (rfs["lower"] <= rfs["estimate"]).all() and (rfs["estimate"] <= rfs["upper"]).all()
    for _, one in rfs.groupby("strategy"):
        assert one.sort_values("time_months")["estimate"].is_monotonic_decreasing
    c = emulation.contrasts
    assert set(c["reference"]) == {"never_escalate"} and len(c) == 2 * 7
    w = emulation.weights_summary
    assert (w["mean"] > 0).all() and (w["ess"] <= w["n_clones"] + 1e-9).all()
    assert emulation.n_boot == 20


def test_bootstrap_is_reproducible_from_the_seed(registry, emulation):
    again = sa.emulate_strategies(registry, n_boot=20, seed=3, progress=False)
    assert again.summary.equals(emulation.summary)


def test_plot_returns_axes_on_a_new_figure(emulation):
    import matplotlib.pyplot as plt

    ax = emulation.plot()
    assert len(ax.get_lines()) == 3 and ax.get_lines()[0].get_ydata()[0] == 1.0
    _, given = plt.subplots()
    assert emulation.plot(ax=given) is given
    plt.close("all")


def test_a_strategy_nobody_follows_is_a_clear_error(registry):
    nobody = sa.Strategy(
        "cytoreduction for everyone", severe="age_at_diagnosis_years >= 0", severe_within_months=0
    )
    lines = registry.lines.assign(
        tier=registry.lines["tier"].where(registry.lines["tier"] != "cytoreduction", "immunosuppression")
    )
    cs = sa.CaseSeries(registry.patients, lines, registry.events)
    with pytest.raises(StrategyError, match="nobody follows"):
        sa.emulate_strategies(cs, {"never": sa.Strategy.never_escalate(), "cyto": nobody}, n_boot=0)


def test_a_covariate_never_recorded_is_named_not_silently_dropped(registry, emulation):
    # a registry whose centres never scored the skin: the weights cannot adjust for mRSS, and the
    # warning and the result say so (the early-cytoreduction rule reads mRSS, so it is left out)
    cs = sa.CaseSeries(registry.patients.assign(mrss=np.nan), registry.lines, registry.events)
    strategies = {k: v for k, v in sa.strategies.default_strategies().items() if k != "early_cytoreduction"}
    with pytest.warns(UnadjustedCovariateWarning, match="'mrss' never recorded"):
        result = sa.emulate_strategies(cs, strategies, n_boot=0)
    assert result.unrecorded == ("mrss",) and result.adjusted_for == ("neuro", "cardiac")
    assert "never recorded, so not adjusted for: mrss" in repr(result)
    assert emulation.unrecorded == () and emulation.adjusted_for == ("mrss", "neuro", "cardiac")
    assert "not adjusted" not in repr(emulation)


def test_all_clones_censored_before_the_horizon_gives_nan_and_a_warning(registry):
    short = registry.patients.assign(
        last_followup_date=registry.patients["diagnosis_date"] + np.timedelta64(500, "D")
    )
    dead = short["death_date"] > short["last_followup_date"]
    short = short.assign(
        vital_status=short["vital_status"].where(~dead, "alive"), death_date=short["death_date"].where(~dead)
    )
    cs = sa.CaseSeries(
        short, registry.lines, registry.events[registry.events["date"].isin(registry.events["date"])]
    )
    with pytest.warns(NotEstimableWarning, match="censored before"):
        result = sa.emulate_strategies(cs, n_boot=0)
    at36 = result.summary.query("measure == 'relapse_free_survival' and time_months == 36")
    assert at36["estimate"].isna().all()
    assert result.summary.query("time_months == 12")["estimate"].notna().all()


def test_each_default_strategy_is_followed_by_a_useful_share():
    shares = []
    for seed in (1, 2, 3):
        cs = sa.simulate_registry(sa.RegistryDesign(n_patients=1000), seed=seed, truth=False, validate=False)
        followers = sa.emulate_strategies(cs, n_boot=0).followers.set_index("strategy")
        shares.append(followers["following_at_12"] / followers["clones"])
    share = np.mean(shares, axis=0)
    assert (share > 0.15).all(), share  # each followed (and event-free) at 12 months by > 15%


def test_escalation_depends_on_recorded_covariates_and_response():
    # relapse-free patients on IVIG without response at 3 months: some escalated in the grace
    # period, some not, and severity (recorded mRSS) raises the odds
    cs = sa.simulate_registry(sa.RegistryDesign(n_patients=4000), seed=9, truth=False, validate=False)
    from sclero_analysis.strategies.timelines import timelines

    t = timelines(cs, ["mrss"])
    escalated = np.minimum.reduce(list(t.first_start.values()))
    at_risk = (t.time > 4) & (escalated >= 3) & (t.response_month(("CR", "PR")) > 3)
    in_grace = escalated[at_risk] <= 4
    assert 0.15 < in_grace.mean() < 0.6, in_grace.mean()
    mrss = t.patients["mrss"].to_numpy()[at_risk]
    high, low = in_grace[mrss >= 26].mean(), in_grace[mrss <= 14].mean()
    assert high > low + 0.05, (high, low)
    # responders relapse-free through 6 months are not escalated early (only after a switch to a
    # new IVIG line without response, rare)
    responders = (t.time > 6) & (escalated >= 3) & (t.response_month(("CR", "PR")) <= 3)
    assert np.mean(escalated[responders] <= 6) < 0.03  # 1.4% at this seed


def test_strategy_truth_is_coherent(registry):
    truth = registry.truth["strategies"]
    for name in ("never_escalate", "escalate_if_no_response", "early_cytoreduction"):
        rfs = truth[name]["relapse_free_survival"]
        assert 1 > rfs[12] > rfs[24] > rfs[36] > 0
        assert 0 < truth[name]["rmst"] < 36
    # escalating non-responders replaces their early relapses: better than never escalating
    assert (
        truth["escalate_if_no_response"]["relapse_free_survival"][24]
        > truth["never_escalate"]["relapse_free_survival"][24] + 0.03
    )


@pytest.mark.slow
def test_emulation_moves_the_naive_contrast_towards_the_truth():
    """Two registries of 5,000 patients (about 60 s): the naive per-protocol difference at 24 months
    (escalate vs never) is biased below the truth; the emulated one is within 3 SE of it (SE from
    each registry's bootstrap). The full run with coverage is benchmarks/bench_strategies.py."""
    errors, naive_errors, variances = [], [], []
    for seed in (31, 32):
        cs = sa.simulate_registry(sa.RegistryDesign(n_patients=5000), seed=seed, validate=False,
                                  truth_lines_per_tier=50_000)
        result = sa.emulate_strategies(cs, n_boot=30, seed=seed, progress=False)
        query = "measure == 'relapse_free_survival' and time_months == 24"
        row = result.contrasts.query(query).set_index("strategy").loc["escalate_if_no_response"]
        naive = result.naive.query(query).set_index("strategy")["estimate"]
        truth = cs.truth["strategies"]
        true = (truth["escalate_if_no_response"]["relapse_free_survival"][24]
                - truth["never_escalate"]["relapse_free_survival"][24])
        errors.append(row["difference"] - true)
        naive_errors.append(naive["escalate_if_no_response"] - naive["never_escalate"] - true)
        variances.append(((row["upper"] - row["lower"]) / 3.92) ** 2)
    se = np.sqrt(np.sum(variances)) / len(errors)
    assert abs(np.mean(errors)) < 3 * se, (errors, se)
    assert np.mean(naive_errors) < -2 * se, (naive_errors, se)
    assert abs(np.mean(errors)) < abs(np.mean(naive_errors)), (errors, naive_errors)


def test_truncation_caps_the_weights(registry, emulation):
    truncated = sa.emulate_strategies(registry, n_boot=0, truncate=0.95)
    full, capped = emulation.weights_summary, truncated.weights_summary
    lowered = []
    for name in full["strategy"].unique():
        largest = full.loc[full["strategy"] == name, "max"].max()
        assert capped.loc[capped["strategy"] == name, "max"].max() <= largest
        lowered.append(capped.loc[capped["strategy"] == name, "max"].max() < largest)
    assert all(lowered)  # every strategy's weights vary, so its largest is above the 95th percentile
    assert (capped["ess"] >= 0).all()


def test_weights_spanning_many_magnitudes_give_nan_not_a_negative_survival():
    # a weight model near separation (a small bootstrap sample) can give weights of 1e35 beside
    # weights of 1: the risk set's cumulative sums cancel, and the curve must say "not estimable"
    start = np.zeros(4)
    stop = np.array([1.0, 2.0, 3.0, 4.0])
    status = np.array([1, 0, 1, 1])
    curve = weighted_curve(start, stop, status, np.array([1.0, 1e36, 1.0, 1.0]))
    assert np.all((curve.survival >= 0) | np.isnan(curve.survival))
    assert np.isnan(curve.survival[-1]) and np.isnan(curve.relapse_cif[-1])
    plain = weighted_curve(start, stop, status, np.ones(4))  # the same rows, ordinary weights
    np.testing.assert_allclose(plain.survival, [0.75, 0.375, 0.0])


def test_a_small_registry_whose_replicates_all_fail_in_a_chunk_still_bootstraps(tmp_path):
    # 40 patients as a user brings them (no truth): some bootstrap samples nobody follows a
    # strategy in; with n_jobs=1 each replicate is its own chunk, and a chunk of failures must keep
    # the estimate vector's width (it was an empty row that broke the stacking)
    from tests.userdata import write_user_registry

    cs = sa.load_data(write_user_registry(tmp_path / "my40.xlsx", 40, 11, fmt="xlsx", dayfirst=True),
                      dayfirst=True)
    result = sa.emulate_strategies(cs, n_boot=20, seed=1, progress=False)
    assert 0 < result.n_boot_failed < 20
    limits = result.summary[["lower", "upper"]].to_numpy()
    assert np.isfinite(limits[~np.isnan(limits)]).all()
    survival = result.summary.query("measure == 'relapse_free_survival'")
    assert survival[["lower", "upper"]].stack().between(0, 1).all()


def test_a_curve_without_events_is_one_until_the_last_follow_up():
    # a bootstrap sample of a small registry can have no outcome among a strategy's followers
    curve = weighted_curve(np.zeros(2), np.array([3.0, 6.0]), np.zeros(2, int), np.ones(2))
    survival, cif = curve.at([1.0, 6.0, 7.0])
    np.testing.assert_array_equal(survival, [1.0, 1.0, np.nan])
    np.testing.assert_array_equal(cif, [0.0, 0.0, np.nan])
    assert curve.rmst(6.0) == 6.0

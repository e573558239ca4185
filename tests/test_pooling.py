"""sa.pool_proportions against metafor (tests/reference/pooling.R), its input checks, fallbacks and plot."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special, stats

import sclero_analysis as sa
from sclero_analysis.evidence import PoolingError
from sclero_analysis.evidence.glmm import PRIOR_SD
from sclero_analysis.evidence.quadrature import Binomial, conditional_modes, source_terms
from sclero_analysis.exceptions import SeparationWarning, SmallSampleWarning
from tests.reference.load import HERE, reference

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REF = reference("pooling")
SETS = ["pritz1997", "debruin2009", "pagliaro1992", "hannum2020", "literature"]
# lme4 (behind metafor's rma.glmm) stops its Nelder-Mead search when the deviance changes by less
# than 1e-5, i.e. up to ~3e-5 from the optimum in b, tau^2 and SE; we maximise the same 7-point
# adaptive quadrature exactly (see test_glmm_likelihood_is_at_least_metafors), hence 1e-4.
GLMM_TOL = 1e-4
# Inverse-variance references were converged to 1e-13 (REML, PM) in R as here: what remains is
# floating-point rounding, far below this.
IV_TOL = 1e-6
# metafor's Wald and LR heterogeneity tests come from glm fits that are deterministic (reproduced
# iteration by iteration, including glm's stopping point for sources with 0 or n responders).
QE_TOL = 1e-8


def sources(name: str) -> pd.DataFrame:
    return pd.DataFrame(REF[name]["data"]).rename(columns={"xi": "events", "ni": "n"})


def literature() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "literature_props.csv")


def pooled(df: pd.DataFrame, **kwargs) -> pd.Series:
    return sa.pool_proportions(df, **kwargs).summary.iloc[0]


def logit_scale(row: pd.Series) -> dict[str, float]:
    return {"b": row["logit"], "se": row["se"], "tau2": row["tau2"], "ci_lb": special.logit(row["lower"]),
            "ci_ub": special.logit(row["upper"]), "pi_lb": special.logit(row["pi_lower"]),
            "pi_ub": special.logit(row["pi_upper"])}


def assert_close(ours: dict, ref: dict, tol: float, rel: float = 0.0) -> None:
    for key, value in ours.items():
        assert value == pytest.approx(ref[key], abs=tol, rel=rel), key


# --- equal to metafor -------------------------------------------------------------------------

@pytest.mark.parametrize("name", SETS)
def test_glmm_equals_metafor_rma_glmm(name):
    ref = REF[name]["glmm"]
    row = pooled(sources(name))
    assert row["k"] == ref["k"]
    assert_close(logit_scale(row), ref, GLMM_TOL)
    tests = {"QE_Wld": row["q_wald"], "QEp_Wld": row["q_wald_p"], "QE_LRT": row["q_lrt"],
             "QEp_LRT": row["q_lrt_p"]}
    assert_close(tests, ref, QE_TOL, rel=QE_TOL)


@pytest.mark.parametrize("name", SETS)
def test_glmm_likelihood_is_at_least_metafors(name):
    # the differences to metafor are lme4's early stop: our optimum has the higher likelihood
    df, ref = sources(name), REF[name]["glmm"]
    data = Binomial(df["events"].to_numpy(float), df["n"].to_numpy(float))
    row = pooled(df)

    def loglik(b, tau2):
        return source_terms(data, np.full(len(df), b), np.sqrt(tau2), np.zeros(len(df))).loglik.sum()

    assert loglik(row["logit"], row["tau2"]) >= loglik(ref["b"], ref["tau2"]) - 1e-12


def test_conditional_modes_converge_where_newton_alone_cycles():
    # 6 of 6 at a very low mean logit: Newton jumps between the bracket's ends (flat curvature)
    data, m, tau = Binomial(np.array([6.0]), np.array([6.0])), np.array([-5.72172085]), 12.0473049
    u = conditional_modes(data, m, tau, np.zeros(1))
    assert tau * (6 - 6 * special.expit(m + tau * u))[0] - u[0] == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize(("method", "key", "test"), [("reml", "reml", "z"), ("dl", "dl", "z"),
                                                     ("pm", "pm", "z"), ("reml", "reml_knha", "knha")])
def test_inverse_variance_equals_metafor_rma(name, method, key, test):
    ref = REF[name][key]
    row = pooled(sources(name), method=method, test=test)
    assert_close(logit_scale(row), ref, IV_TOL)
    assert_close({"I2": row["i2"], "QE": row["q"], "QEp": row["q_p"]}, ref, IV_TOL, rel=IV_TOL)


@pytest.mark.parametrize("name", SETS)
def test_pft_equals_metafor_with_harmonic_mean_back_transformation(name):
    ref = REF[name]["pft"]
    row = pooled(sources(name), method="pft")
    assert np.isnan(row["logit"])
    ours = {"b": row["ft"], "se": row["se"], "tau2": row["tau2"], "pred": row["proportion"],
            "ci_lb": row["lower"], "ci_ub": row["upper"], "pi_lb": row["pi_lower"], "pi_ub": row["pi_upper"]}
    assert_close(ours, ref, IV_TOL)


@pytest.mark.parametrize(("method", "key", "tol"),
                         [("glmm", "glmm_mods", GLMM_TOL), ("reml", "reml_mods", IV_TOL)])
def test_source_type_meta_regression_equals_metafor(method, key, tol):
    ref = REF["literature"][key]
    table = sa.pool_proportions(literature(), method=method, moderators="source_type").moderators
    assert table["term"].tolist() == ["intercept", "source_type[series]"]
    np.testing.assert_allclose(table["coef"], ref["b"], atol=tol)
    np.testing.assert_allclose(table["se"], ref["se"], atol=tol)
    assert table["tau2"].iloc[0] == pytest.approx(ref["tau2"], abs=tol)
    assert table["qm"].iloc[0] == pytest.approx(ref["QM"], abs=tol, rel=tol)
    assert table["qm_p"].iloc[0] == pytest.approx(ref["QMp"], abs=tol, rel=tol)
    assert (table["qm_df"] == 1).all()


def test_the_reference_data_set_is_case_report_heavy():
    lit = literature()
    all_responded = (lit["source_type"] == "series") & (lit["events"] == lit["n"])
    assert (lit["n"] == 1).sum() == 60 and all_responded.sum() == 2


# --- behaviour and invariants -------------------------------------------------------------------

@pytest.mark.parametrize("method", ["glmm", "reml", "dl", "pm", "pft"])
def test_intervals_nest_and_weights_sum_to_100(method):
    result = sa.pool_proportions(sources("pritz1997"), method=method)
    row = result.summary.iloc[0]
    assert 0 <= row["pi_lower"] <= row["lower"] <= row["proportion"] <= row["upper"] <= row["pi_upper"] <= 1
    assert result.studies["weight"].sum() == pytest.approx(100)
    assert (result.studies["weight"] > 0).all()
    narrower = pooled(sources("pritz1997"), method=method, conf_level=0.8)
    assert row["lower"] < narrower["lower"] < narrower["upper"] < row["upper"]


def test_studies_carry_exact_intervals():
    studies = sa.pool_proportions(sources("pagliaro1992")).studies
    x, n = studies["events"].to_numpy(), studies["n"].to_numpy()
    lower = stats.beta.ppf(0.025, x, n - x + 1)
    upper = stats.beta.ppf(0.975, x + 1, n - x)
    np.testing.assert_allclose(studies["lower"], np.where(x == 0, 0, lower), atol=1e-12)
    np.testing.assert_allclose(studies["upper"], np.where(x == n, 1, upper), atol=1e-12)
    np.testing.assert_allclose(studies["proportion"], x / n)
    assert studies.columns.tolist() == ["study", "events", "n", "proportion", "lower", "upper", "weight"]


def test_by_pools_each_group_as_alone():
    table = pd.concat([sources("pritz1997").assign(arm="a"), sources("pagliaro1992").assign(arm="b")])
    result = sa.pool_proportions(table, by="arm")
    assert result.summary["arm"].tolist() == ["a", "b"]
    for arm, name in [("a", "pritz1997"), ("b", "pagliaro1992")]:
        alone = pooled(sources(name))
        together = result.summary.set_index("arm").loc[arm]
        assert together["logit"] == pytest.approx(alone["logit"], abs=1e-10)
        assert together["tau2"] == pytest.approx(alone["tau2"], abs=1e-10)
    assert result.studies.groupby("arm")["weight"].sum().tolist() == pytest.approx([100, 100])


def test_glmm_t_test_uses_k_minus_1_degrees_of_freedom():
    z, t = pooled(sources("pritz1997")), pooled(sources("pritz1997"), test="t")
    ratio = stats.t.ppf(0.975, 13) / stats.norm.ppf(0.975)
    half_z, half_t = special.logit(z["upper"]) - z["logit"], special.logit(t["upper"]) - t["logit"]
    assert half_t == pytest.approx(ratio * half_z)


def test_identical_sources_put_tau2_on_the_boundary_and_give_the_logistic_fit():
    table = pd.DataFrame({"study": list("abcd"), "events": [5, 5, 5, 5], "n": [10, 10, 10, 10]})
    row = pooled(table)
    assert row["tau2"] == 0 and row["proportion"] == pytest.approx(0.5)
    assert row["se"] == pytest.approx(1 / np.sqrt(40 * 0.25), rel=1e-8)


def test_all_responders_get_a_named_warning_and_the_penalised_estimate():
    table = pd.DataFrame({"study": ["ASCT 2011"], "events": [10], "n": [10]})
    with pytest.warns(SeparationWarning, match="maximum likelihood is at infinity"), \
            pytest.warns(SmallSampleWarning, match="single source"):
        row = pooled(table)
    assert row["penalised"] and row["tau2"] == 0
    # the penalised score: n (1 - p) = logit / PRIOR_SD^2
    assert 10 * (1 - row["proportion"]) == pytest.approx(row["logit"] / PRIOR_SD**2, rel=1e-8)
    assert 0.9 < row["proportion"] < row["upper"] < 1 and row["lower"] > 0.5


def test_no_responders_mirror_all_responders():
    def sources_with(events):
        return pd.DataFrame({"study": list("abc"), "events": events, "n": [3, 5, 1]})

    with pytest.warns(SeparationWarning):
        every = pooled(sources_with([3, 5, 1]))
    with pytest.warns(SeparationWarning):
        none = pooled(sources_with([0, 0, 0]))
    assert none["proportion"] == pytest.approx(1 - every["proportion"], abs=1e-8)
    assert none["upper"] == pytest.approx(1 - every["lower"], abs=1e-8)


def test_unbounded_heterogeneity_gets_a_finite_penalised_fit():
    table = pd.DataFrame({"study": list("abcd"), "events": [5, 0, 6, 0], "n": [5, 4, 6, 3]})
    with pytest.warns(SeparationWarning, match="grows without bound"):
        row = pooled(table)
    assert row["penalised"] and 0 < row["tau2"] < 100 and np.isfinite(row["se"])
    assert 0 < row["pi_lower"] < 0.05 and 0.95 < row["pi_upper"] < 1


def test_case_reports_only_pool_to_the_crude_proportion_with_a_warning():
    table = pd.DataFrame({"study": [f"case{i}" for i in range(8)], "events": [1, 1, 1, 0, 1, 1, 1, 1],
                          "n": 1})
    with pytest.warns(SmallSampleWarning, match="single-patient sources"):
        row = pooled(table)
    assert row["tau2"] == 0 and row["proportion"] == pytest.approx(7 / 8)
    assert (row["pi_lower"], row["pi_upper"]) == (row["lower"], row["upper"])


def test_inverse_variance_single_source_is_its_own_logit_with_a_warning_at_the_call():
    table = pd.DataFrame({"study": ["a"], "events": [3], "n": [4]})
    with pytest.warns(SmallSampleWarning, match="single source") as record:
        row = pooled(table, method="reml", test="knha")  # one source: z test, as metafor
    assert record[0].filename == __file__
    se = np.sqrt(1 / 3 + 1)
    assert row["logit"] == pytest.approx(np.log(3)) and row["se"] == pytest.approx(se) and row["tau2"] == 0
    assert row["lower"] == pytest.approx(special.expit(np.log(3) - stats.norm.ppf(0.975) * se))


def test_knapp_hartung_with_identical_sources_warns_of_a_zero_standard_error():
    table = pd.DataFrame({"study": list("abc"), "events": 1, "n": 1})
    with pytest.warns(SmallSampleWarning, match="Knapp-Hartung standard error is 0"):
        row = pooled(table, method="reml", test="knha")
    assert row["se"] == 0 and row["proportion"] == pytest.approx(0.75)  # 1/1 with 1/2 added: 1.5/2


def test_separation_at_a_moderator_level_penalises_the_meta_regression():
    table = pd.DataFrame({"study": list("abcdefg"), "events": [3, 5, 2, 4, 6, 4, 1],
                          "n": [3, 5, 2, 8, 9, 10, 4], "kind": ["series"] * 3 + ["registry"] * 4})
    with pytest.warns(SeparationWarning, match=r"all sources \(meta-regression\)"):
        result = sa.pool_proportions(table, moderators="kind")
    assert result.moderators["penalised"].all() and not result.summary["penalised"].any()
    assert np.isfinite(result.moderators[["coef", "se", "qm"]].to_numpy()).all()


def test_a_moderator_with_one_value_in_a_group_is_named_and_skipped():
    table = literature().assign(arm=lambda d: np.where(d["source_type"] == "series", "b", "a"))
    table.loc[table.index[:3], "arm"] = "b"  # arm b has case reports and series, arm a only case reports
    with pytest.warns(SmallSampleWarning, match="arm='a'.*cannot be fitted"):
        result = sa.pool_proportions(table, by="arm", moderators="source_type", method="reml")
    assert set(result.moderators["arm"]) == {"b"}


def test_numeric_moderator_enters_as_is():
    table = sources("hannum2020").assign(year=lambda d: 2000 + np.arange(len(d)) % 7)
    result = sa.pool_proportions(table, moderators="year", method="dl")
    assert result.moderators["term"].tolist() == ["intercept", "year"]
    assert result.moderators["qm"].iloc[0] == pytest.approx(result.moderators["stat"].iloc[1] ** 2)


def test_reml_where_fisher_scoring_oscillates_is_the_restricted_likelihood_maximum():
    # metafor stops here with "Fisher scoring algorithm did not converge"
    events = [0, 0, 1, 1, 2, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1]
    n = [6, 10, 9, 22, 12, 11, 24, 19, 5, 9, 2, 15, 16, 22, 2, 24, 23, 10, 6, 14, 8]
    table = pd.DataFrame({"study": range(21), "events": events, "n": n})
    x, size = np.array(events, float), np.array(n, float)
    zero = (x == 0) | (x == size)
    y, v = np.log((x + zero / 2) / (size - x + zero / 2)), 1 / (x + zero / 2) + 1 / (size - x + zero / 2)

    def restricted(tau2):
        w = 1 / (v + tau2)
        mean = (w @ y) / w.sum()
        return -0.5 * (np.log(v + tau2).sum() + np.log(w.sum()) + w @ (y - mean) ** 2)

    best = optimize.minimize_scalar(lambda t: -restricted(t), bounds=(0, 5), method="bounded",
                                    options={"xatol": 1e-12})
    assert pooled(table, method="reml")["tau2"] == pytest.approx(best.x, abs=1e-6)


def test_the_callers_frame_is_not_changed():
    table = sources("pritz1997").assign(events=lambda d: d["events"].astype(float))
    before = table.copy()
    sa.pool_proportions(table, method="dl")
    pd.testing.assert_frame_equal(table, before)


def test_a_registry_pools_one_source_per_site(tmp_path):
    from tests.userdata import write_user_registry

    cs = sa.read_case_series(write_user_registry(tmp_path / "registry", 60, seed=3))
    lines = cs.lines.merge(cs.patients[["patient_id", "site"]], on="patient_id")
    assessed = lines[lines["best_response"].isin(["CR", "PR", "SD", "PD"])]
    table = (assessed.assign(responded=assessed["best_response"].isin(["CR", "PR"]))
             .groupby(["tier", "site"], observed=True)["responded"].agg(events="sum", n="size")
             .reset_index().rename(columns={"site": "study"}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # a tier seen at one site only
        warnings.simplefilter("ignore", SeparationWarning)  # a tier where every line responded
        result = sa.pool_proportions(table, by="tier")
    assert result.summary["n"].sum() == len(assessed)
    assert result.summary["k"].tolist() == table.groupby("tier", observed=True).size().tolist()


SOURCE = st.tuples(st.integers(1, 40), st.floats(0, 1)).map(lambda s: (round(s[0] * s[1]), s[0]))


@settings(max_examples=40)
@given(st.lists(SOURCE, min_size=2, max_size=25))
def test_glmm_lands_on_a_maximum_of_the_quadrature_likelihood(rows):
    table = pd.DataFrame(rows, columns=["events", "n"]).assign(study=lambda d: d.index.astype(str))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        warnings.simplefilter("ignore", SmallSampleWarning)
        row = pooled(table)
    values = row[["proportion", "lower", "upper", "pi_lower", "pi_upper", "se", "tau2"]].astype(float)
    assert np.isfinite(values).all()
    assert 0 <= row["pi_lower"] <= row["lower"] <= row["proportion"] <= row["upper"] <= row["pi_upper"] <= 1
    if row["penalised"] or (table["n"] == 1).all():
        return
    data = Binomial(table["events"].to_numpy(float), table["n"].to_numpy(float))

    def loglik(logit, tau):
        return source_terms(data, np.full(len(table), logit), tau, np.zeros(len(table))).loglik.sum()

    best = loglik(row["logit"], np.sqrt(row["tau2"]) or 1e-9)
    for d_logit, d_tau in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3), (1e-3, 1e-3), (-1e-3, 1e-3)]:
        tau = np.sqrt(row["tau2"]) + d_tau
        if tau > 0:
            assert best >= loglik(row["logit"] + d_logit, tau) - 1e-10


# --- input checks -----------------------------------------------------------------------------

def table_with(**changes) -> pd.DataFrame:
    table = pd.DataFrame({"study": ["Smith 2010", "Lee 2015", "Diaz 2019"], "events": [3, 5, 2],
                          "n": [4, 9, 2]})
    for column, (row, value) in changes.items():
        table[column] = table[column].astype(object)
        table.loc[row, column] = value
    return table


@pytest.mark.parametrize(("changes", "match"), [
    ({"events": (1, -1)}, r"column 'events' must hold whole numbers >= 0: row 1 \(study 'Lee 2015'\)"),
    ({"n": (2, 2.5)}, r"column 'n' must hold whole numbers >= 0: row 2 \(study 'Diaz 2019'\)"),
    ({"events": (0, 7)}, r"column 'events' exceeds column 'n' .* row 0 \(study 'Smith 2010'\)"),
    ({"n": (1, 0)}, r"column 'n' must be at least 1.*row 1 \(study 'Lee 2015'\)"),
    ({"events": (2, None)}, r"'events' has missing or non-numeric counts at row 2 \(study 'Diaz 2019'\)"),
    ({"events": (2, "five")}, r"column 'events' has missing or non-numeric counts at row 2"),
    ({"study": (1, None)}, r"study column 'study' is missing at row 1$"),
    ({"study": (1, " ")}, r"study column 'study' is missing at row 1"),
    ({"study": (2, "Smith 2010")}, r"ids repeat at rows 0 \(study 'Smith 2010'\), 2 \(study 'Smith 2010'\)"),
])
def test_bad_sources_are_refused_naming_column_and_row(changes, match):
    with pytest.raises(PoolingError, match=match):
        sa.pool_proportions(table_with(**changes))


def test_missing_columns_and_options_are_named():
    with pytest.raises(PoolingError, match="events column 'responders' is not in the table"):
        sa.pool_proportions(table_with(), events="responders")
    with pytest.raises(PoolingError, match="by column 'treatment' is not in the table"):
        sa.pool_proportions(table_with(), by="treatment")
    with pytest.raises(PoolingError, match="method must be one of"):
        sa.pool_proportions(table_with(), method="fe")
    with pytest.raises(PoolingError, match="test='knha'.*method='glmm'"):
        sa.pool_proportions(table_with(), test="knha")
    with pytest.raises(PoolingError, match="conf_level"):
        sa.pool_proportions(table_with(), conf_level=95)


def test_the_same_study_may_appear_in_different_groups():
    table = pd.concat([table_with().assign(treatment="IVIG"), table_with().assign(treatment="ASCT")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        assert len(sa.pool_proportions(table, by="treatment", method="dl").summary) == 2
    with pytest.raises(PoolingError, match="study ids repeat within the same treatment"):
        sa.pool_proportions(pd.concat([table, table_with().assign(treatment="IVIG")]), by="treatment")


def test_different_response_definitions_are_never_pooled_together():
    table = sources("pritz1997").assign(response_definition=["mRSS -50%"] * 7 + ["investigator"] * 7)
    with pytest.raises(PoolingError, match="several definitions of response.*'investigator', 'mRSS -50%'"):
        sa.pool_proportions(table)
    within = sa.pool_proportions(table, by="response_definition", method="dl")
    assert within.summary["k"].tolist() == [7, 7]
    assert len(sa.pool_proportions(table, moderators="response_definition", method="dl").moderators) == 2
    assert len(sa.pool_proportions(table.assign(response_definition="mRSS -50%"), method="dl").summary) == 1
    table.loc[table.index[7:], "response_definition"] = None
    with pytest.raises(PoolingError, match=r"several definitions of response \('\(missing\)', 'mRSS -50%'\)"):
        sa.pool_proportions(table)


# --- forest plot ------------------------------------------------------------------------------

def test_plot_draws_on_a_new_figure_unless_given_axes():
    result = sa.pool_proportions(pd.concat([sources("pritz1997").assign(arm="a"),
                                            sources("debruin2009").assign(arm="b")]), by="arm")
    current = plt.figure().gca()
    ax = result.plot()
    assert ax is not current and not current.lines and not current.patches
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "Arm: a" and labels.count("Pooled (glmm)") == 2
    assert len(labels) == len(result.studies) + 2 * 2 + 1  # a header and a pooled row per group, a gap
    assert len(ax.patches) == 2  # one diamond per group
    given = plt.figure().gca()
    assert result.plot(ax=given) is given and given.patches
    plt.close("all")


def test_plot_marks_a_penalised_pool():
    with pytest.warns(SeparationWarning):
        result = sa.pool_proportions(pd.DataFrame({"study": list("ab"), "events": [4, 6], "n": [4, 6]}))
    ax = result.plot()
    assert "Pooled (glmm, penalised)" in [t.get_text() for t in ax.get_yticklabels()]
    diamond = ax.patches[0].get_xy()
    row = result.summary.iloc[0]
    assert diamond[:, 0].min() == pytest.approx(row["lower"])
    assert diamond[:, 0].max() == pytest.approx(row["upper"])
    plt.close("all")

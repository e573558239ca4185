"""Tables a reader expects: estimates at fixed times, median follow-up, pairwise log-rank tests,
N and events per regression term, one p-value format, Markdown without an index column.

Against R's survival 3.5 and cmprsk 2.2 (tests/reference/tables22.R) on the shipped registry's
relapse frame (tests/reference/data/shipped_relapse.csv) and on R's lung and veteran data.
Tolerance 1e-10 relative: the methods are R's, and agreement is ~1e-14.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sclero_analysis as sa
from sclero_analysis.exceptions import RepeatedIdsWarning, SmallSampleWarning
from sclero_analysis.formatting import format_median, format_p
from sclero_analysis.survival import SurvivalInputError
from sclero_analysis.survival.pairwise import p_adjust
from sclero_analysis.tables import Table, median_table, regression_table, survival_table

from .reference.load import HERE, TIERS, as_array, reference

RTOL = 1e-10
R = reference("tables22")
DATA = HERE / "data"
PACKAGE = Path(sa.__file__).parent


def close(actual, expected, rtol=RTOL, atol=1e-15):
    np.testing.assert_allclose(np.asarray(actual, float), as_array(expected), rtol=rtol, atol=atol,
                               equal_nan=True)


def shipped() -> pd.DataFrame:
    """The shipped registry's relapse frame as R read it (907 lines of 396 patients)."""
    df = pd.read_csv(DATA / "shipped_relapse.csv")
    df["tier"] = pd.Categorical(df["tier"], categories=TIERS)
    return df


def marked(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.attrs["cluster"] = "patient_id"
    return df


def lung() -> pd.DataFrame:
    """R's lung (228 rows): status 1 censored, 2 dead; ``event`` recoded 0/1."""
    df = pd.read_csv(DATA / "lung_full.csv")
    return df.assign(event=df["status"] - 1)


def veteran() -> pd.DataFrame:
    return pd.read_csv(DATA / "veteran.csv")


# --- survival and cumulative incidence at fixed times -----------------------------------------
TIMES, LUNG_TIMES = R["times"], R["lung_times"]
LUNG = {"time": "time", "event": "event", "group": "sex"}
AT_CASES = {
    "km_tier_log": lambda: sa.kaplan_meier(shipped(), cluster=False).at(TIMES),
    "km_tier_log_extend": lambda: sa.kaplan_meier(shipped(), cluster=False).at(TIMES, extend=True),
    "km_tier_loglog": lambda: sa.kaplan_meier(shipped(), cluster=False, conf_type="log-log").at(TIMES),
    "km_tier_cluster": lambda: sa.kaplan_meier(shipped(), cluster="patient_id").at(TIMES),
    "km_all_plain": lambda: sa.kaplan_meier(shipped(), group=None, cluster=False,
                                            conf_type="plain").at(TIMES, extend=True),
    "km_lung_sex": lambda: sa.kaplan_meier(lung(), **LUNG).at(LUNG_TIMES),
    "km_lung_sex_loglog": lambda: sa.kaplan_meier(lung(), conf_type="log-log", **LUNG).at(
        LUNG_TIMES, extend=True),
    "cif_tier": lambda: sa.cumulative_incidence(shipped(), cluster=False, variance="ij",
                                                conf_type="log").at(TIMES),
    "cif_tier_death": lambda: sa.cumulative_incidence(shipped(), cause=2, cluster=False,
                                                      variance="ij", conf_type="log").at(TIMES),
    "cif_tier_cluster": lambda: sa.cumulative_incidence(shipped(), cluster="patient_id",
                                                        conf_type="log").at(TIMES, extend=True),
}


@pytest.mark.parametrize("key", AT_CASES)
def test_at_matches_summary_survfit_times(key):
    at, r = AT_CASES[key](), R["at"][key]
    assert list(at.columns) == ["group", "time", "n_risk", "estimate", "se", "lower", "upper"]
    # R leaves out the times beyond a group's last follow-up (extend=FALSE): NaN rows here
    shown = at[at["estimate"].notna()]
    assert shown["group"].astype(str).tolist() == [str(g) for g in r["group"]]
    for column in ("time", "n_risk", "estimate", "se", "lower", "upper"):
        close(shown[column], r[column])


def test_at_beyond_follow_up_is_missing_unless_extended():
    km = sa.kaplan_meier(shipped(), cluster=False)
    last = km.summary.groupby("group", observed=True)["time"].max()
    at = km.at([last["other"] + 1.0])
    other = at[at["group"] == "other"].iloc[0]
    assert np.isnan(other["estimate"]) and other["n_risk"] == 0
    assert at[at["group"] != "other"]["estimate"].notna().all()  # still followed there
    extended = km.at([last["other"] + 1.0], extend=True)
    assert extended.loc[extended["group"] == "other", "estimate"].item() == pytest.approx(
        km.summary.loc[km.summary["group"] == "other", "survival"].iloc[-1])


def test_at_reads_the_fitted_steps():
    """Invariants: the step at or before each time, limits around it, monotone in time."""
    km = sa.kaplan_meier(shipped(), cluster="patient_id")
    grid = np.linspace(0, 60, 41)
    at = km.at(grid, extend=True)
    wide = at.pivot(index="group", columns="time", values="estimate")
    np.testing.assert_array_equal(wide.to_numpy(), km.survival_at(grid).to_numpy())
    ok = at["lower"].notna()  # undefined (NaN) where the curve has reached 0
    assert (at.loc[ok, "lower"] <= at.loc[ok, "estimate"]).all()
    assert (at.loc[ok, "upper"] >= at.loc[ok, "estimate"]).all()
    assert (at.loc[~ok, "estimate"] == 0).all() and at["upper"].isna().eq(~ok).all()
    for _, curve in at.groupby("group", observed=True):
        assert (np.diff(curve["estimate"]) <= 0).all() and (np.diff(curve["n_risk"]) <= 0).all()
    with pytest.raises(ValueError, match="finite times"):
        km.at([-1.0])


def test_cif_at_with_cmprsk_variance_matches_timepoints():
    """cmprsk's timepoints: the estimate and its variance at the step at or before each time."""
    at = sa.cumulative_incidence(shipped(), cluster=False).at(TIMES)
    r = R["cuminc_at"]
    for row, (est, var) in zip(r["rows"], zip(r["est"], r["var"], strict=True), strict=True):
        tier, cause = row.rsplit(" ", 1)
        if cause != "1":
            continue
        ours = at[at["group"] == tier]
        shown = ~np.isnan(as_array(est))  # NA beyond the group's last time, as here
        np.testing.assert_array_equal(ours["estimate"].notna().to_numpy(), shown)
        close(ours["estimate"][shown], as_array(est)[shown])
        close(ours["se"][shown] ** 2, as_array(var)[shown])


# --- median follow-up -------------------------------------------------------------------------
FOLLOWUP_CASES = {
    "shipped_all": lambda: sa.follow_up(shipped()),
    "shipped_tier": lambda: sa.follow_up(shipped(), group="tier"),
    "shipped_tier_cluster": lambda: sa.follow_up(shipped(), group="tier", cluster="patient_id"),
    "shipped_loglog": lambda: sa.follow_up(shipped(), conf_type="log-log"),
    "lung_all": lambda: sa.follow_up(lung(), time="time"),
    "lung_sex": lambda: sa.follow_up(lung(), time="time", group="sex"),
    "veteran_trt": lambda: sa.follow_up(veteran(), time="time", event="status", group="trt"),
}


@pytest.mark.parametrize("key", FOLLOWUP_CASES)
def test_follow_up_matches_reverse_survfit(key):
    summary, r = FOLLOWUP_CASES[key]().summary, R["followup"][key]
    assert [str(g) for g in summary.index] == [str(g) for g in np.atleast_1d(r["group"])]
    assert summary["n"].tolist() == np.atleast_1d(r["n"]).tolist()
    assert summary["n_censored"].tolist() == np.atleast_1d(r["events"]).tolist()
    for column in ("median", "lower", "upper"):
        close(summary[column], r[column])


def test_follow_up_reverses_the_indicator():
    """Censored rows are the events; relapses and deaths (any code) censor the curve."""
    df = pd.DataFrame({"time_months": [2.0, 3, 3, 5, 7, 8, 10], "event": [1, 0, 1, 2, 1, 0, 2]})
    fu = sa.follow_up(df)
    reverse = fu.reverse.summary
    assert reverse["n_event"].sum() == 2 and reverse["n_event"][reverse["time"] == 3].item() == 1
    # at the tie at 3 the censoring comes first: 6 at risk, S = 5/6 (survfit, not prodlim)
    assert reverse.loc[reverse["time"] == 3, "survival"].item() == pytest.approx(5 / 6)
    assert fu.summary.loc["all", "median"] == 8.0
    # the median follow-up is not the median of the observed times (5)
    assert fu.summary.loc["all", "median"] != np.median(df["time_months"])


def test_follow_up_warns_in_its_own_words():
    df = shipped()
    with pytest.warns(RepeatedIdsWarning, match="follow_up treats"):
        sa.follow_up(marked(df))
    all_events = df.assign(event=np.where(df["tier"] == "other", 1, df["event"]))
    with pytest.warns(SmallSampleWarning, match="'other' has no censored rows"):
        fu = sa.follow_up(all_events, group="tier")
    assert np.isnan(fu.summary.loc["other", "median"])
    with pytest.raises(SurvivalInputError, match="'status'"):
        sa.follow_up(df, event="status")
    with pytest.raises(SurvivalInputError, match="whole codes"):  # not silently "an event"
        sa.follow_up(df.assign(event=df["event"].replace(2, -1)))


# --- pairwise log-rank tests ------------------------------------------------------------------
PAIR_CASES = {
    "shipped_tier": (shipped, {}),
    "shipped_tier_rho1": (shipped, {"rho": 1}),
    "shipped_tier_cluster": (shipped, {"cluster": "patient_id"}),
    "veteran_celltype": (veteran, {"time": "time", "event": "status", "group": "celltype"}),
}


@pytest.mark.parametrize("key", PAIR_CASES)
@pytest.mark.parametrize("adjust", ["holm", "bonferroni", "BH", "none"])
def test_pairwise_logrank_matches_pairwise_survdiff(key, adjust):
    make, kwargs = PAIR_CASES[key]
    result = sa.pairwise_logrank(make(), adjust=adjust, **kwargs)
    s, r = result.summary, R["pairwise"][key]["table"]
    assert s["group1"].tolist() == r["group1"] and s["group2"].tolist() == r["group2"]
    close(s["statistic"], r["statistic"])
    assert s["dof"].tolist() == r["dof"]
    close(s["p_value"], r["p"])
    close(s["p_adjusted"], r[f"p_{adjust}"])


def test_pairwise_matrix_is_survminers_table():
    result = sa.pairwise_logrank(shipped(), cluster=False)
    matrix = result.matrix()
    assert matrix.index.tolist() == TIERS[1:] and matrix.columns.tolist() == TIERS[:-1]
    lower = matrix.to_numpy().T[np.triu_indices(3)]  # R's lower.tri, column by column
    close(lower, R["pairwise"]["shipped_tier"]["survminer_holm"])
    assert np.isnan(matrix.loc["immunosuppression", "cytoreduction"])


def test_pairwise_warns_once_and_skips_pairs_without_events():
    df = shipped()
    with pytest.warns(RepeatedIdsWarning) as caught:
        sa.pairwise_logrank(marked(df))
    assert len(caught) == 1 and "pairwise_logrank" in str(caught[0].message)
    quiet = df.assign(event=np.where(df["tier"].isin(["cytoreduction", "other"]), 0, df["event"]))
    result = sa.pairwise_logrank(quiet, adjust="bonferroni", cluster=False)
    s = result.summary.set_index(["group1", "group2"])
    assert np.isnan(s.loc[("cytoreduction", "other"), "p_adjusted"])
    # five pairs with a test: Bonferroni multiplies by 5, not 6
    assert s.loc[("ivig", "other"), "p_adjusted"] == pytest.approx(
        min(1.0, 5 * s.loc[("ivig", "other"), "p_value"]))
    with pytest.raises(SurvivalInputError, match="adjust"):
        sa.pairwise_logrank(df, adjust="sidak", cluster=False)


def test_p_adjust_closed_forms():
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(p_adjust(p, "bonferroni"), [0.04, 0.16, 0.12, 0.02])
    np.testing.assert_allclose(p_adjust(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(p_adjust(p, "BH"), [0.02, 0.04, 0.04, 0.02])
    np.testing.assert_allclose(p_adjust([0.01, np.nan, 0.04], "holm"), [0.02, np.nan, 0.04])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_p_adjust_orders_the_methods(p):
    """raw ≤ BH ≤ Holm ≤ Bonferroni ≤ 1 for any p-values."""
    raw = np.asarray(p)
    bh, holm, bonf = (p_adjust(raw, m) for m in ("BH", "holm", "bonferroni"))
    tol = 1e-12
    assert (raw <= bh + tol).all() and (bh <= holm + tol).all() and (holm <= bonf + tol).all()
    assert (bonf <= 1).all()


# --- N and events per regression term ---------------------------------------------------------
def test_cox_counts_rows_and_events_per_level():
    df = shipped().dropna(subset=["mrss"]).assign(neuro=lambda d: d["neuro"].astype(bool))
    fit = sa.fit_cox(df, "tier + mrss + neuro", cluster="patient_id")
    counts = fit.counts
    by_tier = df.groupby("tier", observed=True)
    expected_n, expected_events = by_tier.size(), by_tier["event"].apply(lambda e: int((e == 1).sum()))
    for tier in TIERS:
        assert counts.loc[f"tier[{tier}]", "n"] == expected_n[tier]
        assert counts.loc[f"tier[{tier}]", "events"] == expected_events[tier]
    assert counts.loc["tier[ivig]", "reference"] and not counts.loc["tier[other]", "reference"]
    assert counts.loc["mrss", "n"] == len(df) == fit.n
    assert counts.loc["mrss", "events"] == int((df["event"] == 1).sum()) == fit.n_events
    assert counts.loc["neuro[True]", "n"] == int(df["neuro"].sum())
    s = fit.summary
    assert s.loc["tier[other]", "n"] == expected_n["other"] and "tier[ivig]" not in s.index
    assert counts.loc[counts["variable"] == "tier", "n"].sum() == len(df)


def test_fine_gray_and_firth_carry_counts():
    df = shipped().dropna(subset=["mrss"])
    fg = sa.fit_fine_gray(df, "tier + mrss", cause=2, cluster="patient_id")
    deaths = df.groupby("tier", observed=True)["event"].apply(lambda e: int((e == 2).sum()))
    assert fg.counts.loc["tier[cytoreduction]", "events"] == deaths["cytoreduction"]
    assert fg.summary.loc["mrss", "events"] == fg.n_events
    small = df.iloc[:60]
    firth = sa.fit_cox(small, "mrss", firth=True)
    assert firth.summary.loc["mrss", "n"] == 60


def test_regression_table_shows_n_and_events_with_the_reference_row():
    df = shipped().dropna(subset=["mrss"])
    crude, adjusted = (sa.fit_cox(df, f, cluster="patient_id") for f in ("tier", "tier + mrss"))
    t = regression_table({"crude": crude, "adjusted": adjusted})
    s = t.summary
    assert list(s.columns) == [f"{m} {c}" for m in ("crude", "adjusted")
                               for c in ("N", "Events", "HR (95% CI)", "p")]
    counts = adjusted.counts
    assert s.loc["    ivig", "adjusted N"] == str(counts.loc["tier[ivig]", "n"])
    assert s.loc["    ivig", "adjusted HR (95% CI)"] == "reference"
    assert s.loc["    other", "crude Events"] == str(counts.loc["tier[other]", "events"])
    assert s.loc["tier", "crude N"] == ""  # the header row
    assert s.loc["mrss", "adjusted N"] == str(len(df)) and s.loc["mrss", "crude N"] == ""
    # a bare summary without counts has no N column
    bare = adjusted.summary.drop(columns=["n", "events"])
    assert list(regression_table(bare).summary.columns) == ["HR (95% CI)", "p"]


# --- one p-value format, Markdown without an index column, "not reached" ------------------------
#: An f-string field formatting a p-value by hand: {lr.p_value:.3g}, {row["p"]:.3f} …
P_FORMAT = re.compile(r"""\{[^{}]*(p_value|pvalue|p_adjusted|pval|\[["']p["']\])\s*:[^{}]*[gef]\}""")


def test_p_values_are_formatted_in_one_place():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "formatting.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if P_FORMAT.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert not offenders, "format p-values with formatting.format_p:\n" + "\n".join(offenders)
    assert P_FORMAT.search('f"p = {lr.p_value:.3g}"') and P_FORMAT.search("{row['p']:.2f}")
    test = sa.logrank(veteran(), time="time", event="status", group="celltype")
    assert repr(test).endswith("p < 0.001") and "e-" not in repr(test)
    pairs = sa.pairwise_logrank(veteran(), time="time", event="status", group="celltype")
    assert "p < 0.001" in repr(pairs) and "e-" not in repr(pairs)
    assert format_p(1.5e-08) == "< 0.001" and format_p(0.0004, prefix=True) == "p < 0.001"


def test_saved_frames_write_p_values_by_the_one_rule(tmp_path):
    """A notebook's rounded summary (p 0.0) is saved with "< 0.001", never "0.0" or "1e-08"."""
    fit = sa.fit_cox(shipped(), "tier", cluster="patient_id")
    rounded = fit.summary.round(4)
    assert (rounded["p"] == 0).any()
    text = sa.save_table(rounded, tmp_path / "cox", formats=("md", "csv"))
    md, csv = (path.read_text() for path in text)
    assert "< 0.001" in md and "< 0.001" in csv
    column = md.splitlines()[0].split(" | ").index("p")
    for row, p in zip(md.splitlines()[2:], fit.summary["p"], strict=True):
        assert row.split(" | ")[column] == format_p(round(p, 4))
    assert "e-" not in md and "| 0.0 |" not in md
    pairs = sa.pairwise_logrank(shipped(), cluster=False).summary
    cells = Table(pairs).to_markdown()
    assert "e-" not in cells and "< 0.001" in cells


def test_markdown_of_a_frame_without_row_labels_has_no_index_column(tmp_path):
    at = sa.kaplan_meier(shipped(), cluster=False).at([12.0])
    md = Table(at).to_markdown().splitlines()
    assert md[0] == "| group | time | n_risk | estimate | se | lower | upper |"
    assert md[2].startswith("| ivig | 12.0 |")
    assert Table(at).to_csv().splitlines()[0] == "group,time,n_risk,estimate,se,lower,upper"
    assert "<th></th>" not in Table(at).to_html()
    assert r"\begin{tabular}{rrrrrrr}" in Table(at).to_latex()
    labelled = Table(pd.DataFrame({"x": [1]}, index=["a"])).to_markdown().splitlines()
    assert labelled[0] == "|  | x |" and labelled[2] == "| a | 1 |"
    paths = sa.save_table(at, tmp_path / "at", formats=("md",))
    assert paths[0].read_text().splitlines()[0].startswith("| group |")


def test_nan_medians_are_not_reached_in_tables(tmp_path):
    km = sa.kaplan_meier(shipped(), cluster=False)
    assert np.isnan(km.medians.loc["cytoreduction", "upper"])
    text = sa.save_table(km.medians, tmp_path / "medians", formats=("md",))[0].read_text()
    assert "not reached" in text and "nan" not in text.lower()
    t = median_table(km)
    assert t.summary.loc["cytoreduction"].iloc[2] == format_median(
        *km.medians.loc["cytoreduction"], decimals=1)
    assert t.summary.loc["cytoreduction"].iloc[2].endswith("–NR)")
    np.testing.assert_array_equal(t.values["median"].to_numpy(), km.medians["median"].to_numpy())
    fu = median_table(sa.follow_up(shipped(), group="tier", cluster="patient_id"))
    assert fu.summary.loc["other"].iloc[2].startswith("not reached")
    assert list(fu.summary.columns)[:2] == ["N", "Censored"]
    blank = Table(pd.DataFrame({"estimate": [np.nan, 0.5]})).to_markdown()
    assert "nan" not in blank and "not reached" not in blank


def test_survival_table_reads_at():
    km = sa.kaplan_meier(shipped(), cluster="patient_id")
    t = survival_table(km, [12, 24, 100])
    at = km.at([12, 24, 100]).set_index(["group", "time"])
    row = at.loc[("ivig", 12.0)]
    expected = f"{100 * row['estimate']:.0f}% ({100 * row['lower']:.0f}–{100 * row['upper']:.0f}%)"
    assert t.summary.loc["ivig", "12 months"] == expected
    assert (t.summary["100 months"] == "").all()  # beyond every group's follow-up
    assert t.values["estimate"].loc["other", 24.0] == at.loc[("other", 24.0), "estimate"]
    cif = survival_table(sa.cumulative_incidence(shipped(), cluster="patient_id"), [0, 12])
    assert cif.notes[0].startswith("Cumulative incidence")
    assert (cif.summary["0 months"] == "0% (0–0%)").all()  # before the first time, as R
    loglog = survival_table(sa.kaplan_meier(shipped(), cluster=False, conf_type="log-log"), [0.5])
    # ivig: only censorings by 0.5 months, S = 1 and no log-log interval; other: an event
    assert loglog.summary.loc["ivig", "0.5 months"] == "100%"
    assert loglog.summary.loc["other", "0.5 months"].startswith("98% (")


def test_counts_do_not_change_estimates():
    """Adding n/events leaves the numbers R checks untouched (columns appended, not mixed)."""
    df = shipped().dropna(subset=["mrss"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = sa.fit_cox(df, "tier + mrss", cluster=False)
    assert list(fit.summary.columns[-2:]) == ["n", "events"]
    assert fit.summary["n"].dtype.kind == "i" and fit.summary["events"].dtype.kind == "i"

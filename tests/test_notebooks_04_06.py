"""Notebooks 04-06 on a researcher's own data (issue 15), and the library decisions behind them.

The notebooks run through ``build_report`` on user-like registries (no truth; 8-40 patients;
CSV folder or .xlsx; a centre without mRSS): no cell may fail, the finding holds no "nan", and
every section the data cannot support is recorded as skipped with a reason in numbers. The
library tests check that each decision and sentence turns when the numbers say the opposite.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis import small_samples as ss
from sclero_analysis.literature import (
    CrudeHR,
    PublicationComparison,
    compare_publication,
    crude_hr,
    publication_gaps,
    sweep_gaps,
    sweep_summary,
)
from sclero_analysis.report import (
    build_report,
    firth_findings,
    planning_findings,
    publication_findings,
    sizing,
)
from sclero_analysis.survival.inputs import SurvivalInputError
from sclero_analysis.synthetic.publication import expected_reports
from tests.userdata import write_user_registry

NOTEBOOKS = ["04_publication_bias", "05_registry_study_planning", "06_small_samples"]
NAN = re.compile(r"\bnan\b", re.IGNORECASE)


#: Report seed under which the default filter publishes none of the 8-patient registry's patients.
NOBODY_PUBLISHED = 24


def _report(tmp_path_factory, n_patients: int, fmt: str, notebooks: list[str], seed: int = 1,
            report_seed: int = 20261125):
    root = tmp_path_factory.mktemp(f"user{n_patients}")
    data = write_user_registry(root / "registry", n_patients, seed=seed, fmt=fmt)
    build_report(data=data, out=root / "report", notebooks=notebooks, fast=True, progress=None,
                 seed=report_seed)
    return root / "report"


def _checked(folder, name: str) -> dict:
    """The notebook's manifest, after checking the executed notebook and its finding."""
    cells = json.loads((folder / f"{name}.ipynb").read_text())["cells"]
    errors = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o["output_type"] == "error" or (o["output_type"] == "stream" and o["name"] == "stderr")]
    assert not errors, f"{name}: {errors[0]}"
    manifest = json.loads((folder / "manifest" / f"{name}.json").read_text())
    assert manifest["finding"] and not NAN.search(manifest["finding"]), manifest["finding"]
    for entry in manifest["skipped"]:  # each says what is missing in numbers (the truth: in words)
        assert entry["section"] and entry["reason"], entry
        assert re.search(r"\d", entry["reason"]) or "truth" in entry["section"].lower(), entry
    return manifest


def _sections(manifest: dict) -> set[str]:
    return {entry["section"] for entry in manifest["skipped"]}


@pytest.fixture(scope="module")
def eight(tmp_path_factory):
    return _report(tmp_path_factory, 8, "csv", NOTEBOOKS, report_seed=NOBODY_PUBLISHED)


def test_an_eight_patient_csv_registry_runs_04_to_06(eight):
    publication = _checked(eight, "04_publication_bias")
    assert "correction for the publication of responders" in _sections(publication)  # no literature
    rates = pd.read_csv(eight / "tables" / "04_response_rates.csv")
    assert rates.loc[rates["source"] == "literature", "lines"].sum() == 0, \
        f"seed {NOBODY_PUBLISHED} now publishes cases: pick a seed that publishes none of the 8 patients"
    assert {"Registry vs literature curves", "Response rate of the reports",
            "Comparison with the truth"} <= _sections(publication)  # said, not hidden
    assert "0 of 8 patients published" in publication["finding"]
    planning = _checked(eight, "05_registry_study_planning")
    assert "(8 patients)" in planning["finding"]  # the registry's own size is planned
    sizes = pd.read_csv(eight / "tables" / "05_power_by_size.csv")["n_patients"]
    assert 8 in set(sizes)
    small = _checked(eight, "06_small_samples")
    assert {"One small series", "Many small series"} <= _sections(small)
    assert "draws of 8 patients from the shipped synthetic registry" in small["finding"]
    counted = pd.read_csv(eight / "tables" / "06_firth_vs_cox_many_series.csv").set_index("method")
    firth = counted.loc["firth"]
    assert firth["estimated"] + firth["failed"] + firth["not_estimable"] == firth["series"]
    assert f"finite estimate in {firth['estimated']} of" in small["finding"]


def test_a_fifteen_patient_workbook_runs_04_and_06(tmp_path_factory):
    folder = _report(tmp_path_factory, 15, "xlsx", ["04_publication_bias", "06_small_samples"], seed=2)
    publication = _checked(folder, "04_publication_bias")
    hrs = pd.read_csv(folder / "tables" / "04_hr_cytoreduction_by_source.csv").set_index("source")
    assert "truth (marginal)" not in hrs.index
    missing = hrs.index[hrs["hr"].isna()]
    assert all(f"Crude HR in the {'published cases' if s == 'literature' else s}" in _sections(publication)
               for s in missing)  # every empty HR is a recorded skip
    small = _checked(folder, "06_small_samples")
    assert "the series is the whole registry (15 patients)" in json.dumps(small["skipped"])


@pytest.mark.slow
def test_a_forty_patient_registry_runs_04_to_06(tmp_path_factory):
    folder = _report(tmp_path_factory, 40, "csv", NOTEBOOKS, seed=3)
    for name in NOTEBOOKS:
        _checked(folder, name)
    small = json.loads((folder / "manifest" / "06_small_samples.json").read_text())
    assert "One small series" not in _sections(small)  # 30 of 40 patients: no reduction
    assert "fewer than 2 × 30 = 60" in json.dumps(small["skipped"], ensure_ascii=False)


# --- notebook 04: crude HRs, publication comparison, selection sweep ---------------------------

@pytest.fixture(scope="module")
def tiny():
    """A 12-patient registry without truth (what a small centre brings)."""
    return sa.simulate_registry(sa.RegistryDesign(n_patients=12, n_sites=2), seed=5, truth=False)


def test_crude_hr_says_why_it_is_missing():
    cs = sa.load_example()
    assert crude_hr(cs).estimable and crude_hr(cs).reason == ""
    ivig_only = ss.sample_series(cs, 30, rng=1)
    ivig_only = sa.CaseSeries(ivig_only.patients, ivig_only.lines[ivig_only.lines["tier"] == "ivig"],
                              ivig_only.events, ivig_only.report, {}, {}, "test", {})
    missing = crude_hr(ivig_only)
    assert not missing.estimable and math.isnan(missing.hr)
    assert missing.reason == "no cytoreduction lines" and "cytoreduction 0 lines" in missing.counts()


def test_crude_hr_reports_a_failed_fit_instead_of_raising(monkeypatch):
    import sclero_analysis.literature as literature

    def singular(*args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(literature, "fit_cox", singular)
    result = crude_hr(sa.load_example())
    assert not result.estimable and "Singular matrix" in result.reason


def test_a_tiny_registry_gives_a_sweep_with_counts_not_errors(tiny):
    sweep = sa.publication_sweep(tiny, strengths=(0, 2), seeds=range(3))
    assert sweep["estimable"].dtype == bool
    assert sweep.loc[~sweep["estimable"], "log_hr"].isna().all()  # a monotone fit is no estimate
    summary = sweep_summary(sweep)
    assert (summary["hr_draws"] == sweep.groupby("strength")["estimable"].sum()).all()
    gaps = dict(sweep_gaps(summary))
    if (summary["hr_draws"] == 0).any():
        assert "Selection sweep: hazard ratios" in gaps


def test_expected_reports_is_the_mean_number_published():
    cs = ss.sample_series(sa.load_example(), 100, rng=2)
    counts = [len(sa.publish_case_reports(cs, seed=s).patients) for s in range(15)]
    se = np.std(counts, ddof=1) / np.sqrt(len(counts))
    assert abs(np.mean(counts) - expected_reports(cs)) < 4 * se  # Monte Carlo check, 4 SE


def test_publication_gaps_turn_with_the_data(tiny):
    cs = sa.load_example()
    full = compare_publication(cs, sa.publish_case_reports(cs, seed=1))
    assert publication_gaps(full, has_truth=True) == []
    assert [s for s, _ in publication_gaps(full, has_truth=False)] == ["Comparison with the truth"]
    nobody = sa.publish_case_reports(tiny, seed=1, design=sa.PublicationDesign(base_probability=0.0,
                                                                               odds_cr=1, odds_pr=1))
    empty = compare_publication(tiny, nobody)
    sections = [s for s, _ in publication_gaps(empty, has_truth=False)]
    assert sections[:3] == ["Registry vs literature curves", "Response rate of the reports",
                            "Crude HR in the published cases"]
    sweep = sweep_summary(sa.publication_sweep(tiny, (0, 2), range(2)))
    text = publication_findings.publication_finding(empty, sweep)
    assert "no report would tell an assessed line" in text.lower() and not NAN.search(text)


def _comparison(reported: int, assessed: int, registry: int = 60, registry_assessed: int = 100):
    hr = CrudeHR("cytoreduction", -0.5, 0.2, {"ivig": 50, "cytoreduction": 20},
                 {"ivig": 30, "cytoreduction": 8})
    return PublicationComparison(100, 10, 9.5, assessed, reported, registry_assessed, registry, hr, hr, 4, 9)


def test_the_reported_rate_sentence_turns_with_the_numbers():
    above = publication_findings.reported_rate(_comparison(10, 10))
    within = publication_findings.reported_rate(_comparison(6, 10))
    assert "10 of 10 reports (100%), above the 95% CI" in above
    assert "6 of 10 reports (60%), within the 95% CI" in within
    plain = publication_findings.publication_plain_words
    assert "quote a response rate above" in plain(_comparison(10, 10), _flat_sweep())
    assert "does not contradict" in plain(_comparison(6, 10), _flat_sweep())


def _flat_sweep(first=0.6, last=0.62, se=0.03):
    return pd.DataFrame({"response_rate": [first, last], "response_rate_mcse": [se, se]},
                        index=pd.Index([0.0, 2.0], name="strength"))


def test_the_sweep_sentence_says_rises_only_beyond_monte_carlo_error():
    assert "does not change beyond Monte Carlo error" in publication_findings._sweep_change(_flat_sweep())
    assert "rises from 60%" in publication_findings._sweep_change(_flat_sweep(last=0.9))
    assert "falls from 60%" in publication_findings._sweep_change(_flat_sweep(last=0.3))
    assert "cannot be compared" in publication_findings._sweep_change(_flat_sweep(last=float("nan")))


def test_unseen_relapses_are_counted():
    text = publication_findings.publication_plain_words(_comparison(6, 10), _flat_sweep())
    assert "the reports tell 4 relapses or progressions of the 10 published patients, the registry " \
           "records 9" in text


# --- notebook 05: sizes, relapse rates, power, bias, coverage ---------------------------------

def test_planning_sizes_add_the_registrys_own_size():
    assert sizing.planning_sizes(15, fast=True) == [15, 50, 100, 200]
    assert sizing.planning_sizes(10_000) == [50, 100, 200, 400, 800, 10_000]
    assert sizing.planning_sizes(None, fast=True) == [50, 100, 200]


def test_relapse_rate_counts_every_analysable_line():
    cs = sa.load_example()
    rate = sizing.relapse_rate(cs)
    df = sa.relapse_frame(cs)
    assert rate.lines == len(df) and rate.relapses == int((df["event"] == 1).sum())
    assert rate.per_100 == pytest.approx(100 * rate.relapses / df["time_months"].sum())


def test_the_relapse_rate_comparison_turns():
    design = sizing.RelapseRate(900, 500, 25_000.0)  # 2.0 per 100 line-months
    compare = planning_findings.relapse_rate_comparison
    assert "conservative" in compare(sizing.RelapseRate(40, 40, 1000.0), design)
    assert "optimistic" in compare(sizing.RelapseRate(40, 10, 1000.0), design)
    assert "of this registry's order" in compare(sizing.RelapseRate(40, 22, 1000.0), design)
    assert "unknown" in compare(sizing.RelapseRate(0, 0, 0.0), design)


def _study_summary(iptw_power, naive_bias=0.4, iptw_bias=0.02, n_used_own=0):
    sizes = [8, 50, 100, 200]
    rows = []
    for analysis, bias, power in (("naive_cox", naive_bias, [0.0, 0.2, 0.3, 0.5]),
                                  ("iptw_cox", iptw_bias, iptw_power)):
        for size, p in zip(sizes, power, strict=True):
            used = n_used_own if size == 8 else 20
            rows.append({"n_patients": size, "analysis": analysis, "n_reps": 20, "n_used": used,
                         "power": p if used else np.nan, "power_mcse": 0.1 if used else np.nan,
                         "bias": bias if used else np.nan, "bias_mcse": 0.05 if used else np.nan,
                         "coverage": 0.7 if analysis == "naive_cox" else 0.94, "coverage_mcse": 0.05})
    return pd.DataFrame(rows)


def test_the_planning_finding_turns_with_the_computed_power():
    reached = planning_findings.planning_finding(_study_summary([np.nan, 0.4, 0.85, 0.95]), 8)
    short = planning_findings.planning_finding(_study_summary([np.nan, 0.2, 0.4, 0.6]), 8)
    assert "IPTW Cox reaches 80% power between 50 patients (40%) and 100 (85%)" in reached
    assert "IPTW Cox does not reach 80% power at any size up to 200 patients (the best: 60% at 200)" in short
    for text in (reached, short):
        assert "(8 patients) IPTW Cox has no power estimate: the analysis failed in all 20" in text
        assert not NAN.search(text)
    assert "below the nominal 95%" in reached and "consistent with the nominal 95%" in reached
    gaps = sizing.planning_gaps(_study_summary([np.nan, 0.4, 0.85, 0.95]), 8)
    assert [s for s, _ in gaps] == ["Power at the registry's size"]
    assert gaps[0][1].startswith("naive_cox and iptw_cox could not be fitted in any of 20 simulated 8-")
    assert sizing.planning_gaps(_study_summary([0.1, 0.4, 0.85, 0.95], n_used_own=20), 8) == []


def test_the_planning_plain_words_turn_with_the_bias():
    biased = planning_findings.planning_plain_words(_study_summary([np.nan, 0.4, 0.85, 0.95]), 8)
    summary = _study_summary([np.nan, 0.4, 0.85, 0.95], naive_bias=0.03)
    unbiased = planning_findings.planning_plain_words(summary, 8)
    assert biased.startswith("a registry of between 50 and 100 patients would detect")
    assert "more patients do not remove the naive Cox's bias" in biased
    assert "reduces the bias to +0.02" in biased
    assert "shows no bias beyond Monte Carlo error at the largest size" in unbiased
    assert "does not reduce the bias beyond Monte Carlo error" in unbiased


def test_power_bias_and_coverage_sentences_turn():
    assert planning_findings.power_statement(0.85, 0.05, 20, 20).endswith("reaching 80%")
    partly = planning_findings.power_statement(0.5, 0.1, 15, 20)  # 10 detections in 20, 5 not fitted
    assert partly.startswith("38% power") and partly.endswith("(50% among the 15 it could fit)")
    fitted_half = pd.DataFrame({"power": [0.9], "n_used": [10], "n_reps": [20]}, index=[400])
    assert "does not reach 80% power at any size up to 400 patients (the best: 45% at 400)" == \
        planning_findings.size_for_power(fitted_half)  # failed fits detect nothing
    assert "is biased by +0.30" in planning_findings.bias_statement(0.3, 0.05, "naive Cox")
    assert "no bias beyond" in planning_findings.bias_statement(0.05, 0.05, "naive Cox")
    assert "above the nominal" in planning_findings.coverage_statement(0.999, 0.001)
    assert "cannot be estimated" in planning_findings.coverage_statement(float("nan"), float("nan"))


# --- notebook 06: series size, one-series fits, counted Firth failures ------------------------

def test_plan_series_uses_what_there_is_and_says_so():
    assert ss.plan_series(8).n_patients == 8 and not ss.plan_series(8).from_data
    forty = ss.plan_series(40)
    assert forty.n_patients == 30 and not forty.from_data
    assert [s for s, _ in forty.notes] == ["Many small series"]
    sixty = ss.plan_series(60)
    assert sixty.from_data and sixty.notes == () and sixty.source == "the registry"
    with pytest.raises(ValueError):
        ss.plan_series(0)


#: A 12-patient series whose Firth fit has no finite maximum with all three tiers (a
#: cytoreduction line with a death and no relapse): (tier, months, event).
SPARSE = ([("ivig", t, e) for t, e in [(38.54, 0), (25.95, 0), (16.43, 1), (48.16, 0), (29.57, 2), (24.25, 1),
                                        (13.93, 1), (11.96, 2), (46.0, 1), (17.94, 1), (23.1, 1), (8.61, 0),
                                        (61.47, 2), (20.14, 0), (1.08, 0), (6.05, 0), (44.94, 1), (8.38, 0),
                                        (6.57, 2), (21.62, 0), (1.64, 0), (80.53, 0)]]
          + [("immunosuppression", 0.56, 0), ("immunosuppression", 5.72, 1), ("cytoreduction", 2.04, 2)])


def _frame(rows):
    df = pd.DataFrame(rows, columns=["tier", "time_months", "event"])
    return df.assign(tier=pd.Categorical(df["tier"], list(sa.TIERS)))


def test_fit_series_leaves_out_the_tier_that_breaks_firth_and_says_so():
    with pytest.raises(SurvivalInputError):
        sa.fit_cox(_frame(SPARSE).assign(tier=lambda d: d["tier"].cat.remove_unused_categories()),
                   "tier", ties="breslow", firth=True)
    fit = ss.fit_series(_frame(SPARSE))
    assert sorted(fit.models) == [ss.FIRTH, ss.ORDINARY]
    assert list(fit.tiers.index) == ["ivig", "immunosuppression"]
    (section, reason), = fit.notes
    assert section == "One small series" and "cytoreduction (1 line, 0 relapses) was left out" in reason
    drawn = firth_findings.one_series_hr(fit, ss.plan_series(400))
    assert drawn.endswith("in one 30-patient series drawn from this registry")
    assert firth_findings.one_series_hr(fit, ss.plan_series(25)) == "there is no cytoreduction line to " \
                                                                "compare in this registry's 25 patients"


def test_fit_series_with_one_tier_fits_nothing_and_says_why():
    fit = ss.fit_series(_frame([("ivig", 3.0, 1), ("ivig", 5.0, 0), ("ivig", 7.0, 1)]))
    assert fit.models == {} and "one tier (ivig: 3 lines)" in fit.notes[0][1]
    assert "no tier comparison" in firth_findings.one_series_hr(fit)


def _draws(statuses_firth, excluded=0):
    rows = []
    for i, status in enumerate(statuses_firth):
        estimated = status == "estimated"
        lower, upper = (0.1, 2.0) if estimated and i < excluded else (-2.0, 1.5)
        for method, s in (("cox", "monotone" if estimated else status), ("firth", status)):
            error = "SurvivalInputError: no finite maximum here (singular)" if s == "failed" else ""
            rows.append({"sample": i, "method": method, "lower": lower, "upper": upper, "status": s,
                         "coef": 0.5 if s in ("estimated", "monotone") else np.nan, "error": error})
    return pd.DataFrame(rows)


def test_firth_failures_are_counted_and_the_sentence_changes():
    failing = ss.summarise_draws(_draws(["estimated"] * 5 + ["failed"] * 3 + ["no contrast lines"] * 2))
    firth = failing.loc["firth"]
    assert (firth["estimated"], firth["failed"], firth["not_estimable"]) == (5, 3, 2)
    assert firth["failure"] == "no finite maximum here"
    plan = ss.plan_series(400)
    text = firth_findings.firth_finding(plan, failing)
    assert "finite estimate in 5 of 8 (62%) and failed in 3 (most often: no finite maximum here)" in text
    clean = firth_findings.firth_finding(plan, ss.summarise_draws(_draws(["estimated"] * 10)))
    assert "finite estimate in 10 of 10 (100%);" in clean and "failed" not in clean


def test_firth_power_against_80_percent_turns_the_plain_words():
    plan = ss.plan_series(400)
    weak = ss.summarise_draws(_draws(["estimated"] * 10, excluded=2))
    strong = ss.summarise_draws(_draws(["estimated"] * 10, excluded=9))
    assert "excluded HR = 1 in 2 of 10 (20%), below the 80%" in firth_findings.firth_finding(plan, weak)
    assert "reaching the 80%" in firth_findings.firth_finding(plan, strong)
    assert "can describe courses, not rank therapies" in firth_findings.firth_plain_words(plan, weak)
    assert "a comparison is informative" in firth_findings.firth_plain_words(plan, strong)
    nothing = ss.summarise_draws(_draws(["failed"] * 4))
    assert "no draw of 30 patients allowed" in firth_findings.firth_plain_words(plan, nothing)
    assert not NAN.search(firth_findings.firth_finding(plan, nothing))


def test_a_draw_without_the_contrast_is_not_a_firth_failure():
    cs = sa.load_example()
    no_cyto = sa.CaseSeries(cs.patients, cs.lines[cs.lines["tier"] != "cytoreduction"], cs.events,
                            cs.report, {}, {}, "test", cs.truth)
    draws = ss.firth_vs_cox(no_cyto, n_patients=20, n_samples=2, seed=1)
    assert set(draws["status"]) == {"no contrast lines"}
    table = ss.summarise_draws(draws)
    assert table.loc["firth", "failed"] == 0 and table.loc["firth", "not_estimable"] == 2
    gaps = [s for s, _ in ss.spread_gaps(no_cyto, table)]
    assert gaps == ["Spread of Firth HRs"]  # the shipped registry has a truth


def test_the_crude_hr_sentence_names_each_missing_estimate():
    hr = _comparison(6, 10).registry_hr
    none = CrudeHR("cytoreduction", np.nan, np.nan, {"ivig": 3, "cytoreduction": 1},
                   {"ivig": 2, "cytoreduction": 0}, "no relapse on cytoreduction")
    pair = publication_findings.crude_hr_pair

    def compare(registry, literature):
        return pair(PublicationComparison(9, 3, 2.0, 3, 3, 20, 12, registry, literature))

    assert compare(hr, hr).endswith("0.61 in the published cases, against 0.61 in the registry")
    assert compare(none, hr).endswith(
        "0.61 in the published cases; in the registry it is not estimable (no relapse on cytoreduction)")
    assert "nor in the registry" in compare(none, none)

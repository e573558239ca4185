"""Helpers of the report's notebooks: response rates, publication strength, cohort flow, small series."""

from __future__ import annotations

import numpy as np
import pytest

import sclero_analysis as sa
from sclero_analysis.literature import wilson_interval
from sclero_analysis.small_samples import sample_series
from sclero_analysis.synthetic.publication import (
    PublicationDesign,
    design_for_strength,
    reported_lines,
    selection_probability,
)


def test_wilson_interval_matches_the_closed_form():
    # Wilson (1927) / R prop.test(correct = FALSE)$conf.int: 5 of 10 -> 0.2365931, 0.7634069
    lower, upper = wilson_interval(np.array([5, 0]), np.array([10, 0]))
    assert lower[0] == pytest.approx(0.2365931, abs=1e-7) and upper[0] == pytest.approx(0.7634069, abs=1e-7)
    assert np.isnan(lower[1]) and np.isnan(upper[1])  # no observations: no interval


def test_response_rates_count_every_line():
    cs = sa.load_example()
    rates = sa.response_rates(cs)
    assert rates.loc["all", "lines"] == len(cs.lines) == rates.loc[list(sa.TIERS), "lines"].sum()
    responded = cs.lines["best_response"].isin(["CR", "PR"]).sum()
    assert rates.loc["all", "CR"] + rates.loc["all", "PR"] == responded
    assert (rates["lower"] <= rates["response_rate"]).all()
    assert (rates["response_rate"] <= rates["upper"]).all()


@pytest.mark.parametrize("strength", [0.0, 0.5, 2.0])
def test_design_for_strength_keeps_the_expected_number_of_reports(strength):
    cs = sa.load_example()
    told = reported_lines(cs.lines)
    reference = selection_probability(told, PublicationDesign()).sum()
    design = design_for_strength(cs, strength)
    assert selection_probability(told, design).sum() == pytest.approx(reference, rel=1e-9)
    assert design.odds_cr == pytest.approx(20.0 ** strength)


def test_design_for_strength_refuses_a_negative_strength():
    with pytest.raises(ValueError, match="strength"):
        design_for_strength(sa.load_example(), -1)


def test_cohort_flow_accounts_for_every_row():
    cs = sa.read_case_series("tests/data/bad/ambiguous_date")
    flow = sa.cohort_flow(cs).set_index("step")
    counts = cs.counts
    assert flow.loc["patients accepted", "n"] + flow.loc["patients accepted", "left_out"] == \
        counts.loc["patients", "read"]
    lines = flow.loc["lines accepted"]
    assert lines["n"] + lines["left_out"] == counts.loc["lines", "read"]
    assert "ambiguous_date" in flow.loc["patients accepted", "reasons"]


def test_sample_series_keeps_whole_patients():
    cs = sa.load_example()
    small = sample_series(cs, 30, rng=3)
    ids = set(small.patients["patient_id"])
    assert len(ids) == 30 and set(small.lines["patient_id"]) <= ids
    assert len(small.lines) == cs.lines["patient_id"].isin(ids).sum()
    with pytest.raises(ValueError, match="n_patients"):
        sample_series(cs, 0)

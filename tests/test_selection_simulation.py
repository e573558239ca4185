"""Simulation checks of the selection correction (slow: a few replicates; the full run is
benchmarks/bench_selection_coverage.py) and the weighted curves' invariants (fast)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

import sclero_analysis as sa
from sclero_analysis.exceptions import ScleroWarning
from sclero_analysis.selection.coverage import (
    coverage_summary,
    odds_replicates,
    published_cells,
    selection_design,
)
from sclero_analysis.selection.odds import odds_from_cells
from sclero_analysis.synthetic.publication import reported_lines
from tests.selection_data import counts_series

TIMES = np.arange(3, 37, 3)


def _least_covered(n: int, level: float = 0.95, tail: float = 0.005) -> int:
    """Fewest covering replicates a 95% interval gives with probability >= 1 - tail."""
    return int(stats.binom.ppf(tail, n, level))


@pytest.mark.slow
@pytest.mark.parametrize(("odds", "n_reps"), [(8.0, 8), (1.0, 6)])
def test_the_interval_for_lambda_covers_the_true_odds(odds, n_reps):
    reps = odds_replicates(odds, n_reps, seed=19, n_source=1500, n_registry=400)
    summary = coverage_summary(reps)
    assert reps["covered"].sum() >= _least_covered(n_reps)
    # mean log λ within 3 Monte Carlo SEs of log L (the benchmark checks 0.1 on 250 replicates)
    assert abs(summary["bias_log_odds"]) <= 3 * summary["mean_log_odds_mcse"]


@pytest.mark.slow
def test_weighting_responders_moves_the_literatures_curve_toward_the_registrys():
    # CR published 20x, PR 4x: the literature after response is CR-rich and relapses later. One
    # registry of 1,000 patients moves the gaps by about 0.02, so the checks are on the mean over
    # 12 registries against its Monte Carlo SE (each single draw can go either way).
    design = sa.PublicationDesign(base_probability=0.04, odds_cr=20, odds_pr=4, dramatic_factor=1)
    gaps = []
    for seed in range(12):
        source = sa.simulate_registry(sa.RegistryDesign(n_patients=1000), seed=100 + seed, truth=False)
        published = sa.publish_case_reports(source, seed=seed, design=design)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScleroWarning)
            odds = {r: sa.publication_odds(published, source, by=None, response_definition=f"{r} vs SD/PD")
                    for r in ("CR", "PR")}
        km = sa.publication_weighted_km(published, odds, source, origin="response")
        survival = km.curves.survival_at(TIMES)
        gaps.append((survival.loc[["literature", "literature weighted 1/λ"]] - survival.loc["registry"])
                    .mean(axis=1))
    signed = np.array(gaps)  # rows: seeds; columns: literature, corrected (mean survival - registry's)
    lowered = signed[:, 0] - signed[:, 1]

    def mc_se(x):
        return x.std(ddof=1) / np.sqrt(len(x))

    assert signed[:, 0].mean() > 2 * mc_se(signed[:, 0])  # the literature looks better than the registry
    assert lowered.mean() > 2 * mc_se(lowered)  # weighting lowers it
    assert abs(signed[:, 1].mean()) < signed[:, 0].mean()  # and ends nearer on average


def test_weights_are_one_over_lambda_for_responders_and_one_otherwise():
    literature = counts_series({"ivig": (6, 3)}, prefix="L")  # no relapse: curves stay at 1
    with pytest.warns(sa.exceptions.SmallSampleWarning, match="no events"):
        km = sa.publication_weighted_km(literature, {"CR": 5.0}, origin="line_start")
    corrected = km.frame[km.frame["source"] == "literature weighted 1/λ"]
    expected = np.where(corrected["best_response"] == "CR", 0.2, 1.0)
    np.testing.assert_allclose(corrected["weight"], expected)
    assert km.curves.groups == ["literature", "literature weighted 1/λ"]
    assert km.gap_to_registry([1.0]).isna().all()  # no registry, no gap


def test_lambda_one_leaves_the_curve_unchanged():
    registry = sa.load_example()
    published = sa.publish_case_reports(registry, seed=2)
    km = sa.publication_weighted_km(published, 1.0, registry)
    survival = km.curves.survival_at(TIMES)
    np.testing.assert_allclose(survival.loc["literature"], survival.loc["literature weighted 1/λ"])
    with pytest.raises(ValueError, match="positive"):
        sa.publication_weighted_km(published, -2.0)


def test_the_fast_publication_draw_gives_the_pipelines_two_by_two_table():
    # publishing (with truncated follow-up) and re-reading the cases leaves every reported line's
    # response as it was: the benchmark's fast path counts what publication_odds counts
    registry = sa.simulate_registry(sa.RegistryDesign(n_patients=300), seed=7, truth=False)
    design = selection_design(4.0)
    published = sa.publish_case_reports(registry, seed=11, design=design)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScleroWarning)
        row = sa.publication_odds(published, registry, by=None).summary.iloc[0]
    told = reported_lines(registry.lines)
    fast = published_cells(told, design, np.random.default_rng(11))
    assert fast == (row["literature_responders"], row["literature_non_responders"])
    direct = odds_from_cells(*fast, row["registry_responders"], row["registry_non_responders"])
    assert direct["odds"] == pytest.approx(row["odds"]) and direct["upper"] == pytest.approx(row["upper"])

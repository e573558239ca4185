"""How well λ is recovered: simulated literatures of known selection against independent registries.

Each replicate simulates a source registry, publishes its cases with ``PublicationDesign(odds_cr=L,
odds_pr=L, dramatic_factor=1)`` (so a responder's relative chance of publication is exactly L),
simulates an independent unselected registry of the same design and estimates λ with
:func:`~sclero_analysis.publication_odds` (one λ for all tiers): :func:`odds_replicates`.

:func:`pooled_replicates` does the same thousands of times faster for the coverage benchmark: the
patients of both registries are drawn from large simulated pools, and publication is the filter's
own draw on each patient's reported line (:func:`published_cells`), which gives the same 2x2
table as publishing and re-reading the cases (a test keeps the two equal: truncating follow-up at
the writing date never changes the response of the line a report tells).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sclero_analysis.exceptions import ScleroWarning
from sclero_analysis.selection.odds import FIRTH, odds_from_cells, publication_odds
from sclero_analysis.selection.reported import ASSESSED
from sclero_analysis.synthetic import (
    PublicationDesign,
    RegistryDesign,
    publish_case_reports,
    simulate_registry,
)
from sclero_analysis.synthetic.publication import reported_lines, selection_probability

#: Largest probability of publication in the simulated filters (base probability × L).
TOP_PROBABILITY = 0.9


def selection_design(odds: float) -> PublicationDesign:
    """Publication filter with responder odds ratio ``odds`` (no selection when it is 1).

    Examples
    --------
    >>> selection_design(8.0).odds_cr, round(selection_design(8.0).base_probability, 4)
    (8.0, 0.1125)
    """
    if odds == 1:
        return PublicationDesign.no_selection(0.3)
    return PublicationDesign(base_probability=TOP_PROBABILITY / odds, odds_cr=odds, odds_pr=odds,
                             dramatic_factor=1.0)


def _replicate(odds: float, seeds: np.ndarray, n_source: int, n_registry: int) -> dict:
    source = simulate_registry(RegistryDesign(n_patients=n_source), seed=int(seeds[0]), truth=False)
    registry = simulate_registry(RegistryDesign(n_patients=n_registry), seed=int(seeds[1]), truth=False)
    published = publish_case_reports(source, seed=int(seeds[2]), design=selection_design(odds))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScleroWarning)  # counted: Firth fits, not-estimable rows
        row = publication_odds(published, registry, by=None).summary.iloc[0]
    return {"odds_true": odds, "published": len(published.patients), "estimate": row["odds"],
            "log_estimate": row["log_odds"], "lower": row["lower"], "upper": row["upper"],
            "covered": bool(row["lower"] <= odds <= row["upper"]), "firth": row["method"] == FIRTH,
            "published_non_responders": row["literature_non_responders"]}


def odds_replicates(odds: float, n_reps: int, seed: int = 0, n_source: int = 2000,
                    n_registry: int = 400) -> pd.DataFrame:
    """Simulate ``n_reps`` literatures with responder odds ratio ``odds`` and estimate λ in each.

    Parameters
    ----------
    odds : float
        True λ (1: no selection, ``PublicationDesign.no_selection(0.3)``).
    n_reps : int
        Replicates; each draws its seeds from ``numpy.random.SeedSequence(seed).spawn``.
    seed : int
        Root seed (recorded in ``.attrs``).
    n_source, n_registry : int
        Patients of the registry the literature is published from, and of the independent one.

    Returns
    -------
    pandas.DataFrame
        One row per replicate: ``odds_true, published, estimate, log_estimate, lower, upper,
        covered, firth, published_non_responders``.

    Examples
    --------
    >>> reps = odds_replicates(4.0, n_reps=1, n_source=300, n_registry=200)
    >>> reps.columns[:4].tolist()
    ['odds_true', 'published', 'estimate', 'log_estimate']
    """
    children = np.random.SeedSequence(seed).spawn(n_reps)
    rows = [_replicate(odds, child.generate_state(3), n_source, n_registry) for child in children]
    frame = pd.DataFrame(rows)
    frame.attrs.update(seed=seed, n_source=n_source, n_registry=n_registry)
    return frame


def coverage_summary(replicates: pd.DataFrame) -> pd.Series:
    """Coverage of the interval and mean log λ with their Monte Carlo standard errors.

    Examples
    --------
    >>> reps = pd.DataFrame({"odds_true": [2.0, 2.0], "log_estimate": [0.5, 0.9], "covered": [True, False],
    ...                      "firth": [False, False]})
    >>> coverage_summary(reps)[["coverage", "mean_log_odds"]].tolist()
    [0.5, 0.7]
    """
    n = len(replicates)
    coverage = replicates["covered"].mean()
    logs = replicates["log_estimate"]
    return pd.Series({"odds_true": replicates["odds_true"].iloc[0], "replicates": n,
                      "coverage": coverage, "coverage_mcse": np.sqrt(coverage * (1 - coverage) / n),
                      "mean_log_odds": logs.mean(), "mean_log_odds_mcse": logs.std(ddof=1) / np.sqrt(n),
                      "bias_log_odds": logs.mean() - np.log(replicates["odds_true"].iloc[0]),
                      "firth_fits": int(replicates["firth"].sum())})


def published_cells(told: pd.DataFrame, design: PublicationDesign,
                    rng: np.random.Generator) -> tuple[int, int]:
    """Publish reported lines as :func:`~sclero_analysis.publish_case_reports` draws them.

    Parameters
    ----------
    told : pandas.DataFrame
        Reported lines (one per patient, in ``reported_lines`` order).
    design : PublicationDesign
    rng : numpy.random.Generator
        Its first draw is the publication draw (as in ``publish_case_reports``).

    Returns
    -------
    tuple of int
        Published responders (CR/PR) and non-responders (SD/PD) among assessed lines.
    """
    chosen = told[rng.uniform(size=len(told)) < selection_probability(told, design)]
    return _cells(chosen)


def _cells(told: pd.DataFrame) -> tuple[int, int]:
    response = told["best_response"].astype(object)
    responders = int(response.isin(("CR", "PR")).sum())
    return responders, int(response.isin(ASSESSED).sum()) - responders


def reported_pool(n_patients: int, seed: int, chunk: int = 5000) -> pd.DataFrame:
    """Simulate patients in chunks and return their reported lines (``best_response, agents``)."""
    parts = []
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(-(-n_patients // chunk))):
        size = min(chunk, n_patients - k * chunk)
        registry = simulate_registry(RegistryDesign(n_patients=size), seed=int(child.generate_state(1)[0]),
                                     truth=False)
        parts.append(reported_lines(registry.lines)[["best_response", "agents"]])
    return pd.concat(parts, ignore_index=True)


def pooled_replicates(odds: float, n_reps: int, source_pool: pd.DataFrame, registry_pool: pd.DataFrame,
                      seed: int = 0, n_source: int = 2000, n_registry: int = 400) -> pd.DataFrame:
    """As :func:`odds_replicates`, drawing each registry's patients from a simulated pool.

    Parameters
    ----------
    odds : float
        True λ.
    n_reps : int
    source_pool, registry_pool : pandas.DataFrame
        :func:`reported_pool` results (patients are drawn with replacement).
    seed : int
    n_source, n_registry : int

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`odds_replicates`.

    Examples
    --------
    >>> pool = reported_pool(300, seed=1)
    >>> reps = pooled_replicates(4.0, 2, pool, pool, n_source=300, n_registry=200)
    >>> len(reps)
    2
    """
    design = selection_design(odds)
    rows = []
    for child in np.random.SeedSequence(seed).spawn(n_reps):
        rng = np.random.default_rng(child)
        source = source_pool.iloc[rng.integers(len(source_pool), size=n_source)]
        registry = registry_pool.iloc[rng.integers(len(registry_pool), size=n_registry)]
        a, b = published_cells(source, design, rng)
        c, d = _cells(registry)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScleroWarning)
            row = odds_from_cells(a, b, c, d)
        rows.append({"odds_true": odds, "published": a + b, "estimate": row["odds"],
                     "log_estimate": row["log_odds"], "lower": row["lower"], "upper": row["upper"],
                     "covered": bool(row["lower"] <= odds <= row["upper"]), "firth": row["method"] == FIRTH,
                     "published_non_responders": b})
    return pd.DataFrame(rows)

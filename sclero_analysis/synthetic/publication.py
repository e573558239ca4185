"""What the literature would have shown: case reports selected from a registry.

Each patient is written up with a probability that rises with the response of the line the
report is about (complete response ≫ partial ≫ stable or progressive disease) and with dramatic
therapies (ASCT, bortezomib, lenalidomide, daratumumab); the report is written some months after
that response, so later lines, relapses and deaths go unseen. Published cases come as single
reports or small series, each with a synthetic reference as ``site``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.caseseries.load import validate_tables
from sclero_analysis.conventions import DAYS_PER_MONTH

DRAMATIC = ("ASCT", "bortezomib", "lenalidomide", "daratumumab")


@dataclass(frozen=True)
class PublicationDesign:
    """Parameters of the publication filter (all assumptions: docs/synthetic.md §7 quantifies none).

    Attributes
    ----------
    base_probability : float
        Probability that a case with stable/progressive disease on a conventional therapy is
        published.
    odds_cr, odds_pr : float
        Relative chance of publication after a complete or partial response. docs/synthetic.md §7
        calls the ratio unknown; case reports show near-universal success (S4 8/8 responses,
        24 published IVIG successes and no failures) against 42% CR in a multicentre series
        (S2), so the defaults are strong: CR 20×, PR 4× (assumption).
    dramatic_factor : float
        Extra relative chance for ASCT and novel agents (assumption).
    delay_months : tuple of float
        The report is written this many months (uniform range) after the highlighted line's
        response, or after its start without a response (S3 mean follow-up 36.5-44 months;
        single cases report about 2 years: 6-48 months, assumption).
    max_series : int
        Largest published series; sizes 1, 2, … are geometric (most reports are single cases,
        S11: 70 of 97 studies case reports or series).
    aggregate_from : int
        Series of at least this many patients print aggregate rows per treatment (n,
        responders, relapsed, died, median follow-up) instead of each case; used by
        :func:`~sclero_analysis.synthetic.papers.literature_tables` (assumption).
    """

    base_probability: float = 0.01
    odds_cr: float = 20.0
    odds_pr: float = 4.0
    dramatic_factor: float = 2.0
    delay_months: tuple = (6.0, 48.0)
    max_series: int = 5
    aggregate_from: int = 3

    @classmethod
    def no_selection(cls, probability: float = 0.3) -> PublicationDesign:
        """Every case equally likely to be written up (follow-up still truncated)."""
        return cls(base_probability=probability, odds_cr=1.0, odds_pr=1.0, dramatic_factor=1.0)


def reported_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Per patient, the line a report would tell: first CR, else first PR, else the last line."""
    rank = lines["best_response"].astype(object).map({"CR": 0, "PR": 1}).fillna(2).to_numpy(float)
    key = np.where(rank < 2, rank * 1000 + lines["line"], 2000 - lines["line"])
    ordered = lines.assign(_key=key).sort_values(["patient_id", "_key"], kind="stable")
    return ordered.drop_duplicates("patient_id")[lines.columns].reset_index(drop=True)


def _selection_weight(lines: pd.DataFrame, design: PublicationDesign) -> np.ndarray:
    """Relative chance of publication: response odds × the dramatic-therapy factor."""
    odds = lines["best_response"].astype(object).map({"CR": design.odds_cr, "PR": design.odds_pr})
    odds = odds.fillna(1.0)
    dramatic = lines["agents"].str.contains("|".join(DRAMATIC))
    return odds.to_numpy(float) * np.where(dramatic, design.dramatic_factor, 1.0)


def selection_probability(lines: pd.DataFrame, design: PublicationDesign) -> np.ndarray:
    """Return each line's probability of being written up: base × response odds × dramatic factor (≤ 1)."""
    return np.minimum(design.base_probability * _selection_weight(lines, design), 1.0)


def _truncate(cs: CaseSeries, writing: pd.Series) -> dict[str, pd.DataFrame]:
    """Cut every table at each published patient's writing date."""
    patients = cs.patients[cs.patients["patient_id"].isin(writing.index)].copy()
    cut = patients["patient_id"].map(writing)
    cut = np.minimum(cut, patients["last_followup_date"])
    seen_death = patients["death_date"].notna() & (patients["death_date"] <= cut)
    patients["last_followup_date"] = cut
    patients["vital_status"] = np.where(seen_death, "dead", "alive")
    patients["death_date"] = patients["death_date"].where(seen_death)
    patients["death_cause"] = patients["death_cause"].where(seen_death)
    limit = cs.lines["patient_id"].map(patients.set_index("patient_id")["last_followup_date"])
    lines = cs.lines[limit.notna() & (cs.lines["start_date"] < limit)].copy()  # seen before writing
    limit = limit[lines.index]
    lines["end_date"] = lines["end_date"].where(lines["end_date"] <= limit)
    unseen = lines["response_date"] > limit
    lines["best_response"] = lines["best_response"].where(~unseen, "NE")
    lines["response_date"] = lines["response_date"].where(~unseen)
    event_limit = cs.events["patient_id"].map(patients.set_index("patient_id")["last_followup_date"])
    events = cs.events[event_limit.notna() & (cs.events["date"] <= event_limit)]
    return {"patients": patients, "lines": lines, "events": events}


def expected_reports(cs: CaseSeries, design: PublicationDesign | None = None) -> float:
    """Return the expected number of published patients (the sum of each patient's chance of a report).

    Parameters
    ----------
    cs : CaseSeries
        The registry to be published.
    design : PublicationDesign, optional
        Default :class:`PublicationDesign`.

    Returns
    -------
    float
        0 for a registry without lines.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> cs = sa.load_example()
    >>> 0 < expected_reports(cs) < len(cs.patients)
    True
    """
    told = reported_lines(cs.lines)
    return float(selection_probability(told, design or PublicationDesign()).sum()) if len(told) else 0.0


def design_for_strength(cs: CaseSeries, strength: float,
                        reference: PublicationDesign | None = None) -> PublicationDesign:
    """Return a publication filter of a given selection strength publishing as many cases on average.

    Parameters
    ----------
    cs : CaseSeries
        The registry to be published.
    strength : float
        0: no selection on response or therapy; 1: ``reference``; s: its odds ratios raised to
        the power s (CR ``odds_cr``^s, PR ``odds_pr``^s, dramatic therapies
        ``dramatic_factor``^s).
    reference : PublicationDesign, optional
        Default :class:`PublicationDesign`.

    Returns
    -------
    PublicationDesign
        ``base_probability`` set so that the expected number of published patients (each
        patient's reported line) equals the reference's, so strengths differ only in *which*
        cases are written up.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> design_for_strength(sa.load_example(), 0.0).odds_cr
    1.0
    """
    if not np.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a non-negative number, not {strength!r}")
    reference = reference or PublicationDesign()
    design = dataclasses.replace(reference, odds_cr=reference.odds_cr ** strength,
                                 odds_pr=reference.odds_pr ** strength,
                                 dramatic_factor=reference.dramatic_factor ** strength)
    told = reported_lines(cs.lines)
    if told.empty:
        return design
    target = selection_probability(told, reference).sum()
    unit = _selection_weight(told, design)
    low, high = 0.0, 1.0 / max(unit.min(), 1e-12)
    for _ in range(100):  # bisection: expected reports increase with the base probability
        mid = (low + high) / 2
        if np.minimum(mid * unit, 1.0).sum() < target:
            low = mid
        else:
            high = mid
    return dataclasses.replace(design, base_probability=float(min((low + high) / 2, 1.0)))


def publish_case_reports(
    cs: CaseSeries,
    seed: int | np.random.Generator | None = None,
    design: PublicationDesign | None = None,
) -> CaseSeries:
    """Select and truncate the cases that would have been published.

    Parameters
    ----------
    cs : CaseSeries
        A registry (e.g. from :func:`simulate_registry`).
    seed : int or numpy.random.Generator, optional
        Seed of the selection.
    design : PublicationDesign, optional
        Selection strength and writing delay (default: response-driven selection).

    Returns
    -------
    CaseSeries
        The published cases, follow-up truncated at the writing date, ``site`` replaced by a
        synthetic reference (``REF-0001 (n=2)``); ``truth`` records the design and the seed.

    Examples
    --------
    >>> from sclero_analysis.synthetic import RegistryDesign, simulate_registry
    >>> registry = simulate_registry(RegistryDesign(n_patients=300), seed=1, truth=False)
    >>> published = publish_case_reports(registry, seed=1)
    >>> 0 < len(published.patients) < len(registry.patients)
    True
    """
    design = design or PublicationDesign()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    highlighted = reported_lines(cs.lines)
    chosen = highlighted[rng.uniform(size=len(highlighted)) < selection_probability(highlighted, design)]
    anchor = chosen["response_date"].fillna(chosen["start_date"])
    delay = np.ceil(rng.uniform(*design.delay_months, len(chosen)) * DAYS_PER_MONTH).astype("int64")
    writing = pd.Series((anchor + pd.to_timedelta(delay, unit="D")).to_numpy(), index=chosen["patient_id"])
    tables = _truncate(cs, writing)
    tables["patients"]["site"] = _references(tables["patients"]["patient_id"], rng, design.max_series)
    published = validate_tables(tables, source="publish_case_reports")
    truth = {"publication_design": design.__dict__, "seed": seed if isinstance(seed, int) else None,
             "registry_patients": len(cs.patients)}
    return CaseSeries(published.patients, published.lines, published.events, published.report,
                      published.rejected, published.n_read, published.source, truth)


def _references(patient_ids: pd.Series, rng: np.random.Generator, max_series: int) -> list[str]:
    """Group published cases into single reports and small series with synthetic references."""
    labels, position, number = [], 0, 1
    n = len(patient_ids)
    while position < n:
        size = int(min(rng.geometric(0.6), max_series, n - position))
        labels += [f"REF-{number:04d} (n={size})"] * size
        position += size
        number += 1
    return labels

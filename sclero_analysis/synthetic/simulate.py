"""``simulate_registry``: a synthetic registry as a validated ``CaseSeries`` with its truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.caseseries.load import validate_tables
from sclero_analysis.caseseries.schema import SCHEMAS
from sclero_analysis.synthetic.design import RegistryDesign
from sclero_analysis.synthetic.pathway import RESPONSES, TIER_NAMES, Cohort, generate
from sclero_analysis.synthetic.strategy_truth import strategy_truth
from sclero_analysis.synthetic.truth import counterfactual_truth
from sclero_analysis.therapy import resolve_agent_column


def _dates(origin: pd.Series, days: np.ndarray) -> pd.Series:
    values = origin.to_numpy() + pd.to_timedelta(np.where(days >= 0, days, 0), unit="D").to_numpy()
    return pd.Series(np.where(days >= 0, values, np.datetime64("NaT")), dtype="datetime64[ns]")


def _patients(cohort: Cohort) -> pd.DataFrame:
    frame = cohort.frame.copy()
    last = np.minimum(cohort.death_day, cohort.censor_day)
    dead = cohort.death_day <= cohort.censor_day
    frame["last_followup_date"] = _dates(frame["diagnosis_date"], last)
    frame["vital_status"] = np.where(dead, "dead", "alive")
    frame["death_date"] = _dates(frame["diagnosis_date"], np.where(dead, last, -1))
    frame["death_cause"] = np.where(dead, cohort.death_cause, None)
    return frame


def _tables(cohort: Cohort, raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    patients = _patients(cohort)
    diagnosis = patients["diagnosis_date"].iloc[raw["patient"]].reset_index(drop=True)
    resolved = resolve_agent_column(pd.Series(raw["agents"].to_numpy()))
    lines = pd.DataFrame({
        "patient_id": patients["patient_id"].iloc[raw["patient"]].to_numpy(),
        "line": raw["line"].to_numpy(),
        "start_date": _dates(diagnosis, raw["start"].to_numpy()),
        "end_date": _dates(diagnosis, raw["end"].to_numpy()),
        "agents": resolved["agents"].to_numpy(),
        "tier": resolved["tier"].to_numpy(),
        "adjunct_ecp": resolved["adjunct_ecp"].to_numpy(),
        "best_response": np.array(RESPONSES)[raw["response"].to_numpy()],
        "response_date": _dates(diagnosis, raw["response_day"].to_numpy()),
    })
    had_event = raw["event_day"].to_numpy() >= 0
    events = pd.DataFrame({
        "patient_id": lines["patient_id"][had_event].to_numpy(),
        "date": _dates(diagnosis[had_event].reset_index(drop=True), raw["event_day"].to_numpy()[had_event]),
        "kind": raw["event_kind"].to_numpy()[had_event],
    }).sort_values(["patient_id", "date"], kind="stable").reset_index(drop=True)
    return {"patients": patients, "lines": lines, "events": events}


def _typed(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    typed = {}
    for name, frame in tables.items():
        columns = SCHEMAS[name].to_schema().columns
        typed[name] = frame[list(columns)].astype({c: col.dtype.type for c, col in columns.items()})
    return typed


def simulate_registry(
    design: RegistryDesign | None = None,
    seed: int | np.random.Generator | None = None,
    *,
    validate: bool = True,
    truth: bool = True,
    truth_lines_per_tier: int = 100_000,
) -> CaseSeries:
    """Simulate a scleromyxedema registry with known truth.

    Parameters
    ----------
    design : RegistryDesign, optional
        Generator parameters (default: the calibrated defaults, 400 patients).
    seed : int or numpy.random.Generator, optional
        Seed of the simulation; the same seed gives the same registry, byte for byte.
    validate : bool
        Run the full data-contract validation (as for files). Studies that simulate thousands
        of registries may skip it: the generator only writes valid data (tested).
    truth : bool
        Compute the counterfactual marginal estimands (about a second; studies compute them
        once per scenario).
    truth_lines_per_tier : int
        Counterfactual lines per tier behind the marginal estimands, and simulated patients per
        strategy behind the strategies' truth (Monte Carlo precision).

    Returns
    -------
    CaseSeries
        ``patients``, ``lines``, ``events`` in the data contract, an empty ``report`` when
        valid, and ``truth``: the design, the seed, the true conditional log hazard ratios and
        (with ``truth=True``) the marginal estimands of
        :func:`~sclero_analysis.synthetic.truth.counterfactual_truth` and, under ``strategies``,
        the relapse-free survival of the default management strategies
        (:func:`~sclero_analysis.synthetic.strategy_truth.strategy_truth`).

    Examples
    --------
    >>> cs = simulate_registry(RegistryDesign(n_patients=50), seed=1)
    >>> len(cs.patients), cs.report.empty
    (50, True)
    """
    design = design or RegistryDesign()
    sequence = np.random.SeedSequence(seed) if not isinstance(seed, np.random.Generator) else None
    rng = seed if sequence is None else np.random.default_rng(sequence)
    cohort, raw = generate(design, rng)
    tables = _tables(cohort, raw)
    facts = {"design": design.as_dict(), "seed": seed if isinstance(seed, int) else None,
             "conditional_log_hr": true_conditional_log_hr(design)}
    if truth:
        truth_rng = np.random.default_rng(sequence.spawn(1)[0]) if sequence else rng
        facts.update(counterfactual_truth(design, cohort, raw, truth_rng, truth_lines_per_tier))
        facts["strategies"] = strategy_truth(design, cohort, sequence.spawn(1)[0] if sequence else rng,
                                             truth_lines_per_tier)
    truth = facts
    if validate:
        cs = validate_tables(tables, source="simulate_registry")
        return CaseSeries(cs.patients, cs.lines, cs.events, cs.report, cs.rejected, cs.n_read,
                          cs.source, truth)
    return CaseSeries(**_typed(tables), source="simulate_registry", truth=truth)


def true_conditional_log_hr(design: RegistryDesign) -> dict[str, float]:
    """Return the generator's true conditional log hazard ratios of line-level relapse.

    Keys follow the design matrix of ``"tier + age_at_diagnosis_years + mrss + neuro +
    cardiac"`` (per year of age, per mRSS point, neuro/cardiac yes vs no; tiers vs IVIG).
    """
    return {
        f"tier[{TIER_NAMES[1]}]": design.log_hr_immunosuppression,
        f"tier[{TIER_NAMES[2]}]": design.log_hr_cytoreduction,
        f"tier[{TIER_NAMES[3]}]": design.log_hr_other,
        "age_at_diagnosis_years": design.log_hr_age_per_10y / 10,
        "mrss": design.log_hr_mrss_per_point,
        "neuro[True]": design.log_hr_neuro,
        "cardiac[True]": design.log_hr_cardiac,
    }

"""True marginal estimands of a simulated registry, by counterfactual simulation.

Every line of the registry is simulated again under each fixed tier (ivig, immunosuppression,
cytoreduction, other), with the same patients, frailties and random numbers across tiers, many
times over. From these counterfactual lines:

* the **marginal log hazard ratio** of each tier vs IVIG: the cause-specific Cox estimand of
  relapse with the registry's own competing death, line changes and loss to follow-up (what a
  correct marginal analysis such as IPTW estimates);
* the **cumulative incidence** of relapse at 12, 24 and 36 months per tier, death competing;
* the **RMST** of relapse-free time up to 36 months per tier (net of death).

These are the estimands of one registry's cohort: their Monte Carlo SE
(``marginal_log_hr_mc_se``) is conditional on its patients and site frailties. A study's truth
pools fresh cohorts (:func:`pool_truths`), so that its SE includes the between-cohort variation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sclero_analysis.conventions import DAYS_PER_MONTH
from sclero_analysis.survival.coxcore import fit_levels
from sclero_analysis.synthetic.design import RegistryDesign
from sclero_analysis.synthetic.pathway import (
    TIER_NAMES,
    Cohort,
    _days,
    _exponential,
    linear_predictor,
    relapse_months,
)

CIF_MONTHS = (12, 24, 36)
RMST_TAU_MONTHS = 36.0


def _replicate(n_lines: int, target_rows: int) -> tuple[np.ndarray, int]:
    replicates = max(1, int(np.ceil(target_rows / max(n_lines, 1))))
    return np.tile(np.arange(n_lines), replicates), replicates


def counterfactual_truth(
    design: RegistryDesign,
    cohort: Cohort,
    lines: pd.DataFrame | Mapping[str, np.ndarray],
    rng: np.random.Generator,
    lines_per_tier: int = 100_000,
) -> dict:
    """Marginal estimands per tier from counterfactual lines (see the module docstring).

    Parameters
    ----------
    design : RegistryDesign
    cohort : Cohort
        The registry's patients (covariates, frailty, death and censoring days).
    lines : pandas.DataFrame or mapping of arrays
        The registry's lines: ``patient`` (index) and ``start`` (day), as
        :func:`~sclero_analysis.synthetic.pathway.generate_arrays` gives them.
    rng : numpy.random.Generator
        Stream for the counterfactual draws (independent of the registry's own draws).
    lines_per_tier : int
        Counterfactual lines simulated per tier (the registry's lines, replicated).

    Returns
    -------
    dict
        ``marginal_log_hr`` and its Monte Carlo ``marginal_log_hr_mc_se`` (tier → value, IVIG
        the reference), ``cif`` (tier → {12, 24, 36 months → probability}), ``rmst_36``
        (tier → months), ``counterfactual_lines_per_tier``.
    """
    patient, start = np.asarray(lines["patient"]), np.asarray(lines["start"])
    if len(patient) == 0:
        return {"marginal_log_hr": {}, "marginal_log_hr_mc_se": {}, "cif": {}, "rmst_36": {},
                "counterfactual_lines_per_tier": 0}
    index, _ = _replicate(len(patient), lines_per_tier)
    patient, start = patient[index], start[index]
    m = len(index)
    uniform, stop = rng.uniform(size=m), _exponential(rng, design.ivig_stop_per_month, m)
    switch = _days(_exponential(rng, design.switch_per_month, m))
    toxic = _days(_exponential(rng, design.treatment_death_per_year / 12, m))
    death = cohort.natural_death_day[patient] - start
    censor = cohort.censor_day[patient] - start
    times, events, cif, rmst = [], [], {}, {}
    for tier, name in enumerate(TIER_NAMES):
        lp = linear_predictor(design, cohort, np.full(m, tier), patient)
        relapse_m = relapse_months(design, lp, cohort.frailty[patient], np.full(m, tier == 0), stop,
                                   uniform)
        relapse = _days(relapse_m)
        dies = np.minimum(death, toxic if tier == 2 else np.inf)
        exit_day = np.minimum.reduce([relapse, switch, dies, censor])
        event = np.where(relapse <= exit_day, 1, np.where((dies <= exit_day) & (dies < censor), 2, 0))
        times.append(exit_day / DAYS_PER_MONTH)
        events.append(event)
        first = relapse <= dies
        cif[name] = {t: float(np.mean(first & (relapse <= t * DAYS_PER_MONTH))) for t in CIF_MONTHS}
        rmst[name] = float(np.mean(np.minimum(relapse_m, RMST_TAU_MONTHS)))
    beta, information, converged = fit_levels(np.concatenate(times), np.concatenate(events) == 1,
                                              np.repeat(np.arange(4), m), 4)
    if converged:
        se = np.sqrt(np.diag(np.linalg.inv(information)))
    else:  # e.g. a tier without relapses: no finite marginal HR to report
        beta = se = np.full(3, np.nan)
    return {
        "marginal_log_hr": {TIER_NAMES[i + 1]: float(beta[i]) for i in range(3)},
        "marginal_log_hr_mc_se": {TIER_NAMES[i + 1]: float(se[i]) for i in range(3)},
        "cif": cif, "rmst_36": rmst, "counterfactual_lines_per_tier": int(m),
    }


def pool_truths(truths: Sequence[dict]) -> dict:
    """Pool the counterfactual truths of several fresh cohorts: means and between-cohort SEs.

    Parameters
    ----------
    truths : sequence of dict
        :func:`counterfactual_truth` of independent cohorts (fresh patients and site frailties).

    Returns
    -------
    dict
        ``marginal_log_hr``, ``cif``, ``rmst_36``: means over the cohorts (NaN when a cohort has
        none); ``marginal_log_hr_mc_se``: the SD over cohorts / √(cohorts), the Monte Carlo SE
        of the mean including the between-cohort variation; ``cohorts``;
        ``counterfactual_lines_per_tier`` summed.

    Examples
    --------
    >>> a = {"marginal_log_hr": {"other": 0.1}, "cif": {}, "rmst_36": {"other": 30.0},
    ...      "counterfactual_lines_per_tier": 10}
    >>> b = {**a, "marginal_log_hr": {"other": 0.3}, "rmst_36": {"other": 32.0}}
    >>> pooled = pool_truths([a, b])
    >>> round(pooled["marginal_log_hr"]["other"], 12), round(pooled["marginal_log_hr_mc_se"]["other"], 12)
    (0.2, 0.1)
    """
    def mean(values):
        return float(np.mean(values)) if len(values) else float("nan")

    def mc_se(values):
        return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")

    def column(key, *path):
        values = []
        for truth in truths:
            value = truth.get(key, {})
            for step in path:
                value = value.get(step, {}) if isinstance(value, dict) else {}
            values.append(value if isinstance(value, float | int) else float("nan"))
        return np.array(values, float)

    tiers = sorted({t for truth in truths for t in truth.get("marginal_log_hr", {})}, key=TIER_NAMES.index)
    cif_tiers = sorted({t for truth in truths for t in truth.get("cif", {})}, key=TIER_NAMES.index)
    rmst_tiers = sorted({t for truth in truths for t in truth.get("rmst_36", {})}, key=TIER_NAMES.index)
    return {
        "marginal_log_hr": {t: mean(column("marginal_log_hr", t)) for t in tiers},
        "marginal_log_hr_mc_se": {t: mc_se(column("marginal_log_hr", t)) for t in tiers},
        "cif": {t: {m: mean(column("cif", t, m)) for m in CIF_MONTHS} for t in cif_tiers},
        "rmst_36": {t: mean(column("rmst_36", t)) for t in rmst_tiers},
        "cohorts": len(truths),
        "counterfactual_lines_per_tier": int(sum(t.get("counterfactual_lines_per_tier", 0) for t in truths)),
    }

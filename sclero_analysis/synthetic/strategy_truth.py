"""True relapse-free survival under the default management strategies, by forced simulation.

The registry's patients (covariates, site frailties, natural death days, time zero at the start
of their first line) are replicated and simulated again, every replicate forced to follow each
strategy in turn (``FORCED_*`` of :mod:`~sclero_analysis.synthetic.line_kernel`) with no loss
to follow-up. Every strategy reuses the same random numbers (common random numbers: the first
line's response, relapse and exits are the same draws under each strategy), so the differences
between strategies have a small Monte Carlo error.

The estimands, per strategy and at 12, 24 and 36 months after time zero:

* ``relapse_free_survival``: the probability of being alive without relapse or progression
  (death is an event);
* ``relapse_cif``: the cumulative incidence of relapse or progression, death competing;
* ``rmst``: the mean relapse-free survival time up to 36 months.

They are the estimands of the registry's cohort: patients who were alive at their first line.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sclero_analysis.conventions import DAYS_PER_MONTH
from sclero_analysis.synthetic.design import RegistryDesign
from sclero_analysis.synthetic.line_kernel import FORCED_CYTOREDUCTION, FORCED_ESCALATE, FORCED_NEVER
from sclero_analysis.synthetic.pathway import Cohort, run_lines

#: The default strategies (names as ``Strategy`` constructors) and how the generator forces them.
FORCED_STRATEGIES = {
    "never_escalate": FORCED_NEVER,
    "escalate_if_no_response": FORCED_ESCALATE,
    "early_cytoreduction": FORCED_CYTOREDUCTION,
}
STRATEGY_MONTHS = (12, 24, 36)
RMST_HORIZON_MONTHS = 36.0
_PER_PATIENT = (
    "age",
    "mrss",
    "mrss_true",
    "neuro",
    "cardiac",
    "severity",
    "recorded_severity",
    "severe",
    "site",
    "frailty",
    "death_day",
    "death_cause",
    "censor_day",
    "natural_death_day",
    "first_line_day",
)


def _replicated(cohort: Cohort, index: np.ndarray) -> Cohort:
    """Return the patients ``index`` (with repeats) of ``cohort``, natural death days, never censored."""
    taken = {name: getattr(cohort, name)[index] for name in _PER_PATIENT}
    taken["death_day"] = taken["natural_death_day"].copy()
    taken["censor_day"] = np.full(len(index), np.inf)
    return dataclasses.replace(cohort, frame=None, **taken)


def _outcomes(pieces: list[dict], state, first_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Months from time zero to the first relapse (inf: none) and to death (inf: never)."""
    relapse_day = np.full(len(first_day), np.inf)
    for piece in pieces:
        had = piece["event_day"] >= 0
        np.minimum.at(relapse_day, piece["patient"][had], piece["event_day"][had])
    return (relapse_day - first_day) / DAYS_PER_MONTH, (state.death_day - first_day) / DAYS_PER_MONTH


def strategy_truth(
    design: RegistryDesign,
    cohort: Cohort,
    seed: np.random.SeedSequence | np.random.Generator,
    patients: int = 100_000,
) -> dict:
    """Relapse-free survival per default strategy, the registry's patients forced to follow each.

    Parameters
    ----------
    design : RegistryDesign
    cohort : Cohort
        The registry's patients, with ``first_line_day`` (from ``generate_arrays``).
    seed : numpy.random.SeedSequence or numpy.random.Generator
        Source of the forced simulations' random numbers (the same numbers for every strategy).
    patients : int
        Simulated patients per strategy (the eligible patients, replicated).

    Returns
    -------
    dict
        Strategy name → ``{"relapse_free_survival": {12: p, 24: p, 36: p}, "relapse_cif": {…},
        "rmst": months}``, and ``"simulated_patients"``.
    """
    eligible = np.flatnonzero(cohort.first_line_day < cohort.natural_death_day)
    if len(eligible) == 0:
        return {"simulated_patients": 0}
    index = np.tile(eligible, max(1, int(np.ceil(patients / len(eligible)))))
    replicas = _replicated(cohort, index)
    if isinstance(seed, np.random.Generator):
        seed = np.random.SeedSequence(int(seed.integers(2**63)))
    truth: dict = {"simulated_patients": len(index)}
    for name, forced in FORCED_STRATEGIES.items():
        rng = np.random.default_rng(seed)  # the same numbers for every strategy
        pieces, state = run_lines(
            design, rng, replicas, replicas.first_line_day, forced, censor_day=replicas.censor_day
        )
        relapse, death = _outcomes(pieces, state, replicas.first_line_day)
        free = np.minimum(relapse, death)
        truth[name] = {
            "relapse_free_survival": {t: float(np.mean(free > t)) for t in STRATEGY_MONTHS},
            "relapse_cif": {t: float(np.mean((relapse <= t) & (relapse <= death))) for t in STRATEGY_MONTHS},
            "rmst": float(np.mean(np.minimum(free, RMST_HORIZON_MONTHS))),
        }
    return truth

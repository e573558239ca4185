"""From a design straight to analysis arrays: the generator's draws, no DataFrame validation.

The generator writes valid data by construction, so a study need not build, type and validate
a :class:`~sclero_analysis.caseseries.CaseSeries` per replicate. :func:`simulate_lines` makes the
same random draws as :func:`~sclero_analysis.simulate_registry` and derives the line-level
endpoint exactly as :func:`~sclero_analysis.relapse_frame` does (docs/data_contract.md §4, in whole days);
a test checks that both paths give identical data for the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.conventions import CENSORED, DAYS_PER_MONTH, DEATH, RELAPSE
from sclero_analysis.synthetic.design import RegistryDesign
from sclero_analysis.synthetic.pathway import TIER_NAMES, Cohort, generate_arrays


@dataclass(frozen=True)
class Lines:
    """One simulated registry's analysable lines (rows sorted by patient and line).

    Attributes
    ----------
    patient : ndarray of int
        Patient index (0-based; ``SYN00001`` is 0), the cluster of robust variances.
    line : ndarray of int
    tier : ndarray of int
        Index into ``TIER_NAMES`` (0 = IVIG, the reference).
    time_months : ndarray of float
    event : ndarray of int
        1 relapse or progression, 2 death without it, 0 censored.
    age, mrss : ndarray of float
        Age at diagnosis (years) and baseline mRSS (NaN when not recorded).
    neuro, cardiac : ndarray of bool
    site : ndarray of int
    """

    patient: np.ndarray
    line: np.ndarray
    tier: np.ndarray
    time_months: np.ndarray
    event: np.ndarray
    age: np.ndarray
    mrss: np.ndarray
    neuro: np.ndarray
    cardiac: np.ndarray
    site: np.ndarray

    def __len__(self) -> int:
        return len(self.time_months)

    def to_frame(self):
        """Return the lines as a DataFrame with ``relapse_frame``'s names (tier as a categorical)."""
        return pd.DataFrame({
            "patient_id": self.patient, "line": self.line,
            "tier": pd.Categorical.from_codes(self.tier, categories=list(TIER_NAMES)),
            "time_months": self.time_months, "event": self.event,
            "age_at_diagnosis_years": self.age, "mrss": self.mrss, "neuro": self.neuro,
            "cardiac": self.cardiac, "site": self.site,
        })


def simulate_lines(design: RegistryDesign, rng: np.random.Generator) -> Lines:
    """Simulate one registry and return its line-level time-to-relapse data as arrays.

    Parameters
    ----------
    design : RegistryDesign
    rng : numpy.random.Generator
        Drawn from exactly as :func:`~sclero_analysis.simulate_registry` draws from its
        generator (``np.random.default_rng(SeedSequence(seed))``).

    Returns
    -------
    Lines
        The rows :func:`~sclero_analysis.relapse_frame` keeps (zero-follow-up lines left out).

    Examples
    --------
    >>> import numpy as np, sclero_analysis as sa
    >>> lines = simulate_lines(sa.RegistryDesign(n_patients=50), np.random.default_rng(1))
    >>> bool(np.all(lines.time_months > 0))
    True
    """
    cohort, raw = generate_arrays(design, rng, labels=False)
    return lines_from_arrays(cohort, raw)


def lines_from_arrays(cohort: Cohort, raw: dict[str, np.ndarray]) -> Lines:
    """Derive the line-level endpoint from the generator's arrays (see :func:`simulate_lines`).

    Parameters
    ----------
    cohort : Cohort
    raw : dict of numpy.ndarray
        The lines of :func:`~sclero_analysis.synthetic.pathway.generate_arrays`.

    Returns
    -------
    Lines
    """
    order = np.lexsort((raw["line"], raw["patient"]))
    patient = raw["patient"][order]
    start = raw["start"][order]
    event_day = raw["event_day"][order]
    last = np.minimum(cohort.death_day, cohort.censor_day)
    dead = cohort.death_day <= cohort.censor_day
    same_next = np.r_[patient[1:] == patient[:-1], False]
    window_end = np.where(same_next, np.r_[start[1:], 0.0], last[patient])
    relapsed = (event_day >= 0) & (event_day > start) & (event_day <= window_end)
    death_day = np.where(dead, last, np.inf)[patient]
    died = (death_day > start) & (death_day <= window_end)
    code = np.select([relapsed, died], [RELAPSE, DEATH], CENSORED)
    stop = np.where(relapsed, event_day, np.where(died, death_day, window_end))
    time_months = (stop - start) / DAYS_PER_MONTH
    keep = time_months > 0
    return Lines(
        patient=patient[keep], line=raw["line"][order][keep], tier=raw["tier"][order][keep],
        time_months=time_months[keep], event=code[keep].astype(np.int64),
        age=cohort.age[patient][keep], mrss=cohort.mrss[patient][keep],
        neuro=cohort.neuro[patient][keep].astype(bool), cardiac=cohort.cardiac[patient][keep].astype(bool),
        site=cohort.site[patient][keep],
    )

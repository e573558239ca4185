"""What a small multicentre series can show: ordinary vs Firth-penalised Cox on sparse tiers.

Notebook 06 draws many series of a few dozen patients from a registry and fits, in each, the
ordinary Cox model (whose estimate runs to infinity when a tier has no or almost no events:
monotone likelihood) and Firth's penalised Cox model with profile-likelihood intervals (R's
``coxphf``), which stays finite.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.cohort import relapse_frame
from sclero_analysis.exceptions import ScleroWarning, SeparationWarning
from sclero_analysis.survival import fit_cox
from sclero_analysis.survival.inputs import SurvivalInputError

SMALL_SAMPLE_COLUMNS = ("sample", "method", "patients", "lines", "events", "contrast_lines",
                        "contrast_events", "coef", "lower", "upper", "monotone", "error")


def sample_series(cs: CaseSeries, n_patients: int,
                  rng: np.random.Generator | int | None = None) -> CaseSeries:
    """Draw ``n_patients`` patients at random (without replacement) with all their lines and events.

    Parameters
    ----------
    cs : CaseSeries
    n_patients : int
        At most the number of patients in ``cs``.
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    CaseSeries
        The sampled patients' accepted rows (an empty validation report; ``truth`` kept).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> len(sample_series(sa.load_example(), 30, rng=1).patients)
    30
    """
    rng = np.random.default_rng(rng)
    ids = cs.patients["patient_id"].to_numpy()
    if not 1 <= n_patients <= len(ids):
        raise ValueError(f"n_patients must be between 1 and {len(ids)}, not {n_patients}")
    chosen = set(rng.choice(ids, n_patients, replace=False))

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["patient_id"].isin(chosen)].reset_index(drop=True)

    return CaseSeries(keep(cs.patients), keep(cs.lines), keep(cs.events), cs.report.iloc[0:0],
                      {}, {}, cs.source, cs.truth)


def _fit(df: pd.DataFrame, contrast: str, firth: bool) -> dict:
    term = f"tier[{contrast}]"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScleroWarning)
        try:
            fit = fit_cox(df, "tier", ties="breslow", firth=firth)
        except (SurvivalInputError, np.linalg.LinAlgError) as exc:
            return {"coef": np.nan, "lower": np.nan, "upper": np.nan, "monotone": False,
                    "error": f"{type(exc).__name__}: {exc}"}
    if term not in fit.summary.index:
        return {"coef": np.nan, "lower": np.nan, "upper": np.nan, "monotone": False,
                "error": f"no {contrast} lines"}
    row = fit.summary.loc[term]
    monotone = any(issubclass(w.category, SeparationWarning) for w in caught)
    with np.errstate(divide="ignore"):  # a monotone fit's interval reaches 0 or infinity
        lower, upper = np.log(row["hr_lower"]), np.log(row["hr_upper"])
    return {"coef": float(row["coef"]), "lower": float(lower), "upper": float(upper),
            "monotone": monotone, "error": ""}


def firth_vs_cox(cs: CaseSeries, n_patients: int = 30, n_samples: int = 200, seed: int | None = None,
                 contrast: str = "cytoreduction") -> pd.DataFrame:
    """Fit ordinary and Firth Cox models (tier; Breslow ties) in many small series.

    Parameters
    ----------
    cs : CaseSeries
        The registry the series are drawn from.
    n_patients : int
        Patients per series (e.g. 30, a large multicentre series in this disease).
    n_samples : int
        Series drawn (Monte Carlo).
    seed : int, optional
    contrast : str
        The tier whose log HR vs IVIG is reported.

    Returns
    -------
    pandas.DataFrame
        Two rows per series (``method`` ``cox`` and ``firth``): ``sample, method, patients,
        lines, events, contrast_lines, contrast_events, coef, lower, upper`` (log HR and its
        95% CI: Wald for Cox, profile penalised likelihood for Firth), ``monotone`` (the
        ordinary likelihood had no finite maximum: SeparationWarning), ``error``.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> out = firth_vs_cox(sa.load_example(), n_patients=30, n_samples=2, seed=1)
    >>> sorted(set(out["method"]))
    ['cox', 'firth']
    """
    rng = np.random.default_rng(seed)
    rows = []
    for sample in range(n_samples):
        small = sample_series(cs, n_patients, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScleroWarning)  # zero-follow-up lines: counted below
            df = relapse_frame(small)
        in_contrast = df["tier"] == contrast
        base = {"sample": sample, "patients": n_patients, "lines": len(df),
                "events": int((df["event"] == 1).sum()), "contrast_lines": int(in_contrast.sum()),
                "contrast_events": int((in_contrast & (df["event"] == 1)).sum())}
        df = df.assign(tier=df["tier"].cat.remove_unused_categories())
        for method in ("cox", "firth"):
            rows.append({**base, "method": method, **_fit(df, contrast, method == "firth")})
    return pd.DataFrame(rows, columns=list(SMALL_SAMPLE_COLUMNS))

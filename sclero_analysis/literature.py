"""What a reader of case reports sees: response rates and hazard ratios in a published subset.

The comparison of notebook 04: the literature-like subset of a registry
(:func:`sclero_analysis.publish_case_reports`) against the registry itself and, for synthetic
data, the generator's truth; and how the distortion moves with the strength of selection.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.cohort import relapse_frame
from sclero_analysis.exceptions import ScleroWarning
from sclero_analysis.survival import fit_cox
from sclero_analysis.survival.inputs import SurvivalInputError
from sclero_analysis.synthetic.publication import design_for_strength, publish_case_reports, reported_lines
from sclero_analysis.therapy import TIERS

RESPONDED = ("CR", "PR")


def wilson_interval(successes: np.ndarray, n: np.ndarray,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (NaN where n = 0).

    Examples
    --------
    >>> lo, hi = wilson_interval(np.array([8]), np.array([8]))
    >>> round(float(lo[0]), 4), float(hi[0])
    (0.6756, 1.0)
    """
    successes, n = np.asarray(successes, float), np.asarray(n, float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def response_rates(cs: CaseSeries, by: str = "tier") -> pd.DataFrame:
    """Best-response rates per tier (lines with a response assessment).

    Parameters
    ----------
    cs : CaseSeries
    by : str
        Column of ``cs.lines`` to group by (default the therapy tier).

    Returns
    -------
    pandas.DataFrame
        Indexed by tier (and a last row ``all``): ``lines, assessed, CR, PR, SD, PD,
        response_rate, lower, upper`` — rate = (CR + PR) / assessed (NE and missing
        responses not assessed), with a 95% Wilson interval.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> rates = response_rates(sa.load_example())
    >>> bool(rates.loc["all", "lines"] == len(sa.load_example().lines))
    True
    """
    lines = cs.lines
    response = lines["best_response"].astype(object)
    counts = pd.crosstab(lines[by], response).reindex(columns=["CR", "PR", "SD", "PD"], fill_value=0)
    levels = [t for t in TIERS if t in counts.index] if by == "tier" else list(counts.index)
    counts = counts.reindex(levels, fill_value=0)
    counts.loc["all"] = counts.sum()
    table = counts.astype(int)
    table.columns.name = None
    table.insert(0, "assessed", table.sum(axis=1))
    sizes = lines[by].astype(object).value_counts()
    table.insert(0, "lines", [int(sizes.get(level, 0)) for level in levels] + [len(lines)])
    responded = table["CR"] + table["PR"]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["response_rate"] = responded / table["assessed"].where(table["assessed"] > 0)
    table["lower"], table["upper"] = wilson_interval(responded.to_numpy(), table["assessed"].to_numpy())
    table.index.name = by
    return table


def reported_response_rate(cs: CaseSeries) -> float:
    """Share of responses (CR or PR) among the lines the reports tell (one per patient, assessed).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> 0 < reported_response_rate(sa.load_example()) < 1
    True
    """
    told = reported_lines(cs.lines)["best_response"].astype(object)
    assessed = told.isin(["CR", "PR", "SD", "PD"]).sum()
    return float(told.isin(RESPONDED).sum() / assessed) if assessed else np.nan


def naive_log_hr(cs: CaseSeries, contrast: str = "cytoreduction") -> tuple[float, float]:
    """Return the crude Cox log HR (and SE) of ``contrast`` vs IVIG; NaN when not estimable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScleroWarning)  # sparse subsets warn; NaN says it
        df = relapse_frame(cs)
        df = df[df["tier"].isin([TIERS[0], contrast])]
        df = df.assign(tier=df["tier"].cat.remove_unused_categories())
        if df["tier"].nunique() < 2 or (df["event"] == 1).sum() < 2:
            return np.nan, np.nan
        try:
            fit = fit_cox(df, "tier")
        except SurvivalInputError:
            return np.nan, np.nan
    row = fit.summary.loc[f"tier[{contrast}]"]
    return float(row["coef"]), float(row["se"])


def publication_sweep(
    cs: CaseSeries,
    strengths: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    seeds: Sequence[int] = range(10),
    contrast: str = "cytoreduction",
) -> pd.DataFrame:
    """Publish the registry under selections of several strengths and summarise what readers see.

    Parameters
    ----------
    cs : CaseSeries
        The full registry.
    strengths : sequence of float
        0 = no selection on response, 1 = the default :class:`PublicationDesign`, larger =
        stronger (odds of publication after CR 20^s, PR 4^s, dramatic therapies 2^s); the
        expected number of reports is held at the default's (see
        :func:`~sclero_analysis.synthetic.publication.design_for_strength`).
    seeds : sequence of int
        One publication draw per seed (Monte Carlo over which cases get written up).
    contrast : str
        Tier compared with IVIG.

    Returns
    -------
    pandas.DataFrame
        One row per strength × seed: ``strength, seed, patients, lines, response_rate`` (of the
        line each report tells), ``log_hr, se`` (crude Cox, contrast vs IVIG, all published lines).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> sweep = publication_sweep(sa.load_example(), strengths=(0, 1), seeds=[1])
    >>> list(sweep["strength"])
    [0.0, 1.0]
    """
    rows = []
    for strength in strengths:
        design = design_for_strength(cs, float(strength))
        for seed in seeds:
            published = publish_case_reports(cs, seed=int(seed), design=design)
            log_hr, se = naive_log_hr(published, contrast)
            rows.append({"strength": float(strength), "seed": int(seed),
                         "patients": len(published.patients), "lines": len(published.lines),
                         "response_rate": reported_response_rate(published),
                         "log_hr": log_hr, "se": se})
    return pd.DataFrame(rows)

"""Compare tiers the three ways a reviewer asks for: naive, covariate-adjusted and IPTW."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from sclero_analysis.causal.adjusted import adjusted_curves
from sclero_analysis.causal.propensity import Missing, covariate_formula, propensity
from sclero_analysis.causal.weights import Estimand, Trim
from sclero_analysis.survival.cox import fit_cox
from sclero_analysis.survival.inputs import CAUSE, EVENT, TIME
from sclero_analysis.survival.rmst import rmst

Method = Literal["naive", "adjusted", "iptw"]
METHODS = ("naive", "adjusted", "iptw")
LABELS = {"naive": "naive (unadjusted)", "adjusted": "covariate-adjusted Cox",
          "iptw": "IPTW (propensity weighted)"}


def _hr_rows(fit, treatment: str, levels: list[str], method: str) -> pd.DataFrame:
    terms = [f"{treatment}[{level}]" for level in levels[1:]]
    table = fit.summary.loc[terms, ["coef", "se", "hr", "hr_lower", "hr_upper", "p"]]
    return table.reset_index(drop=True).assign(
        method=method, tier=levels[1:], reference=levels[0], n=fit.n, n_events=fit.n_events)


def _rmst_naive(rows, tau, treatment, levels, time, event, cause, cluster) -> pd.DataFrame:
    differences = rmst(rows, tau, time=time, event=event, group=treatment, cause=cause,
                       cluster=cluster).differences
    table = differences[differences["reference"] == levels[0]].set_index("group").reindex(levels[1:])
    return table[["difference", "lower", "upper"]].reset_index(drop=True)


def compare_tiers(
    df: pd.DataFrame,
    covariates: Sequence[str] | str,
    method: Method | Sequence[Method] = METHODS,
    treatment: str = "tier",
    estimand: Estimand = "ATE",
    focal: str | None = None,
    tau: float | None = None,
    n_boot: int = 200,
    seed: int | None = None,
    cluster: str | None = "patient_id",
    trim: Trim = None,
    missing: Missing = "error",
    time: str = TIME,
    event: str = EVENT,
    cause: int = CAUSE,
    progress: bool = False,
) -> pd.DataFrame:
    """Hazard ratios (and RMST differences) of each tier vs the reference tier, three ways.

    Parameters
    ----------
    df : pandas.DataFrame
        Analysis frame, e.g. :func:`sclero_analysis.relapse_frame` (one row per line).
    covariates : list of str or str
        Confounders: the adjusted Cox model's covariates and the propensity model's.
    method : str or sequence of str
        Any of ``naive`` (Cox on the tier alone), ``adjusted`` (Cox on tier + covariates:
        a conditional HR) and ``iptw`` (Cox on the tier with propensity weights: a marginal HR).
    treatment, estimand, focal, trim, missing
        As in :func:`propensity`; all methods use the same rows (complete covariates).
    tau : float, optional
        Add RMST differences up to ``tau`` months: naive from Kaplan–Meier (survRM2),
        IPTW from weighted Kaplan–Meier with a bootstrap interval (``n_boot``, ``seed``).
        The covariate-adjusted Cox HR is conditional and has no RMST counterpart here (NaN).
    n_boot, seed
        Bootstrap for the IPTW RMST interval.
    cluster : str or None
        Robust (sandwich) SEs and the naive RMST's infinitesimal-jackknife SEs clustered on this
        column (default ``patient_id``: a patient's lines are correlated); also the bootstrap's
        resampling unit. None: rows independent.
    time, event, cause
        Analysis columns and the event code of interest (other codes censored).
    progress : bool
        Progress bar for the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per method and tier: ``method, tier, reference, hr, hr_lower, hr_upper, p,
        coef, se`` (log HR and its robust SE), ``n, n_events`` and, with ``tau``,
        ``rmst_difference, rmst_lower, rmst_upper`` (months, tier minus reference).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"])
    >>> two = df[df["tier"].isin(["ivig", "cytoreduction"])]
    >>> table = sa.compare_tiers(two, ["age_at_diagnosis_years", "mrss", "neuro", "cardiac"],
    ...                          trim=(0.01, 0.99))  # one IVIG line's weight is over 10x the mean
    >>> table[["method", "tier", "hr"]].round(2)
         method           tier    hr
    0     naive  cytoreduction  0.76
    1  adjusted  cytoreduction  0.47
    2      iptw  cytoreduction  0.59
    """
    methods = [method] if isinstance(method, str) else list(method)
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"method must be among {METHODS}, not {sorted(unknown)}")
    ps = propensity(df, covariates, treatment, estimand, focal, missing)
    rows = df.loc[ps.scores.index].assign(_weight=ps.weights(trim=trim))
    rows[treatment] = ps.treatment  # present levels only
    levels = ps.levels
    _, formula = covariate_formula(df, covariates)
    # None here means independent rows, said on purpose (False to the estimators)
    options = dict(time=time, event=event, cause=cause, cluster=cluster if cluster else False)
    fits = {"naive": lambda: fit_cox(rows, treatment, **options),
            "adjusted": lambda: fit_cox(rows, f"{treatment} + {formula}", **options),
            "iptw": lambda: fit_cox(rows, treatment, weights="_weight", **options)}
    tables = [_hr_rows(fits[m](), treatment, levels, m) for m in methods]
    if tau is not None:
        tables = _with_rmst(tables, methods, rows, covariates, tau, levels, ps, n_boot, seed, trim,
                            dict(treatment=treatment, time=time, event=event, cause=cause,
                                 cluster=cluster, progress=progress))
    table = pd.concat(tables, ignore_index=True)
    first = ["method", "tier", "reference", "hr", "hr_lower", "hr_upper", "p", "coef", "se",
             "n", "n_events"]
    return table[first + [c for c in table.columns if c not in first]]


def _with_rmst(tables, methods, rows, covariates, tau, levels, ps, n_boot, seed, trim, options):
    out = []
    for name, table in zip(methods, tables, strict=True):
        if name == "naive":
            extra = _rmst_naive(rows, tau, options["treatment"], levels, options["time"],
                                options["event"], options["cause"],
                                options["cluster"] if options["cluster"] else False)
        elif name == "iptw":
            curves = adjusted_curves(rows.drop(columns="_weight"), covariates, "survival",
                                     options["treatment"], ps.estimand, ps.focal, tau, n_boot, seed,
                                     options["cluster"], trim=trim, time=options["time"],
                                     event=options["event"], cause=options["cause"],
                                     progress=options["progress"])
            extra = curves.rmst_differences[["difference", "lower", "upper"]].reset_index(drop=True)
        else:
            extra = pd.DataFrame(np.nan, index=range(len(levels) - 1),
                                 columns=["difference", "lower", "upper"])
        out.append(pd.concat([table, extra.rename(columns=lambda c: f"rmst_{c}")], axis=1))
    return out

"""Cox proportional hazards regression, equal to R's ``coxph``.

``fit_cox`` handles baseline and counting-process (start, stop] data, Efron or Breslow ties,
case weights, robust and cluster (sandwich) variances and strata. Ordinary Cox on data where a
coefficient runs to infinity (monotone likelihood) warns with ``SeparationWarning``.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from sclero_analysis.exceptions import NotEstimableWarning, SeparationWarning
from sclero_analysis.survival.clusters import Cluster, cluster_codes
from sclero_analysis.survival.counts import count_rows, counts_frame
from sclero_analysis.survival.cox_result import CoxResult, tests_frame, wald_summary
from sclero_analysis.survival.coxcore import CoxData, cox_data, evaluate, newton
from sclero_analysis.survival.design import design_matrix
from sclero_analysis.survival.firth import fit_firth
from sclero_analysis.survival.inputs import (
    CAUSE,
    EVENT,
    TIME,
    SurvivalInputError,
    start_stop,
    strata_codes,
    survival_data,
)
from sclero_analysis.survival.robust import robust_score, robust_variance, singular_columns

Ties = Literal["efron", "breslow"]
#: R's ``toler.inf``: a further Newton step this large relative to beta flags an infinite coefficient.
TOLER_INF = np.sqrt(1e-9)


def _tests(fit, var: np.ndarray, robust_score: float | None) -> pd.DataFrame:
    beta = fit.beta
    rows = {
        "likelihood_ratio": 2 * (fit.evaluation.loglik - fit.null.loglik),
        "wald": float(beta @ np.linalg.solve(var, beta)),
        "score": float(fit.null.score @ np.linalg.solve(fit.null.information, fit.null.score)),
    }
    if robust_score is not None:
        rows["robust_score"] = robust_score
    return tests_frame(rows, len(beta))


def _check_separation(fit, columns: list[str]) -> None:
    step = np.linalg.solve(fit.evaluation.information, fit.evaluation.score)
    infinite = np.abs(step) > TOLER_INF * (1 + np.abs(fit.beta))
    if infinite.any() or not fit.converged:
        names = [c for c, flag in zip(columns, infinite, strict=True) if flag] or columns
        warnings.warn(
            f"the partial likelihood is monotone in {names}: those coefficients run towards "
            "infinity (a group with no or almost no events). Use firth=True for finite, "
            "penalised estimates with profile-likelihood intervals.",
            SeparationWarning, stacklevel=3,
        )


def not_estimable(data: CoxData, ties: str) -> np.ndarray:
    """Columns whose information at beta = 0 is singular by R's ``toler.chol`` rule (a mask).

    A level never at risk at an event time (or a column that is a combination of others
    within every risk set) carries no information: R's coxph reports NA for it.
    """
    return singular_columns(evaluate(data, np.zeros(data.x.shape[1]), ties).information)


def _estimable_fit(full: CoxData, ties: str, formula: str, columns: list[str]):
    """Fit the columns that carry information (warning about the others).

    Returns the data of those columns, the Newton fit and the mask of kept columns.
    """
    null = evaluate(full, np.zeros(full.x.shape[1]), ties)
    keep = ~singular_columns(null.information)  # as not_estimable, reusing beta = 0
    if not keep.any():
        raise SurvivalInputError(f"no column of '{formula}' can be estimated from these data")
    if keep.all():  # the usual case: the evaluation at 0 is the fit's null
        return full, newton(full, ties, null=null), keep
    _warn_not_estimable([c for c, k in zip(columns, keep, strict=True) if not k])
    data = replace(full, x=full.x[:, keep])
    return data, newton(data, ties), keep


def _warn_not_estimable(columns: list[str]) -> None:
    warnings.warn(
        f"{columns} cannot be estimated: no event time has rows at risk that vary in them (e.g. a "
        "level whose rows are never at risk when an event happens). Their coefficients are NaN, "
        "as R's NA; a penalised (Firth) fit cannot estimate them either: drop or merge them.",
        NotEstimableWarning, stacklevel=3,
    )


def _robust_choice(robust: bool | None, weights: str | None, clusters: np.ndarray | None,
                   integer_weights: bool) -> bool:
    """R's coxph rule: robust by default with a cluster or non-integer weights."""
    if robust is None:
        return clusters is not None or (weights is not None and not integer_weights)
    if not robust and clusters is not None:
        raise SurvivalInputError("cluster needs the robust variance: drop robust=False or cluster")
    return bool(robust)


def _expand(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Put the kept columns' values (vector or square matrix) back among NaN columns."""
    if values.ndim == 1:
        out = np.full(len(keep), np.nan)
        out[keep] = values
        return out
    out = np.full((len(keep), len(keep)), np.nan)
    out[np.ix_(keep, keep)] = values
    return out


def fit_cox(
    df: pd.DataFrame,
    formula: str,
    time: str | tuple[str, str] = TIME,
    event: str = EVENT,
    cause: int = CAUSE,
    ties: Ties = "efron",
    weights: str | None = None,
    robust: bool | None = None,
    cluster: Cluster = None,
    strata: str | list[str] | None = None,
    firth: bool = False,
    conf_level: float = 0.95,
) -> CoxResult:
    """Fit a Cox proportional hazards model (R's ``coxph``).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject (e.g. :func:`sclero_analysis.relapse_frame`), or (start, stop]
        rows (e.g. :func:`sclero_analysis.tier_history`).
    formula : str
        Right-hand side, e.g. ``"tier + age_at_diagnosis_years + mrss"``. Categorical columns
        use their first category as reference.
    time : str or (str, str)
        Follow-up time column, or (start, stop) columns for counting-process data.
    event : str
        Event code column; ``cause`` is the event, other codes are censored (cause-specific).
    cause : int
        Event code of interest (default 1).
    ties : {"efron", "breslow"}
        Handling of tied event times (R's default Efron; with case weights, R's rule).
    weights : str, optional
        Case weights. Non-integer weights (e.g. IPTW) get the robust SE; integer (frequency)
        weights the model-based SE unless ``robust=True``, as R's coxph.
    robust : bool, optional
        True: the sandwich (Lin–Wei) SE; False: the model-based SE. None (default): R's
        rule, robust with a ``cluster`` or non-integer weights.
    cluster : str, False or None
        Cluster column (e.g. ``patient_id``): sandwich SE summed within clusters. ``False``:
        rows independent. ``None`` (default): independent, with a warning when the frame's
        identifier column (``df.attrs["cluster"]``) repeats.
    strata : str or list of str, optional
        Stratify the baseline hazard.
    firth : bool
        Firth-penalised likelihood with profile-likelihood intervals (see
        :func:`~sclero_analysis.survival.firth.fit_firth`); Breslow ties, and not combinable
        with weights, robust, cluster or strata (as R's ``coxphf``).
    conf_level : float
        Confidence level of the hazard-ratio intervals.

    Returns
    -------
    CoxResult
        ``.summary`` (coef, se, hr, hr_lower, hr_upper, z, p, n, events), ``.counts`` (rows
        and events per level, reference levels included), ``.loglik``, ``.loglik_null``,
        ``.concordance``, ``.tests`` (likelihood ratio, Wald, score), ``.ph_test()``.

    Raises
    ------
    SurvivalInputError
        Missing columns or values, invalid times, collinear covariates, no events.

    Warns
    -----
    SeparationWarning
        A coefficient runs to infinity (monotone likelihood); use ``firth=True``.
    NotEstimableWarning
        A column carries no information (e.g. a level never at risk at an event time): its
        coefficient and SE are NaN, as R's NA, and the others are fitted without it.
    RepeatedIdsWarning
        ``cluster`` not given while the frame's identifier column repeats.

    Notes
    -----
    Newton–Raphson from beta = 0 with R's convergence rule (relative change of the log partial
    likelihood ≤ 1e-9, step halving). Efron's approximation with weights uses the average
    weight of the tied deaths. The robust variance is Σ_g (Σ_{i∈g} w_i L_i I⁻¹)ᵀ(…) with L the
    score residuals.

    References
    ----------
    Cox DR (1972). JRSS B 34:187-220. Efron B (1977). JASA 72:557-565. Lin DY, Wei LJ (1989).
    JASA 84:1074-1078. Therneau TM, Grambsch PM (2000). *Modeling Survival Data*.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5, 6, 7, 8],
    ...                    "event": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                    "x": [1.2, 0.4, 0.8, 0.1, 1.5, 0.3, 0.2, 0.9]})
    >>> round(float(fit_cox(df, "x").summary.loc["x", "coef"]), 6)  # R coxph: 0.219396
    0.219396
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', not {ties!r}")
    if firth:
        unsupported = {"weights": weights, "cluster": cluster, "strata": strata, "robust": robust}
        given = [name for name, value in unsupported.items() if value]
        if given:
            raise SurvivalInputError(f"firth=True does not support {given} (as R's coxphf); "
                                     "it uses Breslow ties and model-based SEs")
        return fit_firth(df, formula, time=time, event=event, cause=cause, conf_level=conf_level)
    clusters = cluster_codes(df, cluster, "fit_cox")
    start, stop = start_stop(df, time)
    data_in = survival_data(df, time=stop, event=event, group=None, cause=cause, weights=weights)
    if not data_in.is_event.any():
        raise SurvivalInputError(f"no events with code {cause} in '{event}': nothing to fit")
    if start is not None and np.any(start >= data_in.time):
        raise SurvivalInputError(f"start must be < stop in every row ({time[0]}, {time[1]})")
    use_robust = _robust_choice(robust, weights, clusters, data_in.integer_weights)
    design = design_matrix(df, formula)
    full = cox_data(design.matrix, data_in.weight, data_in.time, data_in.is_event,
                    strata_codes(df, strata), start)
    data, fit, keep = _estimable_fit(full, ties, formula, design.columns)
    _check_separation(fit, [c for c, k in zip(design.columns, keep, strict=True) if k])
    naive = np.linalg.inv(fit.evaluation.information)
    var = robust_variance(data, fit.evaluation, ties, clusters) if use_robust else naive
    rscore = robust_score(data, ties, clusters, fit.null)[0] if use_robust else None
    rows = count_rows(design, data_in.is_event)
    counts, by_key = counts_frame(rows), {row["key"]: row for row in rows}
    return CoxResult(
        summary=wald_summary(_expand(fit.beta, keep), _expand(var, keep), design.columns, conf_level,
                             _expand(naive, keep) if use_robust else None,
                             {c: np.array([by_key[k][c] for k in design.columns])
                              for c in ("n", "events")}),
        loglik=fit.evaluation.loglik, loglik_null=fit.null.loglik, n=len(df),
        n_events=int(data.event.sum()), tests=_tests(fit, var, rscore), var=_expand(var, keep),
        design=design, ties=ties, robust=use_robust, conf_level=conf_level, _data=data,
        _evaluation=fit.evaluation, _kept=keep, counts=counts,
    )

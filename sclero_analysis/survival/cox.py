"""Cox proportional hazards regression, equal to R's ``coxph`` (METHODS §3–5).

``fit_cox`` handles baseline and counting-process (start, stop] data, Efron or Breslow ties,
case weights, robust and cluster (sandwich) variances and strata. Ordinary Cox on data where a
coefficient runs to infinity (monotone likelihood) warns with ``SeparationWarning``.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from sclero_analysis.exceptions import SeparationWarning
from sclero_analysis.survival.cox_result import CoxResult, tests_frame, wald_summary
from sclero_analysis.survival.coxcore import CoxData, Evaluation, cox_data, newton, score_residuals
from sclero_analysis.survival.design import Design, design_matrix
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

Ties = Literal["efron", "breslow"]
#: R's ``toler.inf``: a further Newton step this large relative to beta flags an infinite coefficient.
TOLER_INF = np.sqrt(1e-9)


def _cluster_codes(df: pd.DataFrame, cluster: str | None) -> np.ndarray | None:
    if cluster is None:
        return None
    if cluster not in df.columns:
        raise SurvivalInputError(f"cluster column '{cluster}' is not in the data")
    if df[cluster].isna().any():
        raise SurvivalInputError(f"cluster column '{cluster}' has missing values")
    return df[cluster].factorize()[0]


def robust_variance(data: CoxData, ev: Evaluation, ties: str, clusters: np.ndarray | None) -> np.ndarray:
    """Sandwich variance: weighted dfbeta rows, summed within clusters, crossproduct (METHODS §4)."""
    inverse = np.linalg.inv(ev.information)
    dfbeta = data.weight[:, None] * (score_residuals(data, ev, ties) @ inverse)
    if clusters is not None:
        summed = np.zeros((clusters.max() + 1, dfbeta.shape[1]))
        np.add.at(summed, clusters, dfbeta)
        dfbeta = summed
    return dfbeta.T @ dfbeta


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


def _robust_score(data: CoxData, fit, ties: str, clusters: np.ndarray | None) -> float:
    """R's robust score test: score residuals at beta = 0 collapsed by cluster."""
    u = data.weight[:, None] * score_residuals(data, fit.null, ties)
    if clusters is not None:
        summed = np.zeros((clusters.max() + 1, u.shape[1]))
        np.add.at(summed, clusters, u)
        u = summed
    total = u.sum(axis=0)
    return float(total @ np.linalg.solve(u.T @ u, total))


def _check_separation(fit, design: Design) -> None:
    step = np.linalg.solve(fit.evaluation.information, fit.evaluation.score)
    infinite = np.abs(step) > TOLER_INF * (1 + np.abs(fit.beta))
    if infinite.any() or not fit.converged:
        names = [c for c, flag in zip(design.columns, infinite, strict=True) if flag] or design.columns
        warnings.warn(
            f"the partial likelihood is monotone in {names}: those coefficients run towards "
            "infinity (a group with no or almost no events). Use firth=True for finite, "
            "penalised estimates with profile-likelihood intervals.",
            SeparationWarning, stacklevel=3,
        )


def fit_cox(
    df: pd.DataFrame,
    formula: str,
    time: str | tuple[str, str] = TIME,
    event: str = EVENT,
    cause: int = CAUSE,
    ties: Ties = "efron",
    weights: str | None = None,
    robust: bool = False,
    cluster: str | None = None,
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
        Case weights (e.g. IPTW); the reported SE is then robust, as in R.
    robust : bool
        Report the sandwich (Lin–Wei) SE.
    cluster : str, optional
        Cluster column (e.g. ``patient_id``): sandwich SE summed within clusters.
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
        ``.summary`` (coef, se, hr, hr_lower, hr_upper, z, p), ``.loglik``, ``.loglik_null``,
        ``.concordance``, ``.tests`` (likelihood ratio, Wald, score), ``.ph_test()``.

    Raises
    ------
    SurvivalInputError
        Missing columns or values, invalid times, collinear covariates, no events.

    Warns
    -----
    SeparationWarning
        A coefficient runs to infinity (monotone likelihood); use ``firth=True``.

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
    start, stop = start_stop(df, time)
    data_in = survival_data(df, time=stop, event=event, group=None, cause=cause, weights=weights)
    if not data_in.is_event.any():
        raise SurvivalInputError(f"no events with code {cause} in '{event}': nothing to fit")
    if start is not None and np.any(start >= data_in.time):
        raise SurvivalInputError(f"start must be < stop in every row ({time[0]}, {time[1]})")
    design = design_matrix(df, formula)
    data = cox_data(design.matrix, data_in.weight, data_in.time, data_in.is_event,
                    strata_codes(df, strata), start)
    fit = newton(data, ties)
    _check_separation(fit, design)
    naive = np.linalg.inv(fit.evaluation.information)
    clusters = _cluster_codes(df, cluster)
    use_robust = robust or cluster is not None or weights is not None
    var = robust_variance(data, fit.evaluation, ties, clusters) if use_robust else naive
    rscore = _robust_score(data, fit, ties, clusters) if use_robust else None
    return CoxResult(
        summary=wald_summary(fit.beta, var, design.columns, conf_level,
                             naive if use_robust else None),
        loglik=fit.evaluation.loglik, loglik_null=fit.null.loglik, n=len(df),
        n_events=int(data.event.sum()), tests=_tests(fit, var, rscore), var=var, design=design,
        ties=ties, robust=use_robust, conf_level=conf_level, _data=data, _evaluation=fit.evaluation,
    )

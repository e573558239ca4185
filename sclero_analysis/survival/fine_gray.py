"""Fine–Gray proportional subdistribution hazards, equal to ``cmprsk::crr``.

Subjects who fail from a competing cause stay in the risk set, down-weighted by the censoring
distribution, G(t−)/G(T_j−). The variance is crr's sandwich, which includes the term for
estimating G.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.survival.clusters import Cluster, cluster_codes, collapse
from sclero_analysis.survival.counts import term_counts, with_counts
from sclero_analysis.survival.cox_result import wald_summary
from sclero_analysis.survival.design import Design, design_matrix
from sclero_analysis.survival.inputs import CAUSE, EVENT, TIME, SurvivalInputError, survival_data

GTOL, MAX_ITER, ARMIJO, STEP_FACTOR, MAX_HALVINGS = 1e-6, 10, 1e-4, 0.5, 20


@dataclass(frozen=True)
class FineGrayResult:
    """A fitted Fine–Gray model.

    Attributes
    ----------
    summary : pandas.DataFrame
        Indexed by column: ``coef, se, hr, hr_lower, hr_upper, z, p`` (``hr`` is the
        subdistribution hazard ratio; ``se`` is crr's robust SE), then ``n`` and ``events``
        (rows and events of the cause in the level, or in the model for a continuous term).
    loglik, loglik_null : float
        Log pseudo-likelihood at the estimate and at beta = 0.
    n, n_events, n_competing : int
        Rows, events of the cause, competing events.
    converged : bool
        Whether crr's convergence rule was met within 10 Newton steps.
    clustered : bool
        Whether ``se`` is the clustered sandwich (a ``cluster`` was given) rather than crr's.
    var : numpy.ndarray
        Variance matrix of the coefficients.
    design : Design
        Covariate matrix, column names, terms, reference levels.
    counts : pandas.DataFrame
        Rows and events of the cause per level of each categorical (the reference level
        included, ``tier[ivig]``) and per other term (all rows):
        :func:`~sclero_analysis.survival.counts.term_counts`.
    """

    summary: pd.DataFrame
    loglik: float
    loglik_null: float
    n: int
    n_events: int
    n_competing: int
    converged: bool
    var: np.ndarray
    design: Design
    clustered: bool = False
    counts: pd.DataFrame | None = None


@dataclass(frozen=True)
class _Problem:
    x: np.ndarray
    time: np.ndarray
    code: np.ndarray  # 0 censored, 1 cause, 2 competing
    g_before: np.ndarray  # G(T_i−) per row
    fail_times: np.ndarray
    deaths: np.ndarray  # cause-1 failures per distinct failure time
    g_fail: np.ndarray  # G(t_k−) at each distinct failure time
    weights: np.ndarray  # (m, n) ω_j(t_k)


def _censoring_before(time: np.ndarray, code: np.ndarray) -> np.ndarray:
    """G(T_i−): Kaplan–Meier of censoring (failures of any cause are 'censored'), left limit."""
    times = np.unique(time)
    n_risk = np.array([(time >= t).sum() for t in times], float)
    censored = np.array([((time == t) & (code == 0)).sum() for t in times], float)
    g = np.cumprod(1 - censored / n_risk)
    before = np.concatenate([[1.0], g])
    return before[np.searchsorted(times, time, side="left")]


def _problem(x: np.ndarray, time: np.ndarray, code: np.ndarray) -> _Problem:
    """Weights ω_j(t_k): 1 while at risk, G(t_k−)/G(T_j−) after a competing event, else 0."""
    g_before = _censoring_before(time, code)
    fail_times, deaths = np.unique(time[code == 1], return_counts=True)
    g_fail = g_before[np.searchsorted(time, fail_times)]  # rows are sorted by time
    still = time[None, :] >= fail_times[:, None]
    competing_before = (code[None, :] == 2) & ~still
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = g_fail[:, None] / g_before[None, :]
    weights = np.where(still, 1.0, np.where(competing_before, ratio, 0.0))
    return _Problem(x, time, code, g_before, fail_times, deaths.astype(float), g_fail, weights)


def _evaluate(pb: _Problem, beta: np.ndarray):
    eta = pb.x @ beta
    risk = pb.weights * np.exp(eta)[None, :]
    s0 = risk.sum(axis=1)
    s1 = risk @ pb.x
    xbar = s1 / s0[:, None]
    failing = pb.code == 1
    loglik = float(eta[failing].sum() - pb.deaths @ np.log(s0))
    score = pb.x[failing].sum(axis=0) - pb.deaths @ xbar
    s2 = np.einsum("kj,ja,jb->kab", risk, pb.x, pb.x)
    info = (np.einsum("k,kab->ab", pb.deaths / s0, s2)
            - np.einsum("k,ka,kb->ab", pb.deaths, xbar, xbar))
    return loglik, score, info, eta, s0, xbar


def _newton(pb: _Problem) -> tuple[np.ndarray, bool]:
    """Iterate as crr does: Newton steps with Armijo backtracking from beta = 0."""
    beta = np.zeros(pb.x.shape[1])
    for iteration in range(MAX_ITER + 1):
        loglik, score, info, *_ = _evaluate(pb, beta)
        if np.max(np.abs(score) * np.maximum(np.abs(beta), 1)) < max(abs(loglik), 1) * GTOL:
            return beta, True
        if iteration == MAX_ITER:
            break
        step = np.linalg.solve(info, score)
        for _ in range(MAX_HALVINGS + 1):
            candidate = _evaluate(pb, beta + step)[0]
            if np.isfinite(candidate) and -candidate <= -loglik + ARMIJO * float(step @ -score):
                break
            step = step * STEP_FACTOR
        beta = beta + step
    return beta, False


def _influence(pb: _Problem, beta: np.ndarray, with_psi: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """η_i + ψ_i per subject (crr's ``crrvv``; η_i alone without ``with_psi``) and Ω.

    η_i is subject i's weighted score residual summed over its risk-set weights: its rows'
    weighted score residuals in the Fine–Gray expansion (R's ``finegray``).
    """
    _, _, info, eta, s0, xbar = _evaluate(pb, beta)
    exp_eta = np.exp(eta)
    failing = pb.code == 1
    a = (pb.deaths / s0)[:, None] * pb.weights  # (m, n)
    residual = -exp_eta[:, None] * (pb.x * a.sum(axis=0)[:, None] - a.T @ xbar)
    own = np.searchsorted(pb.fail_times, pb.time[failing])
    residual[failing] += pb.x[failing] - xbar[own]
    if not with_psi:
        return residual, info
    return residual + _psi(pb, beta, exp_eta, s0, xbar), info


def _psi(pb: _Problem, beta: np.ndarray, exp_eta: np.ndarray, s0: np.ndarray,
         xbar: np.ndarray) -> np.ndarray:
    """ψ_i, the term for estimating G (``crrvv``), one row per subject.

    At each censoring time u: q(u) = Σ_{t_k ≥ u} d_k G(t_k−)/S0_k · Σ_{competing j, T_j < u}
    e^{η_j}/G(T_j−) (x_j − x̄_k); every subject at risk at u gets −n_c(u) q(u)/π(u)², and a
    subject censored at u also gets q(u)/π(u), with π(u) the number at risk.
    """
    c = pb.deaths * pb.g_fail / s0
    tail_c = np.concatenate([np.cumsum(c[::-1])[::-1], [0.0]])
    tail_cx = np.vstack([np.cumsum((c[:, None] * xbar)[::-1], axis=0)[::-1], np.zeros(beta.size)])
    scaled = np.where(pb.code == 2, exp_eta / pb.g_before, 0.0)
    censor_times = np.unique(pb.time[pb.code == 0])
    psi = np.zeros((len(pb.time), beta.size))
    if len(censor_times) == 0:
        return psi
    # sums over competing rows strictly before each censoring time (rows are sorted by time)
    before = np.searchsorted(pb.time, censor_times, side="left")
    cum_a = np.concatenate([[0.0], np.cumsum(scaled)])[before]
    cum_b = np.vstack([np.zeros(beta.size), np.cumsum(scaled[:, None] * pb.x, axis=0)])[before]
    k = np.searchsorted(pb.fail_times, censor_times, side="left")
    q = cum_b * tail_c[k][:, None] - cum_a[:, None] * tail_cx[k]
    at_risk = (len(pb.time) - before).astype(float)
    n_censored = np.array([np.sum((pb.time == u) & (pb.code == 0)) for u in censor_times], float)
    cumulative = np.cumsum(-(n_censored / at_risk**2)[:, None] * q, axis=0)
    position = np.searchsorted(censor_times, pb.time, side="right") - 1
    reached = position >= 0
    psi[reached] = cumulative[position[reached]]
    censored = np.flatnonzero(pb.code == 0)
    own = np.searchsorted(censor_times, pb.time[censored])
    psi[censored] += q[own] / at_risk[own][:, None]
    return psi


def fit_fine_gray(
    df: pd.DataFrame,
    formula: str,
    time: str = TIME,
    event: str = EVENT,
    cause: int = CAUSE,
    conf_level: float = 0.95,
    cluster: Cluster = None,
) -> FineGrayResult:
    """Fine–Gray regression on the subdistribution hazard of ``cause`` (``cmprsk::crr``).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject, e.g. :func:`sclero_analysis.relapse_frame` (1 relapse, 2 death).
    formula : str
        Right-hand side, e.g. ``"tier + age_at_diagnosis_years + mrss"``.
    time, event, cause
        Columns and the event code of interest; other non-zero codes compete.
    conf_level : float
        Confidence level of the subdistribution hazard ratio intervals.
    cluster : str, False or None
        Column whose rows belong together (``patient_id``): the SE is the clustered sandwich
        of the weighted Cox model on the Fine–Gray expansion, as R's ``coxph`` on
        ``finegray()`` data with ``cluster(patient_id)``. ``False``: crr's SE (rows
        independent). ``None`` (default): crr's SE, with a warning when the frame's
        identifier column (``df.attrs["cluster"]``) repeats.

    Returns
    -------
    FineGrayResult
        ``.summary`` (coef, se, hr, hr_lower, hr_upper, z, p), ``.loglik``,
        ``.loglik_null``.

    Notes
    -----
    Censoring weights from the Kaplan–Meier of the censoring times, evaluated just before each
    time; Breslow ties; Newton steps with Armijo backtracking from 0 until
    max|U|·max(|β|, 1) < max(|ℓ|, 1)·1e-6; robust variance with the censoring correction ψ
    (Fine & Gray 1999). With a cluster, I⁻¹ (Σ_c η_c η_cᵀ) I⁻¹ with η_c the summed weighted
    score residuals of a cluster's rows: the censoring weights are treated as known there
    (crr's correction for estimating them has no clustered counterpart in R); coefficients
    are crr's either way.

    Warns
    -----
    RepeatedIdsWarning
        ``cluster`` not given while the frame's identifier column repeats.

    References
    ----------
    Fine JP, Gray RJ (1999). JASA 94:496-509.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5, 6, 7, 8],
    ...                    "event": [1, 2, 1, 0, 1, 2, 0, 1],
    ...                    "x": [1.0, 0.2, 0.9, 0.4, 0.7, 0.1, 0.3, 0.8]})
    >>> fit = fit_fine_gray(df, "x")
    >>> fit.n_events, fit.n_competing
    (4, 2)
    """
    codes = cluster_codes(df, cluster, "fit_fine_gray")
    data = survival_data(df, time=time, event=event, group=None, cause=cause)
    if not data.is_event.any():
        raise SurvivalInputError(f"no events with code {cause} in '{event}': nothing to fit")
    design = design_matrix(df, formula)
    code = np.where(data.is_event, 1, np.where(data.status != 0, 2, 0))
    order = np.argsort(data.time, kind="stable")
    pb = _problem(design.matrix[order], data.time[order], code[order])
    beta, converged = _newton(pb)
    influence, info = _influence(pb, beta, with_psi=codes is None)
    if codes is not None:
        influence = collapse(influence, codes[order])
    inverse = np.linalg.inv(info)
    var = inverse @ (influence.T @ influence) @ inverse
    counts = term_counts(design, data.is_event)
    return FineGrayResult(
        summary=with_counts(wald_summary(beta, var, design.columns, conf_level), counts),
        loglik=_evaluate(pb, beta)[0], loglik_null=_evaluate(pb, np.zeros_like(beta))[0],
        n=len(df), n_events=int((code == 1).sum()), n_competing=int((code == 2).sum()),
        converged=converged, var=var, design=design, clustered=codes is not None,
        counts=counts,
    )

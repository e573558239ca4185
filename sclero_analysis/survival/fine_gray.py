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
    """Rows sorted by time and the indices that turn risk-set sums into cumulative sums.

    The Fine–Gray weight of row j at a failure time t_k is ω_j(t_k) = 1 while T_j ≥ t_k,
    G(t_k−)/G(T_j−) after a competing event (T_j < t_k), else 0. The weight after a competing
    event factorises, so every risk-set sum Σ_j ω_j(t_k) v_j is a sum from the end of the
    sorted rows (those still at risk) plus G(t_k−) times a sum from the start of v_j/G(T_j−)
    over the competing rows before t_k: no (failure times × rows) matrix is formed.
    """

    x: np.ndarray
    time: np.ndarray
    code: np.ndarray  # 0 censored, 1 cause, 2 competing
    g_before: np.ndarray  # G(T_i−) per row
    fail_times: np.ndarray
    deaths: np.ndarray  # cause-1 failures per distinct failure time
    g_fail: np.ndarray  # G(t_k−) at each distinct failure time
    first: np.ndarray  # per failure time: the first row with T_j ≥ t_k
    passed: np.ndarray  # per row: the number of failure times t_k ≤ T_j
    competing: np.ndarray  # per row: 1/G(T_j−) after a competing event, else 0
    x_failing: np.ndarray  # Σ x over the cause-1 rows


def _censoring_before(time: np.ndarray, code: np.ndarray) -> np.ndarray:
    """G(T_i−): Kaplan–Meier of censoring (failures of any cause are 'censored'), left limit."""
    times, index = np.unique(time, return_inverse=True)
    n_risk = (len(time) - np.searchsorted(np.sort(time), times, side="left")).astype(float)
    censored = np.bincount(index[code == 0], minlength=len(times)).astype(float)
    g = np.cumprod(1 - censored / n_risk)
    before = np.concatenate([[1.0], g])
    return before[np.searchsorted(times, time, side="left")]


def _problem(x: np.ndarray, time: np.ndarray, code: np.ndarray) -> _Problem:
    """Set up the problem of rows sorted by time, with its risk-set indices."""
    g_before = _censoring_before(time, code)
    failing = code == 1
    fail_times, deaths = np.unique(time[failing], return_counts=True)
    first = np.searchsorted(time, fail_times, side="left")
    g_fail = g_before[first]
    passed = np.searchsorted(fail_times, time, side="right")
    competing = np.where(code == 2, 1 / np.where(code == 2, g_before, 1.0), 0.0)
    return _Problem(x, time, code, g_before, fail_times, deaths.astype(float), g_fail, first, passed,
                    competing, x[failing].sum(axis=0))


def _risk_sums(pb: _Problem, v: np.ndarray) -> np.ndarray:
    """Σ_j ω_j(t_k) v_j for every failure time t_k (rows of ``v`` are the sorted rows).

    Those still at risk (T_j ≥ t_k, a sum from the end) plus G(t_k−) Σ_{competing, T_j < t_k}
    v_j/G(T_j−) (a sum from the start, read before the first row at risk).
    """
    zero = np.zeros((1,) + v.shape[1:])
    at_risk = np.concatenate([np.cumsum(v[::-1], axis=0)[::-1], zero])[pb.first]
    scaled = v * (pb.competing if v.ndim == 1 else pb.competing[:, None])
    earlier = np.concatenate([zero, np.cumsum(scaled, axis=0)])[pb.first]
    return at_risk + (pb.g_fail if v.ndim == 1 else pb.g_fail[:, None]) * earlier


def _row_sums(pb: _Problem, c: np.ndarray) -> np.ndarray:
    """Σ_k ω_j(t_k) c_k for every row j (rows of ``c`` are the failure times): the transpose.

    The failure times t_k ≤ T_j (a sum from the start) plus, after a competing event,
    Σ_{t_k > T_j} G(t_k−) c_k / G(T_j−) (a sum from the end).
    """
    zero = np.zeros((1,) + c.shape[1:])
    while_at_risk = np.concatenate([zero, np.cumsum(c, axis=0)])[pb.passed]
    g_fail = pb.g_fail if c.ndim == 1 else pb.g_fail[:, None]
    later = np.concatenate([np.cumsum((g_fail * c)[::-1], axis=0)[::-1], zero])[pb.passed]
    return while_at_risk + (pb.competing if c.ndim == 1 else pb.competing[:, None]) * later


def _loglik(pb: _Problem, beta: np.ndarray) -> float:
    """Return the log pseudo-likelihood alone (what a line search needs)."""
    eta = pb.x @ beta
    s0 = _risk_sums(pb, np.exp(eta))
    return float(eta[pb.code == 1].sum() - pb.deaths @ np.log(s0))


@dataclass(frozen=True)
class _Evaluation:
    loglik: float
    score: np.ndarray
    info: np.ndarray
    exp_eta: np.ndarray
    s0: np.ndarray  # per failure time
    xbar: np.ndarray  # (failure times, p)
    exposure: np.ndarray  # per row: Σ_k ω_j(t_k) d_k / S0_k


def _evaluate(pb: _Problem, beta: np.ndarray) -> _Evaluation:
    """Log pseudo-likelihood, score and information at ``beta``, in O(n log n + n p²).

    The information's Σ_k d_k S2_k/S0_k is Σ_j e^{η_j} a_j x_j x_jᵀ with a_j = Σ_k ω_j(t_k)
    d_k/S0_k, so no p × p array per failure time is formed.
    """
    eta = pb.x @ beta
    exp_eta = np.exp(eta)
    s0 = _risk_sums(pb, exp_eta)
    xbar = _risk_sums(pb, exp_eta[:, None] * pb.x) / s0[:, None]
    loglik = float(eta[pb.code == 1].sum() - pb.deaths @ np.log(s0))
    score = pb.x_failing - pb.deaths @ xbar
    exposure = _row_sums(pb, pb.deaths / s0)
    info = (pb.x.T @ ((exp_eta * exposure)[:, None] * pb.x)
            - (pb.deaths[:, None] * xbar).T @ xbar)
    return _Evaluation(loglik, score, info, exp_eta, s0, xbar, exposure)


def _newton(pb: _Problem) -> tuple[np.ndarray, bool, _Evaluation, float]:
    """Iterate as crr does: Newton steps with Armijo backtracking from beta = 0.

    Returns the estimate, whether it converged, the evaluation at it and the log
    pseudo-likelihood at beta = 0.
    """
    beta = np.zeros(pb.x.shape[1])
    for iteration in range(MAX_ITER + 1):
        ev = _evaluate(pb, beta)
        if iteration == 0:
            loglik_null = ev.loglik
        if np.max(np.abs(ev.score) * np.maximum(np.abs(beta), 1)) < max(abs(ev.loglik), 1) * GTOL:
            return beta, True, ev, loglik_null
        if iteration == MAX_ITER:
            break
        beta = beta + _line_search(pb, beta, ev, np.linalg.solve(ev.info, ev.score))
    return beta, False, ev, loglik_null


def _line_search(pb: _Problem, beta: np.ndarray, ev: _Evaluation, step: np.ndarray) -> np.ndarray:
    """Halve ``step`` until the Armijo condition holds (at most 20 times), as crr does."""
    for _ in range(MAX_HALVINGS + 1):
        candidate = _loglik(pb, beta + step)
        if np.isfinite(candidate) and -candidate <= -ev.loglik + ARMIJO * float(step @ -ev.score):
            break
        step = step * STEP_FACTOR
    return step


def _influence(pb: _Problem, ev: _Evaluation, with_psi: bool = True) -> np.ndarray:
    """η_i + ψ_i per subject (crr's ``crrvv``; η_i alone without ``with_psi``).

    η_i is subject i's weighted score residual summed over its risk-set weights: its rows'
    weighted score residuals in the Fine–Gray expansion (R's ``finegray``).
    """
    failing = pb.code == 1
    a_xbar = _row_sums(pb, (pb.deaths / ev.s0)[:, None] * ev.xbar)
    residual = -ev.exp_eta[:, None] * (pb.x * ev.exposure[:, None] - a_xbar)
    own = np.searchsorted(pb.fail_times, pb.time[failing])
    residual[failing] += pb.x[failing] - ev.xbar[own]
    if not with_psi:
        return residual
    return residual + _psi(pb, ev.exp_eta, ev.s0, ev.xbar)


def _psi(pb: _Problem, exp_eta: np.ndarray, s0: np.ndarray, xbar: np.ndarray) -> np.ndarray:
    """ψ_i, the term for estimating G (``crrvv``), one row per subject.

    At each censoring time u: q(u) = Σ_{t_k ≥ u} d_k G(t_k−)/S0_k · Σ_{competing j, T_j < u}
    e^{η_j}/G(T_j−) (x_j − x̄_k); every subject at risk at u gets −n_c(u) q(u)/π(u)², and a
    subject censored at u also gets q(u)/π(u), with π(u) the number at risk.
    """
    c = pb.deaths * pb.g_fail / s0
    tail_c = np.concatenate([np.cumsum(c[::-1])[::-1], [0.0]])
    p = pb.x.shape[1]
    tail_cx = np.vstack([np.cumsum((c[:, None] * xbar)[::-1], axis=0)[::-1], np.zeros(p)])
    scaled = np.where(pb.code == 2, exp_eta / pb.g_before, 0.0)
    censor_times, n_censored = np.unique(pb.time[pb.code == 0], return_counts=True)
    psi = np.zeros((len(pb.time), p))
    if len(censor_times) == 0:
        return psi
    # sums over competing rows strictly before each censoring time (rows are sorted by time)
    before = np.searchsorted(pb.time, censor_times, side="left")
    cum_a = np.concatenate([[0.0], np.cumsum(scaled)])[before]
    cum_b = np.vstack([np.zeros(p), np.cumsum(scaled[:, None] * pb.x, axis=0)])[before]
    k = np.searchsorted(pb.fail_times, censor_times, side="left")
    q = cum_b * tail_c[k][:, None] - cum_a[:, None] * tail_cx[k]
    at_risk = (len(pb.time) - before).astype(float)
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
    beta, converged, ev, loglik_null = _newton(pb)
    influence = _influence(pb, ev, with_psi=codes is None)
    if codes is not None:
        influence = collapse(influence, codes[order])
    inverse = np.linalg.inv(ev.info)
    var = inverse @ (influence.T @ influence) @ inverse
    counts = term_counts(design, data.is_event)
    return FineGrayResult(
        summary=with_counts(wald_summary(beta, var, design.columns, conf_level), counts),
        loglik=ev.loglik, loglik_null=loglik_null,
        n=len(df), n_events=int((code == 1).sum()), n_competing=int((code == 2).sum()),
        converged=converged, var=var, design=design, clustered=codes is not None,
        counts=counts,
    )

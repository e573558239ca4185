"""Cox partial likelihood arithmetic, as R's ``coxph``.

Risk-set sums S0, S1, S2 at every event time come from cumulative sums over observations
sorted by stop (and start, for (start, stop] data) within each stratum, so one evaluation costs
O(n p²) after sorting. Ties: Breslow, or Efron with R's rule for case weights (the average death
weight multiplies every sub-step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from sclero_analysis.survival.cox_levels import fit_levels
from sclero_analysis.survival.cox_risksets import (
    CoxData,
    cox_data,
    death_sums,
    exit_sums,
    packing,
    reduce_tied,
    risk_gram,
    risk_sums,
    risk_values,
    tied_death_sums,
    tied_death_values,
)

__all__ = ["CoxData", "Evaluation", "NewtonFit", "cox_data", "death_sums", "evaluate", "fit_levels",
           "newton", "risk_sums", "score_residuals"]


@dataclass(frozen=True)
class Evaluation:
    """Log partial likelihood, score and information at one beta (plus what residuals need)."""

    loglik: float
    score: np.ndarray
    information: np.ndarray
    xbar_steps: list  # per Efron sub-step k: (mask of times with m > k, x̄_k, h_k)
    m: np.ndarray
    eta: np.ndarray
    score_by_time: np.ndarray  # (m, p): each event time's score contribution
    # per sub-step: (event times, w̄, S0, S2 packed as its upper triangle) behind each time's
    # information
    information_steps: list = field(default_factory=list, repr=False)
    # (data, beta, ties) when S2 was not formed: information_by_time evaluates again with it
    again: tuple | None = field(default=None, repr=False)

    @cached_property
    def information_by_time(self) -> np.ndarray:
        """Each event time's information contribution (m, p, p), e.g. for ``cox.zph``."""
        if self.again is not None:
            return evaluate(*self.again, per_time=True).information_by_time
        p = len(self.score)
        info_t = np.zeros((len(self.m), p, p))
        full = packing(p)[1]
        for (_, xbar, _), (rows, wbar, a0, a2) in zip(self.xbar_steps, self.information_steps,
                                                       strict=True):
            cov = a2[:, full].reshape(-1, p, p) / a0[:, None, None] - xbar[:, :, None] * xbar[:, None, :]
            info_t[rows] += wbar[:, None, None] * cov
        return info_t


def evaluate(data: CoxData, beta: np.ndarray, ties: str, per_time: bool = False) -> Evaluation:
    """Return the log partial likelihood, score and information at ``beta``.

    Efron's sub-step k (k = 0, 1, … below the most deaths at one time) removes the fraction
    k / m of the dying rows' risk from the risk set; the first sub-step removes nothing, so
    death sums are needed only at times with tied deaths. Without delayed entry or strata,
    the information's Σ_j h_j S2_j is summed by rows (:func:`risk_gram`) instead of from the
    risk-set sums S2_j, which are then computed only if ``information_by_time`` is asked for
    (or ``per_time``).
    """
    p = data.x.shape[1]
    eta = data.x @ beta
    by_rows = not per_time and data.entries is None
    values = risk_values(data, eta, p if by_rows else None)
    sums = exit_sums(data, values)
    s0, s1, s2 = sums[:, 0], sums[:, 1:1 + p], None if by_rows else sums[:, 1 + p:]
    m = data.n_deaths
    if not np.all(np.isfinite(s0)):
        return Evaluation(-np.inf, np.zeros(p), np.eye(p), [], m, eta, np.zeros((len(m), p)))
    dead = None
    if ties == "efron" and len(data.tied_deaths[0]):
        dead = (reduce_tied(data, tied_death_values(data, values[:, 0])) if by_rows
                else tied_death_sums(data, values))
    full = packing(p)[1].reshape(p, p)  # the packed S2 → its p × p matrix
    loglik = float(data.weighted_deaths[2] @ eta[data.event])
    score_t = data.weighted_deaths[1].copy()
    steps = data.sub_steps(ties)
    xbar = s1 / s0[:, None]
    h = steps.wbar / s0
    loglik -= float(steps.wbar @ np.log(s0))
    score_t -= steps.wbar[:, None] * xbar
    information = -(xbar * steps.wbar[:, None]).T @ xbar
    h_by_time = h.copy() if by_rows else None
    if not by_rows:
        information += (h @ s2)[full]
    xbar_steps, information_steps = [(steps.mask, xbar, h)], [(slice(None), steps.wbar, s0, s2)]
    if steps.parts:  # Efron's later sub-steps, all at once
        d, fraction, wbar = dead[steps.among], steps.fraction, steps.later_wbar
        a0 = s0[steps.rows] - fraction * d[:, 0]
        a1 = s1[steps.rows] - fraction[:, None] * d[:, 1:1 + p]
        xbar = a1 / a0[:, None]
        h = wbar / a0
        loglik -= float(wbar @ np.log(a0))
        information -= (xbar * wbar[:, None]).T @ xbar
        if by_rows:  # Σ h·a2 = Σ h·S2 (by rows, below) − Σ h·fraction·d2
            information -= ((h * fraction) @ d[:, 1 + p:])[full]
            h_by_time += np.bincount(steps.rows, weights=h, minlength=len(m))
            a2 = None
        else:
            a2 = s2[steps.rows] - fraction[:, None] * d[:, 1 + p:]
            information += (h @ a2)[full]
        change = wbar[:, None] * xbar
        for part, mask in steps.parts:
            rows = steps.rows[part]
            score_t[rows] -= change[part]
            xbar_steps.append((mask, xbar[part], h[part]))
            information_steps.append((rows, wbar[part], a0[part], None if a2 is None else a2[part]))
    if by_rows:
        information += risk_gram(data, values[:, 0], h_by_time)
    return Evaluation(loglik, score_t.sum(axis=0), information, xbar_steps, m, eta, score_t,
                      information_steps, None if not by_rows else (data, beta, ties))


def score_residuals(data: CoxData, ev: Evaluation, ties: str) -> np.ndarray:
    """Per-row score residuals L_i (per unit weight), Breslow or Efron."""
    n, p = data.x.shape
    m_times = len(data.times)
    h_all, g_all = np.zeros(m_times), np.zeros((m_times, p))  # exposure of rows not dying then
    h_dead, g_dead = np.zeros(m_times), np.zeros((m_times, p))  # exposure of the dying rows
    xbar_mean = np.zeros((m_times, p))
    efron = ties == "efron"
    for k, (active, xbar, h) in enumerate(ev.xbar_steps):
        share = (1 - k / ev.m[active]) if efron else np.ones(active.sum())
        h_all[active] += h
        g_all[active] += h[:, None] * xbar
        h_dead[active] += share * h
        g_dead[active] += (share * h)[:, None] * xbar
        xbar_mean[active] += xbar / (ev.m[active][:, None] if efron else 1.0)
    cum_h = np.concatenate([[0.0], np.cumsum(h_all)])
    cum_g = np.vstack([np.zeros(p), np.cumsum(g_all, axis=0)])
    exp_eta = np.exp(ev.eta)
    h_sum = cum_h[data.last] - cum_h[data.first]
    g_sum = cum_g[data.last] - cum_g[data.first]
    residual = -exp_eta[:, None] * (data.x * h_sum[:, None] - g_sum)
    dead = np.flatnonzero(data.event)
    j = data.death_index[dead]
    own = data.x[dead] * (h_all[j] - h_dead[j])[:, None] - (g_all[j] - g_dead[j])
    residual[dead] += exp_eta[dead, None] * own + (data.x[dead] - xbar_mean[j])
    return residual


@dataclass(frozen=True)
class NewtonFit:
    """Result of the Newton–Raphson iterations."""

    beta: np.ndarray
    evaluation: Evaluation
    null: Evaluation
    iterations: int
    converged: bool


def newton(data: CoxData, ties: str, eps: float = 1e-9, max_iter: int = 20,
           null: Evaluation | None = None) -> NewtonFit:
    """Maximise the partial likelihood from beta = 0 with R's ``coxph.control`` rules.

    Converged when a full Newton step changes ℓ by a relative |1 − ℓ_old/ℓ_new| ≤ eps (checked
    first, as in R's ``coxfit6``); a step that lowers ℓ is halved back towards the last good
    beta. ``null``: the evaluation at beta = 0 when the caller has it already.
    """
    p = data.x.shape[1]
    best_beta = np.zeros(p)
    best = null = evaluate(data, best_beta, ties) if null is None else null
    beta = best_beta + np.linalg.solve(best.information, best.score)
    halving = False
    for iteration in range(1, max_iter + 1):
        current = evaluate(data, beta, ties)
        finite = np.isfinite(current.loglik)
        if finite and not halving and abs(1 - best.loglik / current.loglik) <= eps:
            return NewtonFit(beta, current, null, iteration, True)
        if not finite or current.loglik < best.loglik:
            halving = True
            beta = (beta + best_beta) / 2
            continue
        best, best_beta, halving = current, beta, False
        beta = best_beta + np.linalg.solve(best.information, best.score)
    return NewtonFit(best_beta, best, null, max_iter, False)

"""Firth-penalised Cox regression (Heinze & Schemper 2001), as R's ``coxphf``.

ℓ*(β) = ℓ(β) + ½ log|I(β)| with ℓ the Breslow partial likelihood. Finite estimates even when a
tier has no events (monotone likelihood); intervals and p-values from the profile penalised
likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sclero_analysis.survival.counts import term_counts, with_counts
from sclero_analysis.survival.cox_result import CoxResult, tests_frame
from sclero_analysis.survival.coxcore import CoxData, cox_data, evaluate, risk_sums
from sclero_analysis.survival.design import design_matrix
from sclero_analysis.survival.inputs import (
    CAUSE,
    EVENT,
    TIME,
    SurvivalInputError,
    start_stop,
    survival_data,
)
from sclero_analysis.survival.robust import singular_columns

MAX_STEP, MAX_HALVING, MAX_ITER = 0.5, 5, 50
STEP_TOL, SCORE_TOL = 1e-6, 1e-4


@dataclass(frozen=True)
class Penalised:
    """ℓ*, its modified score U* and the unpenalised information at one beta."""

    loglik: float
    score: np.ndarray
    information: np.ndarray


def penalised(data: CoxData, beta: np.ndarray) -> Penalised:
    """Evaluate the Firth-penalised Breslow likelihood and its modified score at ``beta``.

    U*_j = U_j + ½ tr(I⁻¹ ∂I/∂β_j), with ∂I/∂β_j from the third-order risk-set moments.
    """
    ev = evaluate(data, beta, "breslow")
    n, p = data.x.shape
    sign, logdet = np.linalg.slogdet(ev.information)
    if not sign > 0 or not np.isfinite(ev.loglik) or not np.isfinite(logdet):
        # a singular or overflowing information (far from the data): no penalised likelihood
        return Penalised(-np.inf, np.zeros(p), ev.information)
    risk = data.weight * np.exp(ev.eta)
    x = data.x
    a0 = risk_sums(data, risk[:, None])[:, 0]
    a1 = risk_sums(data, risk[:, None] * x)
    a2 = risk_sums(data, (risk[:, None, None] * x[:, :, None] * x[:, None, :]).reshape(n, p * p))
    a3 = risk_sums(data, (risk[:, None, None, None] * x[:, :, None, None] * x[:, None, :, None]
                          * x[:, None, None, :]).reshape(n, p**3))
    a2, a3 = a2.reshape(-1, p, p), a3.reshape(-1, p, p, p)
    d = ev.m  # deaths per time (Breslow, unweighted as coxphf)
    outer = a1[:, :, None] * a1[:, None, :]
    # dI[t, :, :, j] = a3/a0 − a2·a1_j/a0² − (a2[:, j] a1ᵀ + a1 a2[:, j]ᵀ)/a0² + 2 a1a1ᵀ a1_j/a0³
    d_info = (a3 / a0[:, None, None, None]
              - a2[:, :, :, None] * a1[:, None, None, :] / a0[:, None, None, None] ** 2
              - (np.einsum("tak,tb->tabk", a2, a1) + np.einsum("ta,tbk->tabk", a1, a2))
              / a0[:, None, None, None] ** 2
              + 2 * outer[:, :, :, None] * a1[:, None, None, :] / a0[:, None, None, None] ** 3)
    d_info = np.einsum("t,tabk->abk", d, d_info)
    inverse = np.linalg.inv(ev.information)
    correction = 0.5 * np.einsum("ab,bak->k", inverse, d_info)
    if not np.all(np.isfinite(correction)):  # numerically singular information: treat as no maximum here
        return Penalised(-np.inf, np.zeros(p), ev.information)
    return Penalised(ev.loglik + 0.5 * logdet, ev.score + correction, ev.information)


def _maximise(data: CoxData, beta: np.ndarray, free: np.ndarray,
              strict: bool = True) -> tuple[np.ndarray, Penalised]:
    """Coxphf's iterations over the ``free`` coefficients (the others stay fixed).

    Without convergence in ``MAX_ITER`` iterations: an error, or with ``strict=False`` the best
    point visited (a profile far from the estimate, where the iterations can stall).
    """
    current = penalised(data, beta)
    visited = (beta, current)
    for iteration in range(MAX_ITER):
        info = current.information[np.ix_(free, free)]
        delta = np.zeros_like(beta)
        delta[free] = np.linalg.solve(info, current.score[free])
        delta = np.clip(delta, -MAX_STEP, MAX_STEP)
        if np.all(np.abs(delta) <= STEP_TOL) and np.all(np.abs(current.score[free]) <= SCORE_TOL):
            return beta, current
        candidate = penalised(data, beta + delta)
        halvings = 0
        # coxphf takes its first step whole; a step to where the penalised likelihood does not
        # exist (singular information, overflow) is halved even then
        while ((iteration > 0 and candidate.loglik < current.loglik) or not np.isfinite(candidate.loglik)) \
                and halvings < MAX_HALVING:
            delta /= 2
            halvings += 1
            candidate = penalised(data, beta + delta)
        beta, current = beta + delta, candidate
        if current.loglik > visited[1].loglik:
            visited = (beta, current)
    if not strict:
        return visited
    raise SurvivalInputError("the Firth-penalised likelihood did not converge in 50 iterations")


def _profile(data: CoxData, beta_hat: np.ndarray, k: int, value: float,
             start: np.ndarray | None = None) -> tuple[Penalised, np.ndarray]:
    """Max ℓ* over the other coefficients with β_k fixed at ``value``, and where it is reached.

    The iterations start from ``start`` (default ``beta_hat``), with β_k set to ``value``.
    Where they stall (far out, beyond an interval limit), the best value they reached stands
    in: a lower bound of the profile, as R's ``coxphf`` uses its last iterate. The profile's
    slope in β_k is the penalised score's k-th element there (the others are zero at the
    maximum).
    """
    beta = (beta_hat if start is None else start).copy()
    beta[k] = value
    free = np.arange(len(beta_hat)) != k
    if not free.any():
        return penalised(data, beta), beta
    beta, reached = _maximise(data, beta, free, strict=False)
    return reached, beta


def _limit(gap, inside: float, outside: float, guess: float, xtol: float = 1e-10) -> float:
    """Root of ``gap`` between ``inside`` (gap > 0) and ``outside`` (gap < 0).

    Newton's method on the profile, with its slope from the penalised score, kept within the
    bracket as in Numerical Recipes' ``rtsafe``: a step that would leave the bracket, or would
    not halve the last step, is a bisection (so it converges whenever Brent's method would).
    A handful of profiles instead of Brent's ten. Ends when a step is under ``xtol``.
    """
    x = guess if min(inside, outside) < guess < max(inside, outside) else (inside + outside) / 2
    last_step = abs(outside - inside)
    for _ in range(200):
        value, slope = gap(x)
        if value == 0:
            return x
        if value > 0:
            inside = x
        else:
            outside = x
        new = x - value / slope if np.isfinite(slope) and slope != 0 else np.nan
        if not min(inside, outside) < new < max(inside, outside) or abs(new - x) > last_step / 2:
            new = (inside + outside) / 2
        last_step = abs(new - x)
        if last_step < xtol or abs(outside - inside) < xtol:
            return new
        x = new
    raise SurvivalInputError("the profile likelihood interval's limit was not found in 200 steps")


def _start(near: tuple[np.ndarray, np.ndarray], k: int, value: float) -> np.ndarray:
    """Where the profile at β_k = ``value`` starts: the last maximiser, moved along its tangent.

    At a profile maximum, the other coefficients change with β_k as −I_ff⁻¹ I_fk (implicit
    function theorem), so the iterations start one order closer.
    """
    beta, information = near
    start = beta.copy()
    free = np.arange(len(beta)) != k
    if free.any():
        try:
            tangent = -np.linalg.solve(information[np.ix_(free, free)], information[free, k])
        except np.linalg.LinAlgError:
            tangent = np.zeros(free.sum())
        if np.all(np.isfinite(tangent)):
            start[free] += (value - beta[k]) * tangent
    start[k] = value
    return start


def _profile_limits(data, beta_hat, k, best, level, se, information) -> tuple[float, float]:
    target = best - stats.chi2.ppf(level, 1) / 2
    near = {}  # the last maximiser and its information: the next value's start (the search closes in)

    def gap(value):
        # beyond where the penalised likelihood exists (−inf), a finite "far below the target"
        # keeps the root search bracketed
        reached, beta = _profile(data, beta_hat, k, value, _start(near["last"], k, value))
        if not np.isfinite(reached.loglik):
            return -1e6, np.nan
        near["last"] = (beta, reached.information)
        return max(reached.loglik - target, -1e6), reached.score[k]

    limits = []
    z = np.sqrt(stats.chi2.ppf(level, 1))
    for direction in (-1, 1):
        near["last"] = (beta_hat, information)
        # the first bracket 4 SEs out (at most 1 on the log-HR scale): a covariate in years or
        # score points has a small SE, and a whole unit out its profile cannot be maximised
        step = min(1.0, 4 * se) if np.isfinite(se) and se > 0 else 1.0
        far = beta_hat[k] + direction * step
        while gap(far)[0] > 0:
            step *= 2
            far = beta_hat[k] + direction * step
            if step > 1e3:
                raise SurvivalInputError("profile likelihood interval is unbounded")
        near["last"] = (beta_hat, information)
        limits.append(_limit(gap, beta_hat[k], far, beta_hat[k] + direction * z * se))
    return limits[0], limits[1]


def fit_firth(
    df: pd.DataFrame,
    formula: str,
    time: str | tuple[str, str] = TIME,
    event: str = EVENT,
    cause: int = CAUSE,
    conf_level: float = 0.95,
) -> CoxResult:
    """Firth-penalised Cox regression with profile-likelihood intervals (``fit_cox(firth=True)``).

    Parameters
    ----------
    df, formula, time, event, cause, conf_level
        As :func:`fit_cox` (Breslow ties; no weights, strata or clusters, as in ``coxphf``).

    Returns
    -------
    CoxResult
        ``summary`` with ``hr_lower, hr_upper`` from the profile penalised likelihood and
        ``p`` from the penalised likelihood-ratio test; ``se`` from I(β̂)⁻¹; ``loglik`` and
        ``loglik_null`` penalised.

    References
    ----------
    Firth D (1993). Biometrika 80:27-38. Heinze G, Schemper M (2001). Biometrics 57:114-119.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5, 6], "event": [1, 1, 1, 0, 0, 0],
    ...                    "x": [1, 1, 1, 0, 0, 0]})  # every event in x = 1: ordinary Cox diverges
    >>> fit = fit_firth(df, "x")
    >>> bool(0 < fit.summary.loc["x", "coef"] < 10)
    True
    """
    start, stop = start_stop(df, time)
    data_in = survival_data(df, time=stop, event=event, group=None, cause=cause)
    if not data_in.is_event.any():
        raise SurvivalInputError(f"no events with code {cause} in '{event}': nothing to fit")
    design = design_matrix(df, formula)
    data = cox_data(design.matrix, np.ones(len(df)), data_in.time, data_in.is_event, None, start)
    p = design.matrix.shape[1]
    singular = singular_columns(evaluate(data, np.zeros(p), "breslow").information)
    if singular.any():
        raise SurvivalInputError(
            f"{[c for c, s in zip(design.columns, singular, strict=True) if s]} carry no information "
            "(e.g. a level never at risk when an event happens): no penalty can estimate them; "
            "drop or merge them (fit_cox without firth reports them as not estimable)")
    beta, best = _maximise(data, np.zeros(p), np.ones(p, bool))
    if not np.isfinite(best.loglik):
        raise SurvivalInputError("the Firth-penalised likelihood has no finite maximum here "
                                 "(a singular information matrix: a covariate without variation?)")
    null = penalised(data, np.zeros(p))
    var = np.linalg.inv(best.information)
    se = np.sqrt(np.diag(var))
    rows = []
    for k in range(p):
        lower, upper = _profile_limits(data, beta, k, best.loglik, conf_level, se[k], best.information)
        lr = max(2 * (best.loglik - _profile(data, beta, k, 0.0)[0].loglik), 0.0)
        rows.append({"coef": beta[k], "se": se[k], "hr": np.exp(beta[k]), "hr_lower": np.exp(lower),
                     "hr_upper": np.exp(upper), "z": beta[k] / se[k], "p": stats.chi2.sf(lr, 1)})
    counts = term_counts(design, data_in.is_event)
    summary = with_counts(pd.DataFrame(rows, index=pd.Index(design.columns, name="term")), counts)
    lr_all = 2 * (best.loglik - null.loglik)
    tests = tests_frame({"likelihood_ratio": lr_all, "wald": float(beta @ best.information @ beta)}, p)
    return CoxResult(summary=summary, loglik=best.loglik, loglik_null=null.loglik, n=len(df),
                     n_events=int(data.event.sum()), tests=tests, var=var, design=design,
                     ties="breslow", robust=False, conf_level=conf_level, _data=data,
                     _evaluation=evaluate(data, beta, "breslow"), counts=counts)

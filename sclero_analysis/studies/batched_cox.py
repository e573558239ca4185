"""Cox models for many replicate data sets at once: vectorised Newton–Raphson over (B, n, p).

The same partial likelihood as :func:`sclero_analysis.fit_cox` (and R's ``coxph``): Breslow or
Efron ties with R's rule for case weights (the tied deaths' mean weight multiplies every Efron
sub-step), and the robust (sandwich) variance from weighted score residuals, summed within
clusters. Rows of each replicate are sorted by time, padded to a common length with rows of
weight 0, and every sum over rows is a sequential cumulative sum read at the replicate's own
last row, so a replicate's numbers do not depend on the other replicates of its batch or on
the padding: a study gives the same result to the last digit however it is chunked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit

Ties = Literal["efron", "breslow"]


@dataclass(frozen=True)
class BatchedCoxResult:
    """Per replicate coefficients and standard errors (NaN where a fit failed).

    Attributes
    ----------
    coef, se, se_naive : ndarray (B, p)
        ``se`` is robust when weights or clusters were given (or ``robust=True``), else naive.
        NaN for a covariate without variation in a replicate (e.g. a tier absent from it; the
        other coefficients are estimated as R would without that column).
    loglik : ndarray (B,)
    iterations : ndarray (B,)
    converged : ndarray (B,) of bool
        False for a fit that did not converge, a singular information matrix, or a replicate
        without events; its numbers are NaN, never averaged in.
    """

    coef: np.ndarray
    se: np.ndarray
    se_naive: np.ndarray
    loglik: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


@dataclass(frozen=True)
class _Batch:
    x: np.ndarray  # (B, n, p), centred, sorted by time descending
    w: np.ndarray  # (B, n) case weights (0 on padding)
    d: np.ndarray  # (B, n) event indicator as float
    start: np.ndarray  # (B, n) first position of each row's tie group
    end: np.ndarray  # (B, n) last position of each row's tie group
    last: np.ndarray  # (B,) last real row (−1 when empty)
    cluster: np.ndarray | None  # (B, n) cluster codes
    frac: np.ndarray  # (B, n) Efron fraction k/d of each death (0 for Breslow)
    c: np.ndarray  # (B, n) weight multiplying each death's log-denominator term
    n_dead: np.ndarray  # (B, n) deaths in the row's tie group
    efron: bool = True
    constant: np.ndarray | None = None  # (B, p) covariates without variation in the replicate


def _total(values: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Σ over rows 0..last of each replicate, summed strictly in row order (padding-proof)."""
    running = np.cumsum(values, axis=1)
    index = np.maximum(last, 0).reshape((-1, 1) + (1,) * (values.ndim - 2))
    out = np.take_along_axis(running, index, axis=1)[:, 0]
    return np.where((last >= 0).reshape((-1,) + (1,) * (out.ndim - 1)), out, 0.0)


def _at(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[b, index[b, i], ...] for every b, i (a flat row gather)."""
    b, n = index.shape
    flat = (np.arange(b)[:, None] * values.shape[1] + index).ravel()
    rows = values.reshape(b * values.shape[1], -1)[flat]
    return rows.reshape((b, n) + values.shape[2:])


def _before(running: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Return the running sums just before each row's tie group (0 for the first group)."""
    first = (start > 0).reshape(start.shape + (1,) * (running.ndim - 2))
    return np.where(first, _at(running, np.maximum(start - 1, 0)), 0.0)


def _group_sum(values: np.ndarray, batch: _Batch) -> np.ndarray:
    """Σ of ``values`` over each row's tie group, read at every row."""
    running = np.cumsum(values, axis=1)
    return _at(running, batch.end) - _before(running, batch.start)


@njit(cache=True, nogil=True, error_model="numpy")
def _prepare_kernel(order, t_in, w_in, d_in, x_in, last, efron, x, w, d, start, end, frac, c, n_dead):  # noqa: C901
    """Sort, centre and group every replicate's rows.

    Rows in ``order``; x centred on its weighted mean over the real rows (summed in row order);
    tie groups (first and last position), deaths per group, Efron fractions and weights.
    """
    b_count, n = order.shape
    p = x_in.shape[2]
    t = np.empty(n)
    mean = np.empty(p)
    for b in range(b_count):
        for i in range(n):
            o = order[b, i]
            t[i] = t_in[b, o]
            w[b, i] = w_in[b, o]
            d[b, i] = d_in[b, o]
            for k in range(p):
                x[b, i, k] = x_in[b, o, k]
        sw = 0.0
        mean[:] = 0.0
        for i in range(last[b] + 1):
            sw += w[b, i]
            for k in range(p):
                mean[k] += w[b, i] * x[b, i, k]
        for k in range(p):
            mean[k] = mean[k] / sw if sw > 0 else mean[k]
        for i in range(n):
            for k in range(p):
                x[b, i, k] = x[b, i, k] - mean[k] if w[b, i] > 0 else 0.0
        i = 0
        while i < n:
            j = i
            while j + 1 < n and t[j + 1] == t[i]:
                j += 1
            dead, w_dead = 0.0, 0.0
            for r in range(i, j + 1):
                dead += d[b, r]
                w_dead += w[b, r] * d[b, r]
            rank = 0
            for r in range(i, j + 1):
                start[b, r] = i
                end[b, r] = j
                n_dead[b, r] = dead
                frac[b, r] = 0.0
                c[b, r] = w[b, r] * d[b, r]
                if d[b, r] > 0 and efron:
                    frac[b, r] = rank / dead
                    c[b, r] = d[b, r] * (w_dead / dead)
                    rank += 1
            i = j + 1


def _prepare(time, event, x, weight, mask, cluster, ties: Ties) -> tuple[_Batch, np.ndarray]:
    time = np.asarray(time, float)
    b, n = time.shape
    x = np.asarray(x, float).reshape(b, n, -1)
    mask = np.ones((b, n), bool) if mask is None else np.asarray(mask, bool)
    w = np.where(mask, 1.0 if weight is None else np.asarray(weight, float), 0.0)
    d = (np.asarray(event, bool) & mask).astype(float)
    order = np.argsort(-np.where(mask, time, -np.inf), axis=1, kind="stable")  # descending; padding last
    last = mask.sum(axis=1) - 1
    out = {name: np.empty((b, n)) for name in ("w", "d", "frac", "c", "n_dead")}
    start, end = np.empty((b, n), np.int64), np.empty((b, n), np.int64)
    x_sorted = np.empty_like(x)
    _prepare_kernel(order, np.where(mask, time, -np.inf), w, d, np.ascontiguousarray(x), last,
                    ties == "efron", x_sorted, out["w"], out["d"], start, end, out["frac"], out["c"],
                    out["n_dead"])
    codes = None if cluster is None else np.take_along_axis(np.asarray(cluster), order, axis=1)
    return _Batch(x_sorted, out["w"], out["d"], start, end, last, codes, out["frac"], out["c"],
                  out["n_dead"], ties == "efron", ~np.any(x_sorted != 0, axis=1)), order


@dataclass(frozen=True)
class _Eval:
    loglik: np.ndarray
    score: np.ndarray
    info: np.ndarray
    denom: np.ndarray  # (B, n) D_i of each death row
    xbar: np.ndarray  # (B, n, p) a_i of each death row
    risk: np.ndarray  # (B, n) exp(eta)


@njit(cache=True, nogil=True, error_model="numpy")
def _evaluate_kernel(x, w, d, end, last, efron, beta, active, rows, loglik, score, info, denom, xbar,  # noqa: C901
                     risk):
    """R's coxfit6 per active replicate: walk tie groups from the latest time, accumulating risk sets."""
    b_count, _, p = x.shape
    s1, u, e1, a = np.zeros(p), np.zeros(p), np.zeros(p), np.zeros(p)
    s2, imat, e2 = np.zeros((p, p)), np.zeros((p, p)), np.zeros((p, p))
    for b in range(b_count):
        if not active[b]:
            continue
        s0 = 0.0
        ll = 0.0
        s1[:] = 0.0
        s2[:, :] = 0.0
        u[:] = 0.0
        imat[:, :] = 0.0
        i = 0
        while i <= last[b]:
            ge = end[b, i]
            e0 = 0.0
            e1[:] = 0.0
            e2[:, :] = 0.0
            n_dead = 0
            w_dead = 0.0
            for j in range(i, ge + 1):
                xj = x[b, j]
                eta = 0.0
                for k in range(p):
                    eta += xj[k] * beta[b, k]
                ej = np.exp(eta)
                if rows:
                    risk[b, j] = ej
                rj = w[b, j] * ej
                s0 += rj
                for k in range(p):
                    rx = rj * xj[k]
                    s1[k] += rx
                    for m in range(k, p):  # upper triangle; mirrored where used
                        s2[k, m] += rx * xj[m]
                if d[b, j] > 0:
                    n_dead += 1
                    w_dead += w[b, j]
                    ll += w[b, j] * eta
                    e0 += rj
                    for k in range(p):
                        rx = rj * xj[k]
                        u[k] += w[b, j] * xj[k]
                        e1[k] += rx
                        for m in range(k, p):
                            e2[k, m] += rx * xj[m]
            step = 0
            for j in range(i, ge + 1):  # the deaths' sub-steps, in row order
                if d[b, j] == 0:
                    continue
                frac = step / n_dead if efron else 0.0
                mean_w = w_dead / n_dead if efron else w[b, j]
                den = s0 - frac * e0
                if rows:
                    denom[b, j] = den
                ll -= mean_w * np.log(den)
                for k in range(p):
                    a[k] = (s1[k] - frac * e1[k]) / den
                    if rows:
                        xbar[b, j, k] = a[k]
                    u[k] -= mean_w * a[k]
                inv = 1.0 / den
                for k in range(p):
                    for m in range(k, p):
                        imat[k, m] += mean_w * ((s2[k, m] - frac * e2[k, m]) * inv - a[k] * a[m])
                step += 1
            i = ge + 1
        loglik[b] = ll
        for k in range(p):
            score[b, k] = u[k]
            for m in range(k, p):
                info[b, k, m] = imat[k, m]
                info[b, m, k] = imat[k, m]


def _evaluate(batch: _Batch, beta: np.ndarray, active: np.ndarray | None = None, rows: bool = True) -> _Eval:
    """Log partial likelihood, score and information of every (active) replicate at ``beta``.

    Inactive replicates are skipped; their entries are placeholders the caller does not use.
    ``rows=False`` skips the row-level quantities (denominators, x̄, risks; left as placeholders).
    """
    b, n, p = batch.x.shape
    active = np.ones(b, bool) if active is None else active
    loglik, score, info = np.zeros(b), np.zeros((b, p)), np.zeros((b, p, p))
    denom, xbar, risk = np.ones((b, n)), np.zeros((b, n, p)), np.zeros((b, n))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        _evaluate_kernel(batch.x, batch.w, batch.d, batch.end, batch.last, batch.efron, beta, active, rows,
                         loglik, score, info, denom, xbar, risk)
    return _Eval(loglik, score, info, denom, xbar, risk)


def _solve(info: np.ndarray, score: np.ndarray, constant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newton steps; a covariate constant in a replicate (e.g. an absent tier) stays at 0."""
    if constant.any():
        info = np.where(constant[:, :, None] | constant[:, None, :], 0.0, info) + \
            np.eye(info.shape[1]) * constant[:, None, :]
        score = np.where(constant, 0.0, score)
    ok = np.all(np.isfinite(info), axis=(1, 2)) & np.all(np.isfinite(score), axis=1)
    safe = np.where(ok[:, None, None], info, np.eye(info.shape[1]))
    try:
        step = np.linalg.solve(safe, score[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        step = np.full_like(score, np.nan)
        for i in range(len(safe)):
            try:
                step[i] = np.linalg.solve(safe[i], score[i])
            except np.linalg.LinAlgError:
                ok[i] = False
    return np.where(ok[:, None], step, 0.0), ok & np.all(np.isfinite(step), axis=1)


def _newton(batch: _Batch, p: int, max_iter: int, tol: float, rows: bool):
    """Newton–Raphson from beta = 0 per replicate; a step that lowers the likelihood is halved.

    ``rows``: keep the row-level quantities (denominators, x̄, risks) of the accepted betas, which
    only the robust variance needs.
    """
    b = batch.x.shape[0]
    beta = np.zeros((b, p))
    current = _evaluate(batch, beta, rows=rows)
    step, ok = _solve(current.info, current.score, batch.constant)
    done = ok & (np.max(np.abs(step), axis=1, initial=0.0) <= tol)
    iterations = np.zeros(b, int)
    for _ in range(max_iter):
        active = ok & ~done
        if not active.any():
            break
        trial = beta + np.where(active[:, None], step, 0.0)
        new = _evaluate(batch, trial, active, rows)
        worse = ~np.isfinite(new.loglik) | (new.loglik < current.loglik - 1e-13 * np.abs(current.loglik))
        halve, accept = active & worse, active & ~worse
        iterations += accept
        beta = np.where(accept[:, None], trial, beta)
        current = _merge(current, new, accept, rows)
        new_step, new_ok = _solve(current.info, current.score, batch.constant)
        step = np.where(accept[:, None], new_step, np.where(halve[:, None], step / 2, step))
        ok = np.where(accept, new_ok, ok) & ~(halve & (np.max(np.abs(step), axis=1) < 1e-15))
        size = np.max(np.abs(step), axis=1)
        done |= accept & ok & (size <= tol * (1 + np.max(np.abs(beta), axis=1)))
    return beta, current, done & ok, iterations


def _merge(old: _Eval, new: _Eval, take: np.ndarray, rows: bool) -> _Eval:
    def pick(a, b):
        return np.where(take.reshape((-1,) + (1,) * (a.ndim - 1)), b, a)

    fields = ("loglik", "score", "info") + (("denom", "xbar", "risk") if rows else ())
    return dataclasses.replace(old, **{f: pick(getattr(old, f), getattr(new, f)) for f in fields})


def _score_residuals(batch: _Batch, ev: _Eval) -> np.ndarray:
    """Row score residuals per unit weight (as ``survival``'s coxscore), (B, n, p)."""
    x, d, frac = batch.x, batch.d, batch.frac
    h = batch.c / ev.denom  # hazard increment of each death sub-step
    h = np.where(d > 0, h, 0.0)
    ha = h[:, :, None] * ev.xbar
    cum_h = _at(np.cumsum(h[:, ::-1], axis=1)[:, ::-1], batch.start)
    cum_g = _at(np.cumsum(ha[:, ::-1], axis=1)[:, ::-1], batch.start)
    residual = -ev.risk[:, :, None] * (x * cum_h[:, :, None] - cum_g)
    # a death is exposed to its own group's Efron sub-steps with share (1 − k/d), not 1
    lost_h = _group_sum(h * frac, batch)
    lost_g = _group_sum((h * frac)[:, :, None] * ev.xbar, batch)
    n_dead = np.where(batch.n_dead > 0, batch.n_dead, 1.0)
    mean_xbar = _group_sum(d[:, :, None] * ev.xbar, batch) / n_dead[:, :, None]
    own = ev.risk[:, :, None] * (x * lost_h[:, :, None] - lost_g) + (x - mean_xbar)
    return residual + d[:, :, None] * own


def _rows_times(rows: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Rows (B, n, p) @ matrix (B, p, q), summed over p in a fixed order (batch-independent bits)."""
    out = np.zeros(rows.shape[:2] + matrix.shape[2:])
    for k in range(rows.shape[2]):
        out += rows[:, :, k, None] * matrix[:, None, k, :]
    return out


def _robust(batch: _Batch, ev: _Eval, variance: np.ndarray) -> np.ndarray:
    dfbeta = batch.w[:, :, None] * _rows_times(_score_residuals(batch, ev), variance)
    b, n, p = dfbeta.shape
    if batch.cluster is None:
        outer = dfbeta[:, :, :, None] * dfbeta[:, :, None, :]
        return _total(outer, batch.last)
    codes = batch.cluster
    k = int(codes.max()) + 1 if codes.size else 1
    sums = np.zeros((b * k, p))
    flat = (np.arange(b)[:, None] * k + codes).ravel()
    np.add.at(sums, flat, dfbeta.reshape(-1, p))  # each cluster's rows in row order
    sums = sums.reshape(b, k, p)
    outer = sums[:, :, :, None] * sums[:, :, None, :]
    return _total(outer, np.full(b, k - 1))


def fit_cox_batched(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
    ties: Ties = "efron",
    robust: bool = False,
    max_iter: int = 30,
    tol: float = 1e-10,
) -> BatchedCoxResult:
    """Fit one Cox model per replicate of a padded batch.

    Parameters
    ----------
    time, event : ndarray (B, n)
        Follow-up time and event indicator (bool) per replicate and row.
    x : ndarray (B, n, p)
        Covariates (already coded: dummies for categorical terms).
    weight : ndarray (B, n), optional
        Case weights (e.g. IPTW); with weights the reported ``se`` is robust, as R's.
    mask : ndarray (B, n) of bool, optional
        Which rows are real (False: padding or a row left out, e.g. a missing covariate).
    cluster : ndarray (B, n) of int, optional
        Cluster codes per replicate (e.g. patient); the robust variance sums within clusters.
    ties : {"efron", "breslow"}
    robust : bool
        Robust variance even without weights or clusters (each row its own cluster).
    max_iter : int
    tol : float
        Converged when the last Newton step is below ``tol`` × (1 + max |beta|).

    Returns
    -------
    BatchedCoxResult

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([[1., 2, 3, 4, 5, 6]]); e = np.array([[1, 1, 0, 1, 1, 0]], bool)
    >>> x = np.array([[0., 1, 0, 1, 1, 0]])[:, :, None]
    >>> round(float(fit_cox_batched(t, e, x).coef[0, 0]), 6)   # R: coxph 0.845527764296
    0.845528
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', not {ties!r}")
    time = np.asarray(time, float)
    if time.ndim != 2:
        raise ValueError("time must be a (replicates, rows) array")
    x = np.asarray(x, float)
    x = x[:, :, None] if x.ndim == 2 else x
    p = x.shape[2]
    batch, _ = _prepare(time, event, x, weight, mask, cluster, ties)
    robust = weight is not None or cluster is not None or robust
    beta, ev, converged, iterations = _newton(batch, p, max_iter, tol, rows=robust)
    converged &= batch.d.sum(axis=1) > 0
    variance = np.full((len(beta), p, p), np.nan)
    constant = batch.constant
    fixed = constant[:, :, None] | constant[:, None, :]
    info = np.where(fixed, 0.0, ev.info) + np.eye(p) * constant[:, None, :]
    good = converged & np.all(np.isfinite(info), axis=(1, 2))
    if good.any():
        inv = np.linalg.inv(np.where(good[:, None, None], info, np.eye(p)))
        inv = np.where(fixed, 0.0, inv)
        variance = np.where(good[:, None, None], inv, np.nan)
    se_naive = np.sqrt(np.diagonal(variance, axis1=1, axis2=2))
    se = se_naive
    if robust:
        robust_var = _robust(batch, ev, np.where(good[:, None, None], variance, 0.0))
        se = np.where(good[:, None], np.sqrt(np.diagonal(robust_var, axis1=1, axis2=2)), np.nan)
    nan = ~good[:, None] | constant  # a covariate constant in a replicate has no estimate
    se, se_naive = np.where(nan, np.nan, se), np.where(nan, np.nan, se_naive)
    return BatchedCoxResult(np.where(nan, np.nan, beta), se, se_naive,
                            np.where(good, ev.loglik, np.nan), iterations, good)

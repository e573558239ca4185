"""Compiled per-replicate Cox fitting: sort, centre, group ties, then Newton–Raphson (Numba).

One replicate at a time, entirely in compiled code, so a batch costs no Python per Newton
step and a replicate's numbers depend on its own rows only (never on the batch, its padding or
the other replicates' convergence). The arithmetic is R's ``coxfit6``: risk sets accumulated
from the latest time, Efron sub-steps within tied deaths weighted by the deaths' mean weight.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numba import types
from numba.extending import overload

from sclero_analysis._compiled import B1, F8, I8, INNER_OPTIONS, copy_into, fill, helper, kernel, read, write

#: Bits of a sort key (exponent, then 24 bits of mantissa) and its centre (time 0).
KEY_BYTES, KEY_ZERO = 5, 1 << 36
#: Covariates up to which :func:`_evaluate_small` (sums in local variables, :func:`fit_small_kernel`)
#: replaces :func:`_evaluate_one` (:func:`fit_kernel`).
SMALL_P = 4


@helper
def _sort_rows(t, m, order, buffer, key, key_buffer, counts, sorted_t):  # noqa: C901
    """Real rows (``m``) by time descending, ties in row order, then the other rows; return the count.

    A least-significant-digit radix sort (stable), a byte at a time and skipping a byte that
    all keys share, of integer keys that order as the times with 24 bits of mantissa (a
    monotone truncation, so only times equal in those bits can be out of order), then an
    insertion pass on the times themselves (``sorted_t``, the real rows' sorted times on
    return) puts those in order. ``key``, ``key_buffer``, ``buffer`` and ``counts``
    (``KEY_BYTES`` × 256) are scratch.
    """
    n = t.shape[0]
    count = 0
    for i in range(n):
        if m[i]:
            order[count] = i
            count += 1
    for byte in range(KEY_BYTES):
        for digit in range(256):
            counts[byte, digit] = 0
    for i in range(count):
        value = t[order[i]]
        mantissa, exponent = math.frexp(abs(value))  # |value| = mantissa · 2^exponent, mantissa in [0.5, 1)
        size = 0 if value == 0 else (exponent + 1100) * 16777216 + int((mantissa - 0.5) * 33554432.0)
        k = KEY_ZERO - size if value > 0 else KEY_ZERO + size  # descending
        key[i] = k
        for byte in range(KEY_BYTES):
            counts[byte, (k >> (8 * byte)) & 255] += 1
    pos = count
    for i in range(n):
        if not m[i]:
            order[pos] = i
            pos += 1
    in_order = True  # the sorted pairs are in (key, order), else in the buffers
    for byte in range(KEY_BYTES):
        shift = 8 * byte
        if count == 0 or counts[byte, (key[0] >> shift) & 255] == count:
            continue  # every key has this byte: the pass would not move a row
        total = 0
        for digit in range(256):  # counts become each digit's first position
            total, counts[byte, digit] = total + counts[byte, digit], total
        source_key, source_index = (key, order) if in_order else (key_buffer, buffer)
        target_key, target_index = (key_buffer, buffer) if in_order else (key, order)
        for i in range(count):
            digit = (source_key[i] >> shift) & 255
            position = counts[byte, digit]
            counts[byte, digit] = position + 1
            target_key[position], target_index[position] = source_key[i], source_index[i]
        in_order = not in_order
    if not in_order:
        for k in range(count):
            order[k] = buffer[k]
    for i in range(count):  # insertion (stable): moves only times whose keys tied
        value, index = t[order[i]], order[i]
        j = i
        while j > 0 and sorted_t[j - 1] < value:
            sorted_t[j], order[j] = sorted_t[j - 1], order[j - 1]
            j -= 1
        sorted_t[j], order[j] = value, index
    return count


@helper
def _prepare_one(t_in, w_in, d_in, x_in, m, efron, rows, order, buffer, keys, key_buffer, counts, t,  # noqa: C901
                 mean, x, w, d, start, end, frac, c, n_dead, constant, xx):
    """Sort, centre and group one replicate's rows; return its last real row (−1 when none).

    ``xx``: each row's products x_k·x_m (k ≤ m) of the centred covariates, in the order of
    :func:`general_scratch`'s pairs, when it has rows (only :func:`_evaluate_one` reads them). The
    tie groups' first rows, Efron fractions and weights (``start``, ``frac``, ``c``) only with
    ``rows`` (the robust variance).
    """
    n, p = x.shape
    count = _sort_rows(t_in, m, order, buffer, keys, key_buffer, counts, t)
    sw = 0.0
    for i in range(n):
        o = order[i]
        real = i < count
        if not real:
            t[i] = -np.inf
        w[i] = w_in[o] if real else 0.0
        d[i] = (1.0 if d_in[o] else 0.0) if real else 0.0
        if real:
            sw += w[i]
    for k in range(p):  # a covariate at a time: long loops over the rows
        total = 0.0
        for i in range(count):
            value = x_in[order[i], k]
            x[i, k] = value
            total += w[i] * value
        mean[k] = total / sw if sw > 0 else total
        varies = False
        for i in range(count):
            value = x[i, k] - mean[k] if w[i] > 0 else 0.0
            x[i, k] = value
            varies |= value != 0.0
        for i in range(count, n):  # padding
            x[i, k] = 0.0
        constant[k] = not varies
    q = 0
    for k in range(p if xx.shape[0] > 0 else 0):
        for m2 in range(k, p):
            for i in range(n):
                xx[i, q] = x[i, k] * x[i, m2]
            q += 1
    i = 0
    while i < n:
        j = i
        while j + 1 < n and t[j + 1] == t[i]:
            j += 1
        dead, w_dead = 0.0, 0.0
        for r in range(i, j + 1):
            dead += d[r]
            w_dead += w[r] * d[r]
        rank = 0
        for r in range(i, j + 1):
            end[r] = j
            n_dead[r] = dead
            if not rows:  # what only the robust variance reads
                continue
            start[r] = i
            frac[r] = 0.0
            c[r] = w[r] * d[r]
            if d[r] > 0 and efron:
                frac[r] = rank / dead
                c[r] = d[r] * (w_dead / dead)
                rank += 1
        i = j + 1
    return count - 1


#: Bounds within which denominators are multiplied into the running product (whose log is taken
#: only when it leaves (1 / LOG_RANGE, LOG_RANGE), when the weight changes, and at the end).
LOG_RANGE, LOG_FACTOR = 1e150, 1e100


@helper
def _log_term(ll, product, product_w, weight, den):
    """Subtract ``weight`` · log(``den``) from ``ll`` through the running product; return the state.

    One log per run of equal weights (every death without case weights) instead of one per
    denominator: the product of denominators of weight ``product_w`` is kept in range, and its
    log subtracted, as a run ends. A denominator outside the factor range (or not finite) has
    its own log.
    """
    if weight != product_w or not (1.0 / LOG_RANGE < product < LOG_RANGE):
        ll -= product_w * np.log(product)
        product, product_w = 1.0, weight
    if 1.0 / LOG_FACTOR < den < LOG_FACTOR:
        product *= den
    else:
        ll -= weight * np.log(den)
    return ll, product, product_w


@helper
def _evaluate_one(x, w, d, end, n_dead, last, efron, beta, rows, score, info, denom, xbar,  # noqa: C901
                  risk, scratch):
    """Log partial likelihood (returned), score and information at ``beta``, in one pass.

    One loop over the rows from the latest time: the risk set's S0, S1 and packed S2 (from
    the rows' products ``xx``), and E0, E1, E2 of a tie group's deaths only where Efron needs
    them (tied deaths). At a tie group's last row, its deaths (a group of one row directly, as
    most are): Breslow, or a single death, one denominator S0 for the group's total weight; Efron
    with tied deaths, sub-steps in row order, the k-th with S0 − (k/d)·E0, each weighted by
    the deaths' mean weight (R's rule). At beta = 0 no exponential is taken; the
    denominators' logs are taken once per run of equal weights (:func:`_log_term`). ``rows``: also
    write each death's denominator and x̄ and every row's exp(eta). ``scratch``:
    :func:`general_scratch`, its products filled (:func:`_prepare_one`).
    """
    s1, e1, a, s2, e2, packed, pair, xx = scratch
    p, nq = x.shape[1], xx.shape[1]
    at_zero = _max_abs(beta) == 0.0
    s0, ll, e0, w_dead = 0.0, 0.0, 0.0, 0.0
    product, product_w = 1.0, 0.0  # the denominators whose logs are still to subtract (_log_term)
    fill(s1, 0.0)
    fill(s2, 0.0)
    fill(score, 0.0)
    fill(packed, 0.0)
    fill(e1, 0.0)
    fill(e2, 0.0)
    first = 0
    for j in range(last + 1):
        eta, ej = 0.0, 1.0
        if not at_zero:
            for k in range(p):
                eta += x[j, k] * beta[k]
            ej = np.exp(eta)
        if rows:
            risk[j] = ej
        rj = w[j] * ej
        s0 += rj
        for k in range(p):
            s1[k] += rj * x[j, k]
        for q in range(nq):
            s2[q] += rj * xx[j, q]
        dead = n_dead[j]
        tied = efron and dead > 1
        if d[j] > 0:
            w_dead += w[j]
            ll += w[j] * eta
            for k in range(p):
                score[k] += w[j] * x[j, k]
            if tied:
                e0 += rj
                for k in range(p):
                    e1[k] += rj * x[j, k]
                for q in range(nq):
                    e2[q] += rj * xx[j, q]
        if end[j] != j:
            continue
        if first == j:  # a group of one row: at most one death, with its own denominator
            if d[j] > 0:
                inv = 1.0 / s0
                wj = w[j]
                ll, product, product_w = _log_term(ll, product, product_w, wj, s0)
                for k in range(p):
                    a[k] = s1[k] * inv
                    score[k] -= wj * a[k]
                q = 0
                for k in range(p):
                    ak = wj * a[k]
                    for m in range(k, p):
                        packed[q] += wj * s2[q] * inv - ak * a[m]
                        q += 1
                if rows:
                    denom[j] = s0
                    for k in range(p):
                        xbar[j, k] = a[k]
            w_dead, first = 0.0, j + 1
            continue
        if dead == 0:
            w_dead, first = 0.0, j + 1
            continue
        step = 0
        mean_w = w_dead / dead if tied else w_dead
        for i in range(first, j + 1):  # the deaths, in row order
            if d[i] == 0:
                continue
            frac = step / dead if tied else 0.0
            den = s0 - frac * e0
            if tied or step == 0:  # else the group's one denominator, already counted
                inv = 1.0 / den
                ll, product, product_w = _log_term(ll, product, product_w, mean_w, den)
                for k in range(p):
                    a[k] = (s1[k] - frac * e1[k]) * inv
                    score[k] -= mean_w * a[k]
                q = 0
                for k in range(p):
                    ak = mean_w * a[k]
                    for m in range(k, p):
                        packed[q] += mean_w * (s2[q] - frac * e2[q]) * inv - ak * a[m]
                        q += 1
            if rows:
                denom[i] = den
                for k in range(p):
                    xbar[i, k] = a[k]
            step += 1
        if tied:
            e0 = 0.0
            fill(e1, 0.0)
            fill(e2, 0.0)
        w_dead = 0.0
        first = j + 1
    for q in range(nq):
        info[pair[q, 0], pair[q, 1]] = packed[q]
        info[pair[q, 1], pair[q, 0]] = packed[q]
    return ll - product_w * np.log(product)


@helper
def _death_step(wt, inv, c0, c1, c2, c3, q00, q01, q02, q03, q11, q12, q13, q22, q23, q33,  # noqa: PLR0913
                u0, u1, u2, u3, p00, p01, p02, p03, p11, p12, p13, p22, p23, p33):
    """One death's (or tie group's) terms of :func:`_evaluate_small`, as :func:`_evaluate_one` adds them.

    ``c``: the numerators of x̄ (S1, or S1 − f·E1), ``q``: of the second moments; returns x̄, the
    score and the packed information, updated.
    """
    a0, a1, a2, a3 = c0 * inv, c1 * inv, c2 * inv, c3 * inv
    u0, u1, u2, u3 = u0 - wt * a0, u1 - wt * a1, u2 - wt * a2, u3 - wt * a3
    w0, w1, w2, w3 = wt * a0, wt * a1, wt * a2, wt * a3
    p00 += wt * q00 * inv - w0 * a0
    p01 += wt * q01 * inv - w0 * a1
    p02 += wt * q02 * inv - w0 * a2
    p03 += wt * q03 * inv - w0 * a3
    p11 += wt * q11 * inv - w1 * a1
    p12 += wt * q12 * inv - w1 * a2
    p13 += wt * q13 * inv - w1 * a3
    p22 += wt * q22 * inv - w2 * a2
    p23 += wt * q23 * inv - w2 * a3
    p33 += wt * q33 * inv - w3 * a3
    return a0, a1, a2, a3, u0, u1, u2, u3, p00, p01, p02, p03, p11, p12, p13, p22, p23, p33


@helper
def _evaluate_small(x, w, d, end, n_dead, last, efron, beta, rows, score, info, denom, xbar,  # noqa: C901
                    risk, scratch):
    """:func:`_evaluate_one` for at most ``SMALL_P`` covariates, every sum in a local variable.

    The same arithmetic in the same order (the same numbers to the last digit), with the
    covariates beyond ``p`` read as 0: the sums stay in registers instead of being read and
    written through arrays at every row. The linear predictors and their exponentials are
    computed first (into ``scratch``, :func:`small_scratch`), so that no call to ``exp``
    inside the loop of sums makes the sums leave the registers. Returns the log partial
    likelihood.
    """
    etas, exps, _ = scratch
    p = x.shape[1]
    at_zero = _max_abs(beta) == 0.0
    b0 = beta[0]
    b1 = beta[1] if p > 1 else 0.0
    b2 = beta[2] if p > 2 else 0.0
    b3 = beta[3] if p > 3 else 0.0
    s0, ll, e0, w_dead = 0.0, 0.0, 0.0, 0.0
    product, product_w = 1.0, 0.0
    s10 = s11 = s12 = s13 = 0.0
    s200 = s201 = s202 = s203 = s211 = s212 = s213 = s222 = s223 = s233 = 0.0
    e10 = e11 = e12 = e13 = 0.0
    e200 = e201 = e202 = e203 = e211 = e212 = e213 = e222 = e223 = e233 = 0.0
    u0 = u1 = u2 = u3 = 0.0
    p00 = p01 = p02 = p03 = p11 = p12 = p13 = p22 = p23 = p33 = 0.0
    a0 = a1 = a2 = a3 = 0.0
    first = 0
    if not at_zero:
        for j in range(last + 1):
            eta = 0.0 + x[j, 0] * b0
            if p > 1:
                eta += x[j, 1] * b1
            if p > 2:
                eta += x[j, 2] * b2
            if p > 3:
                eta += x[j, 3] * b3
            etas[j] = eta
            exps[j] = np.exp(eta)
    for j in range(last + 1):
        x0 = x[j, 0]
        x1 = x[j, 1] if p > 1 else 0.0
        x2 = x[j, 2] if p > 2 else 0.0
        x3 = x[j, 3] if p > 3 else 0.0
        eta, ej = 0.0, 1.0
        if not at_zero:
            eta, ej = etas[j], exps[j]
        if rows:
            risk[j] = ej
        rj = w[j] * ej
        s0 += rj
        s10 += rj * x0
        s11 += rj * x1
        s12 += rj * x2
        s13 += rj * x3
        s200 += rj * (x0 * x0)
        s201 += rj * (x0 * x1)
        s202 += rj * (x0 * x2)
        s203 += rj * (x0 * x3)
        s211 += rj * (x1 * x1)
        s212 += rj * (x1 * x2)
        s213 += rj * (x1 * x3)
        s222 += rj * (x2 * x2)
        s223 += rj * (x2 * x3)
        s233 += rj * (x3 * x3)
        dead = n_dead[j]
        tied = efron and dead > 1
        if d[j] > 0:
            wj = w[j]
            w_dead += wj
            ll += wj * eta
            u0 += wj * x0
            u1 += wj * x1
            u2 += wj * x2
            u3 += wj * x3
            if tied:
                e0 += rj
                e10 += rj * x0
                e11 += rj * x1
                e12 += rj * x2
                e13 += rj * x3
                e200 += rj * (x0 * x0)
                e201 += rj * (x0 * x1)
                e202 += rj * (x0 * x2)
                e203 += rj * (x0 * x3)
                e211 += rj * (x1 * x1)
                e212 += rj * (x1 * x2)
                e213 += rj * (x1 * x3)
                e222 += rj * (x2 * x2)
                e223 += rj * (x2 * x3)
                e233 += rj * (x3 * x3)
        if end[j] != j:
            continue
        if first == j:  # a group of one row: at most one death, with its own denominator
            if d[j] > 0:
                inv = 1.0 / s0
                wj = w[j]
                ll, product, product_w = _log_term(ll, product, product_w, wj, s0)
                (a0, a1, a2, a3, u0, u1, u2, u3, p00, p01, p02, p03, p11, p12, p13, p22, p23,
                 p33) = _death_step(wj, inv, s10, s11, s12, s13, s200, s201, s202, s203, s211, s212,
                                    s213, s222, s223, s233, u0, u1, u2, u3, p00, p01, p02, p03, p11,
                                    p12, p13, p22, p23, p33)
                if rows:
                    denom[j] = s0
                    _write_small(xbar[j], p, a0, a1, a2, a3)
            w_dead, first = 0.0, j + 1
            continue
        if dead == 0:
            w_dead, first = 0.0, j + 1
            continue
        step = 0
        mean_w = w_dead / dead if tied else w_dead
        for i in range(first, j + 1):  # the deaths, in row order
            if d[i] == 0:
                continue
            frac = step / dead if tied else 0.0
            den = s0 - frac * e0
            if tied or step == 0:  # else the group's one denominator, already counted
                inv = 1.0 / den
                ll, product, product_w = _log_term(ll, product, product_w, mean_w, den)
                (a0, a1, a2, a3, u0, u1, u2, u3, p00, p01, p02, p03, p11, p12, p13, p22, p23,
                 p33) = _death_step(mean_w, inv, s10 - frac * e10, s11 - frac * e11, s12 - frac * e12,
                                    s13 - frac * e13, s200 - frac * e200, s201 - frac * e201,
                                    s202 - frac * e202, s203 - frac * e203, s211 - frac * e211,
                                    s212 - frac * e212, s213 - frac * e213, s222 - frac * e222,
                                    s223 - frac * e223, s233 - frac * e233, u0, u1, u2, u3, p00, p01,
                                    p02, p03, p11, p12, p13, p22, p23, p33)
            if rows:
                denom[i] = den
                _write_small(xbar[i], p, a0, a1, a2, a3)
            step += 1
        if tied:
            e0 = e10 = e11 = e12 = e13 = 0.0
            e200 = e201 = e202 = e203 = e211 = e212 = e213 = e222 = e223 = e233 = 0.0
        w_dead = 0.0
        first = j + 1
    _write_small(score, p, u0, u1, u2, u3)
    packed = ((p00, p01, p02, p03), (p01, p11, p12, p13), (p02, p12, p22, p23), (p03, p13, p23, p33))
    for k in range(p):
        for m in range(p):
            info[k, m] = packed[k][m]
    return ll - product_w * np.log(product)


@helper
def _write_small(target, p, v0, v1, v2, v3):
    """Write the first ``p`` of v0 … v3 into the vector ``target``."""
    target[0] = v0
    if p > 1:
        target[1] = v1
    if p > 2:
        target[2] = v2
    if p > 3:
        target[3] = v3


#: Arrays in the scratch of :func:`_evaluate_small` (:func:`small_scratch`).
SMALL_SCRATCH = 3


def _evaluate(x, w, d, end, n_dead, last, efron, beta, rows, score, info, denom, xbar, risk, scratch):
    """:func:`_evaluate_small` with its scratch (:func:`small_scratch`), else :func:`_evaluate_one`.

    In compiled code the choice is made when compiling (:func:`_evaluate_of`): a kernel
    compiles only the evaluation its scratch is for.
    """
    evaluate = _evaluate_small if len(scratch) == SMALL_SCRATCH else _evaluate_one
    return evaluate(x, w, d, end, n_dead, last, efron, beta, rows, score, info, denom, xbar, risk, scratch)


@overload(_evaluate, jit_options=INNER_OPTIONS)
def _evaluate_of(x, w, d, end, n_dead, last, efron, beta, rows, score, info, denom, xbar, risk, scratch):
    return (_evaluate_small if len(scratch) == SMALL_SCRATCH else _evaluate_one).py_func


def small_scratch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the scratch of :func:`_evaluate_small` for ``n`` rows.

    The linear predictors and their exponentials, and no rows' products (an empty ``xx``).
    """
    return np.empty(n), np.empty(n), np.empty((0, 0))


def general_scratch(n: int, p: int) -> tuple[np.ndarray, ...]:
    """Return the scratch of :func:`_evaluate_one` for ``n`` rows and ``p`` covariates.

    S1, E1, x̄, S2, E2, the packed information, the pairs (k, m), k ≤ m, of the packed upper
    triangle of a p × p matrix row by row, and the rows' products in that order (``xx``).
    """
    nq = p * (p + 1) // 2
    pairs = np.array(list(itertools.combinations_with_replacement(range(p), 2)), np.int64).reshape(nq, 2)
    return (np.empty(p), np.empty(p), np.empty(p), np.empty(nq), np.empty(nq), np.empty(nq), pairs,
            np.empty((n, nq)))


@helper
def _newton_direction(info, score, constant, step, lu):  # noqa: C901
    """Solve info · step = score (Gaussian elimination, partial pivoting); return success.

    A covariate constant in the replicate keeps a zero step (its row and column are replaced
    by the identity's), as R leaves an all-zero column out.
    """
    p = score.shape[0]
    for k in range(p):
        for m in range(p):
            fixed = constant[k] or constant[m]
            lu[k, m] = (1.0 if k == m else 0.0) if fixed else info[k, m]
        step[k] = 0.0 if constant[k] else score[k]
        if not np.isfinite(step[k]):
            return False
    for col in range(p):
        pivot, best = col, abs(lu[col, col])
        for r in range(col + 1, p):
            if abs(lu[r, col]) > best:
                pivot, best = r, abs(lu[r, col])
        if not (best > 0.0) or not np.isfinite(best):
            return False
        if pivot != col:
            for m in range(p):
                lu[col, m], lu[pivot, m] = lu[pivot, m], lu[col, m]
            step[col], step[pivot] = step[pivot], step[col]
        for r in range(col + 1, p):
            f = lu[r, col] / lu[col, col]
            for m in range(col, p):
                lu[r, m] -= f * lu[col, m]
            step[r] -= f * step[col]
    for k in range(p - 1, -1, -1):
        total = step[k]
        for m in range(k + 1, p):
            total -= lu[k, m] * step[m]
        step[k] = total / lu[k, k]
        if not np.isfinite(step[k]):
            return False
    return True


@helper
def _max_abs(v):
    out = 0.0
    for value in v:
        out = max(out, abs(value))
    return out


#: The arguments of :func:`_fit` after its scratch.
FIT_ARGUMENTS = (
    read(F8, 2), read(B1, 2), read(F8, 3), read(F8, 2), read(B1, 2),  # time, event, x, weight, mask
    B1, I8, F8, B1,  # efron, max_iter, tol, rows
    write(I8, 2), write(F8, 3), write(F8, 2), write(F8, 2),  # order, x, w, d (sorted)
    write(I8, 2), write(I8, 2),  # start, end
    write(F8, 2), write(F8, 2), write(F8, 2), write(I8, 1), write(B1, 2),  # frac c n_dead last constant
    write(F8, 2), write(F8, 1), write(F8, 3), write(I8, 1), write(B1, 1),  # beta loglik info iterations conv.
    write(F8, 2), write(F8, 3), write(F8, 2),  # denom xbar risk
)
#: :func:`_fit` as :func:`fit_small_kernel` (scratch: :func:`small_scratch`) and as :func:`fit_kernel`
#: (:func:`general_scratch`).
FIT_SMALL_SIGNATURE = types.void(types.Tuple((write(F8, 1), write(F8, 1), write(F8, 2))), *FIT_ARGUMENTS)
FIT_SIGNATURE = types.void(types.Tuple((*[write(F8, 1)] * 6, write(I8, 2), write(F8, 2))), *FIT_ARGUMENTS)


def _fit(scratch, time, event, x_in, weight, mask, efron, max_iter, tol, rows,  # noqa: C901
         order, x, w, d, start, end, frac, c, n_dead, last, constant,
         beta, loglik, info, iterations, converged, denom, xbar, risk):
    """Fit every replicate: prepare its rows, then Newton–Raphson from beta = 0.

    Compiled as two kernels: :func:`fit_small_kernel`, for 1 to ``SMALL_P`` covariates, with
    the ``scratch`` of :func:`_evaluate_small` (:func:`small_scratch`), and :func:`fit_kernel`,
    for none or more, with that of :func:`_evaluate_one` (:func:`general_scratch`); the same
    numbers for any number of covariates. :func:`_evaluate` takes the evaluation the scratch
    is for, so each kernel compiles one evaluation, and a study only the kernel it uses
    (:func:`fit_kernel` is compiled on its first call).

    The sorted rows (``order, x, w, d, start, end, frac, c, n_dead``) are written per replicate
    with ``rows``; without, they have one row of scratch reused by every replicate (first
    dimension 1): nothing reads them afterwards, and a batch then writes no fresh memory.

    A step that lowers the log likelihood is halved; converged when the accepted step is below
    ``tol`` × (1 + max |beta|). With ``rows`` the row-level quantities of the final beta
    (denominators, x̄, exp(eta)) are written for the robust variance.
    """
    b_count, n, p = x_in.shape
    buffer, t, mean = np.empty(n, np.int64), np.empty(n), np.empty(p)
    keys, key_buffer = np.empty(n, np.int64), np.empty(n, np.int64)
    counts = np.empty((KEY_BYTES, 256), np.int64)
    xx = scratch[-1]  # the rows' products, when the evaluation reads them
    lu = np.empty((p, p))
    score, trial_score, trial_info = np.empty(p), np.empty(p), np.empty((p, p))
    step, trial = np.empty(p), np.empty(p)
    for b in range(b_count):
        r = b if rows else 0  # without rows, one replicate's sorted rows at a time (kept in cache)
        lb = _prepare_one(time[b], weight[b], event[b], x_in[b], mask[b], efron, rows, order[r], buffer, keys,
                          key_buffer, counts, t, mean, x[r], w[r], d[r], start[r], end[r], frac[r], c[r],
                          n_dead[r], constant[b], xx)
        last[b] = lb
        xb, wb, db, eb, cb, bb, ib = x[r], w[r], d[r], end[r], constant[b], beta[b], info[b]
        fill(bb, 0.0)
        nb = n_dead[r]
        ll = _evaluate(xb, wb, db, eb, nb, lb, efron, bb, rows, score, ib, denom[b], xbar[b], risk[b],
                      scratch)
        ok = _newton_direction(ib, score, cb, step, lu)
        done = ok and _max_abs(step) <= tol
        fresh = True  # the row-level quantities are those of the current beta
        count = 0
        for _ in range(max_iter):
            if done or not ok:
                break
            for k in range(p):
                trial[k] = bb[k] + step[k]
            new = _evaluate(xb, wb, db, eb, nb, lb, efron, trial, rows, trial_score, trial_info,
                            denom[b], xbar[b], risk[b], scratch)
            fresh = False
            if not np.isfinite(new) or new < ll - 1e-13 * abs(ll):
                for k in range(p):
                    step[k] /= 2
                ok = _max_abs(step) >= 1e-15
                continue
            count += 1
            ll = new
            copy_into(trial, bb)
            copy_into(trial_score, score)
            copy_into(trial_info, ib)
            fresh = True
            ok = _newton_direction(ib, score, cb, step, lu)
            done = ok and _max_abs(step) <= tol * (1 + _max_abs(bb))
        if rows and not fresh:
            _evaluate(xb, wb, db, eb, nb, lb, efron, bb, rows, trial_score, trial_info, denom[b],
                      xbar[b], risk[b], scratch)
        loglik[b] = ll
        iterations[b] = count
        converged[b] = done and ok and lb >= 0


fit_small_kernel = kernel(FIT_SMALL_SIGNATURE, name="fit_small_kernel")(_fit)
fit_kernel = kernel(FIT_SIGNATURE, name="fit_kernel", on_demand=True)(_fit)


ROBUST_SIGNATURE = types.void(
    read(F8, 3), read(F8, 2), read(F8, 2), read(I8, 2), read(I8, 2),  # x w d start end
    read(F8, 2), read(F8, 2), read(F8, 2), read(I8, 1),  # frac, c, n_dead, last
    read(I8, 2), B1,  # cluster, clustered
    read(F8, 2), read(F8, 3), read(F8, 2), read(F8, 3), write(F8, 3),  # denom xbar risk variance out
)


@kernel(ROBUST_SIGNATURE)
def robust_kernel(x, w, d, start, end, frac, c, n_dead, last, cluster, clustered, denom, xbar, risk,  # noqa: C901
                  variance, out):
    """Robust (sandwich) variance of every replicate: D'D from weighted dfbeta residuals.

    Score residuals per unit weight as ``survival``'s coxscore (Efron: a death is exposed to its
    own tie group's sub-steps with share 1 − k/d), times the case weight, times the naive
    variance; summed within clusters (``clustered``; else each row its own) in row order.
    """
    b_count, n, p = x.shape
    cum_h, cum_g = np.empty(n), np.empty((n, p))
    lost_g, mean_xbar, resid, dfbeta = np.empty(p), np.empty(p), np.empty(p), np.empty(p)
    size = 1
    if clustered:
        for b in range(cluster.shape[0]):
            for i in range(cluster.shape[1]):
                size = max(size, cluster[b, i] + 1)
    sums, running_g = np.empty((size, p)), np.empty(p)
    for b in range(b_count):
        fill(out[b], 0.0)
        fill(sums, 0.0)
        fill(running_g, 0.0)
        rows = last[b] + 1
        running_h = 0.0
        for i in range(rows - 1, -1, -1):  # hazard increments from the earliest time up
            if d[b, i] > 0:
                h = c[b, i] / denom[b, i]
                running_h += h
                for k in range(p):
                    running_g[k] += h * xbar[b, i, k]
            cum_h[i] = running_h
            for k in range(p):
                cum_g[i, k] = running_g[k]
        i = 0
        while i < rows:
            j = end[b, i]
            lost_h = 0.0
            fill(lost_g, 0.0)
            fill(mean_xbar, 0.0)
            for r in range(i, j + 1):  # the tie group's own sub-steps
                if d[b, r] > 0:
                    share = c[b, r] / denom[b, r] * frac[b, r]
                    lost_h += share
                    for k in range(p):
                        lost_g[k] += share * xbar[b, r, k]
                        mean_xbar[k] += xbar[b, r, k]
            for r in range(i, j + 1):
                first = start[b, r]
                for k in range(p):
                    resid[k] = -risk[b, r] * (x[b, r, k] * cum_h[first] - cum_g[first, k])
                    if d[b, r] > 0:
                        resid[k] += (risk[b, r] * (x[b, r, k] * lost_h - lost_g[k])
                                     + x[b, r, k] - mean_xbar[k] / n_dead[b, r])
                for k in range(p):
                    total = 0.0
                    for m in range(p):
                        total += resid[m] * variance[b, m, k]
                    dfbeta[k] = w[b, r] * total
                if clustered:
                    for k in range(p):
                        sums[cluster[b, r], k] += dfbeta[k]
                else:
                    for k in range(p):
                        for m in range(p):
                            out[b, k, m] += dfbeta[k] * dfbeta[m]
            i = j + 1
        if clustered:
            for g in range(size):
                for k in range(p):
                    for m in range(p):
                        out[b, k, m] += sums[g, k] * sums[g, m]

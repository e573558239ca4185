"""Multinomial logistic propensity models for many replicates at once (compiled Newton).

The model of :func:`sclero_analysis.propensity` (logit for two levels, multinomial logit for
more, reference = first level, intercept plus the given columns), fitted by Newton–Raphson with
step halving, one replicate at a time in compiled code (Numba). A level absent from a
replicate is left out of that replicate's model (its probability is 0), as ``propensity``
keeps present levels only. A replicate's numbers depend on its own rows only (never on the
batch, its padding or other replicates' convergence): a study gives the same digits however it
is chunked.
"""

from __future__ import annotations

import numpy as np
from numba import config, types

from sclero_analysis._compiled import B1, F8, I8, copy_into, fill, helper, kernel, read, write
from sclero_analysis.studies.cox_kernel import _newton_direction

try:  # Numba's LAPACK binding (internal), which its np.linalg.lstsq calls
    from numba.np.linalg import _LAPACK, F_INT_nptype, ensure_lapack
except ImportError:  # pragma: no cover
    _LAPACK = None

#: Scores are bounded below as in ``propensity`` when the model separates.
MIN_SCORE = 1e-6
#: A fitted probability below this on a row in use means separation, as ``propensity`` decides.
SEPARATED_SCORE = 1e-10


@helper
def _probabilities(xi, present, beta, prob):
    """Class probabilities of one row (reference class 0, absent classes 0)."""
    k, q = beta.shape
    top = -np.inf
    for c in range(k):
        if present[c]:
            value = 0.0
            for j in range(q):
                value += xi[j] * beta[c, j]
            prob[c] = value
            top = max(top, value)
    total = 0.0
    for c in range(k):  # a fixed order of addition
        prob[c] = np.exp(prob[c] - top) if present[c] else 0.0
        total += prob[c]
    for c in range(k):
        prob[c] = prob[c] / total


@helper
def _products(x, xx):
    """Each row's products x_s·x_t (s ≤ t), in the order :func:`_evaluate` reads them."""
    n, q = x.shape
    for i in range(n):
        c = 0
        for s in range(q):
            for t in range(s, q):
                xx[i, c] = x[i, s] * x[i, t]
                c += 1


@helper
def _evaluate(x, xx, y, mask, present, beta, prob, acc, grad, info):  # noqa: C901 (one compiled loop nest)
    """Log-likelihood (returned), score and information at ``beta``, summed over rows in order.

    The information's blocks are Σ_i p_ij (δ_jm − p_im) x_i x_iᵀ: each block (j ≤ m) is
    symmetric, so only its products s ≤ t (``xx``, from :func:`_products`) are accumulated in
    ``acc``, then spread over the full matrix.
    """
    n, q = x.shape
    levels = beta.shape[0] - 1
    fill(grad, 0.0)
    fill(acc, 0.0)
    ll = 0.0
    for i in range(n):
        if not mask[i]:
            continue
        _probabilities(x[i], present, beta, prob)
        ll += np.log(prob[y[i]])
        pair = 0
        for j in range(levels):
            pj = prob[j + 1]
            resid = (1.0 if y[i] == j + 1 else 0.0) - pj
            for s in range(q):
                grad[j * q + s] += resid * x[i, s]
            for m in range(j, levels):
                weight = pj * (1.0 - pj) if m == j else -pj * prob[m + 1]
                for c in range(xx.shape[1]):
                    acc[pair, c] += weight * xx[i, c]
                pair += 1
    pair = 0
    for j in range(levels):
        for m in range(j, levels):
            c = 0
            for s in range(q):
                for t in range(s, q):
                    info[j * q + s, m * q + t] = acc[pair, c]
                    info[j * q + t, m * q + s] = acc[pair, c]
                    info[m * q + t, j * q + s] = acc[pair, c]
                    info[m * q + s, j * q + t] = acc[pair, c]
                    c += 1
            pair += 1
    return ll


@helper
def _max_abs(a):
    """``np.max(np.abs(a))`` of a 1-D or 2-D array (NaN when any element is), as a loop."""
    flat = a.reshape(a.size)
    out = 0.0
    for i in range(flat.shape[0]):
        value = abs(flat[i])
        if np.isnan(value):
            return np.nan
        out = max(out, value)
    return out


@helper
def _singular_system(info, grad, fixed, step, lu):
    """Set up ``lu`` · step = ``grad`` as :func:`_newton_direction` does; return whether all is finite."""
    size = grad.shape[0]
    finite = True
    for r in range(size):
        for c in range(size):
            lu[r, c] = (1.0 if r == c else 0.0) if (fixed[r] or fixed[c]) else info[r, c]
            finite = finite and np.isfinite(lu[r, c])
        step[r] = 0.0 if fixed[r] else grad[r]
        finite = finite and np.isfinite(step[r])
    return finite


if _LAPACK is not None and not config.DISABLE_JIT:
    ensure_lapack()
    _GELSD = _LAPACK().numba_ez_gelsd(F8)

    @helper
    def _least_squares(a, b):
        """Overwrite ``b`` with the minimum-norm least-squares solution of a · x = b (LAPACK gelsd).

        The call ``np.linalg.lstsq(a, b)`` makes inside Numba (Fortran-order copy of ``a``,
        rcond −1), so the same digits, without its checks and error formatting, which take
        seconds to compile. ``a`` is square and finite.
        """
        size = b.shape[0]
        fortran = np.empty(size * size)
        for i in range(size):
            for j in range(size):
                fortran[j * size + i] = a[i, j]
        singular_values, rank = np.empty(size), np.empty(1, F_INT_nptype)
        status = _GELSD(100, size, size, 1, fortran.ctypes, size, b.ctypes, size,  # 100: ord("d")
                        singular_values.ctypes, -1.0, rank.ctypes)
        if status != 0:
            raise ValueError("Internal algorithm failed to converge.")
else:  # no compilation (NUMBA_DISABLE_JIT), or a Numba without the binding: slower to compile
    @helper
    def _least_squares(a, b):
        """Overwrite ``b`` with the minimum-norm least-squares solution of a · x = b."""
        copy_into(np.linalg.lstsq(a, b)[0], b)


@helper
def _direction(info, grad, fixed, step, lu):
    """Solve for the Newton step; a singular information gets the minimum-norm least-squares step."""
    if _newton_direction(info, grad, fixed, step, lu):
        return True
    if not _singular_system(info, grad, fixed, step, lu):
        return False
    _least_squares(lu, step)
    for value in step:
        if not np.isfinite(value):
            return False
    return True


#: x, y, mask, present, max_iter, tol; beta, scores, converged (written).
FIT_SIGNATURE = types.void(read(F8, 3), read(I8, 2), read(B1, 2), read(B1, 2), I8, F8,
                           write(F8, 3), write(F8, 3), write(B1, 1))


@kernel(FIT_SIGNATURE)
def fit_kernel(x, y, mask, present, max_iter, tol, beta, scores, converged):  # noqa: C901
    """Fit every replicate from beta = 0 by Newton–Raphson, recording scores and convergence.

    A step is halved (up to 30 times) while it lowers the log-likelihood; converged when the
    full Newton step is below ``tol`` × (1 + max |beta|). No ascent possible (separation, a flat
    likelihood) ends the replicate unconverged, and so does a fitted probability below
    ``SEPARATED_SCORE`` on a row in use (separation, as ``propensity`` decides). ``scores`` gets
    every row's probabilities at the last accepted beta.
    """
    b_count, n, q = x.shape
    k = present.shape[1]
    size = (k - 1) * q
    products = q * (q + 1) // 2
    prob, xx, acc = np.empty(k), np.empty((n, products)), np.empty((k * (k - 1) // 2, products))
    grad, info, trial_grad, trial_info = np.empty(size), np.empty((size, size)), np.empty(size), \
        np.empty((size, size))
    step, full, lu, fixed, trial = np.empty(size), np.empty(size), np.empty((size, size)), \
        np.empty(size, np.bool_), np.empty((k, q))
    for b in range(b_count):
        xb, yb, mb, pb, bb = x[b], y[b], mask[b], present[b], beta[b]
        for j in range(k - 1):
            for s in range(q):
                fixed[j * q + s] = not pb[j + 1]  # an absent level's parameters stay 0
        fill(bb, 0.0)
        _products(xb, xx)
        ll = _evaluate(xb, xx, yb, mb, pb, bb, prob, acc, grad, info)
        done = False
        for _ in range(max_iter):
            if not _direction(info, grad, fixed, step, lu):
                break
            copy_into(step, full)
            accepted = False
            for _half in range(30):
                copy_into(bb, trial)
                for j in range(k - 1):
                    for s in range(q):
                        trial[j + 1, s] += step[j * q + s]
                new = _evaluate(xb, xx, yb, mb, pb, trial, prob, acc, trial_grad, trial_info)
                if new >= ll - 1e-12 * abs(ll):
                    accepted = True
                    break
                for s in range(size):
                    step[s] /= 2
            if not accepted:
                break
            copy_into(trial, bb)
            ll = new
            copy_into(trial_grad, grad)
            copy_into(trial_info, info)
            if _max_abs(full) <= tol * (1 + _max_abs(bb)):
                done = True
                break
        lowest = np.inf
        for i in range(n):
            _probabilities(xb[i], pb, bb, prob)
            for c in range(k):
                scores[b, i, c] = max(prob[c], MIN_SCORE) if pb[c] else 0.0
                if mb[i] and pb[c]:
                    lowest = min(lowest, prob[c])
        converged[b] = done and lowest >= SEPARATED_SCORE


def fit_multinomial_batched(x: np.ndarray, y: np.ndarray, k: int, mask: np.ndarray,
                            max_iter: int = 50, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Fit a multinomial logit per replicate and return scores and convergence.

    Parameters
    ----------
    x : ndarray (B, n, q)
        Covariates without intercept (one is added).
    y : ndarray (B, n) of int
        Treatment level codes 0..k−1.
    k : int
        Number of levels.
    mask : ndarray (B, n) of bool
        Real rows (False: padding or rows left out).
    max_iter : int
    tol : float
        Converged when the last full Newton step is below ``tol`` × (1 + max |beta|).

    Returns
    -------
    scores : ndarray (B, n, k)
        Fitted probabilities (0 for absent levels), bounded below by 1e-6 for present ones.
    converged : ndarray (B,) of bool
        False also where the model separates (a fitted probability below 1e-10 on a row in
        use), where :func:`~sclero_analysis.propensity` warns ``SeparationWarning``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[0.], [0.], [0.], [1.], [1.], [1.]]]); y = np.array([[0, 1, 1, 0, 0, 1]])
    >>> scores, ok = fit_multinomial_batched(x, y, 2, np.ones((1, 6), bool))
    >>> bool(ok[0]), round(float(scores[0, 0, 1]), 9), round(float(scores[0, 3, 1]), 9)  # saturated: 2/3, 1/3
    (True, 0.666666667, 0.333333333)
    """
    b, n, _ = x.shape
    x = np.concatenate([np.ones((b, n, 1)), x], axis=2)
    x = np.ascontiguousarray(np.where(mask[:, :, None], x, 0.0))
    mask = np.ascontiguousarray(mask, bool)
    y = np.ascontiguousarray(np.where(mask, y, 0), np.int64)
    present = ((y[:, :, None] == np.arange(k)) & mask[:, :, None]).any(axis=1)
    present[:, 0] = True  # the reference level carries the normalisation
    beta, scores = np.empty((b, k, x.shape[2])), np.empty((b, n, k))
    converged = np.empty(b, bool)
    fit_kernel(x, y, mask, present, int(max_iter), float(tol), beta, scores, converged)  # no NumPy warnings
    return scores, converged

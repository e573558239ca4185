"""Sandwich (robust, clustered) variance and robust score test of a Cox model, as R's coxph.

Also R's ``cholesky2`` rule (``coxph.control(toler.chol)``): a column of an information
matrix whose pivot falls below ``toler.chol`` times the largest diagonal element is singular,
its coefficient is not estimable (R's NA) and it is left out of every solve.
"""

from __future__ import annotations

import numpy as np

from sclero_analysis.survival.clusters import collapse
from sclero_analysis.survival.coxcore import CoxData, Evaluation, evaluate, score_residuals

#: R's ``coxph.control()$toler.chol`` (.Machine$double.eps^0.75).
TOLER_CHOL = float(np.finfo(float).eps ** 0.75)


def singular_columns(matrix: np.ndarray, toler: float = TOLER_CHOL) -> np.ndarray:
    """Columns that R's ``cholesky2`` finds singular (in order, as it pivots), as a mask.

    Parameters
    ----------
    matrix : numpy.ndarray
        Symmetric (information) matrix.
    toler : float
        Relative tolerance on the pivots.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> singular_columns(np.array([[2.0, 0.0], [0.0, 1e-15]])).tolist()
    [False, True]
    >>> singular_columns(np.array([[1.0, 1.0], [1.0, 1.0]])).tolist()
    [False, True]
    """
    a = np.array(matrix, dtype=float)
    n = len(a)
    largest = max(float(np.max(np.diag(a), initial=0.0)), 0.0)
    eps = toler if largest == 0 else largest * toler
    singular = np.zeros(n, bool)
    for i in range(n):  # R's LDL' on the lower triangle
        pivot = a[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            singular[i] = True
            continue
        for j in range(i + 1, n):
            ratio = a[j, i] / pivot
            a[j, i] = ratio
            a[j, j] -= ratio * ratio * pivot
            a[j + 1:, j] -= ratio * a[j + 1:, i]
    return singular


def generalized_quadratic(matrix: np.ndarray, vector: np.ndarray) -> tuple[float, int]:
    """vᵀ M⁻ v over the columns ``cholesky2`` keeps, and their number (R's ``coxph.wtest``)."""
    keep = ~singular_columns(matrix)
    if not keep.any():
        return 0.0, 0
    v = vector[keep]
    return float(v @ np.linalg.solve(matrix[np.ix_(keep, keep)], v)), int(keep.sum())


def robust_variance(data: CoxData, ev: Evaluation, ties: str, clusters: np.ndarray | None) -> np.ndarray:
    """Sandwich variance: weighted dfbeta rows, summed within clusters, crossproduct.

    Each row is its own cluster when ``clusters`` is None (Lin–Wei).
    """
    inverse = np.linalg.inv(ev.information)
    dfbeta = collapse(data.weight[:, None] * (score_residuals(data, ev, ties) @ inverse), clusters)
    return dfbeta.T @ dfbeta


def robust_score(data: CoxData, ties: str, clusters: np.ndarray | None,
                 null: Evaluation | None = None) -> tuple[float, int]:
    """R's robust score test of beta = 0: score residuals at 0, summed within clusters.

    Returns
    -------
    statistic : float
        Uᵀ (Σ_c u_c u_cᵀ)⁻ U with U = Σ_c u_c, u_c a cluster's weighted score residuals.
    dof : int
        Columns kept by R's ``cholesky2`` rule.
    """
    null = evaluate(data, np.zeros(data.x.shape[1]), ties) if null is None else null
    u = collapse(data.weight[:, None] * score_residuals(data, null, ties), clusters)
    return generalized_quadratic(u.T @ u, u.sum(axis=0))

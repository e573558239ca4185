"""Newton minimisation with an analytic gradient and a finite-difference Hessian of it.

Small parameter vectors (a pooled logit, a few moderator coefficients and ``log tau``): each
iteration differences the analytic gradient to get the Hessian, takes the Newton step (with
eigenvalues made positive far from the optimum) and halves it until the objective decreases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]
HESSIAN_STEP = 1e-5  # central differences of an analytic gradient: error ~ step^2
DECREMENT_TOL = 1e-20  # g' H^-1 g: the objective is within half of this of its minimum
STEP_TOL = 1e-11
ARMIJO = 1e-4
MAX_STEP = 4.0  # no coordinate moves further in one step (a logit, or log tau: a factor e^4)


@dataclass(frozen=True)
class Optimum:
    """Where a minimisation stopped.

    Attributes
    ----------
    theta : numpy.ndarray
    value : float
        Objective at ``theta``.
    hessian : numpy.ndarray
        Central-difference Hessian at ``theta`` (NaN when the search escaped).
    converged : bool
        False when the search stopped because it left the allowed region or could not descend.
    iterations : int
    """

    theta: np.ndarray
    value: float
    hessian: np.ndarray
    converged: bool
    iterations: int


def numeric_hessian(objective: Objective, theta: np.ndarray,
                    gradient: np.ndarray | None = None) -> np.ndarray:
    """Symmetrised finite differences of the gradient of ``objective`` at ``theta``.

    Central differences, or forward differences from ``gradient`` (the gradient at ``theta``)
    when it is given: half the evaluations, accurate enough to steer Newton's steps.

    Examples
    --------
    >>> quadratic = lambda t: (float(t @ t), 2 * t)
    >>> numeric_hessian(quadratic, np.array([1.0, -2.0])).round(8).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    size = len(theta)
    hessian = np.empty((size, size))
    for i in range(size):
        h = HESSIAN_STEP * max(1.0, abs(theta[i]))
        shift = np.zeros(size)
        shift[i] = h
        if gradient is None:
            hessian[:, i] = (objective(theta + shift)[1] - objective(theta - shift)[1]) / (2 * h)
        else:
            hessian[:, i] = (objective(theta + shift)[1] - gradient) / h
    return (hessian + hessian.T) / 2


def _direction(hessian: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """Newton direction with the Hessian's eigenvalues made positive (a descent direction)."""
    values, vectors = np.linalg.eigh(hessian)
    floor = 1e-8 * max(1.0, float(np.max(np.abs(values))))
    values = np.maximum(np.abs(values), floor)
    return vectors @ ((vectors.T @ gradient) / values)


def minimise(objective: Objective, theta0: np.ndarray, escaped: Callable[[np.ndarray], bool],
             max_iter: int = 100) -> Optimum:
    """Minimise ``objective`` from ``theta0``; stop early once ``escaped(theta)`` is true.

    Parameters
    ----------
    objective : callable
        ``theta -> (value, gradient)``.
    theta0 : numpy.ndarray
    escaped : callable
        True when ``theta`` has left the region where a finite optimum is expected (the search
        then stops, not converged).
    max_iter : int

    Returns
    -------
    Optimum

    Examples
    --------
    >>> def f(t):
    ...     return float(np.cosh(t[0] - 1) + (t[1] + 2) ** 2), np.array([np.sinh(t[0] - 1), 2 * (t[1] + 2)])
    >>> opt = minimise(f, np.zeros(2), lambda t: False)
    >>> opt.converged, np.round(opt.theta, 10).tolist()
    (True, [1.0, -2.0])
    """
    theta = np.asarray(theta0, float)
    value, gradient = objective(theta)
    for iteration in range(1, max_iter + 1):
        step = _direction(numeric_hessian(objective, theta, gradient), gradient)
        step *= min(1.0, MAX_STEP / max(float(np.max(np.abs(step))), MAX_STEP))
        decrement = float(gradient @ step)
        if decrement < DECREMENT_TOL:
            return Optimum(theta, value, numeric_hessian(objective, theta), True, iteration)
        size = 1.0
        while True:
            candidate = theta - size * step
            new_value, new_gradient = objective(candidate)
            if np.isfinite(new_value) and new_value <= value - ARMIJO * size * decrement:
                break
            size /= 2
            if size < 1e-12:
                return Optimum(theta, value, numeric_hessian(objective, theta), decrement < 1e-12, iteration)
        theta, value, gradient = candidate, new_value, new_gradient
        if escaped(theta):
            return Optimum(theta, value, np.full((len(theta), len(theta)), np.nan), False, iteration)
        if np.max(np.abs(size * step)) < STEP_TOL:
            return Optimum(theta, value, numeric_hessian(objective, theta), True, iteration)
    return Optimum(theta, value, numeric_hessian(objective, theta), False, max_iter)

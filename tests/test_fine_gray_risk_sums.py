"""Fine–Gray's O(n log n) risk-set sums against the dense (failure times × rows) weight matrix.

The dense implementation below is the one the package used before (it matched ``cmprsk::crr``
to ~1e-14, tests/test_competing.py); it is kept here only as the reference. The censoring
correction ψ is checked against its definition, one censoring time at a time. Tolerance 1e-12
relative: the same sums in another order (agreement is ~1e-15).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from sclero_analysis.survival import fine_gray as fg

RTOL = 1e-12


# ----------------------------------------------------------------------------- the dense reference

def dense_weights(pb: fg._Problem) -> np.ndarray:
    """ω_j(t_k) as an (m, n) matrix: 1 while at risk, G(t_k−)/G(T_j−) after a competing event."""
    still = pb.time[None, :] >= pb.fail_times[:, None]
    competing_before = (pb.code[None, :] == 2) & ~still
    ratio = pb.g_fail[:, None] / pb.g_before[None, :]
    return np.where(still, 1.0, np.where(competing_before, ratio, 0.0))


def dense_evaluate(pb: fg._Problem, beta: np.ndarray):
    weights = dense_weights(pb)
    eta = pb.x @ beta
    risk = weights * np.exp(eta)[None, :]
    s0 = risk.sum(axis=1)
    xbar = (risk @ pb.x) / s0[:, None]
    failing = pb.code == 1
    loglik = float(eta[failing].sum() - pb.deaths @ np.log(s0))
    score = pb.x[failing].sum(axis=0) - pb.deaths @ xbar
    s2 = np.einsum("kj,ja,jb->kab", risk, pb.x, pb.x)
    info = (np.einsum("k,kab->ab", pb.deaths / s0, s2)
            - np.einsum("k,ka,kb->ab", pb.deaths, xbar, xbar))
    return loglik, score, info, np.exp(eta), s0, xbar


def dense_residual(pb: fg._Problem, beta: np.ndarray) -> np.ndarray:
    """η_i: each subject's weighted score residual summed over its risk-set weights."""
    _, _, _, exp_eta, s0, xbar = dense_evaluate(pb, beta)
    a = (pb.deaths / s0)[:, None] * dense_weights(pb)
    residual = -exp_eta[:, None] * (pb.x * a.sum(axis=0)[:, None] - a.T @ xbar)
    failing = pb.code == 1
    own = np.searchsorted(pb.fail_times, pb.time[failing])
    residual[failing] += pb.x[failing] - xbar[own]
    return residual


def psi_by_definition(pb: fg._Problem, beta: np.ndarray) -> np.ndarray:
    """ψ_i one censoring time u at a time: q(u) = Σ_{t_k ≥ u} d_k G(t_k−)/S0_k Σ_{competing j,
    T_j < u} e^{η_j}/G(T_j−) (x_j − x̄_k); at risk at u: −n_c(u) q(u)/π(u)²; censored at u: + q(u)/π(u).
    """
    _, _, _, exp_eta, s0, xbar = dense_evaluate(pb, beta)
    psi = np.zeros_like(pb.x)
    for u in np.unique(pb.time[pb.code == 0]):
        q = np.zeros(pb.x.shape[1])
        for k in np.flatnonzero(pb.fail_times >= u):
            for j in np.flatnonzero((pb.code == 2) & (pb.time < u)):
                q += pb.deaths[k] * pb.g_fail[k] / s0[k] * exp_eta[j] / pb.g_before[j] * (pb.x[j] - xbar[k])
        at_risk = pb.time >= u
        censored_here = (pb.time == u) & (pb.code == 0)
        psi[at_risk] -= censored_here.sum() * q / at_risk.sum() ** 2
        psi[censored_here] += q / at_risk.sum()
    return psi


def dense_fit(pb: fg._Problem) -> tuple[np.ndarray, np.ndarray]:
    """crr's Newton iteration and sandwich variance on the dense weights."""
    beta = np.zeros(pb.x.shape[1])
    for _ in range(fg.MAX_ITER + 1):
        loglik, score, info, *_ = dense_evaluate(pb, beta)
        if np.max(np.abs(score) * np.maximum(np.abs(beta), 1)) < max(abs(loglik), 1) * fg.GTOL:
            break
        step = np.linalg.solve(info, score)
        for _ in range(fg.MAX_HALVINGS + 1):
            candidate = dense_evaluate(pb, beta + step)[0]
            if np.isfinite(candidate) and -candidate <= -loglik + fg.ARMIJO * float(step @ -score):
                break
            step = step * fg.STEP_FACTOR
        beta = beta + step
    influence = dense_residual(pb, beta) + psi_by_definition(pb, beta)
    inverse = np.linalg.inv(dense_evaluate(pb, beta)[2])
    return beta, inverse @ (influence.T @ influence) @ inverse


# ----------------------------------------------------------------------------- the data

def tied_problem(seed: int, n: int = 120) -> fg._Problem:
    """Whole-month times 1-15 (many ties across causes), codes 0/1/2, four covariates."""
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 16, n).astype(float)
    code = rng.choice([0, 1, 2], n, p=[0.35, 0.4, 0.25])
    x = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n), rng.uniform(size=n),
                         rng.poisson(2, n)]).astype(float)
    order = np.argsort(time, kind="stable")
    return fg._problem(x[order], time[order], code[order])


def assert_close(actual, expected, rtol=RTOL):
    expected = np.asarray(expected, float)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)))


# ----------------------------------------------------------------------------- the tests

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_risk_set_sums_equal_the_dense_weight_matrix(seed):
    pb = tied_problem(seed)
    rng = np.random.default_rng(100 + seed)
    weights = dense_weights(pb)
    assert (pb.code == 2).any() and len(np.unique(pb.time)) < len(pb.time)  # competing events and ties
    v, c = rng.normal(size=(len(pb.time), 3)), rng.normal(size=(len(pb.fail_times), 3))
    assert_close(fg._risk_sums(pb, v), weights @ v)
    assert_close(fg._risk_sums(pb, v[:, 0]), weights @ v[:, 0])
    assert_close(fg._row_sums(pb, c), weights.T @ c)
    assert_close(fg._row_sums(pb, c[:, 0]), weights.T @ c[:, 0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_likelihood_score_information_and_residuals_equal_the_dense_ones(seed):
    pb = tied_problem(seed)
    beta = np.random.default_rng(seed).normal(scale=0.3, size=pb.x.shape[1])
    ev = fg._evaluate(pb, beta)
    loglik, score, info, *_ = dense_evaluate(pb, beta)
    assert ev.loglik == pytest.approx(loglik, rel=RTOL)
    assert fg._loglik(pb, beta) == pytest.approx(loglik, rel=RTOL)
    assert_close(ev.score, score)
    assert_close(ev.info, info)
    assert_close(fg._influence(pb, ev, with_psi=False), dense_residual(pb, beta))
    assert_close(fg._influence(pb, ev) - fg._influence(pb, ev, with_psi=False), psi_by_definition(pb, beta))


@pytest.mark.parametrize("seed", [3, 4])
def test_the_fit_equals_the_dense_fit(seed):
    pb = tied_problem(seed, n=200)
    beta, var = dense_fit(pb)
    new_beta, converged, ev, _ = fg._newton(pb)
    influence = fg._influence(pb, ev)
    inverse = np.linalg.inv(ev.info)
    assert converged
    assert_close(new_beta, beta)
    assert_close(inverse @ (influence.T @ influence) @ inverse, var)


def test_the_censoring_distribution_is_the_kaplan_meier_of_censoring_just_before():
    time = np.array([1.0, 2, 2, 3, 4, 4, 5])
    code = np.array([0, 1, 0, 2, 0, 0, 1])
    # G(1−) = 1; G(2−) = 1 − 1/7; G(3−) = (6/7)(1 − 1/6); G(4−) = G(3−); G(5−) = G(4−)(1 − 2/3)
    expected = np.array([1, 6 / 7, 6 / 7, 5 / 7, 5 / 7, 5 / 7, 5 / 21])
    np.testing.assert_allclose(fg._censoring_before(time, code), expected, rtol=1e-15)


def test_a_large_registry_fits_in_memory_linear_in_n():
    rng = np.random.default_rng(7)
    n = 20_000
    df = pd.DataFrame({"time_months": np.ceil(rng.exponential(600, n)) / 30.4375,
                       "event": rng.choice([0, 1, 2], n, p=[0.35, 0.4, 0.25]), "x": rng.normal(size=n)})
    tracemalloc.start()
    try:
        fit = fg.fit_fine_gray(df, "x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # a dense weight matrix alone would be (~2,000 failure days) x 20,000 doubles = ~300 MB
    assert peak < 30e6
    assert fit.converged and fit.n_events == (df["event"] == 1).sum()

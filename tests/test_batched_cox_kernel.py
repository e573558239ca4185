"""The batched Cox kernel's row sort and its independence of the rows' order.

The sort is a radix sort on keys truncated to 24 bits of mantissa followed by an insertion pass
on the times themselves: it must equal a stable sort by time, descending, for times that tie,
differ below the truncation, are signed zeros, negative or huge.
"""

from __future__ import annotations

import numpy as np
import pytest

from sclero_analysis.studies import fit_cox_batched
from sclero_analysis.studies.cox_kernel import KEY_BYTES, _log_term, _sort_rows


def sort(t: np.ndarray, m: np.ndarray) -> np.ndarray:
    n = len(t)
    order = np.empty(n, np.int64)
    _sort_rows(t, m, order, np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64),
               np.empty((KEY_BYTES, 256), np.int64), np.empty(n))
    return order


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_row_sort_is_a_stable_sort_by_time_descending_then_the_padding(seed):
    rng = np.random.default_rng(seed)
    n = 300
    t = np.round(rng.exponential(10, n), 1)  # ties
    t[:20] = 1 + 1e-12 * rng.integers(0, 4, 20)  # equal in 24 bits of mantissa, not as floats
    t[20:30] = rng.choice([-0.0, 0.0], 10)  # equal as floats, not as bits
    t[30:40] = rng.choice([-3.5, -1e-300, 1e300, 5e-324], 10)
    t = rng.permutation(t)
    m = rng.uniform(size=n) < 0.9
    real = np.flatnonzero(m)
    expected = np.concatenate([real[np.argsort(-t[real], kind="stable")], np.flatnonzero(~m)])
    np.testing.assert_array_equal(sort(t, m), expected)


def test_the_row_sort_of_no_real_rows_keeps_the_padding_in_order():
    np.testing.assert_array_equal(sort(np.arange(4.0), np.zeros(4, bool)), np.arange(4))


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_a_replicate_with_its_rows_shuffled_gives_the_same_fit(ties):
    rng = np.random.default_rng(5)
    n = 150
    t = np.ceil(rng.exponential(12, n))  # whole months: tied deaths
    e = rng.uniform(size=n) < 0.7
    x = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n), rng.uniform(size=n)])
    w = rng.uniform(0.5, 2.0, n)
    fits = [fit_cox_batched(t[None, rows], e[None, rows], x[None, rows], weight=w[None, rows], ties=ties)
            for rows in (np.arange(n), rng.permutation(n))]
    assert fits[0].converged[0] and fits[1].converged[0]
    # Efron's sub-steps use the tied deaths' sums and mean weight, so their order does not matter:
    # the same partial likelihood summed in another order, equal to rounding
    np.testing.assert_allclose(fits[1].coef, fits[0].coef, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(fits[1].se, fits[0].se, rtol=1e-12)


def _fold_logs(weights, dens) -> float:
    ll, product, product_w = 0.0, 1.0, 0.0
    for weight, den in zip(weights, dens, strict=True):
        ll, product, product_w = _log_term(ll, product, product_w, weight, den)
    return ll - product_w * np.log(product)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_batched_logs_of_the_denominators_equal_their_sum(seed):
    # the kernel multiplies denominators of equal weight and takes one log per run: a sum of
    # w·log(den) over runs of equal and changing weights, denominators from 1e-300 to 1e300 (and
    # many in range, whose product must be logged before it overflows)
    rng = np.random.default_rng(seed)
    n = 2_000
    dens = 10.0 ** rng.uniform(-300, 300, n) * rng.uniform(0.5, 2, n)
    in_range = rng.uniform(size=n) < 0.7
    dens[in_range] = rng.uniform(1, 1e4, in_range.sum())
    weights = np.where(rng.uniform(size=n) < 0.9, 1.0, rng.uniform(0.2, 3, n))
    with np.errstate(over="ignore"):
        got = _fold_logs(weights, dens)
    expected = -np.sum(weights * np.log(dens))
    assert got == pytest.approx(expected, rel=1e-13)


def test_a_zero_or_infinite_denominator_gives_the_infinite_log_and_nan_stays_nan():
    with np.errstate(divide="ignore"):
        assert _fold_logs([1.0, 1.0, 1.0], [2.0, 0.0, 3.0]) == np.inf
    assert _fold_logs([1.0, 2.0], [np.inf, 5.0]) == -np.inf
    assert np.isnan(_fold_logs([1.0, 1.0], [np.nan, 5.0]))


def _prepared(n: int, p: int, seed: int, weighted: bool):
    """One replicate sorted and grouped by the kernel's own preparation (with ties and padding)."""
    from sclero_analysis.studies.cox_kernel import _prepare_one

    rng = np.random.default_rng(seed)
    t = np.ceil(rng.exponential(8, n))  # whole months: many tied deaths
    e = rng.uniform(size=n) < 0.7
    x = np.column_stack([rng.integers(0, 2, n), *rng.normal(size=(p - 1, n))])[:, :p]
    w = rng.uniform(0.3, 3.0, n) if weighted else np.ones(n)
    m = rng.uniform(size=n) < 0.95  # a few padding rows
    nq = p * (p + 1) // 2
    out = dict(order=np.empty(n, np.int64), x=np.empty((n, p)), w=np.empty(n), d=np.empty(n),
               start=np.empty(n, np.int64), end=np.empty(n, np.int64), frac=np.empty(n), c=np.empty(n),
               n_dead=np.empty(n), constant=np.empty(p, bool), xx=np.empty((n, nq)))
    scratch = (np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64),
               np.empty((KEY_BYTES, 256), np.int64), np.empty(n), np.empty(p))
    last = _prepare_one(t, w, e, x, m, True, True, out["order"], *scratch,
                        out["x"], out["w"], out["d"], out["start"], out["end"], out["frac"], out["c"],
                        out["n_dead"], out["constant"], np.empty((n, nq)))
    xx = np.column_stack([out["x"][:, k] * out["x"][:, m2] for k in range(p) for m2 in range(k, p)])
    return out, xx, last


@pytest.mark.parametrize("p", [1, 2, 3, 4])
@pytest.mark.parametrize("efron", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_small_evaluation_gives_the_general_ones_digits(p, efron, weighted):
    # up to four covariates the likelihood, score, information and row quantities are summed in
    # local variables (_evaluate_small): the same operations in the same order as the general
    # evaluation over arrays, so the same numbers to the last bit, at beta = 0 and away from it
    from sclero_analysis.studies import cox_kernel

    n = 300
    prepared, xx, last = _prepared(n, p, seed=10 * p + efron, weighted=weighted)
    for beta in (np.zeros(p), np.linspace(0.4, -0.3, p)):
        results = []
        for small in (True, False):
            score, info = np.empty(p), np.empty((p, p))
            denom, xbar, risk = np.zeros(n), np.zeros((n, p)), np.zeros(n)
            args = (prepared["w"], prepared["d"], prepared["end"], prepared["n_dead"], last, efron, beta,
                    True, score, info, denom, xbar, risk)
            if small:
                ll = cox_kernel._evaluate_small(prepared["x"], *args, cox_kernel.small_scratch(n))
            else:
                scratch = cox_kernel.general_scratch(n, p)
                scratch[-1][...] = xx
                ll = cox_kernel._evaluate_one(prepared["x"], *args, scratch)
            results.append((ll, score, info, denom, xbar, risk))
        for got, expected in zip(results[0], results[1], strict=True):
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("p", [0, 5])
def test_no_covariate_and_more_than_four_use_the_array_evaluation(p):
    # the null model's log partial likelihood in closed form (Breslow, tied deaths share the
    # risk set): 6 deaths at 3 times with 6, 4 and 2 at risk; with 5 covariates the fit agrees
    # with the same fit through the small evaluation on its first 4 columns plus one constant
    t = np.array([[1.0, 1, 2, 2, 3, 3]])
    e = np.ones((1, 6), bool)
    if p == 0:
        fit = fit_cox_batched(t, e, np.zeros((1, 6, 0)), ties="breslow")
        assert fit.loglik[0] == pytest.approx(-(2 * np.log(6) + 2 * np.log(4) + 2 * np.log(2)), rel=1e-14)
        return
    rng = np.random.default_rng(4)
    t = np.ceil(rng.exponential(10, (3, 80)))
    e = rng.uniform(size=(3, 80)) < 0.7
    x4 = rng.normal(size=(3, 80, 4))
    x5 = np.concatenate([x4, np.ones((3, 80, 1))], axis=2)  # a constant: NaN, the rest as without it
    small, general = fit_cox_batched(t, e, x4), fit_cox_batched(t, e, x5)
    np.testing.assert_allclose(general.coef[:, :4], small.coef, rtol=1e-10)
    np.testing.assert_allclose(general.loglik, small.loglik, rtol=1e-12)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_the_two_fit_kernels_give_the_same_digits(monkeypatch, ties):
    # up to four covariates fit_small_kernel fits (the evaluation in local variables), else
    # fit_kernel: one function compiled with either evaluation, so forcing the general kernel on
    # the same weighted, tied, clustered replicates changes no bit of any result
    from sclero_analysis.studies import batched_cox

    rng = np.random.default_rng(8)
    t = np.ceil(rng.exponential(8, (4, 120)))
    e = rng.uniform(size=(4, 120)) < 0.6
    x = rng.normal(size=(4, 120, 3))
    w = rng.uniform(0.5, 2.0, (4, 120))
    cluster = rng.integers(0, 30, (4, 120))
    kwargs = dict(weight=w, cluster=cluster, ties=ties, robust=True)
    small = fit_cox_batched(t, e, x, **kwargs)
    monkeypatch.setattr(batched_cox, "SMALL_P", 0)  # every p through fit_kernel
    general = fit_cox_batched(t, e, x, **kwargs)
    for name in ("coef", "se", "se_naive", "loglik", "iterations", "converged"):
        np.testing.assert_array_equal(getattr(general, name), getattr(small, name), err_msg=name)

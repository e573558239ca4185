"""Gray's test computed over all event times at once equals cmprsk's loop over distinct times.

The reference is ``tests/gray_reference.py``, a transcript of cmprsk's ``crstm`` loop (the
package's implementation before it was vectorised). Agreement is ~1e-14 relative (the
vectorised sums add the same terms in another order); 1e-12 is the bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sclero_analysis.survival import gray_test
from sclero_analysis.survival.gray import _gray_stratum

from .gray_reference import gray_stratum_loop

RTOL = 1e-12


def _random_stratum(seed: int):
    """Small data with many ties (integer times), 2-4 groups, sometimes a group without events."""
    rng = np.random.default_rng(seed)
    n, ng = int(rng.integers(5, 200)), int(rng.integers(2, 5))
    time = rng.integers(1, int(rng.integers(2, 40)), n).astype(float)
    code = rng.choice(3, n, p=rng.dirichlet([1.0, 1.0, 1.0]))
    group = rng.integers(0, ng, n)
    if seed % 3 == 0:  # group 0 without events of the cause
        code[(group == 0) & (code == 1)] = 0
    return time, code, group, ng


def _both(time, code, group, ng, rho):
    with np.errstate(divide="ignore", invalid="ignore"):  # as _gray_test calls them
        return gray_stratum_loop(time, code, group, ng, rho), _gray_stratum(time, code, group, ng, rho)


def _assert_same(old, new):
    for a, b in zip(old, new, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=RTOL * max(np.max(np.abs(a)), 1e-300))


@pytest.mark.parametrize("seed", range(24))
def test_vectorised_stratum_equals_the_loop(seed):
    time, code, group, ng = _random_stratum(seed)
    _assert_same(*_both(time, code, group, ng, rho=[0.0, 1.0, 0.5][seed % 3]))


def test_group_exhausted_by_events_and_a_group_without_events():
    # group 0: everyone has the event by t = 2 (its Kaplan-Meier reaches 0); group 2: no
    # events of the cause, only competing ones and censorings; ties within and across groups
    time = np.array([1, 1, 2, 2, 1, 2, 3, 3, 4, 5, 5, 2, 3, 3, 4, 6], float)
    code = np.array([1, 1, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 0, 2, 0, 0])
    group = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2])
    old, new = _both(time, code, group, 3, 0.0)
    assert np.all(np.isfinite(new[0])) and np.all(np.isfinite(new[1]))
    assert np.abs(old[0]).max() > 0.5  # not a trivially zero score
    _assert_same(old, new)


def test_strata_sum_the_loop_over_strata():
    rng = np.random.default_rng(7)
    n = 300
    df = pd.DataFrame({"time_months": rng.integers(1, 30, n).astype(float),
                       "event": rng.choice(3, n, p=[0.3, 0.5, 0.2]),
                       "tier": pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["a", "b", "c"]),
                       "centre": rng.choice(["x", "y", "z"], n)})
    result = gray_test(df, strata="centre")
    score, v = np.zeros(2), np.zeros((2, 2))
    code = df["event"].to_numpy()
    group = df["tier"].cat.codes.to_numpy().astype(int)
    for centre in ["x", "y", "z"]:
        rows = (df["centre"] == centre).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            s, w = gray_stratum_loop(df["time_months"].to_numpy()[rows], code[rows], group[rows], 3, 0.0)
        score, v = score + s, v + w
    assert result.statistic == pytest.approx(float(score @ np.linalg.solve(v, score)), rel=RTOL)
    assert result.dof == 2


@pytest.mark.parametrize("seed", range(4))
def test_all_groups_cif_equals_each_group_on_its_own(seed):
    # the grid (distinct time x group) gives each group's steps and cmprsk variance exactly
    from sclero_analysis.survival.cif_steps import cif_steps, gray_variance
    from sclero_analysis.survival.competing import cumulative_incidence

    time, code, group, ng = _random_stratum(seed)
    df = pd.DataFrame({"time_months": time, "event": code,
                       "tier": pd.Categorical.from_codes(group, categories=list("abcd")[:ng])})
    summary = cumulative_incidence(df, cluster=False).summary
    for level, rows in summary.groupby("group", observed=True):
        part = df[df["tier"] == level]
        s = cif_steps(part["time_months"].to_numpy(), part["event"].to_numpy(), np.ones(len(part)), 1)
        np.testing.assert_array_equal(rows["time"], s.time)
        np.testing.assert_array_equal(rows["cif"], s.cif)
        np.testing.assert_array_equal(rows["se"], np.sqrt(gray_variance(s)))

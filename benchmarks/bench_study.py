"""Benchmark: batched Cox fits and whole registry studies against the obvious alternatives.

Run: .venv/bin/python benchmarks/bench_study.py [--quick]  (lifelines: the dev or bench extra)

Prints, measured side by side in this run:

1. Batched Cox fits per second for 1,000 replicate data sets at n = 60, 200 and 1,000 rows
   (Efron and Breslow ties; unweighted, and weighted with clustered robust SE) and the ratio to
   a ``lifelines.CoxPHFitter`` loop on the same data (lifelines fits Efron only, run with
   ``precision=1e-13``; timed on a subset of the data sets and reported per fit), with the
   largest coefficient difference. Both timed as the best of three runs (timeit's rule).
   Target: >= 300x at n = 200, Efron.
2. End-to-end study throughput (simulate + naive Cox + propensity + IPTW Cox with robust SE per
   replicate) vs the straightforward path (simulate_registry -> relapse_frame -> fit_cox and
   propensity per replicate, timed on a subset): target >= 20x, and a 1,000-replicate
   one-scenario study at n = 200 patients in under 5 s on 2 cores (n_jobs=2: this process and
   one worker of joblib's pool, timed with the worker starting and with the pool reused). Each
   figure includes the scenario's truth (counterfactual registry), computed once per scenario.
3. Peak resident memory of 1,000- and 10,000-replicate studies (each in a fresh process): it is
   bounded by the chunk size, not by n_reps.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

import sclero_analysis as sa
from sclero_analysis.exceptions import PropensityError
from sclero_analysis.studies import StudyDesign, fit_cox_batched, run_study, simulate_lines

B = 1000


def datasets(n: int, seed: int = 1):
    """B data sets of n rows: three covariates, Weibull-like times in days, 70% events."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(0, 2, (B * n)), rng.normal(size=B * n), rng.uniform(size=B * n)])
    x = x.reshape(B, n, 3)
    time_months = np.ceil(rng.exponential(20, (B, n)) * np.exp(-0.5 * x[:, :, 0]) * 30.4375) / 30.4375
    event = rng.uniform(size=(B, n)) < 0.7
    weight = rng.uniform(0.3, 3.0, (B, n))
    cluster = np.repeat(np.arange(n // 2 + 1), 2)[:n][None, :].repeat(B, 0)
    return x, time_months, event, weight, cluster


def lifelines_loop(x, time_months, event, k: int, weighted: bool, weight, cluster):
    """Fit the first k data sets with lifelines (best of three loops); seconds per fit, coefficients."""
    seconds = np.inf
    for _ in range(3):  # the same rule as the batched fits
        start = time.perf_counter()
        coefs = _lifelines_fits(x, time_months, event, k, weighted, weight, cluster)
        seconds = min(seconds, (time.perf_counter() - start) / k)
    return seconds, coefs


def _lifelines_fits(x, time_months, event, k, weighted, weight, cluster) -> np.ndarray:
    from lifelines import CoxPHFitter

    coefs = []
    for i in range(k):
        df = pd.DataFrame(x[i], columns=["a", "b", "c"]).assign(T=time_months[i], E=event[i])
        options = {}
        if weighted:
            df = df.assign(w=weight[i], g=cluster[i])
            options = {"weights_col": "w", "cluster_col": "g", "robust": True}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = CoxPHFitter().fit(df, "T", "E", fit_options={"precision": 1e-13}, **options)
        coefs.append(fit.params_.to_numpy())
    return np.array(coefs)


def bench_cox(quick: bool) -> None:
    """Print batched Cox throughput and the ratio to lifelines."""
    print("1. Batched Cox vs a lifelines loop (1,000 data sets per row; lifelines timed on a subset)")
    print(f"{'n':>6} {'ties':>8} {'weights':>9} {'batched fits/s':>15} {'ms/fit':>8} "
          f"{'lifelines ms/fit':>17} {'ratio':>7} {'max |coef diff|':>16}")
    fit_cox_batched(np.ones((1, 3)), np.ones((1, 3), bool), np.zeros((1, 3, 1)))  # compile
    for n in (60, 200, 1000):
        x, t, e, w, g = datasets(n)
        for ties in ("efron", "breslow"):
            for weighted in (False, True):
                seconds = np.inf
                for _ in range(3):  # the best of three batches (timeit's rule: the least disturbed)
                    start = time.perf_counter()
                    fit = fit_cox_batched(t, e, x, weight=w if weighted else None,
                                          cluster=g if weighted else None, ties=ties)
                    seconds = min(seconds, (time.perf_counter() - start) / B)
                ratio, diff, life = "", "", ""
                if ties == "efron":
                    k = 5 if quick else (20 if n < 1000 else 8)
                    per_fit, coefs = lifelines_loop(x, t, e, k, weighted, w, g)
                    life = f"{per_fit * 1e3:.2f}"
                    ratio = f"{per_fit / seconds:.0f}x"
                    diff = f"{np.max(np.abs(coefs - fit.coef[:k])):.1e}"
                print(f"{n:>6} {ties:>8} {'robust' if weighted else 'none':>9} {1 / seconds:>15,.0f} "
                      f"{seconds * 1e3:>8.3f} {life:>17} {ratio:>7} {diff:>16}")


def straightforward(design: sa.RegistryDesign, seeds) -> float:
    """Seconds per replicate of the DataFrame path (simulate, frame, fit_cox, propensity)."""
    covariates = ["age_at_diagnosis_years", "mrss", "neuro", "cardiac"]
    start = time.perf_counter()
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cs = sa.simulate_registry(design, seed=seed, truth=False)
            df = sa.relapse_frame(cs).dropna(subset=covariates)
            sa.fit_cox(df, "tier")
            try:
                ps = sa.propensity(df, covariates)
            except PropensityError:  # a tier too small: the study counts it as failed
                continue
            rows = df.loc[ps.scores.index].assign(w=ps.weights())
            sa.fit_cox(rows, "tier", weights="w", cluster="patient_id")
    return (time.perf_counter() - start) / len(seeds)


def bench_study(quick: bool) -> None:
    """Print end-to-end study throughput, 1 and 2 processes, and the ratio to the DataFrame path."""
    print("\n2. End-to-end registry study (n_patients = 200; naive Cox + propensity + IPTW Cox robust)")
    registry = sa.RegistryDesign(n_patients=200)
    n_reps = 200 if quick else 1000
    design = StudyDesign(registry, analyses=("naive_cox", "iptw_cox"), n_reps=n_reps, chunk_size=100,
                         truth_patients=2000)
    run_study(StudyDesign(registry, n_reps=2, chunk_size=2, truth_patients=500), progress=False)  # warm up
    timings = {}
    # n_jobs=2: this process and one pool worker; cold: the worker process starts (imports) first
    for label, jobs in (("1", 1), ("2 cold", 2), ("2 warm", 2)):
        start = time.perf_counter()
        run_study(design, n_jobs=jobs, progress=False)
        timings[label] = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(n_reps):
        simulate_lines(registry, np.random.default_rng(i))
    simulate_only = time.perf_counter() - start
    slow = straightforward(registry, range(5 if quick else 20))
    per_rep = timings["1"] / n_reps
    print(f"   {n_reps} replicates, 1 process: {timings['1']:.2f} s ({per_rep * 1e3:.2f} ms/replicate, of "
          f"which simulation {simulate_only / n_reps * 1e3:.2f} ms)")
    print(f"   {n_reps} replicates, 2 processes (this one + a pool worker): {timings['2 cold']:.2f} s with "
          f"the worker starting, {timings['2 warm']:.2f} s with joblib's pool reused (a second study)")
    print(f"   straightforward path: {slow * 1e3:.1f} ms/replicate -> ratio {slow / per_rep:.0f}x "
          f"(1 process vs 1 process)")


RSS_SCRIPT = """
import resource, sclero_analysis as sa
design = sa.StudyDesign(sa.RegistryDesign(n_patients=200), analyses=("naive_cox", "iptw_cox"),
                        n_reps={n_reps}, chunk_size=100, truth_patients=2000)
sa.run_study(design, n_jobs=1, progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_memory(quick: bool) -> None:
    """Print the peak RSS of studies of two sizes, each in a fresh process."""
    print("\n3. Peak resident memory (fresh process per study, chunk_size = 100)")
    for n_reps in ((200, 1000) if quick else (1000, 10_000)):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", RSS_SCRIPT.format(n_reps=n_reps)], capture_output=True,
                             text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        print(f"   n_reps = {n_reps:>6}: peak RSS {int(out.stdout.split()[-1]) / 1024:.0f} MB "
              f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer replicates (a smoke run)")
    args = parser.parse_args()
    bench_cox(args.quick)
    bench_study(args.quick)
    bench_memory(args.quick)

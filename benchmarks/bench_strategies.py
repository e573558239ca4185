"""Benchmark: management strategies by clone-censor-weight, its speed and its statistical properties.

Run: .venv/bin/python benchmarks/bench_strategies.py [--registries 200] [--patients 1000]
     [--boot 200] [--jobs 2] [--first-seed 1000] [--speed-only]

1. Speed: one analysis of the three default strategies with 200 bootstrap replicates on the
   400 patients of the shipped registry, ``n_jobs=2`` (target: under 30 s on 2 cores).
2. Properties over ``--registries`` simulated registries of ``--patients`` patients (default
   design, seeds ``--first-seed``, +1, ...): the emulated difference in relapse-free survival
   at 24 months (escalate if no response by 3 months vs never escalate) against each registry's
   truth (its patients forced to follow each strategy, ``truth["strategies"]``): bias with its Monte Carlo
   SE, bias as a share of the mean true difference, coverage of the percentile 95% interval
   (with its Monte Carlo SE), and the same bias for the naive per-protocol comparison (no
   weights). Targets: |bias| < 2 MC SE and < 10% of the true difference, coverage ≥ 93%, naive
   biased. ``--bias-registries K`` adds K registries (the next seeds) analysed without the
   bootstrap (in parallel, ``--jobs``): the point estimate does not depend on it, so they
   sharpen the bias (its MC SE) at a fraction of the cost; coverage is over the bootstrapped
   registries only.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

import sclero_analysis as sa

MEASURE = "measure == 'relapse_free_survival' and time_months == 24"
ESCALATE, NEVER = "escalate_if_no_response", "never_escalate"


def speed(jobs: int) -> dict:
    """Seconds of one analysis of the shipped registry with 200 replicates."""
    cs = sa.load_example()
    sa.emulate_strategies(cs, n_boot=2, progress=False)  # imports, first calls
    start, cpu = time.perf_counter(), time.process_time()
    sa.emulate_strategies(cs, n_boot=200, seed=1, n_jobs=jobs, progress=False)
    return {"seconds": round(time.perf_counter() - start, 2),
            "parent_cpu_seconds": round(time.process_time() - cpu, 2)}


def one_registry(seed: int, patients: int, boot: int, jobs: int) -> dict:
    """Emulated, naive and true 24-month differences (escalate vs never) of one registry."""
    cs = sa.simulate_registry(sa.RegistryDesign(n_patients=patients), seed=seed, validate=False,
                              truth_lines_per_tier=50_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exceptions.NotEstimableWarning)
        result = sa.emulate_strategies(cs, n_boot=boot, seed=seed, n_jobs=jobs, progress=False)
    contrast = result.contrasts.query(MEASURE + f" and strategy == '{ESCALATE}'").iloc[0]
    naive = result.naive.query(MEASURE).set_index("strategy")["estimate"]
    truth = cs.truth["strategies"]
    true = truth[ESCALATE]["relapse_free_survival"][24] - truth[NEVER]["relapse_free_survival"][24]
    return {"estimate": contrast["difference"], "lower": contrast["lower"], "upper": contrast["upper"],
            "naive": naive[ESCALATE] - naive[NEVER], "truth": true}


def properties(rows: list[dict]) -> dict:
    """Bias, coverage and their Monte Carlo SEs over the registries so far."""
    est = np.array([r["estimate"] for r in rows])
    truth = np.array([r["truth"] for r in rows])
    naive = np.array([r["naive"] for r in rows])
    intervals = [r for r in rows if np.isfinite(r["lower"]) and np.isfinite(r["upper"])]
    covered = np.array([r["lower"] <= r["truth"] <= r["upper"] for r in intervals])
    n = len(rows)
    error, naive_error = est - truth, naive - truth
    return {
        "registries": n, "mean_true_difference": truth.mean(),
        "bias": error.mean(), "bias_mc_se": error.std(ddof=1) / np.sqrt(n),
        "bias_share_of_truth": error.mean() / truth.mean(),
        "registries_with_intervals": len(covered), "coverage": covered.mean(),
        "coverage_mc_se": np.sqrt(covered.mean() * (1 - covered.mean()) / len(covered)),
        "naive_bias": naive_error.mean(), "naive_bias_mc_se": naive_error.std(ddof=1) / np.sqrt(n),
        "empirical_se": est.std(ddof=1),
    }


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registries", type=int, default=200)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--boot", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=1000, help="seed of the first registry")
    parser.add_argument("--bias-registries", type=int, default=0,
                        help="more registries, without the bootstrap, for the bias only")
    parser.add_argument("--speed-only", action="store_true")
    args = parser.parse_args()
    print("speed (400 patients, 3 strategies, 200 replicates):", json.dumps(speed(args.jobs)), flush=True)
    if args.speed_only:
        return
    rows = []
    for i in range(args.registries):
        rows.append(one_registry(args.first_seed + i, args.patients, args.boot, args.jobs))
        if (i + 1) % 10 == 0:
            print(json.dumps({k: round(float(v), 4) for k, v in properties(rows).items()}), flush=True)
    if args.registries:
        print("bootstrapped:", json.dumps({k: round(float(v), 4) for k, v in properties(rows).items()}),
              flush=True)
    if args.bias_registries:
        from joblib import Parallel, delayed

        first = args.first_seed + args.registries
        rows += Parallel(n_jobs=args.jobs)(delayed(one_registry)(first + i, args.patients, 0, 1)
                                           for i in range(args.bias_registries))
    print("final:", json.dumps({k: round(float(v), 4) for k, v in properties(rows).items()}))


if __name__ == "__main__":
    main()

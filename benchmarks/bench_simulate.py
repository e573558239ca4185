"""Benchmark: how fast synthetic registries are made (issue targets in brackets).

Run: .venv/bin/python benchmarks/bench_simulate.py

Prints, for 400- and 10,000-patient registries, the median of 5 runs of: generation alone
(``validate=False, truth=False``), full data-contract validation of the same tables, and the
counterfactual truth; patients per second for generation. Targets: 400 patients generated in
< 50 ms, 10,000 patients in < 2 s.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from sclero_analysis.caseseries.load import validate_tables
from sclero_analysis.synthetic import RegistryDesign, simulate_registry
from sclero_analysis.synthetic.pathway import generate
from sclero_analysis.synthetic.simulate import _tables
from sclero_analysis.synthetic.truth import counterfactual_truth

RUNS = 5


def median_seconds(work) -> float:
    """Median wall time of ``RUNS`` calls of ``work(run)``."""
    times = []
    for run in range(RUNS):
        start = time.perf_counter()
        work(run)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(n: int) -> tuple[float, float, float]:
    """Time generation, validation and truth (median seconds) for an n-patient registry."""
    design = RegistryDesign(n_patients=n)
    generate_s = median_seconds(
        lambda run: simulate_registry(design, seed=run, validate=False, truth=False))
    cohort, raw = generate(design, np.random.default_rng(1))
    tables = _tables(cohort, raw)
    validate_s = median_seconds(lambda run: validate_tables(tables))
    truth_s = median_seconds(
        lambda run: counterfactual_truth(design, cohort, raw, np.random.default_rng(run)))
    return generate_s, validate_s, truth_s


def main() -> None:
    """Print the timing table."""
    simulate_registry(RegistryDesign(n_patients=50), seed=0)  # warm up imports and caches
    print(f"{'patients':>9} {'generate s':>11} {'patients/s':>11} {'validate s':>11} {'truth s':>9}")
    for n in (400, 10_000):
        generate_s, validate_s, truth_s = measure(n)
        target = 0.05 if n == 400 else 2.0
        print(f"{n:>9} {generate_s:>11.4f} {n / generate_s:>11,.0f} {validate_s:>11.3f} "
              f"{truth_s:>9.3f}   generation target < {target} s: "
              f"{'met' if generate_s < target else 'MISSED'}")


if __name__ == "__main__":
    main()

"""Benchmark: the binomial-normal GLMM of ``sa.pool_proportions`` on 500 sources (target < 100 ms).

Run: .venv/bin/python benchmarks/bench_pooling.py

Times (best of several runs, wall clock) the GLMM fit alone and the whole ``pool_proportions``
call (checks, heterogeneity tests, per-source intervals) on a simulated literature of 500 sources
(sizes 1-60, logit-normal response rates), against, in the same run:

- the same quadrature likelihood maximised by scipy's Nelder-Mead without derivatives (lme4's
  strategy), and
- R's ``metafor::rma.glmm(measure = "PLO")`` timed inside R (start-up and package loading
  excluded) when ``Rscript`` with metafor is available.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

import sclero_analysis as sa
from sclero_analysis.evidence.glmm import fit_glmm
from sclero_analysis.evidence.quadrature import Binomial, source_terms

SOURCES = 500
RUNS = 7
TARGET_SECONDS = 0.1
R_SCRIPT = """
suppressPackageStartupMessages(library(metafor))
d <- read.csv(commandArgs(trailingOnly = TRUE)[1])
fit <- rma.glmm(measure = "PLO", xi = events, ni = n, data = d)
times <- replicate({runs}, system.time(rma.glmm(measure = "PLO", xi = events, ni = n, data = d))[["elapsed"]])
cat(min(times), fit$b[1], fit$tau2, "\\n")
"""


def literature(k: int, seed: int = 2026) -> pd.DataFrame:
    """``k`` sources of 1-60 patients with logit-normal response rates (mean 0.6, tau 0.8)."""
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 61, k)
    p = 1 / (1 + np.exp(-(np.log(0.6 / 0.4) + 0.8 * rng.standard_normal(k))))
    return pd.DataFrame({"study": [f"s{i}" for i in range(k)], "events": rng.binomial(n, p), "n": n})


def best_seconds(work, runs: int = RUNS) -> float:
    """Best wall time of ``runs`` calls (the machine is shared: the best is the least disturbed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def nelder_mead(data: Binomial) -> np.ndarray:
    """Maximise the same likelihood without derivatives over (logit, log tau)."""
    modes = np.zeros(len(data.x))

    def negative(theta: np.ndarray) -> float:
        terms = source_terms(data, np.full(len(data.x), theta[0]), float(np.exp(theta[1])), modes)
        return -float(terms.loglik.sum())

    return optimize.minimize(negative, np.array([0.0, np.log(0.5)]), method="Nelder-Mead",
                             options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 5000}).x


def r_seconds(table: pd.DataFrame) -> tuple[float, float, float] | None:
    """Time metafor (best of RUNS, inside R); return seconds, logit, tau^2 (None without R)."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        data, script = Path(folder) / "sources.csv", Path(folder) / "bench.R"
        table.to_csv(data, index=False)
        script.write_text(R_SCRIPT.format(runs=RUNS))
        run = subprocess.run(["Rscript", str(script), str(data)], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        return None
    seconds, logit, tau2 = map(float, run.stdout.split())
    return seconds, logit, tau2


def main() -> None:
    """Print the timing table."""
    table = literature(SOURCES)
    data = Binomial(table["events"].to_numpy(float), table["n"].to_numpy(float))
    design = np.ones((SOURCES, 1))
    sa.pool_proportions(table)  # warm up imports
    fit = fit_glmm(data, design)
    ours = best_seconds(lambda: fit_glmm(data, design))
    whole = best_seconds(lambda: sa.pool_proportions(table))
    print(f"GLMM on {SOURCES} sources: logit {fit.beta[0]:.6f}, tau^2 {fit.tau2:.6f}")
    print(f"{'fit':<44} {'seconds':>9} {'ratio':>7}")
    print(f"{'fit_glmm (Newton, exact quadrature gradients)':<44} {ours:>9.4f} {1:>7.1f}   "
          f"target < {TARGET_SECONDS} s: {'met' if ours < TARGET_SECONDS else 'MISSED'}")
    print(f"{'sa.pool_proportions (whole call)':<44} {whole:>9.4f} {whole / ours:>7.1f}")
    theta = nelder_mead(data)
    slow = best_seconds(lambda: nelder_mead(data), runs=3)
    print(f"{'same likelihood, scipy Nelder-Mead':<44} {slow:>9.4f} {slow / ours:>7.1f}   "
          f"(logit {theta[0]:.6f}, tau^2 {np.exp(2 * theta[1]):.6f})")
    r = r_seconds(table)
    if r is None:
        print("metafor::rma.glmm: Rscript or metafor not available")
    else:
        print(f"{'metafor::rma.glmm (lme4, inside R)':<44} {r[0]:>9.4f} {r[0] / ours:>7.1f}   "
              f"(logit {r[1]:.6f}, tau^2 {r[2]:.6f})")


if __name__ == "__main__":
    main()

"""Benchmark: the study engine's batched Cox fits against a loop of R's bare ``coxph.fit``.

Run: .venv/bin/python benchmarks/bench_batched_cox.py [--quick]

The data sets of ``bench_study.py`` (1,000 replicates of n rows, three covariates, times in
days so that there are ties, 70% events), n = 200 and 1,000, Efron and Breslow ties, no
weights. Prints milliseconds per fit of :func:`fit_cox_batched` (the whole call on 1,000
replicates, best of several runs), of ``coxph.fit`` in an R loop over the first replicates
(timed inside R by ``bench_batched_cox.R``: best of several loops; start-up, reading and
``Surv`` objects excluded; default ``coxph.control()``), the ratio R / ours (targets >= 3 at
n = 200 and >= 2 at n = 1,000), the largest coefficient difference and the mean Newton
iterations. Times are CPU seconds of the process (both sides single-threaded): on a shared
machine they are far steadier than wall time, which is printed too; the two sides are timed
in alternating rounds and each keeps its best round, so that a burst of load elsewhere
does not fall on one side only. Skipped, with a message, when ``Rscript`` is absent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sclero_analysis.studies import fit_cox_batched

sys.path.insert(0, str(Path(__file__).parent))
from bench_study import B, datasets  # noqa: E402  (the same data sets as the study benchmark)

R_SCRIPT = Path(__file__).with_name("bench_batched_cox.R")
TARGETS = {200: 3.0, 1000: 2.0}
ROUNDS = 3


def r_loop(x, time_months, event, k: int, ties: str, runs: int) -> dict | None:
    """Return R's seconds per coxph.fit and coefficients on the first ``k`` replicates (None without R)."""
    if shutil.which("Rscript") is None:
        return None
    n = x.shape[1]
    table = pd.DataFrame(x[:k].reshape(k * n, -1), columns=["a", "b", "c"])
    table.insert(0, "event", event[:k].reshape(-1).astype(int))
    table.insert(0, "time_months", time_months[:k].reshape(-1))
    table.insert(0, "replicate", np.repeat(np.arange(k), n))
    with tempfile.TemporaryDirectory() as folder:
        data, out = Path(folder) / "data.csv", Path(folder) / "out.json"
        table.to_csv(data, index=False, float_format="%.17g")
        run = subprocess.run(["Rscript", str(R_SCRIPT), str(data), ties, str(runs), str(out)],
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print(f"   coxph.fit failed: {run.stderr.strip()[-200:]}")
            return None
        return json.loads(out.read_text())


def ours(x, time_months, event, ties: str, runs: int):
    """Return our best wall and CPU seconds per fit over all B replicates, and the fit."""
    wall = cpu = np.inf
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fit = fit_cox_batched(time_months, event, x, ties=ties)
        wall = min(wall, (time.perf_counter() - start) / B)
        cpu = min(cpu, (time.process_time() - start_cpu) / B)
    return wall, cpu, fit


def main(quick: bool) -> None:
    """Print the table."""
    print(f"Batched Cox ({B:,} replicates) vs R's coxph.fit loop (no weights, naive variance)")
    print(f"{'':>15} {'CPU ms/fit':>19} {'':>15} {'wall ms/fit':>19}")
    print(f"{'n':>6} {'ties':>8} {'ours':>9} {'R':>9} {'R/ours':>7} {'target':>7} {'ours':>9} {'R':>9} "
          f"{'R/ours':>7} {'|coef diff|':>12} {'iterations':>11}")
    fit_cox_batched(np.ones((1, 3)), np.ones((1, 3), bool), np.zeros((1, 3, 1)))  # load the kernels
    for n in (200, 1000):
        x, t, e, _, _ = datasets(n)
        for ties in ("efron", "breslow"):
            k = 50 if quick else (300 if n == 200 else 100)
            wall = cpu = np.inf
            ref = None
            for _ in range(1 if quick else ROUNDS):
                round_wall, round_cpu, fit = ours(x, t, e, ties, 3 if quick else 5)
                wall, cpu = min(wall, round_wall), min(cpu, round_cpu)
                got = r_loop(x, t, e, k, ties, 1 if quick else 5)
                if got is None:
                    break
                if ref is not None:
                    got["cpu_per_fit"] = min(got["cpu_per_fit"], ref["cpu_per_fit"])
                    got["seconds_per_fit"] = min(got["seconds_per_fit"], ref["seconds_per_fit"])
                ref = got
            if ref is None:
                print(f"{n:>6} {ties:>8} {cpu * 1e3:>9.4f}   coxph.fit: Rscript or survival not available")
                continue
            ratio, wall_ratio = ref["cpu_per_fit"] / cpu, ref["seconds_per_fit"] / wall
            diff = np.max(np.abs(np.asarray(ref["coef"]) - fit.coef[:k]))
            print(f"{n:>6} {ties:>8} {cpu * 1e3:>9.4f} {ref['cpu_per_fit'] * 1e3:>9.4f} {ratio:>7.2f} "
                  f"{'met' if ratio >= TARGETS[n] else 'MISSED':>7} {wall * 1e3:>9.4f} "
                  f"{ref['seconds_per_fit'] * 1e3:>9.4f} {wall_ratio:>7.2f} {diff:>12.1e} "
                  f"{fit.iterations.mean():>11.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    main(parser.parse_args().quick)

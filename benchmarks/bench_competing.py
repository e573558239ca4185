"""Benchmark: cumulative incidence plus Gray's test against ``cmprsk::cuminc``, timed in one run.

Run: .venv/bin/python benchmarks/bench_competing.py [--calls 30]

Data: simulated registries of 10,000 and 100,000 lines in four tiers (exponential relapse and
death, uniform censoring over 10 years, times in whole days expressed in months, so many ties).
``cuminc(time, event, tier)`` estimates the cumulative incidence of every cause (1 relapse,
2 death) with cmprsk's variance and Gray's test for each; the Python side does the same work:
``sa.cumulative_incidence(..., cause=c)`` and its ``gray_test()`` for c = 1 and 2.

Each side is timed per call inside its own language (R: ``bench::mark`` in
``bench_competing.R``, start-up and package loading excluded; Python: ``time.perf_counter``),
the median of ``--calls`` calls after a warm-up (fewer for larger data, see
:func:`calls_for`), and the CPU time per call over a loop of as
many calls (immune to waiting for a shared core); the Python calls run before and after R's
and are pooled over both rounds. Target: median ratio Python / R at most 1 (min and CPU ratios
printed beside). Gray's statistics of the
two sides are compared as a check. Without ``Rscript`` the R side is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import sclero_analysis as sa

SIZES = (10_000, 100_000)
R_SCRIPT = Path(__file__).with_name("bench_competing.R")


def registry(n: int, seed: int = 2026) -> pd.DataFrame:
    """``n`` lines: tier, time_months (whole days), event 0 censored / 1 relapse / 2 death."""
    rng = np.random.default_rng(seed)
    tiers = ["ivig", "immunosuppression", "cytoreduction", "other"]
    tier = rng.choice(tiers, n, p=[0.4, 0.3, 0.2, 0.1])
    scale = np.select([tier == t for t in tiers[:3]], [30.0, 24.0, 20.0], 40.0)
    relapse, death, censor = rng.exponential(scale), rng.exponential(90.0, n), rng.uniform(1, 120, n)
    days = np.ceil(np.minimum.reduce([relapse, death, censor]) * 30.4375)
    event = np.select([relapse <= np.minimum(death, censor), death <= np.minimum(relapse, censor)],
                      [1, 2], 0)
    return pd.DataFrame({"time_months": days / 30.4375, "event": event,
                         "tier": pd.Categorical(tier, categories=tiers)})


def analyse(df: pd.DataFrame) -> list[float]:
    """Estimate what cuminc returns: each cause's cumulative incidence and Gray's statistic."""
    statistics = []
    for cause in (1, 2):
        cif = sa.cumulative_incidence(df, cause=cause, cluster=False)
        statistics.append(cif.gray_test().statistic)
    return statistics


def calls_for(n: int, calls: int) -> int:
    """Return the timed calls at ``n`` rows: ``calls`` at 10,000 rows, fewer above (at least 5)."""
    return max(5, calls * 10_000 // max(n, 10_000))


def python_times(frames: dict[int, pd.DataFrame], calls: int) -> dict[int, tuple[list[float], float]]:
    """Per size: each :func:`analyse` call's wall seconds and CPU seconds per call (after a warm-up)."""
    out = {}
    for n, df in frames.items():
        analyse(df)
        times = []
        cpu = time.process_time()
        for _ in range(calls_for(n, calls)):
            start = time.perf_counter()
            analyse(df)
            times.append(time.perf_counter() - start)
        out[n] = times, (time.process_time() - cpu) / calls_for(n, calls)
    return out


def timing_row(label: str, first, second, r: dict | None) -> str:
    """One printed row: median, min and CPU per call of both sides (ms) and their ratios."""
    wall = first[0] + second[0]
    python = {"median_ms": np.median(wall) * 1e3, "min_ms": np.min(wall) * 1e3,
              "cpu_ms": (first[1] + second[1]) / 2 * 1e3}
    cells = []
    for key in ("median_ms", "min_ms", "cpu_ms"):
        if r is None:
            cells.append(f"{python[key]:8.1f}{'-':>8}{'-':>7}")
        else:
            cells.append(f"{python[key]:8.1f}{r[key]:8.1f}{python[key] / r[key]:7.2f}")
    verdict = "" if r is None else ("met" if python["median_ms"] <= r["median_ms"] else "NOT met")
    return f"{label:>8}   " + " |".join(cells) + f" | {verdict}"


def r_results(frames: dict[int, pd.DataFrame], calls: int) -> dict | None:
    """R's results by size, or None when Rscript is not installed."""
    if shutil.which("Rscript") is None:
        print("R side skipped: Rscript is not installed")
        return None
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for n, df in frames.items():
            path, result = Path(folder) / f"rows{n}.csv", Path(folder) / f"r{n}.json"
            df.to_csv(path, index=False)
            run = subprocess.run(["Rscript", str(R_SCRIPT), str(result), str(calls_for(n, calls)),
                                  str(path)], capture_output=True, text=True, check=False)
            if run.returncode != 0:
                print(f"R side skipped: {run.stderr.strip()[-300:]}")
                return None
            raw = json.loads(result.read_text())
            out[n], out["versions"] = raw[path.name], raw["versions"]
    return out


def main() -> None:
    """Time both sides and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30,
                        help="timed calls per side at 10,000 rows (fewer at larger sizes)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    frames = {n: registry(n) for n in args.sizes}
    first = python_times(frames, args.calls)
    r = r_results(frames, args.calls)
    second = python_times(frames, args.calls)
    print("cumulative incidence + Gray's test, causes 1 and 2: wall time per call (median and min "
          "of 2 x calls in Python, calls in R; calls = "
          + ", ".join(f"{calls_for(n, args.calls)} at {n}" for n in frames) + ") and CPU time per call, ms")
    print(f"{'rows':>8}{'median: python':>17}{'R':>6}{'ratio':>8} |{'min: python':>12}{'R':>6}"
          f"{'ratio':>7} |{'CPU: python':>12}{'R':>6}{'ratio':>7} | target median ratio <= 1")
    for n in frames:
        print(timing_row(str(n), first[n], second[n], None if r is None else r[n]))
    if r is not None:
        for n, df in frames.items():
            diff = np.max(np.abs(np.array(analyse(df)) / r[n]["statistic"] - 1))
            print(f"{n} rows: Gray's statistics, max relative difference to cmprsk {diff:.1e}")
        print(f"R timer: {r[next(iter(frames))]['timer']}; {r['versions']['R']}, "
              f"cmprsk {r['versions']['cmprsk']}")

if __name__ == "__main__":
    main()

"""Benchmark: reading a 100,000-patient registry against ``pandas.read_csv`` (issue 16 targets).

Run: .venv/bin/python benchmarks/bench_loader.py [--patients 100000] [--runs 3]

The registry is the shipped synthetic one (400 patients) repeated under new ids until it has
``--patients`` patients, written as three CSV files. Side by side in one run, interleaved:

* ``pandas.read_csv`` of the three files with their date columns parsed (``parse_dates``);
* ``sclero_analysis.read_case_series`` of the same folder (reading, parsing, tiers, every
  validation rule, the report).

Time is the best of ``--runs`` interleaved runs of each, after a warm-up that imports
everything, as wall time and as CPU time of this process (on a machine shared with other work,
wall times swing with the load, CPU times much less). Peak memory is measured in a fresh
process for each (peak resident set size minus the size after imports and warm-up; Linux
only). Targets: time at most 5x pandas, peak memory at most 2x.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

DATES = {
    "patients": ["diagnosis_date", "last_followup_date", "death_date"],
    "lines": ["start_date", "end_date", "response_date"],
    "events": ["date"],
}
SHIPPED = Path(__file__).parents[1] / "sclero_analysis" / "data" / "synthetic" / "registry"


def write_registry(folder: Path, n_patients: int) -> Path:
    """Write the shipped registry repeated under new ids until it has ``n_patients`` patients."""
    tables = {t: pd.read_csv(SHIPPED / f"{t}.csv", dtype=str, keep_default_na=False) for t in DATES}
    copies = -(-n_patients // len(tables["patients"]))
    repeated = {name: pd.concat([frame.assign(patient_id=frame["patient_id"] + f"-{c:04d}")
                                 for c in range(copies)], ignore_index=True)
                for name, frame in tables.items()}
    kept = repeated["patients"].iloc[:n_patients]
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in repeated.items():
        frame = kept if name == "patients" else frame[frame["patient_id"].isin(kept["patient_id"])]
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def read_with_pandas(folder: Path) -> dict[str, pd.DataFrame]:
    """Read the three files with ``pandas.read_csv``, date columns parsed (the baseline)."""
    return {t: pd.read_csv(folder / f"{t}.csv", parse_dates=d) for t, d in DATES.items()}


def read_with_loader(folder: Path):
    """Read the folder with the loader: parse, derive tiers, validate, report."""
    import sclero_analysis as sa

    return sa.read_case_series(folder)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _peak_bytes() -> int:
    """Peak resident memory of this process (``VmHWM``: unlike ``ru_maxrss``, not inherited)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def peak_memory(which: str, folder: Path) -> int:
    """Peak extra resident memory (bytes) of one read, in a fresh process."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "import bench_loader as b; from pathlib import Path; import sclero_analysis as sa; "
        "sa.read_case_series(b.SHIPPED); b.read_with_pandas(b.SHIPPED); "
        f"before = b._rss_bytes(); b.read_with_{which}(Path({str(folder)!r})); "
        "print(json.dumps(b._peak_bytes() - before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1]))


def seconds(work, folder: Path) -> tuple[float, float]:
    """Wall and CPU time of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    work(folder)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    """Print times, memory and their ratios to pandas."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_registry(Path(tmp) / "registry", args.patients)
        read_with_loader(SHIPPED)  # warm up imports and caches
        read_with_pandas(SHIPPED)
        cs = read_with_loader(folder)
        rows = ", ".join(f"{t} {n:,}" for t, n in cs.counts["read"].items())
        print(f"registry: {rows} rows ({sum(p.stat().st_size for p in folder.iterdir()) / 1e6:.1f} MB)")
        times = {"pandas": [], "loader": []}
        for _ in range(args.runs):  # interleaved, so that a busy machine slows both alike
            times["pandas"].append(seconds(read_with_pandas, folder))
            times["loader"].append(seconds(read_with_loader, folder))
        best = {w: [min(t[i] for t in times[w]) for i in (0, 1)] for w in times}
        memory = {w: peak_memory(w, folder) / 1e6 for w in times}
    for who, label in (("pandas", "pandas.read_csv (dates parsed)"), ("loader", "read_case_series")):
        wall, cpu = best[who]
        print(f"{label:31s} {wall:6.2f} s wall {cpu:6.2f} s CPU  peak +{memory[who]:4.0f} MB")
    ratios = {"wall time": best["loader"][0] / best["pandas"][0],
              "CPU time": best["loader"][1] / best["pandas"][1],
              "peak memory": memory["loader"] / memory["pandas"]}
    print("ratios: " + ", ".join(
        f"{what} {ratio:.2f}x (target <= {2 if what == 'peak memory' else 5}: "
        f"{'met' if ratio <= (2 if what == 'peak memory' else 5) else 'MISSED'})"
        for what, ratio in ratios.items()))


if __name__ == "__main__":
    main()

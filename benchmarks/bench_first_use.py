"""Benchmark: the first registry study after a fresh install, when Numba's kernels are compiled.

Run: .venv/bin/python benchmarks/bench_first_use.py [--reps 200] [--patients 200]

Every measurement runs in a new Python process whose ``NUMBA_CACHE_DIR`` points at a temporary
folder, empty at first (a fresh install: nothing compiled yet). Prints:

1. Fresh cache: the import of the study modules and the first ``run_study`` (one scenario,
   ``--reps`` replicates at ``--patients`` patients, naive and IPTW Cox, the default truth),
   then the second ``run_study`` in the same process.
2. Warm cache, new process: the same two calls (what every later session pays).
3. The target: first use (import + first call, fresh cache) at most 3 × the second call + 3 s.
4. A worker's first call (``n_jobs=2``): a fresh joblib/loky worker, started after the parent
   filled the cache, imports the study modules and runs its first and second chunk of
   ``chunk_size`` replicates; then a whole ``run_study(n_jobs=2)`` in a new process (warm cache).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

STUDY = """
import json, sys, time
start = time.perf_counter()
import sclero_analysis as sa
from sclero_analysis.studies import StudyDesign, run_study
design = StudyDesign(sa.RegistryDesign(n_patients={patients}), n_reps={reps}, chunk_size={chunk})
imported = time.perf_counter()
run_study(design, progress=False)
first = time.perf_counter()
run_study(design, progress=False)
second = time.perf_counter()
print(json.dumps({{"import": imported - start, "first": first - imported, "second": second - first}}))
"""

WORKER = """
import json, time
from joblib.externals.loky import get_reusable_executor

def chunks(patients, reps, chunk):
    import time
    start = time.perf_counter()
    import sclero_analysis as sa
    from sclero_analysis.studies import StudyDesign, run_chunk
    design = StudyDesign(sa.RegistryDesign(n_patients=patients), n_reps=reps, chunk_size=chunk)
    imported = time.perf_counter()
    run_chunk(design, 0, 0, chunk)
    first = time.perf_counter()
    run_chunk(design, 0, chunk, 2 * chunk)
    second = time.perf_counter()
    return {{"import": imported - start, "first": first - imported, "second": second - first}}

executor = get_reusable_executor(max_workers=1)
times = executor.submit(chunks, {patients}, {reps}, {chunk}).result()
start = time.perf_counter()
import sclero_analysis as sa
from sclero_analysis.studies import StudyDesign, run_study
run_study(StudyDesign(sa.RegistryDesign(n_patients={patients}), n_reps={reps}, chunk_size={chunk}),
          n_jobs=2, progress=False)
times["study_n_jobs_2"] = time.perf_counter() - start
print(json.dumps(times))
"""


def run(script: str, cache: str) -> dict:
    """Run ``script`` in a new process with ``NUMBA_CACHE_DIR=cache``; return its JSON line."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                         env=env, check=False)
    if out.returncode:
        raise RuntimeError(out.stderr)
    sys.stderr.write(out.stderr)  # the one-line compile message, if any
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Print first-use, warm and worker timings (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--patients", type=int, default=200)
    args = parser.parse_args()
    chunk = min(100, max(args.reps // 2, 1))
    sizes = {"patients": args.patients, "reps": args.reps, "chunk": chunk}
    with tempfile.TemporaryDirectory(prefix="sclero-numba-") as cache:
        cold = run(STUDY.format(**sizes), cache)
        warm = run(STUDY.format(**sizes), cache)
        worker = run(WORKER.format(**sizes), cache)
    first_use = cold["import"] + cold["first"]
    allowed = 3 * cold["second"] + 3
    print(f"Registry study: {args.reps} replicates at n = {args.patients} (chunks of {chunk}), "
          "NUMBA_CACHE_DIR a new temporary folder")
    print(f"1. fresh cache:         import {cold['import']:6.2f} s + first run_study {cold['first']:6.2f} s"
          f" = {first_use:6.2f} s; second run_study {cold['second']:6.2f} s")
    print(f"2. warm cache, new process: import {warm['import']:6.2f} s + first run_study "
          f"{warm['first']:6.2f} s = {warm['import'] + warm['first']:6.2f} s; second {warm['second']:6.2f} s")
    verdict = "met" if first_use <= allowed else "NOT met"
    print(f"3. target first use <= 3 x second + 3 s = {allowed:.2f} s: {verdict} "
          f"(first use / second = {first_use / cold['second']:.1f}x)")
    print(f"4. a fresh loky worker (cache filled by the parent): import {worker['import']:6.2f} s, first "
          f"chunk of {chunk} {worker['first']:6.2f} s, second chunk {worker['second']:6.2f} s; "
          f"run_study(n_jobs=2) in a new process {worker['study_n_jobs_2']:6.2f} s")


if __name__ == "__main__":
    main()

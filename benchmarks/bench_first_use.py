"""Benchmark: the first registry study after a fresh install, with shipped or freshly compiled kernels.

Run: .venv/bin/python benchmarks/bench_first_use.py [--reps 200] [--patients 200]

Every measurement runs in a new Python process whose ``NUMBA_CACHE_DIR`` points at a temporary
folder, empty at first (a fresh install: nothing compiled yet). Prints:

1. Fresh cache: the import of the study modules and the first ``run_study`` (one scenario,
   ``--reps`` replicates at ``--patients`` patients, naive and IPTW Cox, the default truth),
   then the second ``run_study`` in the same process; twice: (a) with the kernels the package
   ships (a fresh install on a platform, Python and Numba they were compiled for: loaded, not
   compiled), (b) with them ignored (``SCLERO_ANALYSIS_SHIPPED_KERNELS=0``: compiled on this
   machine, as on any other platform).
2. Warm cache, new process: the same two calls (what every later session pays).
3. The target, for (a) and (b): first use (import + first call, fresh cache) at most 3 × the
   second call + 3 s, and the first call alone against the same bound.
4. A worker's first call (``n_jobs=2``): a fresh joblib/loky worker, started after the parent
   filled the cache, imports the study modules and runs its first and second chunk of
   ``chunk_size`` replicates; then a whole ``run_study(n_jobs=2)`` in a new process (warm cache).

Times are wall-clock seconds with CPU seconds in brackets: the process's own plus those of
the helper processes that compiled kernels for it (so compiling on several cores shortens the
wall-clock time, not the CPU time). On a shared machine the CPU time is the steadier measure of
the work done (the target is checked on both); the machine's load average is printed. Each line
also counts the one-line compile messages: one in the fresh process, none afterwards (a warm
process or a pool worker loads the kernels from the cache).
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
import json, os, sys, time

def cpu():  # this process and the finished processes it started (those compiling kernels for it)
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system

def helpers():
    t = os.times()
    return t.children_user + t.children_system

clock = [(time.perf_counter(), cpu())]
import sclero_analysis as sa
from sclero_analysis.studies import StudyDesign, run_study
design = StudyDesign(sa.RegistryDesign(n_patients={patients}), n_reps={reps}, chunk_size={chunk})
clock.append((time.perf_counter(), cpu()))
run_study(design, progress=False)
clock.append((time.perf_counter(), cpu()))
run_study(design, progress=False)
clock.append((time.perf_counter(), cpu()))
times = {{}}
for i, name in enumerate(("import", "first", "second")):
    times[name] = clock[i + 1][0] - clock[i][0]
    times[name + "_cpu"] = clock[i + 1][1] - clock[i][1]
times["helpers_cpu"] = helpers()
print(json.dumps(times))
"""

WORKER = """
import json, time
from joblib.externals.loky import get_reusable_executor

def chunks(patients, reps, chunk):
    import time
    clock = [(time.perf_counter(), time.process_time())]
    import sclero_analysis as sa
    from sclero_analysis.studies import StudyDesign, run_chunk
    design = StudyDesign(sa.RegistryDesign(n_patients=patients), n_reps=reps, chunk_size=chunk)
    clock.append((time.perf_counter(), time.process_time()))
    run_chunk(design, 0, 0, chunk)
    clock.append((time.perf_counter(), time.process_time()))
    run_chunk(design, 0, chunk, 2 * chunk)
    clock.append((time.perf_counter(), time.process_time()))
    times = {{}}
    for i, name in enumerate(("import", "first", "second")):
        times[name] = clock[i + 1][0] - clock[i][0]
        times[name + "_cpu"] = clock[i + 1][1] - clock[i][1]
    return times

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


MESSAGE = "compiling sclero_analysis kernels"


def run(script: str, cache: str, **extra: str) -> dict:
    """Run ``script`` in a new process with ``NUMBA_CACHE_DIR=cache`` (and ``extra``); return its JSON line.

    ``compiled`` counts the compile messages on its stderr (a pool worker's included).
    """
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONWARNINGS": "ignore", **extra}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                         env=env, check=False)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "compiled": out.stderr.count(MESSAGE)}


def main() -> None:
    """Print first-use, warm and worker timings (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--patients", type=int, default=200)
    args = parser.parse_args()
    chunk = min(100, max(args.reps // 2, 1))
    sizes = {"patients": args.patients, "reps": args.reps, "chunk": chunk}
    with tempfile.TemporaryDirectory(prefix="sclero-numba-") as cache:
        shipped = run(STUDY.format(**sizes), cache)
    with tempfile.TemporaryDirectory(prefix="sclero-numba-") as cache:
        cold = run(STUDY.format(**sizes), cache, SCLERO_ANALYSIS_SHIPPED_KERNELS="0")
        warm = run(STUDY.format(**sizes), cache, SCLERO_ANALYSIS_SHIPPED_KERNELS="0")
        worker = run(WORKER.format(**sizes), cache, SCLERO_ANALYSIS_SHIPPED_KERNELS="0")
    print(f"Registry study: {args.reps} replicates at n = {args.patients} (chunks of {chunk}), "
          f"NUMBA_CACHE_DIR a new temporary folder; {_cores()} cores, load average {os.getloadavg()[0]:.1f}; "
          "seconds wall-clock [CPU of the process and its compiling helpers]")
    fits = "shipped kernels" if not shipped["compiled"] else "shipped kernels do not fit here, compiled"
    runs = ((f"1a. fresh cache, {fits}", shipped), ("1b. fresh cache, compiled here", cold),
            ("2. warm cache, new process", warm))
    for label, t in runs:
        print(f"{label}: import {_pair(t, 'import')} + first run_study {_pair(t, 'first')} = "
              f"{t['import'] + t['first']:.2f} [{t['import_cpu'] + t['first_cpu']:.2f}, of which compiling "
              f"helpers {t['helpers_cpu']:.2f}]; "
              f"second run_study {_pair(t, 'second')}; compile messages: {t['compiled']}")
    for label, t in ((fits, shipped), ("compiled here", cold)):
        for clock, key in (("wall-clock", ""), ("CPU", "_cpu")):
            first, second = t["first" + key], t["second" + key]
            first_use = t["import" + key] + first
            allowed = 3 * second + 3
            print(f"3. target, {label} ({clock}): first use (import + first call) {first_use:.2f} s "
                  f"<= 3 x second + 3 s = {allowed:.2f} s: {'met' if first_use <= allowed else 'NOT met'}; "
                  f"first call alone {first:.2f} s: {'met' if first <= allowed else 'NOT met'} "
                  f"({first / second:.1f}x the second)")
    print(f"4. a fresh loky worker (cache filled by the parent): import {_pair(worker, 'import')}, "
          f"first chunk of {chunk} {_pair(worker, 'first')}, second chunk {_pair(worker, 'second')}; "
          f"run_study(n_jobs=2) in a new process {worker['study_n_jobs_2']:.2f}; compile messages "
          f"(parent and workers): {worker['compiled']}")


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _pair(times: dict, name: str) -> str:
    return f"{times[name]:.2f} [{times[name + '_cpu']:.2f}]"


if __name__ == "__main__":
    main()

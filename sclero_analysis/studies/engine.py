"""``run_study``: simulate and analyse every replicate, in chunks, serially, with joblib or on Dask.

A task is one chunk of replicates of one scenario. Each replicate draws from its own
``SeedSequence(seed, spawn_key=(scenario, replicate))`` and every batched sum runs in row order,
so the result is the same to the last digit whatever ``n_jobs``, backend or chunking. With
``checkpoint=`` every finished chunk is written (Parquet, atomically) as it completes; a rerun of
the same design reads them back instead of recomputing, so an interrupted study resumes.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from sclero_analysis._compiled import ready_kernels
from sclero_analysis.studies.chunk import run_chunk, run_task
from sclero_analysis.studies.design import StudyDesign
from sclero_analysis.studies.estimands import scenario_truth
from sclero_analysis.studies.result import StudyResult


class _Truths:
    """Each scenario's truth, computed once, when this process has the time (see ``run_study``)."""

    def __init__(self, design: StudyDesign, analyses: list) -> None:
        self.design, self.analyses, self.values = design, analyses, None

    def compute(self) -> list[dict]:
        """Return the truths (computing them on the first call)."""
        if self.values is None:
            self.values = [scenario_truth(self.design, j, self.analyses)
                           for j in range(len(self.design.scenarios()))]
        return self.values


# ----------------------------------------------------------------------------- checkpoint

def _chunk_path(folder: Path, scenario: int, first: int) -> Path:
    return folder / f"scenario{scenario:03d}_rep{first:07d}.parquet"


def _open_checkpoint(folder: Path, design: StudyDesign) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "study.json"
    fingerprint = design.fingerprint()
    if stamp.exists():
        saved = json.loads(stamp.read_text())
        if saved.get("fingerprint") != fingerprint:
            raise ValueError(f"checkpoint {folder} belongs to another study design; "
                             "use a new folder or delete it")
        return
    _atomic_write_text(stamp, json.dumps({"fingerprint": fingerprint, "design": design.as_dict()},
                                         indent=1, default=str))


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_chunk(path: Path, table: pd.DataFrame) -> None:
    tmp = path.with_name(path.name + ".tmp")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)  # a chunk file exists only complete: Ctrl-C leaves no half file


# ----------------------------------------------------------------------------- execution

def _serial(design, tasks, analyses) -> Iterator[tuple[tuple, pd.DataFrame]]:
    for task in tasks:
        yield task, run_chunk(design, *task, analyses=analyses)


def _shared(design, tasks, analyses, n_jobs, idle) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """Share the chunks between this process and ``n_jobs`` − 1 workers of joblib's reusable pool.

    Each worker is kept fed with one chunk at a time from the front of the queue (the next is
    sent as one finishes); this process takes chunks from the back whenever it is free, and
    calls ``idle()`` (the truths) once there is none left to take. So the work starts at once,
    even while a cold pool's workers are still importing the scientific stack, and no core
    idles when they are warm. Results come as they finish.
    """
    from joblib import effective_n_jobs
    from joblib.executor import get_memmapping_executor

    workers = min(effective_n_jobs(n_jobs), len(tasks)) - 1
    if workers < 1:
        return _serial(design, tasks, analyses)
    # joblib's own factory of loky's process-wide reusable pool: a bare loky pool left behind
    # here broke every later joblib.Parallel of the session (it lacks joblib's temp-folder manager)
    executor = get_memmapping_executor(workers)
    pending, finished, lock, futures = deque(tasks), queue.Queue(), threading.Lock(), []

    def send_next(_done=None) -> None:
        with lock:
            if not pending:
                return
            task = pending.popleft()
            try:
                future = executor.submit(run_task, design, task, analyses)
            except Exception:  # a broken pool: the chunk goes back, this process computes it
                pending.appendleft(task)
                return
            futures.append((future, task))
        future.add_done_callback(finished.put)
        future.add_done_callback(send_next)

    for _ in range(workers):
        send_next()
    return _drain(design, tasks, analyses, pending, finished, lock, futures, idle, executor)


def _drain(design, tasks, analyses, pending, finished, lock, futures, idle,
           executor) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """Yield the workers' chunks as they arrive and this process's own, until every chunk is in.

    Stopped early (an error, Ctrl-C, the caller closing the generator), the pool's workers are
    stopped too: they would go on with chunks nobody reads, and the next study gets a new pool.
    """
    remaining = len(tasks)
    try:
        while remaining:
            try:
                future = finished.get_nowait()
            except queue.Empty:
                with lock:
                    task = pending.pop() if pending else None
                if task is not None:
                    remaining -= 1
                    yield task, run_chunk(design, *task, analyses=analyses)
                    continue
                if idle is not None:  # nothing left to take: the truths, while the workers finish
                    idle()
                    idle = None
                    continue
                try:  # nothing left to do: wait for a worker
                    future = finished.get(timeout=0.05)
                except queue.Empty:
                    task = _steal(futures)
                    if task is not None:
                        remaining -= 1
                        yield task, run_chunk(design, *task, analyses=analyses)
                    continue
            if future.cancelled():  # stolen above: this process computed its chunk
                continue
            remaining -= 1
            yield future.result()
    finally:  # done, an error or Ctrl-C: chunks not yet sent are dropped, queued ones cancelled
        with lock:
            pending.clear()
        for future, _task in futures:
            future.cancel()
        if remaining:
            executor.shutdown(wait=False, kill_workers=True)


def _steal(futures) -> tuple | None:
    """Take back a chunk the pool has not started (its future cancelled), or None.

    This process is idle, so computing the chunk here is never slower; it also finishes a study
    whose pool stopped taking work (a worker killed by Ctrl-C, a pool shut down by another
    caller), where the chunk would otherwise wait forever.
    """
    for future, task in futures:
        if not future.done() and future.cancel():
            return task
    return None


def _dask(design, tasks, analyses, client, idle) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """Submit the chunks to the cluster now, ``idle()`` (the truths) here meanwhile; results as they come."""
    futures = [client.submit(run_task, design, task, analyses, pure=False) for task in tasks]
    return _completed(futures, client, idle)


def _completed(futures, client, idle) -> Iterator[tuple[tuple, pd.DataFrame]]:
    from distributed import as_completed

    try:
        idle()
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.cancel([f for f in futures if not f.done()])


def run_study(
    design: StudyDesign,
    n_jobs: int = 1,
    client=None,
    progress: bool = True,
    checkpoint: str | Path | None = None,
) -> StudyResult:
    """Run a registry study: every scenario × replicate × analysis, summarised ADEMP-style.

    Parameters
    ----------
    design : StudyDesign
    n_jobs : int
        Processes computing chunks, this one included: it works alongside ``n_jobs`` − 1
        workers of joblib's reusable pool (-1 = all cores, as joblib counts). 1 runs
        everything in this process.
    client : dask.distributed.Client, optional
        Send chunks to a Dask cluster instead (``n_jobs`` is then ignored).
    progress : bool
        A tqdm bar over chunks.
    checkpoint : str or Path, optional
        Folder for finished chunks (Parquet); rerunning the same design resumes from it.

    Returns
    -------
    StudyResult
        ``.replicates`` (one row per scenario × replicate × analysis), ``.summary`` (ADEMP
        performance with Monte Carlo SEs), ``.truth`` per scenario, ``.plot()``.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> design = sa.StudyDesign(sa.RegistryDesign(n_patients=100), n_reps=4, chunk_size=2,
    ...                         truth_patients=500)
    >>> res = sa.run_study(design, progress=False)
    >>> res.replicates.shape[0]
    8
    """
    analyses = design.get_analyses()
    tasks = design.chunks()
    done: dict[tuple, pd.DataFrame] = {}
    folder = Path(checkpoint) if checkpoint is not None else None
    if folder is not None:
        _open_checkpoint(folder, design)
        for task in tasks:
            path = _chunk_path(folder, task[0], task[1])
            if path.exists():
                done[task] = pd.read_parquet(path)
    todo = [task for task in tasks if task not in done]
    bar = tqdm(total=len(tasks), initial=len(done), disable=not progress, desc="chunks", unit="chunk")
    truths = _Truths(design, analyses)
    if client is not None or (n_jobs != 1 and len(todo) > 1):
        ready_kernels()  # loaded or compiled here before the workers start: they load them (one compiled
        # on demand, the Cox fit beyond 4 covariates, waits for its first call, in a worker)
    if client is not None:
        runner = _dask(design, todo, analyses, client, truths.compute)
    elif n_jobs != 1 and len(todo) > 1:
        runner = _shared(design, todo, analyses, n_jobs, truths.compute)
    else:
        runner = _serial(design, todo, analyses)
    try:
        for task, table in runner:
            done[tuple(task)] = table
            if folder is not None:
                _write_chunk(_chunk_path(folder, task[0], task[1]), table)
            bar.update(1)
    finally:
        bar.close()
        runner.close()  # on an error or Ctrl-C: chunks still queued are cancelled
    replicates = pd.concat([done[task] for task in tasks], ignore_index=True)
    order = replicates["analysis"].map({a: i for i, a in enumerate(design.analyses)})
    replicates = replicates.assign(_order=order).sort_values(
        ["scenario", "_order", "replicate"], kind="stable").drop(columns="_order").reset_index(drop=True)
    return StudyResult(design, replicates, truths.compute(), analyses)

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
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from sclero_analysis.studies.analyses import Analysis, LinesBatch
from sclero_analysis.studies.design import StudyDesign
from sclero_analysis.studies.fastpath import simulate_lines
from sclero_analysis.studies.result import REPLICATE_COLUMNS, StudyResult
from sclero_analysis.synthetic.pathway import TIER_NAMES
from sclero_analysis.synthetic.simulate import simulate_registry

TRUTH_LINES_PER_TIER = 100_000


def scenario_truth(design: StudyDesign, scenario: int) -> dict:
    """Compute the true estimands of one scenario, from a large registry of its design (once per scenario)."""
    registry = design.registry_design(scenario).replace(n_patients=design.truth_patients)
    rng = np.random.default_rng(design.truth_seed(scenario))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = simulate_registry(registry, rng, validate=False, truth_lines_per_tier=TRUTH_LINES_PER_TIER)
    return {k: v for k, v in cs.truth.items() if k != "design"}


def _frame_rows(analysis: Analysis, replicates, contrast: str) -> list[dict]:
    rows = []
    for lines in replicates:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = dict(analysis.function(lines.to_frame(), contrast))
                error = ""
            except Exception as exc:  # one replicate's failure is recorded, the study goes on
                out, error = {}, f"{type(exc).__name__}: {exc}"
        out.setdefault("converged", not error and np.isfinite(out.get("p", np.nan)))
        rows.append({**out, "error": error,
                     "warnings": "; ".join(sorted({str(w.message)[:200] for w in caught}))})
    return rows


def _batched_rows(analysis: Analysis, replicates, contrast: int) -> list[dict]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = analysis.function(LinesBatch.from_lines(replicates), contrast)
            error = ""
        except Exception as exc:
            out, error = {}, f"{type(exc).__name__}: {exc}"
    message = "; ".join(sorted({str(w.message)[:200] for w in caught}))
    if error:
        return [{"error": error, "warnings": message, "converged": False} for _ in replicates]
    keys = [k for k in ("estimate", "se", "p", "lower", "upper", "converged") if k in out]
    return [{**{k: out[k][i] for k in keys}, "error": "", "warnings": message}
            for i in range(len(replicates))]


def run_chunk(design: StudyDesign, scenario: int, first: int, end: int,
              analyses: list[Analysis] | None = None) -> pd.DataFrame:
    """Simulate replicates ``first..end-1`` of one scenario and run every analysis on them."""
    analyses = analyses if analyses is not None else design.get_analyses()
    registry = design.registry_design(scenario)
    replicates = [simulate_lines(registry, np.random.default_rng(design.replicate_seed(scenario, i)))
                  for i in range(first, end)]
    z = stats.norm.ppf(1 - design.alpha / 2)
    contrast_code = TIER_NAMES.index(design.contrast)
    tables = []
    for analysis in analyses:
        if analysis.kind == "batched":
            rows = _batched_rows(analysis, replicates, contrast_code)
        else:
            rows = _frame_rows(analysis, replicates, design.contrast)
        table = pd.DataFrame(rows)
        for column in ("estimate", "se", "p", "lower", "upper"):
            table[column] = pd.to_numeric(table[column], errors="coerce") if column in table else np.nan
        table["lower"] = table["lower"].fillna(table["estimate"] - z * table["se"])
        table["upper"] = table["upper"].fillna(table["estimate"] + z * table["se"])
        table["converged"] = table["converged"].fillna(False).astype(bool) & table["error"].eq("")
        table.insert(0, "analysis", analysis.name)
        table.insert(0, "replicate", np.arange(first, end))
        table.insert(0, "scenario", scenario)
        table["n_lines"] = [len(r) for r in replicates]
        tables.append(table[list(REPLICATE_COLUMNS)])
    return pd.concat(tables, ignore_index=True)


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


def _joblib(design, tasks, analyses, n_jobs) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """Start the chunks on joblib's (reusable) worker pool now; results as they finish."""
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    return parallel(delayed(_tagged)(design, task, analyses) for task in tasks)


def _tagged(design, task, analyses):
    return task, run_chunk(design, *task, analyses=analyses)


def _dask(design, tasks, analyses, client) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """Submit the chunks to the cluster now; results as they finish."""
    futures = [client.submit(_tagged, design, task, analyses, pure=False) for task in tasks]
    return _completed(futures, client)


def _completed(futures, client) -> Iterator[tuple[tuple, pd.DataFrame]]:
    from distributed import as_completed

    try:
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
        Local worker processes (joblib; -1 = all cores). 1 runs in this process.
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
    if client is not None:
        runner = _dask(design, todo, analyses, client)
    elif n_jobs != 1 and len(todo) > 1:
        runner = _joblib(design, todo, analyses, n_jobs)
    else:
        runner = _serial(design, todo, analyses)
    try:
        # workers (if any) already run the chunks: the truths are computed here meanwhile
        truths = [scenario_truth(design, j) for j in range(len(design.scenarios()))]
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
    return StudyResult(design, replicates, truths, analyses)

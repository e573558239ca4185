"""One task of a registry study: simulate a chunk of replicates and run every analysis on it.

This is all a worker process needs, so its imports stay light: the simulator's fast path and
the batched fits, not the truth, plotting or validation code (:mod:`engine` schedules the
tasks in the main process).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import special

from sclero_analysis.studies.analyses import Analysis, LinesBatch
from sclero_analysis.studies.design import StudyDesign
from sclero_analysis.studies.fastpath import simulate_lines
from sclero_analysis.synthetic.pathway import TIER_NAMES

REPLICATE_COLUMNS = ("scenario", "replicate", "analysis", "estimate", "se", "lower", "upper", "p",
                     "converged", "failure", "error", "warnings", "n_lines")


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
    keys = [k for k in ("estimate", "se", "p", "lower", "upper", "converged", "failure") if k in out]
    return [{**{k: out[k][i] for k in keys}, "error": "", "warnings": message}
            for i in range(len(replicates))]


def failure_reasons(table: pd.DataFrame, has_estimand: bool) -> pd.Series:
    """Why each replicate of one analysis failed ("" where it is usable).

    In order: the error raised, the analysis's own reason (``failure``), no convergence, no
    finite p-value, and (for an analysis with an estimand) no finite estimate or SE.
    """
    given = table["failure"].fillna("").astype(str) if "failure" in table else pd.Series("", table.index)
    checks = [(table["error"] != "", table["error"].str.slice(0, 160)),
              (given != "", given),
              (~table["converged"], pd.Series("no convergence", table.index)),
              (~np.isfinite(table["p"]), pd.Series("no finite p-value", table.index))]
    if has_estimand:
        finite = np.isfinite(table["estimate"]) & np.isfinite(table["se"])
        checks.append((~finite, pd.Series("no finite estimate or SE", table.index)))
    reason = pd.Series("", table.index, dtype=object)
    for failed, why in reversed(checks):  # the first check that fails gives the reason
        reason = reason.mask(failed.to_numpy(bool), why)
    return reason


def run_chunk(design: StudyDesign, scenario: int, first: int, end: int,
              analyses: list[Analysis] | None = None) -> pd.DataFrame:
    """Simulate replicates ``first..end-1`` of one scenario and run every analysis on them."""
    analyses = analyses if analyses is not None else design.get_analyses()
    registry = design.registry_design(scenario)
    replicates = [simulate_lines(registry, np.random.default_rng(design.replicate_seed(scenario, i)))
                  for i in range(first, end)]
    z = special.ndtri(1 - design.alpha / 2)  # the normal quantile
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
        table["failure"] = failure_reasons(table, analysis.estimand is not None)
        table.insert(0, "analysis", analysis.name)
        table.insert(0, "replicate", np.arange(first, end))
        table.insert(0, "scenario", scenario)
        table["n_lines"] = [len(r) for r in replicates]
        tables.append(table[list(REPLICATE_COLUMNS)])
    return pd.concat(tables, ignore_index=True)


def run_task(design: StudyDesign, task: tuple, analyses: list[Analysis]) -> tuple[tuple, pd.DataFrame]:
    """Run one chunk ``task = (scenario, first, end)`` and return it with its table (a worker's job)."""
    return task, run_chunk(design, *task, analyses=analyses)

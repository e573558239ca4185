"""The analyses a registry study runs per replicate: a registry of named, extensible functions.

Two kinds:

* **batched** — ``fn(batch: LinesBatch, contrast: int) -> dict`` of arrays (one value per
  replicate of the batch): ``estimate, se, p, converged`` (``lower, upper`` optional). The
  built-in Cox analyses are batched (:mod:`~sclero_analysis.studies.batched_cox`).
* **frame** — ``fn(df: DataFrame, contrast: str) -> dict`` of numbers for one replicate, where
  ``df`` has :func:`~sclero_analysis.relapse_frame`'s column names. Any function of the library
  (or the user's own) fits here.

Each analysis names the estimand its model estimates, the truth its bias and coverage are
scored against:

* a function ``estimand(truth, contrast) -> float`` of the generator's counterfactual truth of
  a cohort (:func:`~sclero_analysis.synthetic.truth.counterfactual_truth`): the marginal log HR
  (naive and IPTW Cox: what they estimate without confounding, and what a correct marginal
  analysis estimates with it), the RMST difference;
* ``WORKING_MODEL``: the same analysis fitted to large simulated registries (``adjusted_cox``:
  a Cox model without the generator's site frailty and IVIG-stop hazard estimates neither the
  generator's conditional log HR nor the marginal one, but its own large-sample limit);
* None: no estimand, power only (log-rank, Fine–Gray).

A batched analysis may return ``failure``: per replicate, why it failed ("" where it did not),
so that a study can say why fits failed (:class:`~sclero_analysis.studies.StudyResult`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from sclero_analysis.studies.batched_cox import fit_cox_batched
from sclero_analysis.studies.batched_logit import MIN_SCORE, fit_multinomial_batched
from sclero_analysis.studies.fastpath import Lines
from sclero_analysis.synthetic.pathway import TIER_NAMES

#: Confounders of the adjusted and propensity models (complete cases on mRSS).
CONFOUNDERS = ("age", "mrss", "neuro", "cardiac")
RMST_TAU_MONTHS = 36.0
#: An analysis's estimand when it is the same analysis fitted to large simulated registries.
WORKING_MODEL = "working_model"
#: Why a replicate's fit failed (the ``failure`` of a batched analysis).
TOO_SMALL = "tier too small for the propensity model"
SEPARATION = "separation in the propensity model"
PS_NOT_CONVERGED = "propensity model did not converge"
NO_CONTRAST_LINES = "no complete-case line in the contrast tier"
NO_RELAPSE = "a tier without relapse (monotone likelihood, no finite estimate)"
COX_NOT_CONVERGED = "Cox model did not converge"
NO_SE = "no finite standard error"


@dataclass(frozen=True)
class LinesBatch:
    """Several replicates' lines, padded to a common length (``mask`` marks real rows)."""

    time_months: np.ndarray
    event: np.ndarray
    tier: np.ndarray
    patient: np.ndarray
    covariates: np.ndarray  # (B, n, 4): age, mrss, neuro, cardiac
    mask: np.ndarray  # real rows
    complete: np.ndarray  # real rows with every confounder recorded

    @classmethod
    def from_lines(cls, replicates: Sequence[Lines]) -> LinesBatch:
        """Pad replicates' arrays to the longest (padding rows are masked out)."""
        b, n = len(replicates), max((len(r) for r in replicates), default=0)
        out = {name: np.zeros((b, n), dtype) for name, dtype in
               (("time_months", float), ("event", int), ("tier", int), ("patient", int))}
        cov = np.zeros((b, n, len(CONFOUNDERS)))
        mask = np.zeros((b, n), bool)
        for i, r in enumerate(replicates):
            k = len(r)
            for name in out:
                out[name][i, :k] = getattr(r, name)
            cov[i, :k] = np.column_stack([r.age, r.mrss, r.neuro, r.cardiac])
            mask[i, :k] = True
        complete = mask & np.all(np.isfinite(cov), axis=2)
        return cls(**out, covariates=np.where(np.isfinite(cov), cov, 0.0), mask=mask, complete=complete)

    def tier_dummies(self) -> np.ndarray:
        """(B, n, 3) indicators of the non-reference tiers."""
        return (self.tier[:, :, None] == np.arange(1, len(TIER_NAMES))).astype(float)


def _wald(coef: np.ndarray, se: np.ndarray, converged: np.ndarray) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * special.ndtr(-np.abs(coef / se))  # two-sided normal p-value
    return {"estimate": coef, "se": se, "p": p, "converged": converged & np.isfinite(se)}


def _cox_failures(batch: LinesBatch, contrast: int, usable: np.ndarray, converged: np.ndarray) -> np.ndarray:
    """Why each unusable Cox fit failed ("" where the fit is usable)."""
    levels = (batch.tier[:, :, None] == np.arange(len(TIER_NAMES))) & batch.complete[:, :, None]
    lines = levels.sum(axis=1)
    relapses = (levels & (batch.event == 1)[:, :, None]).sum(axis=1)
    no_relapse = np.any((lines > 0) & (relapses == 0), axis=1)  # monotone likelihood
    reasons = np.select([lines[:, contrast] == 0, no_relapse, ~converged],
                        [NO_CONTRAST_LINES, NO_RELAPSE, COX_NOT_CONVERGED], NO_SE)
    return np.where(usable, "", reasons).astype(object)


def _cox(batch: LinesBatch, contrast: int, x: np.ndarray, weight=None, cluster=None) -> dict:
    fit = fit_cox_batched(batch.time_months, batch.event == 1, x, weight=weight, mask=batch.complete,
                          cluster=cluster)
    column = contrast - 1
    out = _wald(fit.coef[:, column], fit.se[:, column], fit.converged)
    usable = out["converged"] & np.isfinite(out["estimate"])
    out["failure"] = _cox_failures(batch, contrast, usable, fit.converged)
    return out


def naive_cox(batch: LinesBatch, contrast: int) -> dict:
    """Cox on the tier alone (complete cases): the crude, confounded log HR."""
    return _cox(batch, contrast, batch.tier_dummies())


def adjusted_cox(batch: LinesBatch, contrast: int) -> dict:
    """Cox on tier + age + mRSS + neuro + cardiac: a conditional log HR of this working model.

    It lacks the generator's site frailty and its IVIG-stop hazard, so it estimates neither the
    generator's conditional log HR nor the marginal one: studies score it against its own
    large-sample value (``WORKING_MODEL``).
    """
    return _cox(batch, contrast, np.concatenate([batch.tier_dummies(), batch.covariates], axis=2))


def stabilized_weights(batch: LinesBatch) -> tuple[np.ndarray, np.ndarray]:
    """Stabilised ATE weights from the multinomial propensity model, and whether it is usable.

    Not usable (the replicate's IPTW fit is counted as failed): no convergence (e.g.
    separation), or a tier with fewer lines than covariates + 2, where
    :func:`sclero_analysis.propensity` refuses to fit (:func:`propensity_failures` says which).
    """
    weights, usable, _ = _propensity(batch)
    return weights, usable


def propensity_failures(batch: LinesBatch) -> np.ndarray:
    """Why each replicate's propensity model is not usable ("" where it is).

    ``TOO_SMALL`` (a tier with fewer complete lines than covariates + 2), ``SEPARATION`` (no
    convergence with a fitted probability at the floor, near 0) or ``PS_NOT_CONVERGED``.
    """
    return _propensity(batch)[2]


def _propensity(batch: LinesBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = len(TIER_NAMES)
    scores, converged = fit_multinomial_batched(batch.covariates, batch.tier, k, batch.complete)
    own = np.take_along_axis(scores, batch.tier[:, :, None], axis=2)[:, :, 0]
    counts = (batch.tier[:, :, None] == np.arange(k)) & batch.complete[:, :, None]
    share = counts.sum(axis=1) / np.maximum(batch.complete.sum(axis=1), 1)[:, None]
    own_share = np.take_along_axis(share, batch.tier, axis=1)
    weights = np.where(batch.complete, own_share / np.where(own > 0, own, 1.0), 0.0)
    n_level = counts.sum(axis=1)
    too_small = np.any((n_level > 0) & (n_level < len(CONFOUNDERS) + 2), axis=1)  # as propensity()
    floor = np.any(batch.complete[:, :, None] & (scores > 0) & (scores <= MIN_SCORE), axis=(1, 2))
    reasons = np.select([too_small, converged, floor], [TOO_SMALL, "", SEPARATION], PS_NOT_CONVERGED)
    return weights, converged & ~too_small, reasons.astype(object)


def iptw_cox(batch: LinesBatch, contrast: int) -> dict:
    """Cox on the tier weighted by stabilised ATE weights, robust SE clustered on patient."""
    weights, ps_ok, ps_failure = _propensity(batch)
    out = _cox(batch, contrast, batch.tier_dummies(), weight=weights, cluster=batch.patient)
    out["converged"] = out["converged"] & ps_ok
    out["failure"] = np.where(ps_ok, out["failure"], ps_failure)
    return out


# _frame_estimators: the per-replicate (frame) analyses import the library's estimators when
# first run, not with this module, so a worker process that runs only the batched analyses never
# loads the survival package (and its plotting): its start-up is part of every study's wait.

def _two_tiers(df: pd.DataFrame, contrast: str) -> pd.DataFrame:
    rows = df[df["tier"].isin([TIER_NAMES[0], contrast])]
    return rows.assign(tier=rows["tier"].cat.remove_unused_categories())


def logrank_test(df: pd.DataFrame, contrast: str) -> dict:
    """Log-rank test of the contrast tier vs IVIG (power only: no estimand)."""
    from sclero_analysis.survival import logrank  # loaded on first use (see _frame_estimators)

    test = logrank(_two_tiers(df, contrast))
    return {"estimate": np.nan, "se": np.nan, "p": test.p_value}


def fine_gray(df: pd.DataFrame, contrast: str) -> dict:
    """Fine–Gray log subdistribution HR of relapse, death competing (power only)."""
    from sclero_analysis.survival import fit_fine_gray  # loaded on first use (see _frame_estimators)

    fit = fit_fine_gray(_two_tiers(df, contrast), "tier")
    row = fit.summary.loc[f"tier[{contrast}]"]
    return {"estimate": row["coef"], "se": row["se"], "p": row["p"]}


def rmst_difference(df: pd.DataFrame, contrast: str) -> dict:
    """RMST to 36 months, contrast tier minus IVIG (Kaplan–Meier, survRM2's variance)."""
    from sclero_analysis.survival import rmst  # loaded on first use (see _frame_estimators)

    result = rmst(_two_tiers(df, contrast), tau=RMST_TAU_MONTHS)
    row = result.differences.iloc[0]
    return {"estimate": row["difference"], "se": row["se"], "p": row["p"],
            "lower": row["lower"], "upper": row["upper"]}


def _marginal(truth: dict, contrast: str) -> float:
    """Marginal log HR of relapse vs IVIG (counterfactual, cause-specific)."""
    return float(truth["marginal_log_hr"].get(contrast, np.nan))


def _rmst_truth(truth: dict, contrast: str) -> float:
    """RMST of relapse-free time to 36 months vs IVIG (counterfactual, net of death)."""
    rmst = truth["rmst_36"]
    return float(rmst.get(contrast, np.nan) - rmst.get(TIER_NAMES[0], np.nan))


Estimand = Callable[[dict, str], float] | Literal["working_model"] | None


def estimand_label(estimand: Estimand) -> str:
    """Say in words what an analysis is scored against (the summary's ``estimand`` column)."""
    if estimand is None:
        return "none: power only"
    if isinstance(estimand, str):
        return "working model: the same analysis on large simulated registries"
    doc = (getattr(estimand, "__doc__", None) or "").strip().splitlines()
    return doc[0].rstrip(".") if doc else getattr(estimand, "__name__", "estimand")


@dataclass(frozen=True)
class Analysis:
    """A named analysis: its function, kind and estimand (see the module docstring)."""

    name: str
    function: Callable
    kind: Literal["batched", "frame"]
    estimand: Estimand
    description: str = ""

    @property
    def estimand_label(self) -> str:
        """What bias and coverage are computed against, in words."""
        return estimand_label(self.estimand)


ANALYSES: dict[str, Analysis] = {}


def register_analysis(name: str, function: Callable, kind: Literal["batched", "frame"] = "frame",
                      estimand: Estimand = None, description: str = "", replace: bool = False) -> Analysis:
    """Add an analysis that studies can name.

    Parameters
    ----------
    name : str
    function : callable
        ``frame``: ``fn(df, contrast) -> {"estimate", "se", "p"[, "lower", "upper"]}`` for one
        replicate; ``batched``: the same keys as arrays over a :class:`LinesBatch` (plus
        ``converged`` and optionally ``failure``, the reason of each failed fit).
    kind : {"frame", "batched"}
    estimand : callable, "working_model" or None
        ``estimand(truth, contrast) -> float``: the true value the estimate targets, from a
        cohort's counterfactual truth (``simulate_registry(...).truth``; its first docstring
        line names it in the summary); ``"working_model"`` (:data:`WORKING_MODEL`): the
        analysis's own value on large simulated registries (for a model that cannot estimate
        the generator's parameters); None: power only, no bias or coverage.
    description : str
    replace : bool
        Allow replacing an analysis of the same name.

    Returns
    -------
    Analysis

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> def crude_rate_ratio(df, contrast):
    ...     return {"estimate": 0.0, "se": 1.0, "p": 1.0}
    >>> sa.studies.register_analysis("demo", crude_rate_ratio).estimand_label
    'none: power only'
    >>> del sa.studies.ANALYSES["demo"]
    """
    if kind not in ("batched", "frame"):
        raise ValueError(f"kind must be 'batched' or 'frame', not {kind!r}")
    if isinstance(estimand, str) and estimand != WORKING_MODEL:
        raise ValueError(f"estimand must be a function, {WORKING_MODEL!r} or None, not {estimand!r}")
    if name in ANALYSES and not replace:
        raise ValueError(f"an analysis named {name!r} exists; pass replace=True to replace it")
    ANALYSES[name] = Analysis(name, function, kind, estimand, description or (function.__doc__ or "").strip())
    return ANALYSES[name]


for _name, _fn, _kind, _estimand in (
    ("naive_cox", naive_cox, "batched", _marginal),
    ("adjusted_cox", adjusted_cox, "batched", WORKING_MODEL),
    ("iptw_cox", iptw_cox, "batched", _marginal),
    ("logrank", logrank_test, "frame", None),
    ("fine_gray", fine_gray, "frame", None),
    ("rmst_difference", rmst_difference, "frame", _rmst_truth),
):
    register_analysis(_name, _fn, _kind, _estimand)

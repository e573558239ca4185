"""The true values a study scores its analyses against, from fresh large registries.

Each scenario's truth comes from ``truth_reps`` registries of ``truth_patients`` patients drawn
from its design, each a fresh cohort with its own site frailties (as every replicate of the
study is). Per truth registry, every analysis's estimand is evaluated:

* a function of the generator's truth: on the registry's counterfactual truth
  (:func:`~sclero_analysis.synthetic.truth.counterfactual_truth`, the registry's lines under
  each tier);
* ``WORKING_MODEL``: the analysis itself fitted to the registry (its large-sample value);

and the true value is their mean, its Monte Carlo SE the SD over registries / √(registries): so
it includes the between-cohort variation that one fixed cohort would hide.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from sclero_analysis.studies.analyses import WORKING_MODEL, Analysis, LinesBatch
from sclero_analysis.studies.design import StudyDesign
from sclero_analysis.studies.fastpath import Lines, lines_from_arrays
from sclero_analysis.synthetic.pathway import TIER_NAMES, generate_arrays
from sclero_analysis.synthetic.simulate import true_conditional_log_hr
from sclero_analysis.synthetic.truth import counterfactual_truth, pool_truths

#: Counterfactual lines per tier behind a scenario's marginal estimands, over all its truth registries.
TRUTH_LINES_PER_TIER = 100_000


def truth_registries(design: StudyDesign, scenario: int) -> tuple[list[dict], list[Lines]]:
    """Simulate a scenario's truth registries: each one's counterfactual truth and its lines.

    Parameters
    ----------
    design : StudyDesign
    scenario : int

    Returns
    -------
    truths : list of dict
        :func:`~sclero_analysis.synthetic.truth.counterfactual_truth` per registry.
    lines : list of Lines
        Each registry's analysable lines (what a replicate's analyses see, only larger).
    """
    registry = design.registry_design(scenario).replace(n_patients=design.truth_patients)
    per_tier = math.ceil(TRUTH_LINES_PER_TIER / design.truth_reps)
    truths, lines = [], []
    for seed in design.truth_seed(scenario).spawn(design.truth_reps):
        rng = np.random.default_rng(seed)
        cohort, raw = generate_arrays(registry, rng, labels=False)
        lines.append(lines_from_arrays(cohort, raw))
        truths.append(counterfactual_truth(registry, cohort, raw, rng, per_tier))
    return truths, lines


def working_model_values(analysis: Analysis, lines: list[Lines], contrast: str) -> np.ndarray:
    """Return the analysis's estimate on each truth registry (NaN where its fit failed)."""
    if analysis.kind == "batched":
        out = analysis.function(LinesBatch.from_lines(lines), TIER_NAMES.index(contrast))
        estimate = np.asarray(out["estimate"], float)
        usable = np.asarray(out.get("converged", np.ones(len(lines), bool)), bool)
        return np.where(usable, estimate, np.nan)
    values = []
    for one in lines:
        with warnings.catch_warnings(record=True):  # as a replicate's: recorded, not raised
            warnings.simplefilter("always")
            try:
                values.append(float(analysis.function(one.to_frame(), contrast).get("estimate", np.nan)))
            except Exception:  # a failed fit gives no value; most registries must give one
                values.append(np.nan)
    return np.array(values, float)


def _mean_and_se(values: np.ndarray) -> tuple[float, float, int]:
    finite = values[np.isfinite(values)]
    if len(finite) < 2 or len(finite) < len(values) / 2:  # most truth registries must give a value
        return math.nan, math.nan, len(finite)
    return float(np.mean(finite)), float(np.std(finite, ddof=1) / np.sqrt(len(finite))), len(finite)


def analysis_truth(analysis: Analysis, truths: list[dict], lines: list[Lines], contrast: str) -> dict:
    """One analysis's true value over the truth registries.

    Returns
    -------
    dict
        ``value`` (NaN without an estimand, or when fewer than half the registries give one),
        ``mc_se`` (SD over registries / √registries), ``registries`` (how many gave a value),
        ``estimand`` (in words).
    """
    if analysis.estimand is None:
        values = np.array([])
    elif analysis.estimand == WORKING_MODEL:
        values = working_model_values(analysis, lines, contrast)
    else:
        values = np.array([analysis.estimand(truth, contrast) for truth in truths], float)
    value, mc_se, used = _mean_and_se(values)
    return {"value": value, "mc_se": mc_se, "registries": used, "estimand": analysis.estimand_label}


def scenario_truth(design: StudyDesign, scenario: int, analyses: list[Analysis] | None = None) -> dict:
    """Compute a scenario's truth: every analysis's true value and the pooled generator truth.

    Parameters
    ----------
    design : StudyDesign
    scenario : int
    analyses : list of Analysis, optional
        Default: the design's.

    Returns
    -------
    dict
        ``estimands`` (analysis name → :func:`analysis_truth`), the pooled counterfactual
        truth of :func:`~sclero_analysis.synthetic.truth.pool_truths` (``marginal_log_hr``
        and its between-cohort ``marginal_log_hr_mc_se``, ``cif``, ``rmst_36``), the
        generator's ``conditional_log_hr``, ``truth_reps`` and ``truth_patients``.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> d = sa.StudyDesign(analyses=("naive_cox", "logrank"), truth_patients=300, truth_reps=4)
    >>> t = scenario_truth(d, 0)
    >>> t["estimands"]["logrank"]["estimand"], t["estimands"]["naive_cox"]["registries"]
    ('none: power only', 4)
    """
    analyses = analyses if analyses is not None else design.get_analyses()
    truths, lines = truth_registries(design, scenario)
    return {
        "estimands": {a.name: analysis_truth(a, truths, lines, design.contrast) for a in analyses},
        **pool_truths(truths),
        "conditional_log_hr": true_conditional_log_hr(design.registry_design(scenario)),
        "truth_reps": design.truth_reps, "truth_patients": design.truth_patients,
    }

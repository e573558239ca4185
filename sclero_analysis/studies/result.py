"""``StudyResult``: replicate estimates and their ADEMP performance summary.

Performance measures and Monte Carlo standard errors follow Morris, White & Crowther (2019),
"Using simulation studies to evaluate statistical methods", Stat Med 38:2074–2102, Table 6.
Replicates that failed (an error, no convergence, a non-finite estimate or SE) are counted in
``n_failed`` and left out of every measure — never averaged in silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.figures.study import plot_study

SUMMARY_COLUMNS = ("n_reps", "n_failed", "n_used", "true_value", "mean_estimate", "bias", "bias_mcse",
                   "empirical_se", "empirical_se_mcse", "model_se", "model_se_mcse",
                   "relative_error_model_se", "relative_error_model_se_mcse", "coverage",
                   "coverage_mcse", "power", "power_mcse")


def performance(estimate: np.ndarray, se: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                p: np.ndarray, true_value: float, alpha: float) -> dict[str, float]:
    """ADEMP performance of one method in one scenario (Morris et al. 2019, Table 6).

    Parameters
    ----------
    estimate, se, lower, upper, p : ndarray
        Per replicate (already restricted to usable replicates).
    true_value : float
        The estimand (NaN: bias and coverage are NaN).
    alpha : float
        Rejection when p < alpha (power, or type I error when the truth is null).

    Returns
    -------
    dict
        ``mean_estimate, bias, bias_mcse, empirical_se, empirical_se_mcse, model_se,
        model_se_mcse, relative_error_model_se`` (percent), its MCSE, ``coverage,
        coverage_mcse, power, power_mcse``.

    Examples
    --------
    >>> out = performance(np.array([0.9, 1.1]), np.array([0.1, 0.1]), np.array([0.7, 0.9]),
    ...                   np.array([1.1, 1.3]), np.array([0.01, 0.2]), 1.0, 0.05)
    >>> round(out["bias"], 12), out["coverage"], out["power"]
    (0.0, 1.0, 0.5)
    """
    n = len(estimate)
    nan = float("nan")
    if n == 0:
        return dict.fromkeys(SUMMARY_COLUMNS[4:], nan)
    mean = float(np.mean(estimate))
    emp = float(np.std(estimate, ddof=1)) if n > 1 else nan
    se_ok = se[np.isfinite(se)]
    mod = float(np.sqrt(np.mean(se_ok**2))) if len(se_ok) else nan
    var_se2 = float(np.var(se_ok**2, ddof=1)) if len(se_ok) > 1 else nan
    mod_mcse = float(np.sqrt(var_se2 / (4 * len(se_ok) * mod**2))) if len(se_ok) > 1 else nan
    rel = 100 * (mod / emp - 1) if emp and np.isfinite(emp) else nan
    rel_mcse = 100 * (mod / emp) * np.sqrt(var_se2 / (4 * len(se_ok) * mod**4) + 1 / (2 * (n - 1))) \
        if n > 1 and len(se_ok) > 1 else nan
    has_truth = np.isfinite(true_value)
    covered = (lower <= true_value) & (true_value <= upper)
    coverage = float(np.mean(covered)) if has_truth else nan
    p_ok = p[np.isfinite(p)]
    power = float(np.mean(p_ok < alpha)) if len(p_ok) else nan
    return {
        "mean_estimate": mean,
        "bias": mean - true_value if has_truth else nan,
        "bias_mcse": emp / np.sqrt(n) if has_truth else nan,
        "empirical_se": emp, "empirical_se_mcse": emp / np.sqrt(2 * (n - 1)) if n > 1 else nan,
        "model_se": mod, "model_se_mcse": mod_mcse,
        "relative_error_model_se": rel, "relative_error_model_se_mcse": rel_mcse,
        "coverage": coverage,
        "coverage_mcse": float(np.sqrt(coverage * (1 - coverage) / n)) if has_truth else nan,
        "power": power, "power_mcse": float(np.sqrt(power * (1 - power) / len(p_ok))) if len(p_ok) else nan,
    }


@dataclass(frozen=True)
class StudyResult:
    """Replicates and performance of a registry study.

    Attributes
    ----------
    design : StudyDesign
    replicates : pandas.DataFrame
        One row per scenario × replicate × analysis: ``scenario, replicate, analysis,
        estimate, se, lower, upper, p, converged, error, warnings, n_lines``.
    truth : list of dict
        Per scenario: the generator's true estimands (conditional and marginal log HRs,
        CIFs, RMST to 36 months).
    analyses : list of Analysis
        The analyses as run (their estimands define bias and coverage).
    """

    design: object
    replicates: pd.DataFrame
    truth: list
    analyses: list

    @property
    def summary(self) -> pd.DataFrame:
        """ADEMP performance per scenario × analysis, each measure with its Monte Carlo SE.

        Columns: the varied design fields, ``analysis``, then ``n_reps, n_failed, n_used,
        true_value, mean_estimate, bias, bias_mcse, empirical_se, empirical_se_mcse,
        model_se, model_se_mcse, relative_error_model_se`` (%), its MCSE, ``coverage,
        coverage_mcse, power, power_mcse`` (power is the type I error when the truth is null).
        """
        design = self.design
        scenarios = design.scenarios()
        analyses = {a.name: a for a in self.analyses}
        rows = []
        for (scenario, name), group in self.replicates.groupby(["scenario", "analysis"], sort=False):
            analysis = analyses[name]
            truth = self.truth[scenario]
            true_value = analysis.estimand(truth, design.contrast) if analysis.estimand else np.nan
            usable = group["converged"].to_numpy(bool) & np.isfinite(group["p"].to_numpy(float))
            if analysis.estimand is not None:
                usable &= np.isfinite(group["estimate"].to_numpy(float))
                usable &= np.isfinite(group["se"].to_numpy(float))
            used = group[usable]
            columns = ("estimate", "se", "lower", "upper", "p")
            measures = performance(*(used[c].to_numpy(float) for c in columns), true_value, design.alpha)
            rows.append({**scenarios[scenario], "scenario": scenario, "analysis": name,
                         "n_reps": len(group), "n_failed": int((~usable).sum()), "n_used": int(usable.sum()),
                         "true_value": true_value, **measures})
        table = pd.DataFrame(rows)
        first = [*design.vary, "scenario", "analysis"]
        return table[first + list(SUMMARY_COLUMNS)]

    def plot(self, x: str | None = None, axes=None):
        """Power, bias and coverage per analysis against a varied field (MC SE error bars).

        Parameters
        ----------
        x : str, optional
            The varied field on the x axis (default: the first in ``vary``; the scenario
            number without one).
        axes : sequence of three Axes, optional
            Draw on them; default: a new figure with three panels.

        Returns
        -------
        numpy.ndarray of Axes
        """
        return plot_study(self.summary, x=x or next(iter(self.design.vary), "scenario"), axes=axes,
                          alpha=self.design.alpha)

    def __repr__(self) -> str:
        failed = int((~self.replicates["converged"]).sum())
        return (f"StudyResult({len(self.design.scenarios())} scenarios × {self.design.n_reps} replicates × "
                f"{len(self.design.analyses)} analyses; {failed} failed fits)")

"""``StudyResult``: replicate estimates and their ADEMP performance summary.

Performance measures and Monte Carlo standard errors follow Morris, White & Crowther (2019),
"Using simulation studies to evaluate statistical methods", Stat Med 38:2074–2102, Table 6.
Replicates that failed (an error, no convergence, a non-finite estimate or SE, a propensity
model that separates or a tier too small for it) are counted per analysis with their reasons
(``n_failed``, ``failure_rate``, ``failure_reasons``, :attr:`StudyResult.failures`). Power
counts a failed replicate as a non-rejection (a study that fails cannot reject); bias, SEs and
coverage are over the successful replicates only, i.e. conditional on success.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.figures.study import plot_study

MEASURE_COLUMNS = ("mean_estimate", "bias", "bias_mcse", "empirical_se", "empirical_se_mcse", "model_se",
                   "model_se_mcse", "relative_error_model_se", "relative_error_model_se_mcse", "coverage",
                   "coverage_mcse", "power", "power_mcse")
SUMMARY_COLUMNS = ("estimand", "n_reps", "n_failed", "n_used", "failure_rate", "failure_rate_mcse",
                   "failure_reasons", "true_value", "true_value_mcse", *MEASURE_COLUMNS)


def performance(estimate: np.ndarray, se: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                p: np.ndarray, true_value: float, alpha: float, n_failed: int = 0,
                true_value_mcse: float = 0.0) -> dict[str, float]:
    """ADEMP performance of one method in one scenario (Morris et al. 2019, Table 6).

    Parameters
    ----------
    estimate, se, lower, upper, p : ndarray
        Per replicate (already restricted to usable replicates).
    true_value : float
        The estimand (NaN: bias and coverage are NaN).
    alpha : float
        Rejection when p < alpha (power, or type I error when the truth is null).
    n_failed : int
        Failed replicates, counted in power as non-rejections (0: power given success).
    true_value_mcse : float
        Monte Carlo SE of a simulated truth: added in quadrature to the bias's.

    Returns
    -------
    dict
        ``mean_estimate, bias, bias_mcse, empirical_se, empirical_se_mcse, model_se,
        model_se_mcse, relative_error_model_se`` (percent), its MCSE, ``coverage,
        coverage_mcse`` (all over the usable replicates), ``power, power_mcse`` (over usable
        and failed replicates).

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
        power = 0.0 if n_failed else nan  # every replicate failed: none rejected
        return dict.fromkeys(MEASURE_COLUMNS, nan) | {"power": power, "power_mcse": 0.0 if n_failed else nan}
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
    trials = len(p_ok) + n_failed
    power = float(np.sum(p_ok < alpha) / trials) if trials else nan
    bias_mcse = float(np.hypot(emp / np.sqrt(n), true_value_mcse)) if n > 1 else nan
    return {
        "mean_estimate": mean,
        "bias": mean - true_value if has_truth else nan,
        "bias_mcse": bias_mcse if has_truth else nan,
        "empirical_se": emp, "empirical_se_mcse": emp / np.sqrt(2 * (n - 1)) if n > 1 else nan,
        "model_se": mod, "model_se_mcse": mod_mcse,
        "relative_error_model_se": rel, "relative_error_model_se_mcse": rel_mcse,
        "coverage": coverage,
        "coverage_mcse": float(np.sqrt(coverage * (1 - coverage) / n)) if has_truth else nan,
        "power": power, "power_mcse": float(np.sqrt(power * (1 - power) / trials)) if trials else nan,
    }


def _reasons(failure: pd.Series) -> str:
    """Failure reasons with their counts, most frequent first ("" when none failed)."""
    counts = failure[failure != ""].value_counts()
    return "; ".join(f"{reason} ({n})" for reason, n in counts.items())


@dataclass(frozen=True)
class StudyResult:
    """Replicates and performance of a registry study.

    Attributes
    ----------
    design : StudyDesign
    replicates : pandas.DataFrame
        One row per scenario × replicate × analysis: ``scenario, replicate, analysis,
        estimate, se, lower, upper, p, converged, failure`` (why the replicate failed, ""
        when it did not), ``error, warnings, n_lines``.
    truth : list of dict
        Per scenario (:func:`~sclero_analysis.studies.scenario_truth`): each analysis's true
        value with its Monte Carlo SE (``estimands``), the pooled counterfactual estimands
        (marginal log HRs, CIFs, RMST to 36 months) and the generator's conditional log HRs.
    analyses : list of Analysis
        The analyses as run (their estimands define bias and coverage).
    """

    design: object
    replicates: pd.DataFrame
    truth: list
    analyses: list

    def _row(self, scenario: int, analysis, group: pd.DataFrame, power_given_success: bool) -> dict:
        has_estimand = analysis.estimand is not None
        truth = self.truth[scenario].get("estimands", {}).get(analysis.name, {})
        true_value = truth.get("value", np.nan) if has_estimand else np.nan
        true_mcse = truth.get("mc_se", np.nan) if has_estimand else np.nan
        failed = group["failure"].to_numpy(str) != ""
        used = group[~failed]
        columns = ("estimate", "se", "lower", "upper", "p")
        measures = performance(*(used[c].to_numpy(float) for c in columns), true_value, self.design.alpha,
                               n_failed=0 if power_given_success else int(failed.sum()),
                               true_value_mcse=true_mcse if np.isfinite(true_mcse) else 0.0)
        rate = float(failed.mean())
        return {"scenario": scenario, "analysis": analysis.name, "estimand": analysis.estimand_label,
                "n_reps": len(group), "n_failed": int(failed.sum()), "n_used": int((~failed).sum()),
                "failure_rate": rate, "failure_rate_mcse": float(np.sqrt(rate * (1 - rate) / len(group))),
                "failure_reasons": _reasons(group["failure"]),
                "true_value": true_value, "true_value_mcse": true_mcse,
                **measures}

    def summarise(self, power_given_success: bool = False) -> pd.DataFrame:
        """ADEMP performance per scenario × analysis, each measure with its Monte Carlo SE.

        Parameters
        ----------
        power_given_success : bool
            False (default): power is the share of all replicates that reject, a failed
            replicate counting as a non-rejection. True: the share of successful ones.

        Returns
        -------
        pandas.DataFrame
            The varied design fields, ``scenario, analysis``, then ``estimand`` (what bias and
            coverage are computed against, in words; "none: power only"), ``n_reps, n_failed,
            n_used, failure_rate`` and its MCSE, ``failure_reasons`` ("reason (count); …"),
            ``true_value, true_value_mcse`` (the truth is simulated too), ``mean_estimate,
            bias, bias_mcse`` (the replicates' and the truth's MC SEs combined),
            ``empirical_se, model_se, relative_error_model_se`` (%), ``coverage`` (each with
            its MCSE; all over the ``n_used`` successful replicates, i.e. conditional on
            success), ``power, power_mcse`` (the type I error when the truth is null).
            ``attrs["notes"]`` holds :attr:`notes`.
        """
        scenarios = self.design.scenarios()
        analyses = {a.name: a for a in self.analyses}
        rows = [{**scenarios[scenario], **self._row(scenario, analyses[name], group, power_given_success)}
                for (scenario, name), group in self.replicates.groupby(["scenario", "analysis"], sort=False)]
        table = pd.DataFrame(rows)
        table = table[[*self.design.vary, "scenario", "analysis", *SUMMARY_COLUMNS]]
        table.attrs["notes"] = self.notes(power_given_success)
        return table

    @property
    def summary(self) -> pd.DataFrame:
        """ADEMP performance per scenario × analysis: :meth:`summarise` with its defaults."""
        return self.summarise()

    def notes(self, power_given_success: bool = False) -> tuple[str, ...]:
        """Say over which replicates each measure is computed, and how many failed."""
        failed = int((self.replicates["failure"] != "").sum())
        power = ("power is over the successful replicates only (power_given_success=True)"
                 if power_given_success else "power counts a failed replicate as a non-rejection")
        return (f"{failed} of {len(self.replicates)} replicate fits failed (failure_reasons, .failures); "
                f"{power}.",
                "Bias, empirical and model SE and coverage are over the successful replicates (n_used): "
                "conditional on success.",
                "The true value of each analysis is the mean over fresh large registries "
                f"({self.design.truth_reps} of {self.design.truth_patients} patients); "
                "bias_mcse includes its Monte Carlo SE.")

    @property
    def failures(self) -> pd.DataFrame:
        """Failed replicates per scenario, analysis and reason: ``scenario, analysis, reason, n``."""
        rows = self.replicates[self.replicates["failure"] != ""]
        counts = rows.groupby(["scenario", "analysis", "failure"], sort=False).size()
        return counts.rename("n").reset_index().rename(columns={"failure": "reason"})

    def plot(self, x: str | None = None, axes=None, power_given_success: bool = False,
             labels: Mapping[str, str] | None = None):
        """Power, bias, coverage and the failure rate per analysis against a varied field.

        Parameters
        ----------
        x : str, optional
            The varied field on the x axis (default: the first in ``vary``; the scenario
            number without one).
        axes : sequence of four Axes, optional
            Draw on them; default: a new figure with four panels.
        power_given_success : bool
            As :meth:`summarise`.
        labels : mapping, optional
            Display labels of the analyses and of ``x`` (see :func:`sclero_analysis.labels.label`).

        Returns
        -------
        numpy.ndarray of Axes
            Power, bias and coverage (±1.96 MC SE; bias and coverage over successful
            replicates), failed replicates (%).
        """
        x = x or next(iter(self.design.vary), "scenario")
        return plot_study(self.summarise(power_given_success), x=x, axes=axes, alpha=self.design.alpha,
                          labels=labels)

    def __repr__(self) -> str:
        failed = int((self.replicates["failure"] != "").sum())
        return (f"StudyResult({len(self.design.scenarios())} scenarios × {self.design.n_reps} replicates × "
                f"{len(self.design.analyses)} analyses; {failed} failed fits)")

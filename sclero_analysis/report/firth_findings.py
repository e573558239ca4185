"""Sentences of notebook 06 (small samples: Firth's penalised Cox model), from the numbers."""

from __future__ import annotations

import math

from sclero_analysis.report.findings import POWER_TARGET, finite, percent, share


def firth_finding(plan, table, fit=None, contrast: str = "cytoreduction") -> str:
    """Notebook 06's finding: monotone ordinary fits, Firth failures counted, interval width, power.

    Parameters
    ----------
    plan : sclero_analysis.small_samples.SeriesPlan
    table : pandas.DataFrame
        :func:`sclero_analysis.small_samples.summarise_draws`.
    fit : sclero_analysis.small_samples.SeriesFit, optional
        The one series fitted on the registry itself.
    """
    cox, firth = table.loc["cox"], table.loc["firth"]
    fitted = int(firth["series"] - firth["not_estimable"])
    text = (f"In {firth['series']} draws of {plan.n_patients} patients from {plan.source}, "
            f"{firth['not_estimable']} had no {contrast} line or no relapse; of the other {fitted}, the "
            f"ordinary Cox likelihood was monotone in {share(cox['monotone'], fitted)} and Firth gave a "
            f"finite estimate in {share(firth['estimated'], fitted)}")
    if firth["failed"]:
        often = "most often: " if firth["failed"] > 1 else ""
        text += f" and failed in {firth['failed']} ({often}{firth['failure']})"
    if firth["estimated"]:
        width = firth["median_ci_width"]
        text += (f"; Firth's 95% interval for the {contrast} log-HR is typically {width:.1f} wide (a factor "
                 f"of {math.exp(width):.0f} on the HR)" if finite(width) else "")
        text += (f" and excluded HR = 1 in {share(firth['excludes_null'], firth['estimated'])}, "
                 f"{'reaching' if firth['excludes_null'] >= POWER_TARGET * firth['estimated'] else 'below'} "
                 f"the {POWER_TARGET:.0%} power a planned comparison needs")
    return text + (f"; {one_series_hr(fit, plan, contrast)}." if fit is not None else ".")


def one_series_hr(fit, plan=None, contrast: str = "cytoreduction") -> str:
    """Give Firth's HR of ``contrast`` vs the reference tier in the series fitted on the data (or why not).

    Parameters
    ----------
    fit : sclero_analysis.small_samples.SeriesFit
    plan : sclero_analysis.small_samples.SeriesPlan, optional
        Names the series: the whole registry, or a draw from it.
    contrast : str
    """
    if plan is None or plan.n_patients >= plan.available:
        series = "this registry's series" if plan is None else f"this registry's {plan.n_patients} patients"
    else:
        series = f"one {plan.n_patients}-patient series drawn from this registry"
    term = f"tier[{contrast}]"
    if not fit.models:
        return f"in {series} no tier comparison could be fitted"
    summary = fit.models["Firth (profile CI)"].summary
    if term not in summary.index:
        return f"there is no {contrast} line to compare in {series}"
    row = summary.loc[term]
    reference = "IVIG" if fit.tiers.index[0] == "ivig" else fit.tiers.index[0]
    return (f"in {series} Firth's HR for {contrast} vs {reference} is "
            f"{row['hr']:.2f} (95% CI {row['hr_lower']:.2f} to {row['hr_upper']:.2f})")


def firth_plain_words(plan, table, target: float = POWER_TARGET) -> str:
    """Notebook 06's plain-words answer: whether series of this size can compare therapies."""
    firth = table.loc["firth"]
    n = plan.n_patients
    if not firth["estimated"]:
        return (f"no draw of {n} patients allowed a finite comparison of the tiers: a series of this "
                "size can describe courses, not compare therapies.")
    detected = firth["excludes_null"] / firth["estimated"]
    shown = (f"in series of {n} patients drawn from {plan.source}, Firth's 95% interval excluded HR = 1 for "
             f"cytoreduction vs IVIG in {percent(detected)} of the draws it could fit")
    if detected >= target:
        return (f"{shown} (at least {target:.0%}): at this size a comparison is informative, with Firth's "
                "finite estimates where the ordinary model breaks down.")
    return (f"{shown} (below {target:.0%}): Firth's correction gives finite estimates, but their intervals "
            "mostly leave benefit and harm both compatible with the data, so such a series can describe "
            "courses, not rank therapies.")

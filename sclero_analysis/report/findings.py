"""Sentences of the report computed from the numbers, with the threshold in the sentence.

A notebook's finding must change when the data say the opposite: every sentence here takes
the numbers and says what they show ("no evidence of a difference between tiers (log-rank
p = 0.46)"), never what we expected them to show. The notebooks build their plain-words
answers from these pieces.
"""

from __future__ import annotations

import math

from sclero_analysis.formatting import format_p

#: Conventional thresholds, named so the sentences can quote them.
ALPHA = 0.05
SMD_THRESHOLD = 0.1
EVENTS_PER_PARAMETER = 10
MIN_CLUSTERS = 30


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(float(value))


def months(value: float | None, decimals: int = 1) -> str:
    """Format a time in months, or "not reached" (a median the curve never reaches is NaN).

    Examples
    --------
    >>> months(12.345), months(float("nan"))
    ('12.3 months', 'not reached')
    """
    return f"{float(value):.{decimals}f} months" if _finite(value) else "not reached"


def count(n: int, noun: str) -> str:
    """``"1 relapse"``, ``"2 relapses"``: a count with its noun, plural when not one.

    Examples
    --------
    >>> count(1, "line"), count(0, "relapse")
    ('1 line', '0 relapses')
    """
    return f"{int(n)} {noun}{'' if int(n) == 1 else 's'}"


def share(count: int, total: int) -> str:
    """``"5 of 100 (5%)"``; ``"0 of 0"`` when there is nothing to count.

    Examples
    --------
    >>> share(5, 100), share(0, 0)
    ('5 of 100 (5%)', '0 of 0')
    """
    if total <= 0:
        return f"{int(count)} of {int(total)}"
    return f"{int(count)} of {int(total)} ({count / total:.0%})"


def evidence(p: float | None, effect: str, test: str, alpha: float = ALPHA, reason: str = "") -> str:
    """Say whether a test gives evidence of ``effect``, quoting the p-value and ``alpha``.

    Parameters
    ----------
    p : float
        The test's p-value (NaN: the test could not be computed).
    effect : str
        What is tested, as a noun phrase ("a difference between tiers").
    test : str
        The test's name ("log-rank").
    alpha : float
        The significance level named in the sentence.
    reason : str
        Why the test could not be computed (said instead of the p-value when it is NaN).

    Examples
    --------
    >>> evidence(0.46, "a difference between tiers", "log-rank")
    'no evidence of a difference between tiers (log-rank p = 0.46, not below 0.05)'
    >>> evidence(0.0004, "a difference between tiers", "log-rank")
    'evidence of a difference between tiers (log-rank p < 0.001, below 0.05)'
    """
    if not _finite(p):
        return f"{effect} could not be tested ({test}: {reason or 'not computable on these data'})"
    where = "below" if p < alpha else "not below"
    lead = "evidence of" if p < alpha else "no evidence of"
    return f"{lead} {effect} ({test} {format_p(p, prefix=True)}, {where} {alpha:g})"


def balance(max_smd_before: float, max_smd_after: float, threshold: float = SMD_THRESHOLD) -> str:
    """Describe covariate balance from the largest |SMD| before and after weighting.

    Examples
    --------
    >>> balance(0.45, 0.06)
    'weighting balanced the measured covariates (largest |SMD| 0.45 before, 0.06 after; threshold 0.1)'
    >>> balance(0.45, 0.59)
    'weighting did not balance the measured covariates (largest |SMD| 0.45 before, 0.59 after; threshold 0.1)'
    """
    numbers = f"largest |SMD| {max_smd_before:.2f} before, {max_smd_after:.2f} after; threshold {threshold:g}"
    if max_smd_after < threshold:
        return f"weighting balanced the measured covariates ({numbers})"
    return f"weighting did not balance the measured covariates ({numbers})"


def events_per_parameter(n_events: int, n_parameters: int, minimum: int = EVENTS_PER_PARAMETER) -> str:
    """Caution when a regression has fewer than ``minimum`` events per parameter, else "".

    Examples
    --------
    >>> events_per_parameter(12, 6)[:60]
    'only 2.0 events per model parameter (12 events, 6 parameters'
    >>> events_per_parameter(200, 6)
    ''
    """
    if n_parameters <= 0:
        return ""
    ratio = n_events / n_parameters
    if ratio >= minimum:
        return ""
    return (f"only {ratio:.1f} events per model parameter ({n_events} events, {n_parameters} "
            f"parameters; at least {minimum} are advised), so the estimates are unstable")


def few_clusters(n_clusters: int, minimum: int = MIN_CLUSTERS) -> str:
    """Caution when robust (sandwich) SEs rest on fewer than ``minimum`` clusters, else "".

    Examples
    --------
    >>> few_clusters(15)
    'robust SEs rest on 15 patients (fewer than 30 clusters), so they may be too small'
    >>> few_clusters(400)
    ''
    """
    if n_clusters >= minimum:
        return ""
    return (f"robust SEs rest on {n_clusters} patients (fewer than {minimum} clusters), "
            "so they may be too small")


def _estimable(*values: float | None) -> bool:
    return all(_finite(v) and 0 < float(v) for v in values)


def hazard_ratio(hr: float, lower: float, upper: float, label: str = "HR") -> str:
    """``"HR 0.29 (95% CI 0.04-1.99)"``, or why it cannot be given (an estimate at 0 or infinity).

    Examples
    --------
    >>> hazard_ratio(0.2912, 0.0426, 1.9901)
    'HR 0.29 (95% CI 0.04-1.99)'
    >>> hazard_ratio(0.0, 0.0, float("inf"))
    'HR not estimable (the estimate runs to 0 or infinity: too few relapses in a tier)'
    """
    if not _estimable(hr, lower, upper):
        return f"{label} not estimable (the estimate runs to 0 or infinity: too few relapses in a tier)"
    return f"{label} {hr:.2f} (95% CI {lower:.2f}-{upper:.2f})"


def group_months(values: dict[str, float], decimals: int = 1) -> str:
    """List times per group, NaN as "not reached": ``"ivig 12.3 months, other not reached"``.

    Examples
    --------
    >>> group_months({"ivig": 12.34, "other": float("nan")})
    'ivig 12.3 months, other not reached'
    """
    return ", ".join(f"{name} {months(value, decimals)}" for name, value in values.items())


def shift(before: float, after: float, what: str, null: float = 1.0, tolerance: float = 0.1) -> str:
    """Say how an estimate moved (e.g. naive → IPTW HR) relative to the null, on the log scale.

    Parameters
    ----------
    before, after : float
        The two ratios (e.g. naive and IPTW hazard ratios).
    what : str
        What moved them ("weighting").
    null : float
        The value of no effect.
    tolerance : float
        A relative change below this (10%) counts as no change, and is named in the sentence.

    Examples
    --------
    >>> shift(0.80, 0.50, "weighting")
    'weighting moved the hazard ratio from 0.80 to 0.50, away from 1 (no difference)'
    >>> shift(0.50, 0.80, "weighting")
    'weighting moved the hazard ratio from 0.50 to 0.80, towards 1 (no difference)'
    >>> shift(0.80, 0.84, "weighting")
    'weighting changed the hazard ratio little (0.80 to 0.84, less than 10%)'
    """
    if not _estimable(before, after):
        return f"the hazard ratios before and after {what} cannot be compared (one is not estimable)"
    numbers = f"{before:.2f} to {after:.2f}"
    if abs(math.log(after / before)) < math.log1p(tolerance):
        return f"{what} changed the hazard ratio little ({numbers}, less than {tolerance:.0%})"
    if (before - null) * (after - null) < 0:
        return f"{what} moved the hazard ratio across {null:g} ({numbers}): the direction changed"
    away = abs(math.log(after / null)) > abs(math.log(before / null))
    return (f"{what} moved the hazard ratio from {numbers}, {'away from' if away else 'towards'} "
            f"{null:g} (no difference)")


def baseline_difference(smd: dict[str, float], threshold: float = SMD_THRESHOLD) -> str:
    """Say whether groups differ at baseline from Table 1's standardised differences.

    Examples
    --------
    >>> baseline_difference({"mrss": 0.62, "age": 0.05})
    'the tiers differ at baseline: 1 of 2 characteristics with an SMD of 0.1 or more (largest 0.62, mrss)'
    >>> baseline_difference({"mrss": 0.06, "age": 0.05})
    'the tiers look alike on the recorded characteristics (largest SMD 0.06, below 0.1)'
    """
    values = {k: abs(float(v)) for k, v in smd.items() if _finite(v)}
    if not values:
        return "baseline differences between tiers cannot be measured (fewer than two tiers)"
    largest = max(values, key=values.get)
    above = sum(v >= threshold for v in values.values())
    if above == 0:
        return (f"the tiers look alike on the recorded characteristics (largest SMD "
                f"{values[largest]:.2f}, below {threshold:g})")
    return (f"the tiers differ at baseline: {above} of {len(values)} characteristics with an SMD of "
            f"{threshold:g} or more (largest {values[largest]:.2f}, {largest})")


def competing_deaths(n_deaths: int, n_lines: int, threshold: float = 0.05) -> str:
    """Say whether competing death matters for reading 1 − Kaplan–Meier as the risk of relapse.

    Examples
    --------
    >>> competing_deaths(12, 100)[:64]
    'death ended 12 of 100 (12%) lines before any relapse (5% or more'
    >>> competing_deaths(1, 100)[:40]
    'death ended 1 of 100 (1%) lines before a'
    """
    lead = f"death ended {share(n_deaths, n_lines)} lines before any relapse"
    if n_lines and n_deaths / n_lines >= threshold:
        return (f"{lead} ({threshold:.0%} or more), so 1 - Kaplan-Meier overstates the risk of "
                "relapse: quote the cumulative incidence with death competing")
    return (f"{lead} (under {threshold:.0%}), so 1 - Kaplan-Meier and the cumulative incidence "
            "with death competing nearly agree")


def e_value(point: float, limit: float, label: str) -> str:
    """Read an E-value: the confounding needed to explain an estimate (and its CI limit) away.

    Examples
    --------
    >>> e_value(4.52, 1.0, "cytoreduction")[:70]
    'cytoreduction: an unmeasured confounder associated with both tier and '
    """
    if not _finite(point):
        return f"{label}: no E-value (the estimate is not estimable)"
    ci = (f"the confidence interval already includes 1 (E-value of its limit {limit:.2f})"
          if _finite(limit) and limit <= 1.0 else f"{limit:.2f} to move its confidence limit to 1")
    return (f"{label}: an unmeasured confounder associated with both tier and relapse by a risk "
            f"ratio of {point:.2f} each could explain the estimate away; {ci}")


def closeness(estimates: dict[str, float], truth: float) -> str:
    """Which estimate lies closest to a known true hazard ratio (log scale).

    Examples
    --------
    >>> closeness({"naive": 0.9, "IPTW": 0.55}, 0.5)
    'the IPTW estimate (0.55) lies closest to the true marginal HR 0.50 (naive 0.90)'
    """
    usable = {k: v for k, v in estimates.items() if _estimable(v)}
    if not usable or not _estimable(truth):
        return "no estimate can be compared with the true hazard ratio"
    distance = {k: abs(math.log(v / truth)) for k, v in usable.items()}
    best = min(distance, key=distance.get)
    others = ", ".join(f"{k} {v:.2f}" for k, v in usable.items() if k != best)
    return (f"the {best} estimate ({usable[best]:.2f}) lies closest to the true marginal HR "
            f"{truth:.2f}" + (f" ({others})" if others else ""))


# =============================================================================================
# Notebooks 04-06: publication bias, registry planning, small samples.
# Kept in one block at the end so that sentences added for other notebooks merge apart.
# =============================================================================================

#: Power a planned comparison should reach.
POWER_TARGET = 0.8
#: Nominal coverage of the 95% intervals.
NOMINAL_COVERAGE = 0.95
#: A Monte Carlo difference counts when it exceeds this many standard errors.
MC_Z = 2.0
#: Relapse rates within this factor of each other are "of the same order".
RATE_FACTOR = 1.5


def percent(value: float | None, decimals: int = 0) -> str:
    """Format a proportion as a percentage, or "not available".

    Examples
    --------
    >>> percent(0.623), percent(float("nan"))
    ('62%', 'not available')
    """
    return f"{float(value):.{decimals}%}" if _finite(value) else "not available"


def _beyond(difference: float, se: float, z: float = MC_Z) -> bool | None:
    """Is ``|difference|`` larger than ``z`` SEs? None when the SE is unknown."""
    if not (_finite(difference) and _finite(se)):
        return None
    return abs(difference) > z * se


def change(first: float, last: float, se_first: float, se_last: float, what: str,
           at_first: str, at_last: str, fmt: str = "{:.0%}", se_fmt: str = "{:.1%}", z: float = MC_Z) -> str:
    """Say whether a Monte Carlo mean moves between two settings beyond ``z`` standard errors.

    Examples
    --------
    >>> change(0.45, 0.9, 0.05, 0.03, "the reported response rate", "strength 0", "strength 2")[:60]
    'the reported response rate rises from 45% at strength 0 to 9'
    >>> change(0.45, 0.47, 0.05, 0.03, "the rate", "strength 0", "strength 2")[:45]
    'the rate does not change beyond Monte Carlo e'
    """
    if not (_finite(first) and _finite(last)):
        missing = at_first if not _finite(first) else at_last
        return f"{what} cannot be compared between {at_first} and {at_last} (no estimate at {missing})"
    se = math.hypot(se_first, se_last) if _finite(se_first) and _finite(se_last) else float("nan")
    moves = f"from {fmt.format(first)} at {at_first} to {fmt.format(last)} at {at_last}"
    verdict = _beyond(last - first, se, z)
    if verdict is None:
        return f"{what} moves {moves} (too few draws for a Monte Carlo SE)"
    if verdict:
        return (f"{what} {'rises' if last > first else 'falls'} {moves} (more than {z:g} Monte Carlo "
                f"SEs of {se_fmt.format(se)})")
    return f"{what} does not change beyond Monte Carlo error ({moves}; Monte Carlo SE {se_fmt.format(se)})"


def reported_rate(comparison) -> str:
    """Compare the reports' response rate with the registry's 95% interval (notebook 04).

    Parameters
    ----------
    comparison : sclero_analysis.literature.PublicationComparison
    """
    c = comparison
    registry, lower, upper = c.rate("registry")
    if c.registry_assessed == 0:
        return "the registry has no assessed line, so no response rate can be compared"
    reference = (f"the registry's rate ({percent(registry)} of {c.registry_assessed} assessed lines, 95% CI "
                 f"{percent(lower)} to {percent(upper)})")
    if c.reported_assessed == 0:
        return (f"no report would tell an assessed line ({c.published_patients} of {c.registry_patients} "
                f"patients published), so the literature shows no response rate to set against {reference}")
    reported = c.reported_responses / c.reported_assessed
    where = ("above the 95% CI of" if reported > upper else "below the 95% CI of" if reported < lower
             else "within the 95% CI of")
    return (f"the line each published case report tells is a response in {c.reported_responses} of "
            f"{c.reported_assessed} reports ({percent(reported)}), {where} {reference}")


def crude_hr_pair(comparison) -> str:
    """Give the crude HR in the published cases against the registry's, or why one is missing.

    Examples
    --------
    >>> from sclero_analysis.literature import CrudeHR, PublicationComparison
    >>> hr = CrudeHR("cytoreduction", -0.5, 0.2, {"ivig": 9, "cytoreduction": 4}, {"ivig": 5,
    ...              "cytoreduction": 2})
    >>> none = CrudeHR("cytoreduction", float("nan"), float("nan"), {"ivig": 1, "cytoreduction": 0},
    ...                {"ivig": 1, "cytoreduction": 0}, "no cytoreduction lines")
    >>> crude_hr_pair(PublicationComparison(8, 1, 0.9, 1, 1, 10, 6, hr, none))[42:]
    'not estimable in the published cases (no cytoreduction lines), against 0.61 in the registry'
    >>> crude_hr_pair(PublicationComparison(8, 1, 0.9, 1, 1, 10, 6, none, none))[104:]
    'nor in the registry (no cytoreduction lines)'
    """
    c = comparison
    lead = f"the crude HR for {c.registry_hr.contrast} vs IVIG is"
    published, registry = c.literature_hr, c.registry_hr
    if published.estimable and registry.estimable:
        return f"{lead} {published.hr:.2f} in the published cases, against {registry.hr:.2f} in the registry"
    if registry.estimable:
        return (f"{lead} not estimable in the published cases ({published.reason}), against "
                f"{registry.hr:.2f} in the registry")
    if published.estimable:
        return (f"{lead} {published.hr:.2f} in the published cases; in the registry it is not estimable "
                f"({registry.reason})")
    return (f"{lead} not estimable in the published cases ({published.reason}) nor in the registry "
            f"({registry.reason})")


def _sweep_change(sweep) -> str:
    """How the reported response rate moves from the weakest to the strongest selection."""
    first, last = sweep.index.min(), sweep.index.max()
    return change(sweep.loc[first, "response_rate"], sweep.loc[last, "response_rate"],
                  sweep.loc[first, "response_rate_mcse"], sweep.loc[last, "response_rate_mcse"],
                  "across publication draws the reported response rate", f"selection strength {first:g}",
                  f"{last:g}")


def publication_finding(comparison, sweep) -> str:
    """Notebook 04's finding: reported vs registry response, crude HRs, the selection sweep.

    Parameters
    ----------
    comparison : sclero_analysis.literature.PublicationComparison
    sweep : pandas.DataFrame
        :func:`sclero_analysis.literature.sweep_summary`.
    """
    c = comparison
    stand = (f"{c.published_patients} published patients stand for {c.registry_patients}; "
             if c.published_patients else "")
    text = f"{reported_rate(c)}; {crude_hr_pair(c)}; {stand}{_sweep_change(sweep)}."
    return text[0].upper() + text[1:]


def publication_plain_words(comparison, sweep) -> str:
    """Notebook 04's plain-words answer, computed from the same numbers as the finding."""
    c = comparison
    _, lower, upper = c.rate("registry")
    if c.reported_assessed == 0 or c.registry_assessed == 0:
        seen = (f"with {c.published_patients} of {c.registry_patients} patients published, the reports "
                "would show too little to judge a response rate")
    else:
        reported = c.reported_responses / c.reported_assessed
        seen = ("a reader of these case reports would quote a response rate above what the registry "
                f"shows ({percent(reported)} against at most {percent(upper)})" if reported > upper else
                "a reader of these case reports would quote a response rate the registry's interval does "
                f"not contradict ({percent(reported)} against {percent(lower)} to {percent(upper)})")
    return f"{seen}; {_unseen_events(c)}; and {_sweep_change(sweep)}."


def _unseen_events(comparison) -> str:
    """How many relapses of the published patients the reports miss (written before they happened)."""
    c = comparison
    if c.published_patients == 0:
        return "no follow-up is published at all"
    if c.events_registry > c.events_reported:
        return (f"their follow-up stops at the writing date: the reports tell {c.events_reported} relapses "
                f"or progressions of the {c.published_patients} published patients, the registry records "
                f"{c.events_registry}")
    return (f"the registry records no relapse or progression of the {c.published_patients} published "
            f"patients after the reports were written ({c.events_registry} in all)")


def power_statement(power: float, mcse: float, n_used: int, n_reps: int, target: float = POWER_TARGET) -> str:
    """Say a simulated power against ``target``; a registry the analysis could not fit detects nothing.

    Parameters
    ----------
    power, mcse : float
        Power among the simulated registries the analysis could fit, and its MC SE.
    n_used, n_reps : int
        Registries the analysis could fit, and all simulated.
    target : float

    Examples
    --------
    >>> power_statement(0.45, 0.11, 20, 20)
    '45% power (MC SE 11%), below 80%'
    >>> power_statement(0.5, 0.25, 4, 20)[:92]
    '10% power (MC SE 7%), below 80%, counting the 16 of 20 simulated registries it could not fit'
    >>> power_statement(float("nan"), float("nan"), 0, 20)
    'no power estimate: the analysis failed in all 20 simulated registries'
    """
    if n_used == 0 or not _finite(power):
        return f"no power estimate: the analysis failed in all {n_reps} simulated registries"
    if n_used == n_reps:
        verdict = "reaching" if power >= target else "below"
        return f"{percent(power)} power (MC SE {percent(mcse)}), {verdict} {target:.0%}"
    overall = power * n_used / n_reps
    overall_mcse = math.sqrt(overall * (1 - overall) / n_reps)
    verdict = "reaching" if overall >= target else "below"
    return (f"{percent(overall)} power (MC SE {percent(overall_mcse)}), {verdict} {target:.0%}, counting the "
            f"{n_reps - n_used} of {n_reps} simulated registries it could not fit as no detection "
            f"({percent(power)} among the {n_used} it could fit)")


def overall_power(table):
    """Power over every simulated registry: one the analysis could not fit detects nothing.

    Parameters
    ----------
    table : pandas.DataFrame
        Study-summary rows with ``power, n_used, n_reps``.

    Returns
    -------
    pandas.Series
        ``power * n_used / n_reps`` (NaN where no registry could be fitted).
    """
    return (table["power"] * table["n_used"] / table["n_reps"]).where(table["n_used"] > 0)


def size_for_power(table, target: float = POWER_TARGET) -> str:
    """Say between which simulated sizes an analysis reaches ``target`` power (a verb phrase).

    Parameters
    ----------
    table : pandas.DataFrame
        One analysis's rows of a study summary, indexed by ``n_patients``: ``power, n_used,
        n_reps``; power counts registries the analysis could not fit as no detection
        (:func:`overall_power`).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"power": [0.3, 0.85], "n_used": [20, 20], "n_reps": 20}, index=[50, 400])
    >>> size_for_power(t)
    'reaches 80% power between 50 patients (30%) and 400 (85%)'
    >>> size_for_power(t.assign(power=[0.3, 0.6]))
    'does not reach 80% power at any size up to 400 patients (the best: 60% at 400)'
    """
    power = overall_power(table).dropna()
    if power.empty:
        return f"gave no power estimate at any size up to {max(table.index)} patients"
    enough = power.index[power >= target]
    if len(enough):
        size = min(enough)
        below = power[power.index < size]
        if below.empty:
            return (f"reaches {target:.0%} power already at the smallest size simulated, {size} patients "
                    f"({percent(power[size])})")
        return (f"reaches {target:.0%} power between {below.index[-1]} patients ({percent(below.iloc[-1])}) "
                f"and {size} ({percent(power[size])})")
    best = power.idxmax()
    return (f"does not reach {target:.0%} power at any size up to {max(table.index)} patients "
            f"(the best: {percent(power[best])} at {best})")


def bias_statement(bias: float, mcse: float, label: str, z: float = MC_Z) -> str:
    """Say whether an estimator is biased beyond ``z`` Monte Carlo SEs (log-HR scale).

    Examples
    --------
    >>> bias_statement(0.39, 0.06, "naive Cox")
    'the naive Cox is biased by +0.39 on the log-HR scale (MC SE 0.06)'
    >>> bias_statement(0.02, 0.03, "IPTW Cox")
    'the IPTW Cox shows no bias beyond Monte Carlo error (+0.02, MC SE 0.03)'
    """
    verdict = _beyond(bias, mcse, z)
    if verdict is None:
        return f"the bias of the {label} cannot be estimated (too few usable simulated registries)"
    if verdict:
        return f"the {label} is biased by {bias:+.2f} on the log-HR scale (MC SE {mcse:.2f})"
    return f"the {label} shows no bias beyond Monte Carlo error ({bias:+.2f}, MC SE {mcse:.2f})"


def coverage_statement(coverage: float, mcse: float, nominal: float = NOMINAL_COVERAGE,
                       z: float = MC_Z) -> str:
    """Compare an interval's simulated coverage with its nominal level.

    Examples
    --------
    >>> coverage_statement(0.78, 0.04)
    'its 95% CIs cover the truth in 78% of simulated registries (MC SE 4%), below the nominal 95%'
    """
    verdict = _beyond(coverage - nominal, mcse, z) if _finite(coverage) else None
    if not _finite(coverage):
        return "its coverage cannot be estimated"
    where = ("consistent with" if not verdict else "below" if coverage < nominal else "above")
    return (f"its {nominal:.0%} CIs cover the truth in {percent(coverage)} of simulated registries "
            f"(MC SE {percent(mcse)}), {where} the nominal {nominal:.0%}")


def relapse_rate_comparison(registry, design, factor: float = RATE_FACTOR) -> str:
    """Compare the registry's relapse rate with the planning design's (what the plan assumes).

    Parameters
    ----------
    registry, design : sclero_analysis.report.sizing.RelapseRate

    Examples
    --------
    >>> from sclero_analysis.report.sizing import RelapseRate
    >>> relapse_rate_comparison(RelapseRate(40, 10, 1000.0), RelapseRate(900, 500, 25000.0))[:80]
    'this registry has 10 relapses in 1000 line-months (1.0 per 100), against 2.0 in '
    """
    if registry.line_months <= 0:
        return "this registry has no follow-up time on any line, so its relapse rate is unknown"
    mine, theirs = registry.per_100, design.per_100
    numbers = (f"this registry has {registry.relapses} relapses in {registry.line_months:.0f} line-months "
               f"({mine:.1f} per 100), against {theirs:.1f} in the design")
    if mine > factor * theirs:
        return f"{numbers}: more events than planned for, so the plan's power is conservative here"
    if mine * factor < theirs:
        return f"{numbers}: fewer events than planned for, so the plan's power is optimistic here"
    return f"{numbers}: within a factor {factor:g}, so the plan's event rates are of this registry's order"


def _analysis(summary, name: str):
    return summary[summary["analysis"] == name].set_index("n_patients").sort_index()


def planning_finding(summary, n_patients: int, target: float = POWER_TARGET) -> str:
    """Notebook 05's finding: the size for ``target`` power, power at the registry's size, bias, coverage.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``StudyResult.summary`` of a study varying ``n_patients`` with ``naive_cox`` and ``iptw_cox``.
    n_patients : int
        The registry's size (one of the simulated sizes).
    """
    naive, iptw = _analysis(summary, "naive_cox"), _analysis(summary, "iptw_cox")
    own = iptw.loc[n_patients]
    own_power = power_statement(own["power"], own["power_mcse"], own["n_used"], own["n_reps"], target)
    both = iptw.index[(iptw["n_used"] > 1) & (naive["n_used"] > 1)]
    at = max(both) if len(both) else max(iptw.index)
    performance = "; ".join(
        f"{bias_statement(rows.loc[at, 'bias'], rows.loc[at, 'bias_mcse'], label)} and "
        f"{coverage_statement(rows.loc[at, 'coverage'], rows.loc[at, 'coverage_mcse'])}"
        for label, rows in (("naive Cox", naive), ("IPTW Cox", iptw)))
    return (f"Under the default design, IPTW Cox {size_for_power(iptw, target)}; at this registry's "
            f"size ({n_patients} patients) IPTW Cox has {own_power}. At {at} patients {performance} "
            f"({int(iptw['n_reps'].max())} simulated registries per size).")


#: Sizes compared for the naive bias: at least this share of the simulated registries analysed.
ANALYSED_SHARE = 0.9


def _persistent_bias(naive) -> str:
    """Say whether the naive bias stays beyond Monte Carlo error from the smallest to the largest size.

    Only sizes where at least :data:`ANALYSED_SHARE` of the simulated registries could be analysed
    are compared (at smaller sizes the fits that succeed are a selected few).
    """
    usable = naive[naive["n_used"] >= ANALYSED_SHARE * naive["n_reps"]]
    if len(usable) < 2:
        return (f"fewer than two sizes had {ANALYSED_SHARE:.0%} of their simulated registries analysed, "
                "too few to say how the naive bias moves with size")
    small, large = usable.iloc[0], usable.iloc[-1]
    sizes = (f"{small['bias']:+.2f} at {usable.index[0]} and {large['bias']:+.2f} at {usable.index[-1]} "
             "patients")
    if _beyond(large["bias"], large["bias_mcse"]):
        return (f"more patients do not remove the naive Cox's bias from confounding by indication "
                f"({sizes}, sizes with at least {ANALYSED_SHARE:.0%} of registries analysed)")
    return f"the naive Cox shows no bias beyond Monte Carlo error at the largest size ({sizes})"


def planning_plain_words(summary, n_patients: int, target: float = POWER_TARGET) -> str:
    """Notebook 05's plain-words answer, from the same study summary as the finding."""
    naive, iptw = _analysis(summary, "naive_cox"), _analysis(summary, "iptw_cox")
    power = overall_power(iptw)
    usable = iptw[power >= target]
    if len(usable):
        need = int(usable.index.min())
        smaller = power[power.index < need].dropna()
        between = f"between {smaller.index[-1]} and {need}" if len(smaller) else f"{need}"
        size = (f"a registry of {between} patients would detect the default cytoreduction effect "
                f"with IPTW Cox at {target:.0%} power; this one has {n_patients}")
    else:
        size = (f"even {max(iptw.index)} patients do not give IPTW Cox {target:.0%} power for the "
                f"default cytoreduction effect; this registry has {n_patients}")
    both = iptw.index[(iptw["n_used"] > 1) & (naive["n_used"] > 1)]
    if not len(both):
        return f"{size}; too few simulated registries could be analysed to judge bias."
    at = max(both)
    gap = abs(naive.loc[at, "bias"]) - abs(iptw.loc[at, "bias"])
    reduced = _beyond(gap, math.hypot(naive.loc[at, "bias_mcse"], iptw.loc[at, "bias_mcse"])) and gap > 0
    weighting = (f"propensity weighting (IPTW) reduces the bias to {iptw.loc[at, 'bias']:+.2f} at {at} "
                 "patients" if reduced else
                 f"propensity weighting (IPTW) does not reduce the bias beyond Monte Carlo error at {at} "
                 f"patients ({iptw.loc[at, 'bias']:+.2f} against {naive.loc[at, 'bias']:+.2f})")
    return f"{size}; {_persistent_bias(naive)}; {weighting}."


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
                 f"of {math.exp(width):.0f} on the HR)" if _finite(width) else "")
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

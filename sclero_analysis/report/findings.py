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


def finite(value: float | None) -> bool:
    """Return whether ``value`` is a finite number (not None, NaN, pandas' NA or infinite).

    Examples
    --------
    >>> finite(0.3), finite(None), finite(float("nan")), finite(float("inf"))
    (True, False, False, False)
    """
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):  # pandas' NA, or not a number
        return False


def months(value: float | None, decimals: int = 1) -> str:
    """Format a time in months, or "not reached" (a median the curve never reaches is NaN).

    Examples
    --------
    >>> months(12.345), months(float("nan"))
    ('12.3 months', 'not reached')
    """
    return f"{float(value):.{decimals}f} months" if finite(value) else "not reached"


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
    if not finite(p):
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
    return all(finite(v) and 0 < float(v) for v in values)


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
    values = {k: abs(float(v)) for k, v in smd.items() if finite(v)}
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
    if not finite(point):
        return f"{label}: no E-value (the estimate is not estimable)"
    ci = (f"the confidence interval already includes 1 (E-value of its limit {limit:.2f})"
          if finite(limit) and limit <= 1.0 else f"{limit:.2f} to move its confidence limit to 1")
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


# Shared by the sentences of notebooks 04-06 (publication_findings, planning_findings,
# firth_findings).

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
    return f"{float(value):.{decimals}%}" if finite(value) else "not available"


def beyond(difference: float, se: float, z: float = MC_Z) -> bool | None:
    """Is ``|difference|`` larger than ``z`` SEs? None when the SE is unknown."""
    if not (finite(difference) and finite(se)):
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
    if not (finite(first) and finite(last)):
        missing = at_first if not finite(first) else at_last
        return f"{what} cannot be compared between {at_first} and {at_last} (no estimate at {missing})"
    se = math.hypot(se_first, se_last) if finite(se_first) and finite(se_last) else float("nan")
    moves = f"from {fmt.format(first)} at {at_first} to {fmt.format(last)} at {at_last}"
    verdict = beyond(last - first, se, z)
    if verdict is None:
        return f"{what} moves {moves} (too few draws for a Monte Carlo SE)"
    if verdict:
        return (f"{what} {'rises' if last > first else 'falls'} {moves} (more than {z:g} Monte Carlo "
                f"SEs of {se_fmt.format(se)})")
    return f"{what} does not change beyond Monte Carlo error ({moves}; Monte Carlo SE {se_fmt.format(se)})"

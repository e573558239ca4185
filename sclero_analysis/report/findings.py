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


def evidence(p: float | None, effect: str, test: str, alpha: float = ALPHA) -> str:
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

    Examples
    --------
    >>> evidence(0.46, "a difference between tiers", "log-rank")
    'no evidence of a difference between tiers (log-rank p = 0.46, not below 0.05)'
    >>> evidence(0.0004, "a difference between tiers", "log-rank")
    'evidence of a difference between tiers (log-rank p < 0.001, below 0.05)'
    """
    if not _finite(p):
        return f"{effect} could not be tested ({test} not computable on these data)"
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

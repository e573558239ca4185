"""Sentences of notebook 04 (publication bias), computed from the numbers (see :mod:`.findings`)."""

from __future__ import annotations

from sclero_analysis.report.findings import change, percent


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

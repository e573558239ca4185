"""Sentences of notebook 05 (registry study planning): power, bias, coverage, sizes."""

from __future__ import annotations

import math

from sclero_analysis.report.findings import (
    MC_Z,
    NOMINAL_COVERAGE,
    POWER_TARGET,
    RATE_FACTOR,
    beyond,
    finite,
    percent,
)


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
    if n_used == 0 or not finite(power):
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
    verdict = beyond(bias, mcse, z)
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
    verdict = beyond(coverage - nominal, mcse, z) if finite(coverage) else None
    if not finite(coverage):
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
    if beyond(large["bias"], large["bias_mcse"]):
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
    reduced = beyond(gap, math.hypot(naive.loc[at, "bias_mcse"], iptw.loc[at, "bias_mcse"])) and gap > 0
    weighting = (f"propensity weighting (IPTW) reduces the bias to {iptw.loc[at, 'bias']:+.2f} at {at} "
                 "patients" if reduced else
                 f"propensity weighting (IPTW) does not reduce the bias beyond Monte Carlo error at {at} "
                 f"patients ({iptw.loc[at, 'bias']:+.2f} against {naive.loc[at, 'bias']:+.2f})")
    return f"{size}; {_persistent_bias(naive)}; {weighting}."

"""The answers of notebooks 01-03, composed from their numbers.

Each function takes numbers (p-values, hazard ratios, standardised differences) and returns the
paragraph the notebook prints: its one-line finding for ``index.html`` or its "In plain words"
answer. The same sentence pieces as :mod:`sclero_analysis.report.findings`, so a registry whose
numbers say the opposite gets the opposite answer, with the threshold that decided it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sclero_analysis.report.findings import (
    SMD_THRESHOLD,
    balance,
    baseline_difference,
    closeness,
    evidence,
    finite,
    group_months,
    hazard_ratio,
    share,
    shift,
)

Ratio = tuple[float, float, float]  # hazard ratio, lower and upper 95% limits
#: How the methods of ``compare_tiers`` are named in sentences.
METHOD_NAMES = {"naive": "naive", "adjusted": "covariate-adjusted", "iptw": "IPTW"}


def headline_term(levels: Sequence[str], prefer: str = "cytoreduction") -> tuple[str, str] | None:
    """Choose the contrast an answer leads with: the level holding ``prefer``, else the last.

    Parameters
    ----------
    levels : sequence of str
        A model's tiers, reference first (merged tiers read ``"a+b"``).
    prefer : str
        The tier the clinical question is about.

    Returns
    -------
    (str, str) or None
        The level (its model term is ``tier[<level>]``) and the contrast's label
        (``"cytoreduction vs ivig"``); None with fewer than two levels.

    Examples
    --------
    >>> headline_term(["ivig", "immunosuppression+cytoreduction"])
    ('immunosuppression+cytoreduction', 'immunosuppression+cytoreduction vs ivig')
    >>> headline_term(["ivig", "immunosuppression"])
    ('immunosuppression', 'immunosuppression vs ivig')
    """
    levels = list(levels)
    if len(levels) < 2:
        return None
    chosen = next((lv for lv in levels[1:] if prefer in lv.split("+")), levels[-1])
    return chosen, f"{chosen} vs {levels[0]}"


def overview_finding(n_patients: int, n_lines: int, n_rejected: int, tier_lines: Mapping[str, int],
                     with_paraprotein: int, with_neuro: int) -> str:
    """Notebook 01's one-line finding: what passed validation and who the patients are.

    Examples
    --------
    >>> overview_finding(15, 33, 0, {"ivig": 16, "other": 1}, 12, 3)[:87]
    '15 patients and 33 analysable lines (0 rows rejected); lines per tier: ivig 16, other 1'
    """
    tiers = ", ".join(f"{tier} {n}" for tier, n in tier_lines.items())
    return (f"{n_patients} patients and {n_lines} analysable lines ({n_rejected} rows rejected); "
            f"lines per tier: {tiers}; {share(with_paraprotein, n_patients)} patients have a "
            f"paraprotein and {share(with_neuro, n_patients)} neurological involvement.")


def overview_plain(smd: Mapping[str, float], smallest_tier: int | None = None,
                   threshold: float = SMD_THRESHOLD, few: int = 10) -> str:
    """Notebook 01's plain-words answer, from Table 1's standardised differences.

    Parameters
    ----------
    smd : mapping
        Table 1's SMD per characteristic.
    smallest_tier : int, optional
        Lines in the smallest tier; below ``few`` the SMDs are called imprecise.
    threshold : float
        The SMD named as a meaningful difference.
    few : int
        Lines below which a tier's SMDs are imprecise.

    Examples
    --------
    >>> overview_plain({"mrss": 0.5})[:64]
    'the table above says who was treated with what; the tiers differ'
    >>> "look alike" in overview_plain({"mrss": 0.02})
    True
    >>> "only 2 lines" in overview_plain({"mrss": 0.5}, smallest_tier=2)
    True
    """
    measured = baseline_difference(dict(smd), threshold)
    values = [abs(v) for v in smd.values() if finite(v)]
    if values and max(values) >= threshold:
        reading = ("a crude comparison of tiers mixes the treatment with who received it, which "
                   "notebook 03 weights for")
    elif values:
        reading = ("the crude comparisons of notebook 02 are less exposed to confounding by these "
                   "characteristics (unrecorded ones may still differ)")
    else:
        reading = "a comparison between tiers needs at least two of them"
    text = f"the table above says who was treated with what; {measured}, so {reading}"
    if values and smallest_tier is not None and smallest_tier < few:
        text += (f" (the smallest tier has only {smallest_tier} lines, fewer than {few}: its "
                 "differences are imprecise)")
    return text + "."


def relapse_finding(medians: Mapping[str, float], logrank_p: float | None, hazard: str,
                    untested: str = "") -> str:
    """Notebook 02's one-line finding: medians (or "not reached"), the log-rank test, the headline HR.

    Parameters
    ----------
    medians : mapping
        Median relapse-free months per tier (NaN: not reached).
    logrank_p : float or None
        The log-rank p-value (None or NaN: not computable).
    hazard : str
        The headline hazard ratio with its caveats
        (:meth:`~sclero_analysis.report.fits.CheckedCox.describe`).
    untested : str
        Why the log-rank test could not be computed, if it could not.

    Examples
    --------
    >>> relapse_finding({"ivig": 20.6, "other": float("nan")}, 0.46, "adjusted HR ...")[:71]
    'Median relapse-free time per line: ivig 20.6 months, other not reached;'
    """
    return (f"Median relapse-free time per line: {group_months(dict(medians))}; "
            f"{evidence(logrank_p, 'a difference between tiers', 'log-rank', reason=untested)}; "
            f"{hazard}. A hazard "
            "ratio here is a conditional association, not yet a causal comparison (notebook 03).")


def relapse_plain(logrank_p: float | None, unadjusted: Ratio | None, adjusted: Ratio | None,
                  label: str, deaths: str, caveats: Sequence[str] = (), untested: str = "") -> str:
    """Notebook 02's plain-words answer: difference, what adjustment did, competing death.

    Parameters
    ----------
    logrank_p : float or None
        Log-rank p-value.
    unadjusted, adjusted : (hr, lower, upper) or None
        The headline contrast's hazard ratio in each model.
    label : str
        The contrast (``"cytoreduction vs ivig"``).
    deaths : str
        :func:`~sclero_analysis.report.findings.competing_deaths`.
    caveats : sequence of str
        Cautions on the adjusted model (events per parameter, clusters).
    untested : str
        Why the log-rank test could not be computed, if it could not.

    Examples
    --------
    >>> text = relapse_plain(0.46, (0.8, 0.5, 1.3), (0.5, 0.3, 0.9), "cytoreduction vs ivig",
    ...                      "death ended 1 of 40 lines")
    >>> "no evidence" in text, "away from 1" in text
    (True, True)
    """
    tested = evidence(logrank_p, "a difference between tiers in how long a line keeps relapse away",
                      "log-rank", reason=untested)
    if unadjusted is not None and adjusted is not None:
        moved = f"{shift(unadjusted[0], adjusted[0], 'adjusting for the recorded covariates')} ({label})"
    else:
        moved = f"the unadjusted and adjusted hazard ratios of {label} cannot both be estimated"
    tested = f"the data give {tested}" if finite(logrank_p) else tested
    text = f"{tested}; {moved}; {deaths}."
    if caveats:
        text += f" Caution: {'; '.join(caveats)}."
    return text


def _ratio_text(ratio: Ratio | None) -> str:
    return hazard_ratio(*ratio) if ratio is not None else "not estimated"


def confounding_finding(label: str, ratios: Mapping[str, Ratio | None], truth: float | None,
                        balanced: str, caveats: Sequence[str] = ()) -> str:
    """Notebook 03's one-line finding: naive, adjusted and IPTW hazard ratios, and balance.

    Parameters
    ----------
    label : str
        The contrast (``"cytoreduction vs ivig"``).
    ratios : mapping
        ``{"naive": (hr, lo, hi), "adjusted": ..., "iptw": ...}`` (None: not estimated).
    truth : float or None
        The true marginal HR (synthetic data only).
    balanced : str
        :func:`~sclero_analysis.report.findings.balance`.
    caveats : sequence of str
        Cautions (events per parameter, clusters).

    Examples
    --------
    >>> confounding_finding("cytoreduction vs ivig", {"naive": (0.9, 0.6, 1.3),
    ...     "iptw": (0.6, 0.4, 0.9)}, None, "weighting balanced ...")[:61]
    'cytoreduction vs ivig: naive HR 0.90 (95% CI 0.60-1.30), IPTW'
    """
    parts = ", ".join(f"{METHOD_NAMES.get(name, name)} {_ratio_text(r)}" for name, r in ratios.items())
    naive, iptw = ratios.get("naive"), ratios.get("iptw")
    moved = (shift(naive[0], iptw[0], "weighting") if naive is not None and iptw is not None
             else "naive and IPTW estimates cannot both be given")
    truth_text = f"; true marginal HR {truth:.2f}" if finite(truth) else ""
    caution = f"; caution: {'; '.join(caveats)}" if caveats else ""
    return f"{label}: {parts}{truth_text}; {moved}; {balanced}{caution}."


def confounding_plain(max_smd_before: float | None, max_smd_after: float | None,
                      ratios: Mapping[str, Ratio | None], truth: float | None,
                      e_values: Sequence[str] = (), threshold: float = SMD_THRESHOLD) -> str:
    """Notebook 03's plain-words answer: imbalance, whether weighting fixed it, truth, E-values.

    Examples
    --------
    >>> text = confounding_plain(0.45, 0.30, {"naive": (0.9, 0.6, 1.3), "iptw": (0.6, 0.4, 0.9)},
    ...                          None)
    >>> "did not balance" in text, "no truth" in text
    (True, True)
    """
    if not (finite(max_smd_before) and finite(max_smd_after)):
        return ("no propensity model could be fitted on these data, so the tiers "
                "cannot be compared fairly here; the crude comparison of notebook 02 stays "
                "confounded by indication.")
    before = ("the tiers differed on the measured covariates before weighting" if max_smd_before >= threshold
              else "the tiers were already alike on the measured covariates")
    text = f"{before}; {balance(max_smd_before, max_smd_after, threshold)}"
    marginal = {METHOD_NAMES.get(name, name): r[0] for name, r in ratios.items()
                if r is not None and name != "adjusted"}  # the covariate-adjusted HR is conditional
    if finite(truth):
        text += (f"; {closeness(marginal, truth)} (the covariate-adjusted HR is conditional and "
                 "targets another quantity)")
    else:
        text += "; these data carry no truth, so the estimates can only be compared with each other"
    if e_values:
        text += f". What remains depends on unmeasured confounding: {'; '.join(e_values)}"
    return text + "."


__all__ = ["confounding_finding", "confounding_plain", "headline_term", "overview_finding",
           "overview_plain", "relapse_finding", "relapse_plain"]

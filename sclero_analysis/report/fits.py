"""Fit a model, or say why these data cannot support it: the notebooks' sections never stop.

:func:`attempt` wraps any estimator: its result, or the reason (the library's own error
message, which names what is missing), with the named warnings it raised kept as notes.
:func:`checked_cox` fits a Cox model only when there are more relapses than parameters and,
when events are few per parameter or the likelihood is monotone, puts Firth's penalised
estimate beside the ordinary one, with the caveats in numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sclero_analysis.conventions import RELAPSE
from sclero_analysis.exceptions import ScleroError, ScleroWarning, SeparationWarning
from sclero_analysis.report.findings import (
    EVENTS_PER_PARAMETER,
    count,
    events_per_parameter,
    few_clusters,
    hazard_ratio,
)
from sclero_analysis.survival.cox import fit_cox
from sclero_analysis.survival.design import design_matrix

#: Errors that mean "these data cannot support this model", not a bug in the caller.
NOT_FITTABLE = (ScleroError, np.linalg.LinAlgError, ValueError, FloatingPointError)


@dataclass(frozen=True)
class Attempt:
    """A model fitted, or the reason it could not be.

    Attributes
    ----------
    result : object or None
        What the function returned; None when it could not be fitted.
    reason : str
        Why not (the error's message), "" when fitted.
    notes : tuple of str
        The caveats the fit raised as named warnings (separation, positivity, small samples),
        in order, without repeats: print them beside the result.
    categories : tuple of type
        The classes of those warnings.
    """

    result: Any
    reason: str = ""
    notes: tuple[str, ...] = ()
    categories: tuple[type, ...] = ()

    @property
    def ok(self) -> bool:
        """The call succeeded."""
        return not self.reason

    def warned(self, category: type[Warning]) -> bool:
        """Whether the call raised a named warning of ``category``."""
        return any(issubclass(c, category) for c in self.categories)


def attempt(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Attempt:
    """Call ``func``; return its result, or why these data cannot support it.

    Named warnings (:class:`~sclero_analysis.exceptions.ScleroWarning`) raised during the
    call are collected as :attr:`Attempt.notes` instead of printed; other warnings pass on.

    Parameters
    ----------
    func : callable
        A model or estimator, e.g. :func:`sclero_analysis.fit_cox`.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    Attempt

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = pd.DataFrame({"time_months": [1.0, 2.0, 3.0], "event": [0, 0, 0], "x": [1.0, 2.0, 0.5]})
    >>> attempt(sa.fit_cox, df, "x").reason
    "no events with code 1 in 'event': nothing to fit"
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result, reason = func(*args, **kwargs), ""
        except NOT_FITTABLE as exc:
            result, reason = None, _reason(exc)
    named = [w for w in caught if issubclass(w.category, ScleroWarning)]
    for w in caught:
        if not issubclass(w.category, ScleroWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes = tuple(dict.fromkeys(" ".join(str(w.message).split()) for w in named))
    return Attempt(result, reason, notes, tuple(dict.fromkeys(w.category for w in named)))


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, np.linalg.LinAlgError):
        return f"a matrix of the computation is singular on these data ({text or 'LinAlgError'})"
    return text or type(exc).__name__


@dataclass(frozen=True)
class CheckedCox:
    """An ordinary Cox model with its caveats, and Firth's estimate beside it when events are few.

    Attributes
    ----------
    cox : Attempt
        The ordinary fit (robust SEs clustered on patient when asked).
    firth : Attempt or None
        Firth's penalised fit (model-based SEs, profile-likelihood intervals), fitted when
        there are fewer than 10 relapses per parameter or the ordinary likelihood is monotone.
    n_lines, n_events, n_parameters : int
    n_clusters : int or None
        Patients behind the robust SEs (None: no clustering).
    reason : str
        Why no model was fitted at all ("" when it was).
    """

    cox: Attempt
    firth: Attempt | None
    n_lines: int
    n_events: int
    n_parameters: int
    n_clusters: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """The ordinary model was fitted."""
        return not self.reason and self.cox.ok

    @property
    def separated(self) -> bool:
        """The ordinary partial likelihood is monotone (a coefficient runs to infinity)."""
        return self.cox.warned(SeparationWarning)

    @property
    def why_not(self) -> str:
        """Why the ordinary model is missing ("" when fitted)."""
        return self.reason or self.cox.reason

    def caveats(self) -> list[str]:
        """Return the warnings a reader needs beside the estimates, in numbers."""
        notes = [events_per_parameter(self.n_events, self.n_parameters)]
        if self.n_clusters is not None:
            notes.append(few_clusters(self.n_clusters))
        if self.separated:
            notes.append("the ordinary partial likelihood is monotone (a coefficient runs to 0 or "
                         "infinity): read Firth's penalised estimate")
        return [n for n in notes if n]

    def estimate(self, term: str, firth: bool = False) -> pd.Series | None:
        """Return the ``hr, hr_lower, hr_upper`` row of ``term`` (None when not fitted or absent)."""
        fit = self.firth if firth else self.cox
        if fit is None or not fit.ok or term not in fit.result.summary.index:
            return None
        return fit.result.summary.loc[term, ["hr", "hr_lower", "hr_upper"]]

    def models(self, name: str) -> dict[str, Any]:
        """Return ``{name: cox, "name (Firth)": firth}`` for what was fitted (for tables and plots)."""
        fitted = {name: self.cox, f"{name} (Firth)": self.firth}
        return {key: fit.result for key, fit in fitted.items() if fit is not None and fit.ok}

    def describe(self, term: str, label: str) -> str:
        """Say ``"<label> HR 0.03 (95% CI 0.01-0.15); Firth's penalised HR ...; caution: ..."``."""
        ordinary = self.estimate(term)
        if ordinary is None:
            return f"{label} no hazard ratio ({self.why_not or 'the term is not in the model'})"
        parts = [f"{label} {hazard_ratio(*ordinary)}"]
        penalised = self.estimate(term, firth=True)
        if penalised is not None:
            parts.append(f"Firth's penalised {hazard_ratio(*penalised)}")
        elif self.firth is not None:
            parts.append(f"no Firth estimate ({self.firth.reason})")
        caveats = self.caveats()
        if caveats:
            parts.append("caution: " + "; ".join(caveats))
        return "; ".join(parts)


def not_fitted(reason: str) -> CheckedCox:
    """Return a :class:`CheckedCox` that was not fitted, for ``reason`` (decided beforehand).

    Examples
    --------
    >>> not_fitted("no covariate varies").why_not
    'no covariate varies'
    """
    return CheckedCox(Attempt(None, reason), None, 0, 0, 0, None, reason)


def checked_cox(df: pd.DataFrame, formula: str, cluster: str | None = "patient_id",
                event: str = "event", cause: int = RELAPSE,
                min_events_per_parameter: int = EVENTS_PER_PARAMETER) -> CheckedCox:
    """Fit a Cox model when the data allow it, with Firth's estimate beside it when events are few.

    Parameters
    ----------
    df : pandas.DataFrame
        Analysis frame (rows with missing covariates already dropped).
    formula : str
        Right-hand side (``"tier + age_at_diagnosis_years"``).
    cluster : str or None
        Robust SEs clustered on this column (a patient's lines are correlated).
    event, cause
        Event-code column and the event of interest.
    min_events_per_parameter : int
        Below this many relapses per parameter, Firth's model is fitted too.

    Returns
    -------
    CheckedCox

    Notes
    -----
    With no more relapses than parameters the partial likelihood has, in general, no finite
    maximum: no model is fitted and :attr:`CheckedCox.reason` says so in numbers. Firth's
    model (Heinze & Schemper 2001) cannot be clustered; its SEs are model-based.

    Examples
    --------
    >>> df = pd.DataFrame({"time_months": [1.0, 2, 3, 4, 5, 6], "event": [1, 0, 1, 1, 0, 1],
    ...                    "x": [0.5, 1.0, 0.1, 0.9, 0.3, 0.7]})
    >>> checked = checked_cox(df, "x", cluster=None)
    >>> checked.ok, checked.firth is not None
    (True, True)
    >>> checked.caveats()[0][:46]
    'only 4.0 events per model parameter (4 events,'
    """
    n_events = int((df[event] == cause).sum())
    clusters = int(df[cluster].nunique()) if cluster is not None else None
    if df.empty:
        return CheckedCox(Attempt(None, "no lines"), None, 0, 0, 0, clusters, "no lines")
    design = attempt(design_matrix, df, formula)
    n_parameters = design.result.matrix.shape[1] if design.ok else 0
    reason = design.reason
    if not reason and n_parameters == 0:
        reason = "no parameter to estimate (a single tier and no varying covariate)"
    elif not reason and n_events <= n_parameters:
        reason = (f"{count(n_events, 'relapse')} in {count(len(df), 'line')} for "
                  f"{count(n_parameters, 'parameter')}: with no more relapses than parameters "
                  "the model has no finite estimate")
    if reason:
        return CheckedCox(Attempt(None, reason), None, len(df), n_events, n_parameters, clusters, reason)
    cox = attempt(fit_cox, df, formula, cluster=cluster, event=event, cause=cause)
    few = n_events < min_events_per_parameter * n_parameters
    firth = (attempt(fit_cox, df, formula, event=event, cause=cause, firth=True)
             if few or cox.warned(SeparationWarning) or not cox.ok else None)
    return CheckedCox(cox, firth, len(df), n_events, n_parameters, clusters)


def e_values(compared: pd.DataFrame, method: str = "iptw") -> tuple[pd.DataFrame, dict[str, str]]:
    """Compute the E-values of the tiers' hazard ratios in a ``compare_tiers`` table.

    Parameters
    ----------
    compared : pandas.DataFrame
        ``method, tier, hr, hr_lower, hr_upper`` rows.
    method : str
        Whose estimates (default ``iptw``).

    Returns
    -------
    (pandas.DataFrame, dict)
        Indexed by tier: ``hr, e_value`` (of the estimate), ``e_value_ci`` (of the confidence
        limit closer to 1; 1 when the interval includes 1); and tier → why it has no E-value
        (an estimate at 0 or infinity). Relapse is common: the common-outcome conversion is used.

    Examples
    --------
    >>> table = pd.DataFrame({"method": ["iptw"], "tier": ["cytoreduction"], "hr": [0.5],
    ...                       "hr_lower": [0.3], "hr_upper": [0.8]})
    >>> e_values(table)[0].round(2).to_dict("records")
    [{'hr': 0.5, 'e_value': 2.61, 'e_value_ci': 1.61}]
    """
    from sclero_analysis.causal.sensitivity import e_value

    rows, skipped = {}, {}
    for _, r in compared[compared["method"] == method].iterrows():
        got = attempt(e_value, r["hr"], r["hr_lower"], r["hr_upper"], rare=False)
        if not got.ok:
            skipped[str(r["tier"])] = got.reason
            continue
        rows[str(r["tier"])] = {"hr": r["hr"], "e_value": got.result.loc["estimate", "e_value"],
                                "e_value_ci": got.result["e_value"].iloc[1:].max()}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["hr", "e_value", "e_value_ci"])
    return table.rename_axis("tier"), skipped


__all__ = ["NOT_FITTABLE", "Attempt", "CheckedCox", "attempt", "checked_cox", "e_values", "not_fitted"]

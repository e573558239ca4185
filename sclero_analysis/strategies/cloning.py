"""Cloning and artificial censoring: when each patient's clone stops following a strategy.

Every eligible patient is cloned into each strategy at time zero. A clone follows its strategy
until its patient does something the strategy forbids (a tier it does not allow, an escalation
before the decision month) or fails to do in time what it requires (no escalation by the end of
the grace period, no cytoreduction within ``severe_within_months`` when severe); it is then
censored at that moment, the deviation. An outcome before or at the deviation counts (a clone
within its grace period follows its strategy). Deviating at time zero means never following.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sclero_analysis.strategies.rules import LADDER, Strategy


@dataclass(frozen=True)
class Clones:
    """One strategy's clones: deviation time and the decision window of each (months)."""

    deviation: np.ndarray  # inf: never deviates
    window_start: np.ndarray  # NaN: no window (the clone must not escalate at any time)
    window_end: np.ndarray
    time: np.ndarray  # follow-up of the clone: min(outcome, deviation)
    status: np.ndarray  # the outcome's code when it comes first (or at the deviation), else 0
    deviated: np.ndarray  # censored by the deviation (it came before the outcome or the last follow-up)


def _beyond(first: dict[str, np.ndarray], tier: str) -> np.ndarray:
    """First start of a tier above ``tier`` (``other`` is above every ladder tier)."""
    above = [first[t] for t in (*LADDER[LADDER.index(tier) + 1 :], "other") if t != "ivig"]
    return np.minimum.reduce(above)


def _escalation_rule(strategy: Strategy, first: dict[str, np.ndarray], responded_by: np.ndarray,
                     line_responded: np.ndarray | None):
    """Deviation and window of the non-severe rules (never escalate, or escalate if no response)."""
    any_escalation = _beyond(first, "ivig")
    n = len(any_escalation)
    if strategy.window is None:
        return any_escalation, np.full(n, np.nan), np.full(n, np.nan)
    start, end = strategy.window
    premature = any_escalation < start
    if line_responded is not None and int(start) < line_responded.shape[1]:
        responded = line_responded[:, int(start)]  # the line in course at the check
    else:
        responded = responded_by <= start
    complied = (
        (any_escalation >= start) & (any_escalation <= end) & (first[strategy.escalate_to] == any_escalation)
    )
    deviation = np.where(
        premature | responded,
        any_escalation,
        np.where(complied, _beyond(first, strategy.escalate_to), np.minimum(any_escalation, end)),
    )
    windowed = ~premature & ~responded
    return (deviation, np.where(windowed, start, np.nan), np.where(windowed, end, np.nan))


def clone(
    strategy: Strategy,
    time: np.ndarray,
    status: np.ndarray,
    first: dict[str, np.ndarray],
    responded_by: np.ndarray,
    severe: np.ndarray,
    line_responded: np.ndarray | None = None,
) -> Clones:
    """Clone every patient into ``strategy`` and censor at deviation (see the module docstring).

    Parameters
    ----------
    strategy : Strategy
    time, status : numpy.ndarray
        Outcome time (months from time zero) and code (1 relapse, 2 death, 0 censored).
    first : dict
        Tier → first start (months; inf: never) for ``immunosuppression``, ``cytoreduction``, ``other``.
    responded_by : numpy.ndarray
        First month with a response as the strategy counts it (inf: none).
    severe : numpy.ndarray of bool
        Severe at time zero by the strategy's rule (all False without one).
    line_responded : numpy.ndarray, optional
        (n, months) whether the line in course had responded by each whole month
        (:meth:`~sclero_analysis.strategies.timelines.Timelines.line_responded`): the response
        check reads it at the check's month. Without it, any response by then counts.

    Examples
    --------
    >>> first = {"immunosuppression": np.array([3.5, np.inf]), "cytoreduction": np.full(2, np.inf),
    ...          "other": np.full(2, np.inf)}
    >>> c = clone(Strategy.escalate_if_no_response(3, 1), np.array([10.0, 10.0]), np.array([1, 1]),
    ...           first, np.array([np.inf, np.inf]), np.zeros(2, bool))
    >>> c.deviation.tolist(), c.status.tolist()
    ([inf, 4.0], [1, 0])
    """
    deviation, window_start, window_end = _escalation_rule(strategy, first, responded_by, line_responded)
    if strategy.severe is not None and severe.any():
        w = strategy.severe_within_months
        beyond = _beyond(first, strategy.severe_tier)
        complied = first[strategy.severe_tier] <= w
        deviation = np.where(severe, np.where(complied, beyond, np.minimum(beyond, w)), deviation)
        window_start = np.where(severe, 0.0, window_start)
        window_end = np.where(severe, w, window_end)
    follows = time <= deviation
    return Clones(
        deviation,
        window_start,
        window_end,
        np.minimum(time, deviation),
        np.where(follows, status, 0),
        ~follows,
    )

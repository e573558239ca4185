"""How far restricted mean times to relapse can reach on a case series (survRM2's rule).

A restricted mean to 36 months needs every compared tier's curve defined to 36 months; a tier
whose follow-up ends censored earlier is left out of that table, or the horizon is shortened,
and the sentence says which, in months.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sclero_analysis.conventions import RELAPSE
from sclero_analysis.survival.inputs import survival_data
from sclero_analysis.survival.rmst import tau_bound


@dataclass(frozen=True)
class Horizon:
    """How far restricted mean times can reach on these data.

    Attributes
    ----------
    tau : float or None
        The horizon used (months); None: no horizon is supported (RMST left out).
    frame : pandas.DataFrame
        Rows of the tiers kept.
    left_out : dict
        Tier → its longest follow-up (months), for tiers whose follow-up ends censored
        before the asked horizon and were left out.
    asked : float
        The horizon asked for.
    """

    tau: float | None
    frame: pd.DataFrame
    left_out: dict[str, float]
    asked: float

    def sentence(self) -> str:
        """Say what was changed and why ("" when RMST runs as asked)."""
        if self.tau is None:
            return (f"no horizon is supported: the follow-up of a tier ends censored at 0 months, "
                    f"so no restricted mean to {self.asked:g} months is computed")
        if self.left_out:
            listing = ", ".join(f"{t} (followed to {m:.1f} months)" for t, m in self.left_out.items())
            return (f"{listing} left out of the restricted mean times: follow-up ends censored "
                    f"before {self.asked:g} months, where the curve is undefined")
        if self.tau < self.asked:
            return (f"restricted mean times to {self.tau:.1f} months instead of {self.asked:g}: "
                    "beyond it the curve of a tier is undefined (its follow-up ends censored)")
        return ""


def rmst_horizon(df: pd.DataFrame, tau: float, drop_tiers: bool = True, time: str = "time_months",
                 event: str = "event", cause: int = RELAPSE) -> Horizon:
    """Choose the tiers and horizon of restricted mean survival times (survRM2's rule).

    Parameters
    ----------
    df : pandas.DataFrame
        Analysis frame with ``tier``.
    tau : float
        The horizon asked for (months).
    drop_tiers : bool
        True: leave out tiers whose follow-up ends censored before ``tau`` when at least two
        tiers reach it; otherwise (or False) shorten the horizon to what every tier supports.
    time, event, cause
        Analysis columns.

    Returns
    -------
    Horizon

    Examples
    --------
    >>> df = pd.DataFrame({"tier": ["a", "a", "b", "b", "c"], "time_months": [40, 50, 45, 60, 10],
    ...                    "event": [1, 0, 1, 0, 0]})
    >>> h = rmst_horizon(df, 36)
    >>> h.tau, h.left_out
    (36, {'c': 10.0})
    >>> rmst_horizon(df, 36, drop_tiers=False).tau
    10.0
    """
    tiers = df["tier"].astype(object)
    bound = _bound(df, time, event, cause)
    if tau <= bound:
        return Horizon(tau, df, {}, tau)
    last = df.groupby(tiers, sort=False)[time].max()
    short = last[last < tau]
    kept = df[~tiers.isin(short.index)]
    if drop_tiers and kept["tier"].astype(object).nunique() >= 2 and tau <= _bound(kept, time, event, cause):
        return Horizon(tau, kept, {str(t): float(m) for t, m in short.items()}, tau)
    return Horizon(bound if bound > 0 else None, df, {}, tau)


def _bound(df: pd.DataFrame, time: str, event: str, cause: int) -> float:
    data = survival_data(df, time=time, event=event, group="tier", cause=cause)
    return tau_bound(data, [lv for lv in data.group.categories if (data.group == lv).any()])


__all__ = ["Horizon", "rmst_horizon"]

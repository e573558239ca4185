"""``sa.selection_sensitivity``: pooled response corrected for an assumed publication odds ratio λ.

If a responder is λ times as likely to be published (in odds), the literature's log odds of
response exceed the population's by log λ: the corrected pooled response is
``expit(logit - log λ)``, its interval shifted the same way. The tipping point is the λ at
which the corrected response equals a target (the registry's, a clinical threshold), an
analogue of the E-value for publication selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from scipy import special

from sclero_analysis.evidence.result import PooledProportions
from sclero_analysis.figures.style import new_axes


@dataclass(frozen=True, eq=False)
class SelectionSensitivity:
    """Pooled response corrected for assumed λ, and the tipping point per group.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per group and λ: ``group, odds, proportion, lower, upper, logit`` (corrected).
    tipping : pandas.DataFrame
        Indexed by group: ``proportion, lower, upper`` (uncorrected), ``target``,
        ``tipping_odds`` (λ at which the corrected response equals the target) and
        ``tipping_odds_ci`` (λ at which the interval's bound nearer the target reaches it:
        beyond it the corrected response no longer differs from the target), ``note``.
    conf_level : float
    """

    summary: pd.DataFrame
    tipping: pd.DataFrame
    conf_level: float

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw corrected response against λ (log axis) per group, with targets and tipping points.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Drawn on a new figure when not given.

        Returns
        -------
        matplotlib.axes.Axes
        """
        if ax is None:
            ax = new_axes(figsize=(5.5, 3.8))
        grid = np.geomspace(min(self.summary["odds"].min(), 1.0), self.summary["odds"].max(), 60)
        for group, row in self.tipping.iterrows():
            logit, low, high = special.logit([row["proportion"], row["lower"], row["upper"]])
            (line,) = ax.plot(grid, special.expit(logit - np.log(grid)), label=str(group))
            ax.fill_between(grid, special.expit(low - np.log(grid)), special.expit(high - np.log(grid)),
                            color=line.get_color(), alpha=0.15, lw=0)
            if np.isfinite(row["target"]):
                ax.axhline(row["target"], color=line.get_color(), ls=":", lw=1)
                if grid[0] <= row["tipping_odds"] <= grid[-1]:
                    ax.plot(row["tipping_odds"], row["target"], "o", color=line.get_color())
        ax.set_xscale("log")
        ax.set(xlabel="assumed λ (responder vs non-responder)",
               ylabel="corrected pooled response", ylim=(0, 1))
        ax.legend(frameon=False, fontsize="small")
        return ax

    def __repr__(self) -> str:
        return f"SelectionSensitivity({len(self.tipping)} groups, λ = {sorted(set(self.summary['odds']))})"


def _pooled_frame(pooled: PooledProportions | pd.DataFrame) -> pd.DataFrame:
    if isinstance(pooled, PooledProportions):
        frame = pooled.summary
        if pooled.method == "pft":
            raise ValueError("selection_sensitivity works on the logit scale; pool with a method other "
                             "than 'pft'")
        by = list(pooled.by)
        index = frame[by].astype(str).agg(", ".join, axis=1) if by else pd.Series("all", index=frame.index)
        frame = frame.set_index(pd.Index(index, name=", ".join(by) or "group"))
    else:
        frame = pooled
    missing = [c for c in ("proportion", "lower", "upper") if c not in frame.columns]
    if missing:
        raise KeyError(f"selection_sensitivity: the pooled table has no column {missing}")
    return frame[["proportion", "lower", "upper"]].astype(float)


def _targets(target: float | pd.Series | None, groups: pd.Index) -> pd.Series:
    if target is None:
        return pd.Series(np.nan, index=groups)
    if isinstance(target, pd.Series):
        values = target.reindex(groups).astype(float)
    else:
        values = pd.Series(float(target), index=groups)
    bad = values[(values < 0) | (values > 1)]
    if len(bad):
        raise ValueError(f"targets must be proportions between 0 and 1; got {bad.to_dict()}")
    return values


def _tipping(frame: pd.DataFrame, targets: pd.Series) -> pd.DataFrame:
    logit = special.logit(frame["proportion"])
    edge = targets.isin((0.0, 1.0))  # e.g. a registry tier where every line responded
    goal = special.logit(targets.mask(edge))
    above = logit >= goal
    nearer = np.where(above, special.logit(frame["lower"]), special.logit(frame["upper"]))
    with np.errstate(invalid="ignore", over="ignore"):
        tipping = np.exp(logit - goal)
        tipping_ci = np.exp(nearer - goal)
    note = np.where(targets.isna(), "no target given",
                    np.where(edge, "a target of 0% or 100% is reached by no finite λ",
                             np.where(above, "", "the literature's response is already below the target: "
                                                 "only λ < 1 (publication of non-responders) reaches it")))
    return frame.assign(target=targets, tipping_odds=tipping, tipping_odds_ci=tipping_ci, note=note)


def selection_sensitivity(
    pooled: PooledProportions | pd.DataFrame,
    odds: Sequence[float] = (1, 2, 4, 8, 16),
    target: float | pd.Series | None = None,
) -> SelectionSensitivity:
    """Correct pooled response rates for assumed odds ratios of publication λ; find the tipping point.

    Parameters
    ----------
    pooled : PooledProportions or pandas.DataFrame
        A :func:`~sclero_analysis.pool_proportions` result (logit-scale methods), or a frame
        indexed by group with ``proportion, lower, upper``.
    odds : sequence of float
        Assumed λ values (> 0): how much likelier, in odds, a responder is to be published.
    target : float or pandas.Series, optional
        Response against which to find the tipping point: one proportion, or one per group
        (a Series indexed by the group labels, e.g. a registry's response per tier).

    Returns
    -------
    SelectionSensitivity
        ``.summary`` (group × λ: corrected ``proportion, lower, upper, logit``), ``.tipping``
        (per group: the uncorrected response, ``target``, ``tipping_odds``,
        ``tipping_odds_ci``, ``note``) and ``.plot()``.

    Notes
    -----
    With λ = P(published | responder) / P(published | non-responder), Bayes' rule gives
    odds(response | published) = λ × odds(response) in the population the reports come from,
    so ``logit(corrected) = logit(pooled) - log λ``; the confidence limits shift by the same
    amount (λ is assumed known: no uncertainty in λ is added). The tipping point is
    ``λ* = exp(logit(pooled) - logit(target))``. λ itself can be estimated where an unselected
    registry covers the same treatment (:func:`~sclero_analysis.publication_odds`).

    References
    ----------
    VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the
    E-value. Ann Intern Med 2017;167:268-274.

    Copas J. What works?: selectivity models and meta-analysis. J R Stat Soc A 1999;162:95-109.

    Examples
    --------
    >>> table = pd.DataFrame({"proportion": [0.9], "lower": [0.8], "upper": [0.95]},
    ...                      index=pd.Index(["ivig"], name="tier"))
    >>> result = selection_sensitivity(table, odds=(1, 9), target=0.5)
    >>> result.summary["proportion"].round(3).tolist()
    [0.9, 0.5]
    >>> round(float(result.tipping.loc["ivig", "tipping_odds"]), 6)
    9.0
    """
    values = np.asarray(list(odds), float)
    if values.size == 0 or not (np.isfinite(values) & (values > 0)).all():
        raise ValueError(f"odds must be positive numbers; got {list(odds)}")
    frame = _pooled_frame(pooled)
    logits = special.logit(frame)
    rows = []
    for group, row in logits.iterrows():
        for lam in values:
            shifted = special.expit(row - np.log(lam))
            rows.append({"group": group, "odds": lam, "proportion": shifted["proportion"],
                         "lower": shifted["lower"], "upper": shifted["upper"],
                         "logit": row["proportion"] - np.log(lam)})
    tipping = _tipping(frame, _targets(target, frame.index))
    level = pooled.conf_level if isinstance(pooled, PooledProportions) else 0.95
    return SelectionSensitivity(summary=pd.DataFrame(rows), tipping=tipping, conf_level=level)

"""The result of :func:`sclero_analysis.publication_odds`: λ per group with its interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sclero_analysis.figures.style import new_axes


@dataclass(frozen=True, eq=False)
class PublicationOdds:
    """Odds ratio of publication for a responder vs a non-responder (λ), per group.

    Attributes
    ----------
    summary : pandas.DataFrame
        Indexed by group: ``odds, lower, upper, log_odds, se``, the 2x2 cells, ``literature_n,
        registry_n, literature_proportion, registry_proportion, corrected_proportion, method,
        note`` (see :func:`~sclero_analysis.publication_odds`).
    conf_level : float
    by : tuple of str
    covariates : tuple of str
    response_definition : str
    """

    summary: pd.DataFrame
    conf_level: float
    by: tuple[str, ...]
    covariates: tuple[str, ...]
    response_definition: str

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw λ per group with its interval on a log axis (1 = no selection on response).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Drawn on a new figure when not given.

        Returns
        -------
        matplotlib.axes.Axes
        """
        if ax is None:
            ax = new_axes(figsize=(5, 1 + 0.5 * len(self.summary)))
        shown = self.summary[np.isfinite(self.summary["odds"])]
        y = np.arange(len(shown))[::-1]
        ax.errorbar(shown["odds"], y, xerr=[shown["odds"] - shown["lower"], shown["upper"] - shown["odds"]],
                    fmt="o", color="black", capsize=3)
        ax.axvline(1.0, color="grey", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_yticks(y, [str(i) for i in shown.index])
        ax.set_xlabel(f"λ, responder vs non-responder ({self.conf_level:.0%} CI)")
        return ax

    def __repr__(self) -> str:
        rows = ", ".join(f"{g}: {r.odds:.2g} ({r.lower:.2g}-{r.upper:.2g})"
                         for g, r in self.summary.iterrows())
        return f"PublicationOdds({self.response_definition}; {rows})"

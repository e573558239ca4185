"""The result of :func:`sclero_analysis.step_selection`: corrected pooled effect and selection weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sclero_analysis.figures.style import new_axes


@dataclass(frozen=True, eq=False)
class StepSelection:
    """A step-function selection model fitted per group.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per group (see :func:`~sclero_analysis.step_selection`).
    deltas : pandas.DataFrame
        Per group and p-value interval: ``interval, k, delta, se, lower, upper``.
    steps : tuple of float
    alternative : str
    conf_level : float
    by : tuple of str
    """

    summary: pd.DataFrame
    deltas: pd.DataFrame
    steps: tuple[float, ...]
    alternative: str
    conf_level: float
    by: tuple[str, ...]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the estimated relative probability of selection against the p-value (steps).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Drawn on a new figure when not given.

        Returns
        -------
        matplotlib.axes.Axes
        """
        if ax is None:
            ax = new_axes(figsize=(5, 3.5))
        edges = np.concatenate([[0.0], self.steps])
        groups = self.deltas.groupby(list(self.by), sort=False) if self.by else [("all", self.deltas)]
        for key, part in groups:
            values = part["delta"].to_numpy()
            ax.stairs(values, edges, label=str(key), lw=2)
        ax.set(xlabel=f"one-sided p-value ({self.alternative})", ylabel="relative probability of selection",
               xlim=(0, 1))
        ax.set_ylim(bottom=0)
        if self.by:
            ax.legend(frameon=False)
        return ax

    def __repr__(self) -> str:
        return (f"StepSelection(steps={list(self.steps)}, {self.alternative}, {len(self.summary)} "
                f"group{'s' if len(self.summary) != 1 else ''})")

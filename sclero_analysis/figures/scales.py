"""Axes that cannot mislead: ratios on a log scale, proportions within [0, 1].

A hazard ratio of 0.5 is as far from 1 as 2 is; on a linear axis it looks half as far, and an
interval computed on the log scale cannot reach below 0 (drawn linearly, ±1.96 SE bars do).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, Locator, NullLocator, PercentFormatter

from sclero_analysis.figures.text import POINTS_PER_INCH, text_width

#: Ratio tick sets in order of preference: doubling around 1, then 1-2-5 per decade, decades,
#: and a fine set for narrow ranges. One set at a time: 0.2 and 0.25 never stand side by side.
TICK_SETS = (
    tuple(2.0 ** k for k in range(-3, 4)),  # 0.125 to 8
    tuple(m * 10.0 ** e for e in range(-4, 5) for m in (1, 2, 5)),
    tuple(10.0 ** e for e in range(-6, 7)),
    (0.5, 0.67, 0.8, 1, 1.25, 1.5, 2),
)


def ratio_limits(values: Iterable[float], pad: float = 1.25) -> tuple[float, float]:
    """Limits of a log ratio axis that hold every finite positive value and 1.

    Examples
    --------
    >>> ratio_limits([0.5, 1.6])
    (0.4, 2.0)
    """
    finite = np.asarray([v for v in values if np.isfinite(v) and v > 0], dtype=float)
    lo = min(float(finite.min()), 1.0) if len(finite) else 0.5
    hi = max(float(finite.max()), 1.0) if len(finite) else 2.0
    return lo / pad, hi * pad


def _fits(ticks: list[float], lo: float, hi: float, length: float | None, size: float | None) -> bool:
    """Whether neighbouring tick labels keep clear of each other on an axis ``length`` points long."""
    if length is None or len(ticks) < 2:
        return True
    span = np.log(hi) - np.log(lo)
    at = [(np.log(t) - np.log(lo)) / span * length for t in ticks]
    widths = [text_width(f"{t:g}", size) for t in ticks]
    return all(at[i + 1] - at[i] >= (widths[i] + widths[i + 1]) / 2 + 4
               for i in range(len(ticks) - 1))


def _ratio_ticks(lo: float, hi: float, max_ticks: int = 7, length: float | None = None,
                 size: float | None = None) -> list[float]:
    """Ticks of one set between lo and hi: 3 to ``max_ticks`` whose labels fit ``length`` points.

    Examples
    --------
    >>> _ratio_ticks(0.15, 3)
    [0.25, 0.5, 1.0, 2.0]
    >>> _ratio_ticks(0.01, 50)
    [0.01, 0.1, 1.0, 10.0]
    >>> _ratio_ticks(0.8, 1.3)
    [0.8, 1.0, 1.25]
    >>> _ratio_ticks(0.15, 3, length=60, size=7)  # 0.25 and 0.5 would touch: 1-2-5 instead
    [0.2, 0.5, 1.0, 2.0]
    """
    candidates = [[float(t) for t in ticks if lo <= t <= hi] for ticks in TICK_SETS]
    for ticks in candidates:
        spans = len(ticks) >= 2 and np.log(ticks[-1] / ticks[0]) >= 0.5 * np.log(hi / lo)
        if 3 <= len(ticks) <= max_ticks and spans and _fits(ticks, lo, hi, length, size):
            return ticks
    for ticks in candidates:
        if len(ticks) >= 2 and _fits(ticks, lo, hi, length, size):
            return ticks
    return [1.0] if lo <= 1 <= hi else candidates[1][:1]


class RatioLocator(Locator):
    """Ratio ticks chosen when the axis is drawn, so that their labels fit its final length."""

    def __call__(self):
        """Return the tick locations for the axis as it is now laid out."""
        lo, hi = sorted(self.axis.get_view_interval())
        axes = self.axis.axes
        pixels = axes.bbox.width if self.axis is axes.xaxis else axes.bbox.height
        length = pixels * POINTS_PER_INCH / axes.figure.dpi
        size = self.axis.majorTicks[0].label1.get_fontsize()  # a tick's font, without locating ticks
        return _ratio_ticks(max(lo, 1e-12), max(hi, 2e-12), length=length, size=size)


def log_ratio_axis(ax: Axes, which: str = "x", limits: tuple[float, float] | None = None,
                   reference: bool = True) -> Axes:
    """Make ``ax``'s x (or y) axis a log axis of ratios labelled in plain numbers (0.5, 1, 2).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    which : {"x", "y"}
    limits : (float, float), optional
        Default: the current limits (clipped to positive values).
    reference : bool
        Draw the line of no effect at 1.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0.4, 3.0], [0, 1])
    >>> _ = log_ratio_axis(ax, limits=(0.3, 4))
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['0.5', '1', '2', '4']
    >>> plt.close(fig)
    """
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    lo, hi = limits if limits is not None else (ax.get_xlim() if which == "x" else ax.get_ylim())
    lo, hi = max(lo, 1e-6), max(hi, 2e-6)
    (ax.set_xlim if which == "x" else ax.set_ylim)(lo, hi)
    axis.set_major_locator(RatioLocator())
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())
    if reference:
        line = ax.axvline if which == "x" else ax.axhline
        line(1.0, color="grey", lw=0.6, ls="--", zorder=0)
    return ax


def proportion_axis(ax: Axes, which: str = "y", lower: float = 0.0, percent: bool = True) -> Axes:
    """Limit an axis of proportions to [``lower``, 1]: nothing is drawn above 100%.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    which : {"x", "y"}
    lower : float
        Lower limit (0, or higher to show detail near 1, e.g. coverage).
    percent : bool
        Label ticks as percentages.

    Returns
    -------
    matplotlib.axes.Axes
    """
    (ax.set_ylim if which == "y" else ax.set_xlim)(max(lower, 0.0), 1.0)
    if percent:
        (ax.yaxis if which == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))
    return ax


def clipped_errors(estimate, half_width, lower: float = 0.0, upper: float = 1.0) -> np.ndarray:
    """Error-bar extents (2 × n) of ``estimate ± half_width`` cut to [lower, upper].

    Examples
    --------
    >>> clipped_errors([0.98], [0.05]).round(2).tolist()
    [[0.05], [0.02]]
    """
    y = np.asarray(estimate, dtype=float)
    h = np.asarray(half_width, dtype=float)
    below = np.minimum(h, np.maximum(y - lower, 0.0))
    above = np.minimum(h, np.maximum(upper - y, 0.0))
    return np.vstack([below, above])

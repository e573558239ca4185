"""Tables under a curve plot, as R users know them: number at risk, events, censored.

Each table is an Axes of its own below the curves, sharing their x axis and inside the figure
(so a plain ``savefig`` keeps it). Its numbers are written at draw time at the curve's x ticks
within the limits: after ``ax.set_xlim(0, 36)`` or ``ax.set_xticks(...)`` the columns follow.
The numbers are the result's own (its lookup is called at the ticks), never recounted here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from sclero_analysis.figures.text import font_points, text_width

Lookup = Callable[[Sequence[float]], pd.DataFrame]
#: Label of every table Axes (find them with ``[a for a in fig.axes if a.get_label() == ...]``).
RISK_TABLE_LABEL = "risk_table"
TABLE_FONT = "small"
LINE_SPACING = 1.55  # a table row's height, in font sizes


@dataclass(frozen=True)
class Table:
    """One table under the curves: its title, the lookup at the ticks, how numbers print."""

    title: str
    lookup: Lookup
    fmt: str = "{:.0f}"


def cumulative_lookup(summary: pd.DataFrame, column: str) -> Lookup:
    """Return a lookup of a count column of a curve table, summed up to each time (per group).

    ``summary`` has ``group, time`` and ``column`` (e.g. ``n_event``, ``n_censor``); the value
    at time t is the sum over the group's rows with ``time <= t`` (0 before the first).

    Examples
    --------
    >>> s = pd.DataFrame({"group": ["a", "a", "b"], "time": [1.0, 2.0, 1.5], "n_event": [1, 2, 4]})
    >>> cumulative_lookup(s, "n_event")([0, 1.5, 3]).to_numpy().tolist()
    [[0.0, 1.0, 3.0], [0.0, 4.0, 4.0]]
    """
    def lookup(times: Sequence[float]) -> pd.DataFrame:
        rows = {}
        for group, curve in summary.groupby("group", observed=True, sort=False):
            t = curve["time"].to_numpy(float)
            total = np.r_[0.0, np.cumsum(curve[column].to_numpy(float))]
            rows[group] = total[np.searchsorted(t, np.asarray(times, float), side="right")]
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(times))
        frame.index.name = "group"
        return frame

    return lookup


def visible_ticks(ax: Axes) -> list[float]:
    """Return the x ticks of ``ax`` within its current limits."""
    lo, hi = sorted(ax.get_xlim())
    span = (hi - lo) * 1e-9
    return [float(t) for t in ax.get_xticks() if lo - span <= t <= hi + span]


class TableNumbers(Artist):
    """The numbers of one table, rewritten at the curve axes' ticks whenever they change."""

    def __init__(self, curve: Axes, table: Table, size: float):
        super().__init__()
        self.curve, self.table, self.size = curve, table, size
        self.texts: list[Text] = []
        self._ticks: list[float] | None = None

    def refresh(self) -> None:
        """Rewrite the numbers if the ticks changed (called before every draw)."""
        ticks = visible_ticks(self.curve)
        if ticks == self._ticks:
            return
        self._ticks = ticks
        counts = self.table.lookup(ticks) if ticks else pd.DataFrame()
        self.texts = []
        for row, (_, values) in enumerate(counts.iterrows()):
            for tick, value in zip(ticks, values, strict=True):
                text = Text(tick, row, self.table.fmt.format(value), ha="center", va="center",
                            fontsize=self.size, transform=self.axes.transData, clip_on=False)
                text.set_figure(self.figure)
                text.axes = self.axes
                self.texts.append(text)
        self.stale = True

    def draw(self, renderer) -> None:
        """Draw the numbers at the current ticks."""
        self.refresh()
        for text in self.texts:
            text.draw(renderer)

    def get_children(self) -> list[Text]:
        """Return the number texts."""
        return list(self.texts)

    def get_window_extent(self, renderer=None) -> Bbox:
        """Return the box around the numbers (what the layout keeps room for)."""
        self.refresh()
        boxes = [t.get_window_extent(renderer) for t in self.texts if t.get_text()]
        return Bbox.union(boxes) if boxes else Bbox.null()


def _widest(table: Table, groups_at: pd.DataFrame) -> float:
    texts = [table.fmt.format(v) for v in np.ravel(groups_at.to_numpy())] or ["0"]
    return max(text_width(t, TABLE_FONT) for t in texts)


def draw_table(curve: Axes, axes: Axes, table: Table, colours: Mapping[str, str],
               group_labels: Mapping[str, str]) -> TableNumbers:
    """Draw one table in ``axes`` (under ``curve``, sharing its x axis).

    The row labels are the groups' display labels in the groups' colours; the numbers stand
    at the curve's visible x ticks and follow them.
    """
    axes.set_label(RISK_TABLE_LABEL)
    size = font_points(TABLE_FONT)
    first = table.lookup([0.0])
    rows = len(first)
    numbers = TableNumbers(curve, table, size)
    axes.add_artist(numbers)
    numbers.refresh()
    axes.set_ylim(rows - 0.5, -0.5)
    groups = [str(g) for g in first.index]
    axes.set_yticks(range(rows), [group_labels.get(g, g) for g in groups], fontsize=size)
    for text, group in zip(axes.get_yticklabels(), groups, strict=True):
        text.set_color(colours.get(group, "black"))
    # numbers centred on the first tick reach left of the axis: labels keep clear of the widest
    widest = _widest(table, table.lookup(visible_ticks(curve) or [0.0]))
    axes.tick_params(axis="y", left=False, pad=widest / 2 + 0.5 * size)
    axes.tick_params(axis="x", bottom=False, labelbottom=False)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_title(table.title, loc="left", fontsize=size, fontweight="bold", pad=2)
    return numbers


def table_height_points(rows: int) -> float:
    """Height of a table of ``rows`` rows (without its title), in points."""
    return max(rows, 1) * LINE_SPACING * font_points(TABLE_FONT)

"""Free space in a plot: a corner no curve, band or guide crosses, for a p-value or a note.

The plot records what it drew (step curves, bands, guide lines) in data coordinates; a corner
is free when the box the text will take, in axes coordinates, meets none of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.path import Path
from matplotlib.transforms import Bbox

from sclero_analysis.figures.text import POINTS_PER_INCH, font_points, text_width

#: Corner name → (x, y, ha, va) in axes coordinates.
CORNERS = {
    "lower left": (0.03, 0.04, "left", "bottom"),
    "upper left": (0.03, 0.96, "left", "top"),
    "lower right": (0.97, 0.04, "right", "bottom"),
    "upper right": (0.97, 0.96, "right", "top"),
}
#: The axes may shrink by this much when the layout makes room for labels and tables.
SHRINK_MARGIN = 1.2


def step_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of a post-step line through (x, y).

    Examples
    --------
    >>> [v.tolist() for v in step_xy(np.array([0.0, 1.0]), np.array([1.0, 0.5]))]
    [[0.0, 1.0, 1.0], [1.0, 1.0, 0.5]]
    """
    xs = np.repeat(x, 2)[1:]
    ys = np.repeat(y, 2)[:-1]
    return xs, ys


@dataclass
class Drawn:
    """What a plot drew, in data coordinates: polylines and filled polygons."""

    lines: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    areas: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def step(self, x, y) -> None:
        """Record a post-step curve through (x, y)."""
        self.lines.append(step_xy(np.asarray(x, float), np.asarray(y, float)))

    def band(self, x, lower, upper) -> None:
        """Record a stepped band between lower and upper (non-finite limits left out)."""
        x, lower, upper = (np.asarray(v, float) for v in (x, lower, upper))
        ok = np.isfinite(lower) & np.isfinite(upper)
        if ok.sum() < 1:
            return
        xs, lo = step_xy(x[ok], lower[ok])
        _, hi = step_xy(x[ok], upper[ok])
        self.areas.append((np.r_[xs, xs[::-1]], np.r_[lo, hi[::-1]]))

    def line(self, x, y) -> None:
        """Record a polyline."""
        self.lines.append((np.asarray(x, float), np.asarray(y, float)))


def _to_axes(ax: Axes, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return np.column_stack([(x - x0) / (x1 - x0), (y - y0) / (y1 - y0)])


def text_box(ax: Axes, corner: str, text: str, size: str | float | None = None) -> Bbox:
    """Return the box (axes coordinates) a text takes at a corner, with a safety margin."""
    x, y, ha, va = CORNERS[corner]
    fig = ax.figure
    box = ax.get_position()
    width_pt = box.width * fig.get_figwidth() * POINTS_PER_INCH
    height_pt = box.height * fig.get_figheight() * POINTS_PER_INCH
    w = SHRINK_MARGIN * (text_width(text, size) + 4) / width_pt
    h = SHRINK_MARGIN * (1.3 * font_points(size) * (text.count("\n") + 1) + 4) / height_pt
    x0 = x if ha == "left" else x - w
    y0 = y if va == "bottom" else y - h
    return Bbox.from_bounds(x0, y0, w, h)


def is_free(ax: Axes, drawn: Drawn, box: Bbox) -> bool:
    """Whether no drawn line or area meets ``box`` (axes coordinates)."""
    for x, y in drawn.lines:
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.sum() == 1 and box.contains(*_to_axes(ax, x[finite], y[finite])[0]):
            return False
        if finite.sum() >= 2 and Path(_to_axes(ax, x[finite], y[finite])).intersects_bbox(box, filled=False):
            return False
    for x, y in drawn.areas:
        vertices = _to_axes(ax, x, y)
        if Path(np.vstack([vertices, vertices[:1]]), closed=True).intersects_bbox(box, filled=True):
            return False
    return True


def free_corner(ax: Axes, drawn: Drawn, text: str, order: tuple[str, ...],
                size: str | float | None = None) -> str | None:
    """Return the first corner in ``order`` where ``text`` meets nothing drawn (None if none is free).

    Corners free of curves and bands are preferred; then corners that meet only a band.
    """
    boxes = {corner: text_box(ax, corner, text, size) for corner in order}
    for corner in order:
        if is_free(ax, drawn, boxes[corner]):
            return corner
    lines_only = Drawn(lines=drawn.lines)
    for corner in order:
        if is_free(ax, lines_only, boxes[corner]):
            return corner
    return None

"""Text measured before drawing: widths in points, labels wrapped to the room they have.

Figures lay out their own columns (forest numbers, risk tables, legends in rows) from the width
of the words they will print, so nothing depends on a draw having happened.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache

import matplotlib as mpl
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

POINTS_PER_INCH = 72.0


def font_points(size: str | float | None = None) -> float:
    """Return a font size (``"small"``, 7, None for the base size) in points, in the current style."""
    return FontProperties(size=size if size is not None else mpl.rcParams["font.size"]).get_size_in_points()


@lru_cache(maxsize=4096)
def _width(text: str, fonts: tuple[tuple[str, ...], tuple[str, ...]], size: float, weight: str) -> float:
    with mpl.rc_context({"font.family": list(fonts[0]), "font.sans-serif": list(fonts[1])}):
        prop = FontProperties(size=size, weight=weight)  # the style's family, resolved as drawing does
        return TextToPath().get_text_width_height_descent(text, prop, ismath=False)[0]


def text_width(text: str, size: str | float | None = None, weight: str = "normal") -> float:
    """Width of one line of ``text`` in points, in the style's font.

    Examples
    --------
    >>> text_width("IVIG", 10) < text_width("Immunosuppression", 10)
    True
    """
    fonts = (tuple(mpl.rcParams["font.family"]), tuple(mpl.rcParams["font.sans-serif"]))
    lines = str(text).split("\n")
    return max(_width(line, fonts, font_points(size), weight) for line in lines)


def wrap_to(text: str, room_points: float, size: str | float | None = None) -> str:
    r"""Break ``text`` into lines no wider than ``room_points``, first before a parenthesis.

    Examples
    --------
    >>> wrap_to("Probability of remaining free of relapse (death censored)", 120, 7)
    'Probability of remaining free of\nrelapse (death censored)'
    >>> wrap_to("Short", 120, 7)
    'Short'
    """
    if text_width(text, size) <= room_points:
        return text
    head, sep, tail = text.partition(" (")
    if sep and text_width(head, size) <= room_points and text_width("(" + tail, size) <= room_points:
        return f"{head}\n({tail}"
    per_char = text_width(text, size) / max(len(text), 1)
    width = max(int(room_points / per_char), 8)
    return "\n".join(textwrap.wrap(text, width=width, break_long_words=False)) or text

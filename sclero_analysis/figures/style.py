"""Journal style: widths, fonts, embedded TrueType, and one colour per tier in every figure.

The Okabe–Ito palette is colour-blind safe; each tier keeps its colour across every figure
(IVIG blue, immunosuppression orange, cytoreduction green, other reddish purple). The style is
a context manager: nothing changes at import.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

import matplotlib as mpl

MM_PER_INCH = 25.4
WIDTHS_MM = {"single": 85.0, "double": 180.0}
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
TIER_COLOURS = {"ivig": OKABE_ITO[0], "immunosuppression": OKABE_ITO[1],
                "cytoreduction": OKABE_ITO[2], "other": OKABE_ITO[3]}
#: Sans-serif fonts in order of preference; DejaVu Sans ships with matplotlib.
FONTS = ("Arial", "Helvetica", "Liberation Sans", "Nimbus Sans", "DejaVu Sans")


def colours_for(groups: Sequence[str]) -> dict[str, str]:
    """Return a colour per group: the fixed tier colour for tiers, the rest of the palette otherwise.

    Examples
    --------
    >>> colours_for(["cytoreduction", "all"])
    {'cytoreduction': '#009E73', 'all': '#56B4E9'}
    """
    spare = iter(c for c in OKABE_ITO if c not in TIER_COLOURS.values())
    out = {}
    for group in groups:
        key = str(group)
        out[key] = TIER_COLOURS.get(key) or next(spare, "#555555")
    return out


def figure_size(width: Literal["single", "double"] = "single", aspect: float = 0.75) -> tuple[float, float]:
    """Return a (width, height) in inches for a single (85 mm) or double (180 mm) column figure."""
    inches = WIDTHS_MM[width] / MM_PER_INCH
    return inches, inches * aspect


@contextmanager
def journal_style(width: Literal["single", "double"] = "single", font_size: float = 7.5,
                  fonts: Sequence[str] = FONTS) -> Iterator[None]:
    """Draw figures in journal style inside a ``with`` block.

    Parameters
    ----------
    width : {"single", "double"}
        Default figure width: 85 mm (one column) or 180 mm (two columns).
    font_size : float
        Base font size in points (7–8 pt is what journals print).
    fonts : sequence of str
        Sans-serif families in order of preference: the first one installed is used. By
        default Arial, Helvetica, Liberation Sans or Nimbus Sans where the machine has one,
        else DejaVu Sans, which ships with matplotlib (so the same text is drawn everywhere
        with ``fonts=["DejaVu Sans"]``).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> with journal_style():
    ...     fig, ax = plt.subplots()
    >>> round(fig.get_figwidth() * 25.4)
    85
    >>> plt.close(fig)
    """
    rc = {
        "figure.figsize": figure_size(width), "figure.dpi": 150, "savefig.dpi": 300,
        "font.family": "sans-serif", "font.sans-serif": list(fonts), "font.size": font_size,
        "axes.titlesize": font_size + 0.5, "axes.labelsize": font_size,
        "xtick.labelsize": font_size - 0.5, "ytick.labelsize": font_size - 0.5,
        "legend.fontsize": font_size - 0.5, "legend.frameon": False,
        "axes.spines.top": False, "axes.spines.right": False, "axes.linewidth": 0.6,
        "xtick.major.width": 0.6, "ytick.major.width": 0.6, "lines.linewidth": 1.0,
        "axes.prop_cycle": mpl.cycler(color=list(OKABE_ITO)),
        "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
        "savefig.bbox": "tight", "savefig.pad_inches": 0.02,
    }
    with mpl.rc_context(rc):
        yield


def new_axes(figsize: tuple[float, float] | None = None, ncols: int = 1):
    """Return the Axes of a NEW figure: plots never draw on whatever figure happens to be current.

    Parameters
    ----------
    figsize : (float, float), optional
        Width and height in inches (default: the style's ``figure.figsize``).
    ncols : int
        Panels side by side; more than one returns a 1-d array of Axes.

    Returns
    -------
    matplotlib.axes.Axes or numpy.ndarray of Axes

    Notes
    -----
    pyplot is imported on first drawing, never at import, so the figure joins pyplot's figure
    manager (shown inline in Jupyter) and is closed with ``plt.close(ax.figure)``. The figure
    has constrained layout: labels, legends and tables outside the plotting area are kept
    inside the figure, so a plain ``savefig`` keeps them.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> a, b = new_axes(), new_axes()
    >>> a.figure is b.figure
    False
    >>> plt.close("all")
    """
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=ncols == 1, layout="constrained")
    return axes if ncols == 1 else axes[0]

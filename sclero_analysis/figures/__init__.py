"""Publication figures.

Journal style, survival curves with risk tables, forest, swimmer and love plots, propensity
overlap.
"""

from sclero_analysis.figures.balance import love_plot, overlap_plot
from sclero_analysis.figures.curves import plot_curves, risk_table
from sclero_analysis.figures.forest import forest_plot
from sclero_analysis.figures.style import TIER_COLOURS, colours_for, figure_size, journal_style
from sclero_analysis.figures.swimmer import swimmer_plot, therapy_courses

__all__ = ["TIER_COLOURS", "colours_for", "figure_size", "forest_plot", "journal_style", "love_plot",
           "overlap_plot", "plot_curves", "risk_table", "swimmer_plot", "therapy_courses"]

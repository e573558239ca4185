"""Publication figures.

Journal style, survival curves with risk tables, forest, swimmer and love plots, propensity
overlap, registry-study panels. Every figure names what it shows with the display labels of
:mod:`sclero_analysis.labels` (override them per figure with ``labels=`` or for the session
with :func:`sclero_analysis.set_labels`).
"""

from sclero_analysis.figures.balance import love_plot, overlap_plot
from sclero_analysis.figures.curves import curve_tables, plot_curves, risk_table, table_axes
from sclero_analysis.figures.forest import forest_plot
from sclero_analysis.figures.legends import legend_of
from sclero_analysis.figures.scales import log_ratio_axis, proportion_axis
from sclero_analysis.figures.study import plot_study
from sclero_analysis.figures.style import TIER_COLOURS, colours_for, figure_size, journal_style
from sclero_analysis.figures.swimmer import swimmer_plot, therapy_courses

__all__ = ["TIER_COLOURS", "colours_for", "curve_tables", "figure_size", "forest_plot", "journal_style",
           "legend_of", "log_ratio_axis", "love_plot", "overlap_plot", "plot_curves", "plot_study",
           "proportion_axis", "risk_table", "swimmer_plot", "table_axes", "therapy_courses"]

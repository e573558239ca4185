"""Publication figures: journal style, survival curves with risk tables, forest plots."""

from sclero_analysis.figures.curves import plot_curves, risk_table
from sclero_analysis.figures.forest import forest_plot
from sclero_analysis.figures.style import TIER_COLOURS, colours_for, figure_size, journal_style

__all__ = ["TIER_COLOURS", "colours_for", "figure_size", "forest_plot", "journal_style", "plot_curves",
           "risk_table"]

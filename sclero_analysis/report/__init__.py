"""The report layer: saving figures and tables, executing the notebooks into ``reports/``."""

from sclero_analysis.report.save import save_figure, save_table

__all__ = ["save_figure", "save_table"]

"""Publication tables: Table 1, regression tables, medians and survival at fixed times.

Table 1 follows tableone's conventions (once per patient); medians a curve never reaches are
written "not reached".

Each returns a :class:`Table`: display strings (``.summary``) plus the numbers behind them, written
as Markdown, HTML, LaTeX (booktabs) or CSV.
"""

from sclero_analysis.tables.characteristics import table_one
from sclero_analysis.tables.estimates import median_table, survival_table
from sclero_analysis.tables.regression import regression_table
from sclero_analysis.tables.summaries import standardized_difference
from sclero_analysis.tables.table import Table

__all__ = ["Table", "median_table", "regression_table", "standardized_difference",
           "survival_table", "table_one"]

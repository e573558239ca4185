"""Publication tables: Table 1 (tableone's conventions, once per patient) and regression tables.

Both return a :class:`Table`: display strings (``.summary``) plus the numbers behind them, written
as Markdown, HTML, LaTeX (booktabs) or CSV.
"""

from sclero_analysis.tables.characteristics import table_one
from sclero_analysis.tables.regression import regression_table
from sclero_analysis.tables.summaries import standardized_difference
from sclero_analysis.tables.table import Table

__all__ = ["Table", "regression_table", "standardized_difference", "table_one"]

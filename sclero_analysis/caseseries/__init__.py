"""Case-series data: the data contract, the loader and the ``CaseSeries`` it returns."""

from sclero_analysis.caseseries.case_series import CaseSeries
from sclero_analysis.caseseries.load import read_case_series

__all__ = ["CaseSeries", "read_case_series"]

"""The report layer: saving figures and tables, executing the notebooks into ``reports/``."""

from sclero_analysis.report.build import Report, ReportError, build_report, data_hash
from sclero_analysis.report.index import write_index
from sclero_analysis.report.notebook import NotebookOutputs, load_data, notebook_outputs
from sclero_analysis.report.save import save_figure, save_table

__all__ = ["NotebookOutputs", "Report", "ReportError", "build_report", "data_hash", "load_data",
           "notebook_outputs", "save_figure", "save_table", "write_index"]

"""The report layer: saving figures and tables, executing the notebooks into ``reports/``."""

from sclero_analysis.report.build import Report, ReportError, build_report, data_hash
from sclero_analysis.report.datacheck import DataCheck, check_data
from sclero_analysis.report.index import write_index
from sclero_analysis.report.notebook import NotebookOutputs, load_data, notebook_outputs
from sclero_analysis.report.runs import NotebookRun
from sclero_analysis.report.save import save_figure, save_table

__all__ = ["DataCheck", "NotebookOutputs", "NotebookRun", "Report", "ReportError", "build_report",
           "check_data", "data_hash", "load_data", "notebook_outputs", "save_figure", "save_table",
           "write_index"]

"""Registry-study simulator: power, bias and coverage by Monte Carlo, locally or on Dask."""

from sclero_analysis.studies.analyses import ANALYSES, Analysis, LinesBatch, register_analysis
from sclero_analysis.studies.batched_cox import BatchedCoxResult, fit_cox_batched
from sclero_analysis.studies.design import StudyDesign, StudyDesignError
from sclero_analysis.studies.engine import run_chunk, run_study, scenario_truth
from sclero_analysis.studies.fastpath import Lines, simulate_lines
from sclero_analysis.studies.result import StudyResult, performance

__all__ = ["ANALYSES", "Analysis", "BatchedCoxResult", "Lines", "LinesBatch", "StudyDesign",
           "StudyDesignError", "StudyResult", "fit_cox_batched", "performance", "register_analysis",
           "run_chunk", "run_study", "scenario_truth", "simulate_lines"]

"""Registry-study simulator: power, bias and coverage by Monte Carlo, locally or on Dask."""

from sclero_analysis._lazy import lazy_exports

_EXPORTS = {
    "ANALYSES": "analyses",
    "Analysis": "analyses",
    "LinesBatch": "analyses",
    "WORKING_MODEL": "analyses",
    "register_analysis": "analyses",
    "BatchedCoxResult": "batched_cox",
    "fit_cox_batched": "batched_cox",
    "StudyDesign": "design",
    "StudyDesignError": "design",
    "run_chunk": "chunk",
    "run_study": "engine",
    "scenario_truth": "estimands",
    "Lines": "fastpath",
    "simulate_lines": "fastpath",
    "StudyResult": "result",
    "performance": "result",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["ANALYSES", "Analysis", "BatchedCoxResult", "Lines", "LinesBatch", "StudyDesign",
           "StudyDesignError", "StudyResult", "fit_cox_batched", "performance", "register_analysis",
           "run_chunk", "run_study", "scenario_truth", "simulate_lines", "WORKING_MODEL"]

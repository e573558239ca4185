"""sclero_analysis: comparative outcome research in scleromyxedema.

Load and validate case series, derive time-to-relapse data per therapy tier, fit survival
models, simulate registries and registry studies, and draw publication figures.

Examples
--------
>>> import sclero_analysis as sa
>>> sa.resolve_agents("IVIg + lenolidamide").tier
'immunosuppression'
"""

from sclero_analysis._lazy import lazy_exports

# Each public name and the module defining it; imported on first use (see _lazy.py).
_EXPORTS = {
    "causal": "",
    "figures": "",
    "literature": "",
    "report": "",
    "studies": "",
    "CaseSeries": "caseseries",
    "read_case_series": "caseseries",
    "write_template": "caseseries.template",
    "adjusted_curves": "causal",
    "compare_tiers": "causal",
    "e_value": "causal",
    "propensity": "causal",
    "tipping_point": "causal",
    "cohort_flow": "cohort",
    "exclusions": "cohort",
    "relapse_frame": "cohort",
    "survival_frame": "cohort",
    "tier_history": "cohort",
    "CaseSeriesError": "exceptions",
    "UnknownAgentWarning": "exceptions",
    "publication_sweep": "literature",
    "response_rates": "literature",
    "build_report": "report",
    "load_data": "report",
    "save_figure": "report",
    "save_table": "report",
    "StudyDesign": "studies",
    "run_study": "studies",
    "cumulative_incidence": "survival",
    "fit_cox": "survival",
    "fit_fine_gray": "survival",
    "gray_test": "survival",
    "kaplan_meier": "survival",
    "logrank": "survival",
    "rmst": "survival",
    "PublicationDesign": "synthetic",
    "RegistryDesign": "synthetic",
    "load_example": "synthetic",
    "publish_case_reports": "synthetic",
    "simulate_registry": "synthetic",
    "regression_table": "tables",
    "table_one": "tables",
    "TIERS": "therapy",
    "load_vocabulary": "therapy",
    "resolve_agents": "therapy",
}

__all__ = [
    "TIERS",
    "CaseSeries",
    "PublicationDesign",
    "RegistryDesign",
    "StudyDesign",
    "CaseSeriesError",
    "UnknownAgentWarning",
    "adjusted_curves",
    "build_report",
    "causal",
    "cohort_flow",
    "figures",
    "compare_tiers",
    "e_value",
    "propensity",
    "tipping_point",
    "cumulative_incidence",
    "exclusions",
    "fit_cox",
    "fit_fine_gray",
    "gray_test",
    "kaplan_meier",
    "literature",
    "load_data",
    "load_example",
    "load_vocabulary",
    "logrank",
    "publication_sweep",
    "publish_case_reports",
    "read_case_series",
    "relapse_frame",
    "report",
    "response_rates",
    "regression_table",
    "resolve_agents",
    "rmst",
    "run_study",
    "save_figure",
    "save_table",
    "simulate_registry",
    "studies",
    "survival_frame",
    "table_one",
    "tier_history",
    "write_template",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__version__ = "0.1.0"

"""sclero_analysis: comparative outcome research in scleromyxedema.

Load and validate case series, derive time-to-relapse data per therapy tier, fit survival
models, simulate registries and registry studies, and draw publication figures.

Examples
--------
>>> import sclero_analysis as sa
>>> sa.resolve_agents("IVIg + lenolidamide").tier
'immunosuppression'
"""

from sclero_analysis import causal, figures, literature, report, studies
from sclero_analysis.caseseries import CaseSeries, read_case_series
from sclero_analysis.causal import adjusted_curves, compare_tiers, e_value, propensity, tipping_point
from sclero_analysis.cohort import cohort_flow, exclusions, relapse_frame, survival_frame, tier_history
from sclero_analysis.exceptions import CaseSeriesError, UnknownAgentWarning
from sclero_analysis.literature import publication_sweep, response_rates
from sclero_analysis.report import build_report, load_data, save_figure, save_table
from sclero_analysis.studies import StudyDesign, run_study
from sclero_analysis.survival import (
    cumulative_incidence,
    fit_cox,
    fit_fine_gray,
    gray_test,
    kaplan_meier,
    logrank,
    rmst,
)
from sclero_analysis.synthetic import (
    PublicationDesign,
    RegistryDesign,
    load_example,
    publish_case_reports,
    simulate_registry,
)
from sclero_analysis.tables import regression_table, table_one
from sclero_analysis.therapy import TIERS, load_vocabulary, resolve_agents

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
]
__version__ = "0.1.0"

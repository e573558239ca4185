"""Synthetic registries with known truth: the generator, its design and its truth."""

from sclero_analysis._lazy import lazy_exports

_EXPORTS = {
    "RegistryDesign": "design",
    "literature_tables": "papers",
    "load_example": "examples",
    "write_example": "examples",
    "PublicationDesign": "publication",
    "publish_case_reports": "publication",
    "reported_lines": "publication",
    "simulate_registry": "simulate",
    "true_conditional_log_hr": "simulate",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["PublicationDesign", "RegistryDesign", "literature_tables", "load_example",
           "publish_case_reports",
           "reported_lines", "simulate_registry", "true_conditional_log_hr", "write_example"]

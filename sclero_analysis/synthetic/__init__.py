"""Synthetic registries with known truth: the generator, its design and its truth."""

from sclero_analysis.synthetic.design import RegistryDesign
from sclero_analysis.synthetic.examples import load_example, write_example
from sclero_analysis.synthetic.publication import (
    PublicationDesign,
    publish_case_reports,
    reported_lines,
)
from sclero_analysis.synthetic.simulate import simulate_registry, true_conditional_log_hr

__all__ = ["PublicationDesign", "RegistryDesign", "load_example", "publish_case_reports",
           "reported_lines", "simulate_registry", "true_conditional_log_hr", "write_example"]

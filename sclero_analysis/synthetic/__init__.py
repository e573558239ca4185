"""Synthetic registries with known truth: the generator, its design and its truth."""

from sclero_analysis.synthetic.design import RegistryDesign
from sclero_analysis.synthetic.simulate import simulate_registry, true_conditional_log_hr

__all__ = ["RegistryDesign", "simulate_registry", "true_conditional_log_hr"]

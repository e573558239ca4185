"""Survival estimators equal to R's survival and cmprsk (METHODS.md)."""

from sclero_analysis.survival.cox import fit_cox
from sclero_analysis.survival.cox_result import CoxResult
from sclero_analysis.survival.inputs import SurvivalInputError
from sclero_analysis.survival.logrank import logrank
from sclero_analysis.survival.nonparametric import KaplanMeier, kaplan_meier
from sclero_analysis.survival.results import HypothesisTest
from sclero_analysis.survival.rmst import RMST, rmst

__all__ = ["RMST", "CoxResult", "HypothesisTest", "KaplanMeier", "SurvivalInputError", "fit_cox",
           "kaplan_meier", "logrank", "rmst"]

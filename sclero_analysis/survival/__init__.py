"""Survival estimators equal to R's survival and cmprsk."""

from sclero_analysis.survival.competing import CumulativeIncidence, cumulative_incidence, gray_test
from sclero_analysis.survival.cox import fit_cox
from sclero_analysis.survival.cox_result import CoxResult
from sclero_analysis.survival.fine_gray import FineGrayResult, fit_fine_gray
from sclero_analysis.survival.followup import FollowUp, follow_up
from sclero_analysis.survival.inputs import SurvivalInputError
from sclero_analysis.survival.logrank import logrank
from sclero_analysis.survival.nonparametric import KaplanMeier, kaplan_meier
from sclero_analysis.survival.pairwise import PairwiseTest, pairwise_logrank
from sclero_analysis.survival.results import HypothesisTest
from sclero_analysis.survival.rmst import RMST, rmst

__all__ = ["RMST", "CoxResult", "CumulativeIncidence", "FineGrayResult", "FollowUp",
           "HypothesisTest", "KaplanMeier", "PairwiseTest", "SurvivalInputError",
           "cumulative_incidence", "fit_cox", "fit_fine_gray", "follow_up", "gray_test",
           "kaplan_meier", "logrank", "pairwise_logrank", "rmst"]

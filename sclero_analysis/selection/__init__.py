"""Correcting the literature for the publication of responders (outcome-dependent selection).

* :func:`publication_odds` — λ, the odds ratio of publication for a responder, from the
  literature's reported lines against an unselected registry's.
* :func:`selection_sensitivity` — pooled response corrected for assumed λ, and the tipping point.
* :func:`publication_weighted_km` — relapse curves of published cases weighted by 1/λ.
* :func:`step_selection` — the Vevea-Hedges step-function model for series selected on p-values.
"""

from sclero_analysis.selection.odds import publication_odds
from sclero_analysis.selection.odds_result import PublicationOdds
from sclero_analysis.selection.sensitivity import SelectionSensitivity, selection_sensitivity
from sclero_analysis.selection.step_result import StepSelection
from sclero_analysis.selection.step_selection import step_selection
from sclero_analysis.selection.weighted import PublicationWeightedKM, publication_weighted_km

__all__ = ["PublicationOdds", "PublicationWeightedKM", "SelectionSensitivity", "StepSelection",
           "publication_odds", "publication_weighted_km", "selection_sensitivity", "step_selection"]

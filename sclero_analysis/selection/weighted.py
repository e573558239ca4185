"""``sa.publication_weighted_km``: relapse curves of published cases weighted by 1/λ.

A responder is λ times as likely (in odds; in probability when publication is rare) to be
written up as a non-responder, so each published responder's reported line stands for 1/λ of
a non-responder's: weighting responders' lines by 1/λ (inverse probability of publication,
relative) gives the curve the unselected patients would have shown, under the assumption that,
given response and tier, publication does not depend on what happened after the response.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.cohort import relapse_frame
from sclero_analysis.evidence.literature import Literature
from sclero_analysis.exceptions import ExcludedRowsWarning, SmallSampleWarning
from sclero_analysis.selection.odds_result import PublicationOdds
from sclero_analysis.survival import kaplan_meier
from sclero_analysis.survival.nonparametric import KaplanMeier
from sclero_analysis.synthetic.publication import reported_lines

RESPONSES = ("CR", "PR")
LITERATURE, CORRECTED, REGISTRY = "literature", "literature weighted 1/λ", "registry"


@dataclass(frozen=True, eq=False)
class PublicationWeightedKM:
    """Kaplan-Meier curves of published cases, unweighted and weighted by 1/λ, beside a registry.

    Attributes
    ----------
    curves : KaplanMeier
        Groups ``literature``, ``literature weighted 1/λ`` and (when given) ``registry``.
    frame : pandas.DataFrame
        The reported lines analysed: the relapse frame's columns, ``source``, ``odds`` (λ
        applied; 1 for non-responders and the registry) and ``weight``.
    """

    curves: KaplanMeier
    frame: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """The curves' table (as :attr:`KaplanMeier.summary`)."""
        return self.curves.summary

    def gap_to_registry(self, times) -> pd.Series:
        """Mean absolute difference in survival from the registry's curve over ``times``, per group.

        Parameters
        ----------
        times : sequence of float
            Months at which the curves are compared.

        Returns
        -------
        pandas.Series
            Indexed by ``literature`` and ``literature weighted 1/λ`` (NaN without a registry).
        """
        survival = self.curves.survival_at(times)
        if REGISTRY not in survival.index:
            return pd.Series(np.nan, index=[LITERATURE, CORRECTED])
        gap = (survival.loc[[LITERATURE, CORRECTED]] - survival.loc[REGISTRY]).abs().mean(axis=1)
        return gap.rename("mean_absolute_gap")

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the curves (no risk table: weighted numbers at risk are not counts).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Drawn on a new figure when not given.

        Returns
        -------
        matplotlib.axes.Axes
        """
        return self.curves.plot(ax=ax, risk_table=False, censor_marks=False)


def _odds_of(frame: pd.DataFrame, odds: PublicationOdds | float) -> pd.Series:
    """λ for each line from one estimate (per group or overall) or one assumed value."""
    if not isinstance(odds, PublicationOdds):
        if not np.isfinite(odds) or odds <= 0:
            raise ValueError(f"odds must be positive numbers or PublicationOdds results, not {odds!r}")
        return pd.Series(float(odds), index=frame.index)
    values = odds.summary["odds"]
    if not odds.by:
        return pd.Series(float(values.iloc[0]), index=frame.index)
    if len(odds.by) > 1:
        raise ValueError("publication_weighted_km takes λ estimated by one column (e.g. by='tier')")
    mapped = frame[odds.by[0]].astype(object).map(values.to_dict()).astype(float)
    missing = sorted(set(frame.loc[mapped.isna(), odds.by[0]].astype(str)))
    if missing:
        warnings.warn(f"publication_weighted_km: no estimate of λ for {odds.by[0]} {', '.join(missing)}; "
                      "their lines keep weight 1", SmallSampleWarning, stacklevel=4)
    return mapped.fillna(1.0)


def _line_odds(frame: pd.DataFrame, odds) -> pd.Series:
    """λ of each reported line: one λ for every responder, or one per best response (CR, PR)."""
    if isinstance(odds, Mapping):
        unknown = sorted(set(odds) - set(RESPONSES))
        if unknown:
            raise ValueError(f"odds per best response take keys {RESPONSES}, not {unknown}")
        result = pd.Series(1.0, index=frame.index)
        for response, value in odds.items():
            rows = frame["best_response"] == response
            result[rows] = _odds_of(frame[rows], value)
        return result
    responded = frame["best_response"].isin(RESPONSES)
    return _odds_of(frame, odds).where(responded, 1.0)


def _reported_frame(cs: CaseSeries, source: str, origin: str) -> pd.DataFrame:
    told = reported_lines(cs.lines)[["patient_id", "line"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExcludedRowsWarning)  # lines without follow-up
        frame = relapse_frame(cs, origin=origin)
    kept = frame.merge(told, on=["patient_id", "line"])
    return kept.assign(source=source)


def publication_weighted_km(
    literature: Literature | CaseSeries,
    odds: PublicationOdds | float | Mapping[str, PublicationOdds | float],
    registry: CaseSeries | None = None,
    origin: Literal["line_start", "response"] = "line_start",
) -> PublicationWeightedKM:
    """Relapse-free curves of published cases' reported lines, corrected by weighting responders 1/λ.

    Parameters
    ----------
    literature : Literature or CaseSeries
        Published cases (a ``Literature``'s per-patient cases; aggregate series rows carry no
        times and are not used).
    odds : PublicationOdds, float or mapping
        λ of a responder (CR or PR) from :func:`~sclero_analysis.publication_odds` (by
        ``tier`` or one λ) or an assumed value; or one per best response, ``{"CR": ..., "PR":
        ...}`` (e.g. ``publication_odds(..., response_definition="CR vs SD/PD")``), which is
        what corrects curves after response, where CR and PR are published unequally.
    registry : CaseSeries, optional
        An unselected registry whose reported lines (same rule) are drawn beside.
    origin : {"line_start", "response"}
        Time from the start of the reported line, or from its response (CR/PR lines only:
        relapse after response), as :func:`~sclero_analysis.relapse_frame`.

    Returns
    -------
    PublicationWeightedKM
        ``.curves`` (a :class:`~sclero_analysis.survival.nonparametric.KaplanMeier`),
        ``.frame``, ``.summary``, ``.gap_to_registry(times)``, ``.plot()``.

    Warns
    -----
    SmallSampleWarning
        A group whose λ is not estimable: its lines keep weight 1.

    Notes
    -----
    One line per patient, the one a report tells (first CR, else first PR, else the last
    line); relapse or progression is the event (deaths censored), follow-up of a published
    case ending when the report was written. Weights ``1/λ`` for responders and 1 otherwise
    are relative probabilities of publication (Horvitz-Thompson); with non-integer weights
    the curve's variance is the infinitesimal jackknife (R's ``survfit`` with weights). λ is
    treated as known: the bands do not include its uncertainty. The assumption: given the
    response (and tier, when λ is per tier), publication does not depend on the later course.

    References
    ----------
    Horvitz DG, Thompson DJ. A generalization of sampling without replacement from a finite
    universe. J Am Stat Assoc 1952;47:663-685.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> registry = sa.load_example()
    >>> published = sa.publish_case_reports(registry, seed=1)
    >>> km = sa.publication_weighted_km(published, {"CR": 20.0, "PR": 4.0}, registry, origin="response")
    >>> km.curves.groups
    ['literature', 'literature weighted 1/λ', 'registry']
    """
    if origin not in ("line_start", "response"):
        raise ValueError(f"origin must be 'line_start' or 'response', not {origin!r}")
    cases = literature.cases if isinstance(literature, Literature) else literature
    published = _reported_frame(cases, LITERATURE, origin)
    published["odds"] = _line_odds(published, odds)
    parts = [published.assign(weight=1.0),
             published.assign(source=CORRECTED, weight=1.0 / published["odds"])]
    if registry is not None:
        parts.append(_reported_frame(registry, REGISTRY, origin).assign(odds=1.0, weight=1.0))
    frame = pd.concat(parts, ignore_index=True)
    frame["source"] = pd.Categorical(frame["source"], [LITERATURE, CORRECTED, REGISTRY][: len(parts)])
    curves = kaplan_meier(frame, group="source", weights="weight", cluster=False)
    return PublicationWeightedKM(curves=curves, frame=frame)

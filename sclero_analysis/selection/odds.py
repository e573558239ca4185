"""How much likelier a responder is to be published: ``sa.publication_odds``.

With λ = P(published | responder) / P(published | non-responder), Bayes' rule gives, in a
population where a registry and the literature draw from the same patients,

    odds(response | published) = odds(response | registry) × λ,

so λ is the odds ratio of response between the literature and an unselected registry, equally
the odds ratio of "source is the literature" between a responder and a non-responder. It is fitted
per group as a logistic regression of the source on response (and covariates).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.evidence.design import design_matrix
from sclero_analysis.evidence.literature import Literature
from sclero_analysis.exceptions import ExcludedRowsWarning, SeparationWarning, SmallSampleWarning
from sclero_analysis.selection.logistic import fit_logistic, profile_interval
from sclero_analysis.selection.odds_result import PublicationOdds
from sclero_analysis.selection.reported import RESPONDED, reported_responses
from sclero_analysis.therapy import TIERS

CELL_NAMES = {"literature_responders": "published responder",
              "literature_non_responders": "published non-responder",
              "registry_responders": "registry responder",
              "registry_non_responders": "registry non-responder"}
#: A coefficient beyond this (log odds) means quasi-complete separation by the covariates.
SEPARATED = 15.0
ML = "maximum likelihood; profile-likelihood interval"
FIRTH = "Firth penalised likelihood (an empty cell); profile penalised-likelihood interval"


def _as_list(names: str | Sequence[str] | None) -> list[str]:
    if names is None:
        return []
    return [names] if isinstance(names, str) else list(names)


def _cells(frame: pd.DataFrame) -> dict[str, int]:
    def count(lit: int, what: str) -> int:
        side = frame[frame["literature"] == lit]
        responders = int(side["responders"].sum())
        return responders if what == "r" else int(side["patients"].sum()) - responders

    return {"literature_responders": count(1, "r"), "literature_non_responders": count(1, "n"),
            "registry_responders": count(0, "r"), "registry_non_responders": count(0, "n")}


def _binomial_rows(frame: pd.DataFrame, covariates: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the model literature ~ responded + covariates: (x, literature count, total)."""
    responders = frame.assign(responded=1, weight=frame["responders"])
    others = frame.assign(responded=0, weight=frame["patients"] - frame["responders"])
    rows = pd.concat([responders, others], ignore_index=True)
    rows = rows[rows["weight"] > 0]
    keys = ["responded", *covariates]
    grouped = rows.assign(lit=rows["weight"] * rows["literature"]).groupby(keys, sort=False, observed=True)
    counts = grouped[["lit", "weight"]].sum().reset_index()
    x, _ = design_matrix(counts, keys)
    return x, counts["lit"].to_numpy(float), counts["weight"].to_numpy(float)


def _fit_group(frame: pd.DataFrame, covariates: list[str], level: float, where: str,
               caveats: list[tuple[type, str]]) -> dict:
    cells = _cells(frame)
    row = {**cells, "log_odds": np.nan, "se": np.nan, "odds": np.nan, "lower": np.nan,
           "upper": np.nan, "method": "", "note": ""}
    sides = (cells["literature_responders"] + cells["literature_non_responders"],
             cells["registry_responders"] + cells["registry_non_responders"])
    kinds = (cells["literature_responders"] + cells["registry_responders"],
             cells["literature_non_responders"] + cells["registry_non_responders"])
    if min(sides) == 0 or min(kinds) == 0:
        row["note"] = (f"not estimable: {sides[0]} literature and {sides[1]} registry lines, "
                       f"{kinds[0]} responders and {kinds[1]} non-responders")
        caveats.append((SmallSampleWarning, f"publication_odds, {where}: {row['note']}"))
        return row
    x, y, n = _binomial_rows(frame, covariates)
    firth = min(cells.values()) == 0
    fit = fit_logistic(x, y, n, firth=firth)
    if not firth and (not fit.converged or np.max(np.abs(fit.coef)) > SEPARATED):
        firth, fit = True, fit_logistic(x, y, n, firth=True)
    if firth:
        empty = ", ".join(CELL_NAMES[k] for k, v in cells.items() if v == 0) or \
            "finite maximum-likelihood estimate (the covariates separate the sources)"
        caveats.append((SeparationWarning, f"publication_odds, {where}: no {empty}; λ is the "
                        "Firth penalised estimate (1/2 added to each cell of a 2x2 table) with a "
                        "finite profile penalised-likelihood interval"))
    lower, upper = profile_interval(x, y, n, fit, 1, level)
    row.update(log_odds=float(fit.coef[1]), se=float(np.sqrt(fit.cov[1, 1])),
               odds=float(np.exp(fit.coef[1])), lower=float(np.exp(lower)), upper=float(np.exp(upper)),
               method=FIRTH if firth else ML)
    return row


def odds_from_cells(literature_responders: int, literature_non_responders: int, registry_responders: int,
                    registry_non_responders: int, conf_level: float = 0.95) -> dict:
    """λ from a 2x2 table, as :func:`publication_odds` fits each group (same warnings, same row).

    Examples
    --------
    >>> row = odds_from_cells(30, 5, 40, 35)
    >>> round(row["odds"], 6), row["method"] == ML
    (5.25, True)
    """
    frame = pd.DataFrame({"responders": [literature_responders, registry_responders],
                          "patients": [literature_responders + literature_non_responders,
                                       registry_responders + registry_non_responders],
                          "literature": [1, 0]})
    caveats: list[tuple[type, str]] = []
    row = _fit_group(frame, [], conf_level, "a 2x2 table", caveats)
    for category, message in caveats:
        warnings.warn(message, category, stacklevel=2)
    return row | _proportions(row)


def _proportions(row: dict) -> dict:
    add = 0.5 if row["method"] == FIRTH else 0.0
    lit = np.array([row["literature_responders"], row["literature_non_responders"]], float)
    reg = np.array([row["registry_responders"], row["registry_non_responders"]], float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lit_p = lit[0] / sum(lit) if sum(lit) else np.nan
        reg_p = reg[0] / sum(reg) if sum(reg) else np.nan
        logit = np.log((lit[0] + add) / (lit[1] + add)) if sum(lit) else np.nan
        corrected = special.expit(logit - row["log_odds"])
    return {"literature_n": int(sum(lit)), "literature_proportion": lit_p, "registry_n": int(sum(reg)),
            "registry_proportion": reg_p, "corrected_proportion": float(corrected)}


def _groups(frame: pd.DataFrame, by: list[str]) -> list[tuple[tuple, pd.DataFrame]]:
    if not by:
        return [(("all",), frame)]
    return [(key if isinstance(key, tuple) else (key,), part)
            for key, part in frame.groupby(by, sort=False, observed=True)]


COLUMNS = ("odds", "lower", "upper", "log_odds", "se", "literature_responders",
           "literature_non_responders", "registry_responders", "registry_non_responders",
           "literature_n", "registry_n", "literature_proportion", "registry_proportion",
           "corrected_proportion", "method", "note")


def _ordered(summary: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    summary = summary[list(COLUMNS)]
    if by == ["tier"]:
        order = [t for t in TIERS if t in summary.index] + [t for t in summary.index if t not in TIERS]
        return summary.loc[order]
    return summary.sort_index()


def publication_odds(
    literature: Literature | CaseSeries,
    registry: CaseSeries,
    by: str | Sequence[str] | None = "tier",
    response_definition: str = "CR+PR",
    covariates: str | Sequence[str] | None = None,
    conf_level: float = 0.95,
) -> PublicationOdds:
    """Estimate λ, the odds ratio of publication for a responder vs a non-responder, per group.

    Parameters
    ----------
    literature : Literature or CaseSeries
        Published evidence (:func:`~sclero_analysis.read_literature`: its per-patient cases and
        aggregate series rows) or a case series of published cases
        (:func:`~sclero_analysis.publish_case_reports`).
    registry : CaseSeries
        An unselected registry of the same population (every treated patient counted).
    by : str, sequence of str or None
        Groups estimated separately (default ``tier`` of the reported line); None for one λ.
    response_definition : {"CR+PR", "CR", "CR vs SD/PD", "PR vs SD/PD"}
        What counts as a response (series rows of another definition are left out).
        ``"CR vs SD/PD"`` and ``"PR vs SD/PD"`` compare one kind of response with
        non-response, leaving the other out: λ of a complete, or of a partial, response (the
        weights of :func:`~sclero_analysis.publication_weighted_km` after response).
    covariates : str or sequence of str, optional
        Columns of the lines or patients tables to condition on (e.g. ``mrss``); λ is then the
        odds ratio given them. Aggregate series rows carry no covariates and are left out.
    conf_level : float
        Level of the interval (default 0.95).

    Returns
    -------
    PublicationOdds
        ``.summary`` indexed by group: ``odds`` (λ), ``lower, upper`` (profile-likelihood
        interval), ``log_odds, se`` (Wald SE of log λ, for pooling; the interval is the
        profile one), the four cells ``literature_responders, literature_non_responders,
        registry_responders, registry_non_responders``, ``literature_n, registry_n``, the
        crude ``literature_proportion`` and ``registry_proportion``, the
        ``corrected_proportion`` (the literature's odds divided by λ), ``method`` and ``note``
        (why a group is not estimable). ``.summary.attrs`` holds ``interval``,
        ``conf_level``, ``response_definition``, ``covariates``.

    Warns
    -----
    SeparationWarning
        A group with an empty cell (say, no published non-responder): λ is then Firth's
        penalised estimate (for a 2x2 table, 1/2 added to every cell) and its interval the
        finite profile penalised-likelihood one (Heinze & Schemper 2002).
    SmallSampleWarning
        A group without literature or registry lines, or without responders or
        non-responders on both sides: λ is NaN and ``note`` says why.
    ExcludedRowsWarning
        Reported lines with an unassessed response or a missing covariate, and series rows
        that cannot be used, with their numbers.

    Notes
    -----
    Every patient counts once, on the line a report tells: the first line with a complete
    response, else the first with a partial response, else the last line; the registry's
    patients are counted on the line the same rule picks. The model is a logistic regression
    of the source (literature = 1, registry = 0) on response (and ``covariates``), fitted by
    maximum likelihood; λ = exp(coefficient of response). By Bayes' rule the literature's odds
    of response are the registry's times λ, provided that **the probability of response
    given the covariates is the same in the population the literature was published from and
    in the registry** (and that the registry is not itself selected on response). Without
    covariates and with no empty cell, λ is the cross-product ratio of the 2x2 table, so within
    a group ``corrected_proportion`` equals the registry's; it matters where λ is carried to
    evidence the registry does not cover (:func:`~sclero_analysis.selection_sensitivity`).
    A published patient who is also in the registry is counted on both sides; the registry is
    then the population the literature was selected from, and λ keeps its meaning.

    References
    ----------
    Firth D. Bias reduction of maximum likelihood estimates. Biometrika 1993;80:27-38.

    Heinze G, Schemper M. A solution to the problem of separation in logistic regression.
    Stat Med 2002;21:2409-2419.

    Venzon DJ, Moolgavkar SH. A method for computing profile-likelihood-based confidence
    intervals. Appl Stat 1988;37:87-94.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> registry = sa.load_example()
    >>> design = sa.PublicationDesign(base_probability=0.2, odds_cr=4, odds_pr=4, dramatic_factor=1)
    >>> published = sa.publish_case_reports(registry, seed=3, design=design)
    >>> lam = sa.publication_odds(published, registry, by=None)
    >>> lam.summary[["odds", "lower", "upper"]].round(1).to_dict("records")
    [{'odds': 11.9, 'lower': 3.5, 'upper': 73.7}]
    """
    by_list, covariate_list = _as_list(by), _as_list(covariates)
    if response_definition not in RESPONDED:
        raise ValueError(f"response_definition must be one of {tuple(RESPONDED)}, "
                         f"not {response_definition!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must lie strictly between 0 and 1, not {conf_level!r}")
    excluded: dict[str, int] = {}
    frame = reported_responses(literature, registry, by_list, covariate_list, response_definition, excluded)
    caveats: list[tuple[type, str]] = []
    rows, index = [], []
    for key, part in _groups(frame, by_list):
        where = ", ".join(f"{b}={k!r}" for b, k in zip(by_list, key, strict=False)) or "all lines"
        row = _fit_group(part, covariate_list, conf_level, where, caveats)
        rows.append(row | _proportions(row))
        index.append(key if len(key) > 1 else key[0])
    if excluded:
        caveats.insert(0, (ExcludedRowsWarning, "publication_odds left out "
                           + "; ".join(f"{n} {what}" for what, n in excluded.items())))
    for category, message in caveats:
        warnings.warn(message, category, stacklevel=2)
    names = by_list if len(by_list) > 1 else (by_list or ["group"])
    summary = pd.DataFrame(rows, index=pd.Index(index, name=names[0]) if len(names) == 1
                           else pd.MultiIndex.from_tuples(index, names=names))
    summary = _ordered(summary, by_list)
    summary.attrs.update(interval="profile likelihood (Firth-penalised where a cell is empty)",
                         conf_level=conf_level, response_definition=response_definition,
                         covariates=tuple(covariate_list))
    return PublicationOdds(summary=summary, conf_level=conf_level, by=tuple(by_list),
                           covariates=tuple(covariate_list), response_definition=response_definition)

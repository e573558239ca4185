"""The lines the literature and a registry would report, scored as response, side by side.

A published patient is reported on one line by the literature's rule (first CR, else first
PR, else the last line: :func:`~sclero_analysis.synthetic.publication.reported_lines`); a
registry's patients are counted on the line chosen by the same rule, so both sides count the
same thing. Aggregate series rows of a literature (already one row per reported treatment) add
their responders and patients when no covariate is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.evidence.literature import Literature
from sclero_analysis.synthetic.publication import reported_lines

#: Best responses that were assessed (NE and missing are not).
ASSESSED = ("CR", "PR", "SD", "PD")
#: Best responses that count as a response under each per-patient definition.
RESPONDED = {"CR+PR": ("CR", "PR"), "CR": ("CR",), "CR vs SD/PD": ("CR",), "PR vs SD/PD": ("PR",)}
#: Best responses left out under a definition that compares one response with non-response.
LEFT_OUT = {"CR vs SD/PD": ("PR",), "PR vs SD/PD": ("CR",)}
COUNTS = ("responders", "patients")
#: Columns of a series row that can group or adjust (the treatment of the reported line).
SERIES_COLUMNS = ("tier", "agents", "adjunct_ecp")


def _case_rows(cs: CaseSeries | Literature, by: list[str], covariates: list[str], definition: str,
               excluded: dict[str, int], side: str) -> pd.DataFrame:
    told = reported_lines(cs.lines)
    missing = [c for c in [*by, *covariates] if c not in told.columns and c not in cs.patients.columns]
    if missing:
        raise KeyError(f"{side}: no column {missing} in its lines or patients tables")
    extra = [c for c in [*by, *covariates] if c not in told.columns]
    if extra:
        told = told.merge(cs.patients[["patient_id", *extra]], on="patient_id", how="left")
    assessed = told["best_response"].isin(ASSESSED)
    if (~assessed).sum():
        excluded[f"{side} reported lines whose response was not assessed (NE or missing)"] = \
            int((~assessed).sum())
    told = told[assessed]
    other = told["best_response"].isin(LEFT_OUT.get(definition, ()))
    if other.sum():
        excluded[f"{side} reported lines with {'/'.join(LEFT_OUT[definition])} ({definition})"] = \
            int(other.sum())
    told = told[~other]
    incomplete = told[[*by, *covariates]].isna().any(axis=1)
    if incomplete.sum():
        excluded[f"{side} reported lines missing {', '.join([*by, *covariates])}"] = int(incomplete.sum())
    told = told[~incomplete]
    responded = told["best_response"].isin(RESPONDED[definition]).astype("int64")
    return told[[*by, *covariates]].assign(responders=responded.to_numpy(), patients=1)


def _series_rows(literature: Literature, by: list[str], covariates: list[str], definition: str,
                 excluded: dict[str, int]) -> pd.DataFrame:
    series = literature.series
    if series.empty:
        return pd.DataFrame(columns=[*by, *covariates, *COUNTS])
    usable = (series["response_definition"].astype(str) == definition) & series["responders"].notna()
    unknown = sorted((set(by) | set(covariates)) - set(SERIES_COLUMNS))
    if unknown:
        if usable.sum():
            excluded[f"literature series rows (aggregate counts have no {', '.join(unknown)})"] = \
                int(usable.sum())
        return pd.DataFrame(columns=[*by, *covariates, *COUNTS])
    if (~usable).sum():
        excluded[f"literature series rows of another response definition than {definition} or "
                 "without responders"] = int((~usable).sum())
    rows = series[usable]
    return pd.DataFrame({**{b: rows[b].to_numpy() for b in [*by, *covariates]},
                         "responders": rows["responders"].astype("int64").to_numpy(),
                         "patients": rows["n"].astype("int64").to_numpy()})


def reported_responses(literature: Literature | CaseSeries, registry: CaseSeries,
                       by: Sequence[str], covariates: Sequence[str], definition: str,
                       excluded: dict[str, int]) -> pd.DataFrame:
    """Return responders and patients per reported line (or series row) of both sides.

    Parameters
    ----------
    literature : Literature or CaseSeries
        Published cases (and aggregate series rows of a ``Literature``).
    registry : CaseSeries
        An unselected registry.
    by, covariates : sequence of str
        Grouping and adjustment columns (of lines, else of patients).
    definition : {"CR+PR", "CR", "CR vs SD/PD", "PR vs SD/PD"}
        What counts as a response; the last two leave out PR (resp. CR) lines.
    excluded : dict
        Filled with what was left out and how many rows.

    Returns
    -------
    pandas.DataFrame
        ``by`` and ``covariates`` columns, ``responders``, ``patients`` and ``literature``
        (1 for the literature's rows, 0 for the registry's).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> registry = sa.load_example()
    >>> published = sa.publish_case_reports(registry, seed=1)
    >>> rows = reported_responses(published, registry, ["tier"], [], "CR+PR", {})
    >>> int(rows.loc[rows["literature"] == 0, "patients"].sum()) <= len(registry.patients)
    True
    """
    by, covariates = list(by), list(covariates)
    parts = [_case_rows(literature, by, covariates, definition, excluded, "literature").assign(literature=1)]
    if isinstance(literature, Literature):
        series = _series_rows(literature, by, covariates, definition, excluded)
        parts.append(series.assign(literature=1))
    parts.append(_case_rows(registry, by, covariates, definition, excluded, "registry").assign(literature=0))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True)
    for column in by:
        frame[column] = frame[column].astype(object)
    return frame.astype({"responders": "int64", "patients": "int64", "literature": "int64"})

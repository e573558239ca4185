"""From a literature (and a registry) to what the models take: events/n tables and relapse frames.

* :func:`response_table` — responders / patients per study and treatment group, ready for
  :func:`~sclero_analysis.pool_proportions`: published cases, aggregate series rows and,
  optionally, a registry, each row labelled with its source and definition of response.
* :func:`case_relapse_frame` — the published cases' line-level time to relapse with their source
  as a stratum or cluster, optionally beside a registry's, for Kaplan–Meier curves side by side.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.cohort import relapse_frame
from sclero_analysis.evidence.contract import RESPONSE_DEFINITIONS
from sclero_analysis.evidence.literature import Literature
from sclero_analysis.exceptions import ExcludedRowsWarning
from sclero_analysis.synthetic.publication import reported_lines

#: Columns a response table may be grouped by (present in series rows and in lines).
BY_COLUMNS = ("tier", "agents", "adjunct_ecp")
#: Best responses that count as a response under each definition computable from per-patient data.
RESPONDED = {"CR": ("CR",), "CR+PR": ("CR", "PR")}
#: Best responses that were assessed (NE and missing are not).
ASSESSED = ("CR", "PR", "SD", "PD")
COLUMNS = ("study", "source_id", "source_type", "response_definition")


def _as_list(names: str | Sequence[str] | None) -> list[str]:
    if names is None:
        return []
    return [names] if isinstance(names, str) else list(names)


def _checked(by: str | Sequence[str] | None, definitions: str | Sequence[str],
             cases: str) -> tuple[list[str], list[str]]:
    by_list, wanted = _as_list(by), _as_list(definitions)
    unknown = [b for b in by_list if b not in BY_COLUMNS]
    if unknown:
        raise ValueError(f"by must be among {BY_COLUMNS}, not {unknown}")
    wrong = [d for d in wanted if d not in RESPONSE_DEFINITIONS]
    if wrong or not wanted:
        raise ValueError(f"response_definition must be among {RESPONSE_DEFINITIONS}, not {wrong or wanted}")
    if cases not in ("patient", "source"):
        raise ValueError(f"cases must be 'patient' or 'source', not {cases!r}")
    return by_list, wanted


def _scored(lines: pd.DataFrame, definitions: list[str], excluded: dict[str, int],
            what: str) -> pd.DataFrame:
    """One row per line and computable definition, with ``events`` (0/1) and ``n`` = 1."""
    assessed = lines["best_response"].isin(ASSESSED)
    if (~assessed).sum():
        excluded[f"{what} whose response was not assessed (NE or missing)"] = int((~assessed).sum())
    lines = lines[assessed]
    scored = [lines.assign(response_definition=d, n=1,
                           events=lines["best_response"].isin(RESPONDED[d]).astype("int64"))
              for d in definitions if d in RESPONDED]
    return pd.concat(scored, ignore_index=True) if scored else lines.iloc[:0].assign(
        response_definition=None, n=0, events=0)


def _summed(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return (frame.groupby(keys, observed=True, sort=False, dropna=False)[["events", "n"]]
            .sum().reset_index())


def _case_rows(literature: Literature, by: list[str], definitions: list[str], cases: str,
               excluded: dict[str, int]) -> pd.DataFrame:
    told = reported_lines(literature.lines)
    site = literature.patients.set_index("patient_id")["site"]
    design = literature.sources.set_index("source_id")["design"].astype(str)
    told = told.assign(source_id=told["patient_id"].map(site).astype(str))
    told["source_type"] = told["source_id"].map(design)
    scored = _scored(told, definitions, excluded, "published cases")
    if cases == "source":
        scored = _summed(scored, ["source_id", "source_type", "response_definition", *by])
        return scored.assign(study=scored["source_id"])
    return scored.assign(study=scored["source_id"] + ": " + scored["patient_id"].astype(str))


def _series_rows(literature: Literature, by: list[str], definitions: list[str],
                 excluded: dict[str, int]) -> pd.DataFrame:
    series = literature.series.assign(
        response_definition=literature.series["response_definition"].astype(str),
        source_id=literature.series["source_id"].astype(str))
    other = ~series["response_definition"].isin(definitions)
    if other.sum():
        excluded[f"series rows of another response definition than {', '.join(definitions)}"] = \
            int(other.sum())
    unknown = ~other & series["responders"].isna()
    if unknown.sum():
        excluded["series rows without responders"] = int(unknown.sum())
    series = series[~other & ~unknown].assign(events=lambda s: s["responders"].astype("int64"))
    design = literature.sources.set_index("source_id")["design"].astype(str)
    rows = _summed(series, ["source_id", "response_definition", *by])
    return rows.assign(study=rows["source_id"], source_type=rows["source_id"].map(design))


def _registry_rows(registry: CaseSeries, by: list[str], definitions: list[str], name: str,
                   by_site: bool, excluded: dict[str, int]) -> pd.DataFrame:
    lines = registry.lines.merge(registry.patients[["patient_id", "site"]], on="patient_id")
    first = lines.sort_values(["patient_id", "line"]).drop_duplicates(["patient_id", *by])
    scored = _scored(first, definitions, excluded, "registry lines")
    keys = ["site"] if by_site else []
    rows = _summed(scored, [*keys, "response_definition", *by])
    label = rows["site"].astype(str).radd(f"{name}: ") if by_site else pd.Series(name, index=rows.index)
    return rows.assign(study=label, source_id=label, source_type="registry")


def response_table(
    literature: Literature,
    registry: CaseSeries | None = None,
    by: str | Sequence[str] | None = "tier",
    response_definition: str | Sequence[str] = "CR+PR",
    *,
    cases: Literal["patient", "source"] = "patient",
    registry_name: str = "registry",
    registry_sites: bool = False,
) -> pd.DataFrame:
    """Responders and patients per study and treatment group, ready for pooling.

    Parameters
    ----------
    literature : Literature
        Published evidence (:func:`~sclero_analysis.read_literature`).
    registry : CaseSeries, optional
        A registry to put beside the literature (one study, or one per site).
    by : str, sequence of str or None
        Treatment grouping: ``tier`` (default), ``agents`` (the canonical agent text),
        ``adjunct_ecp``, several of them, or None for every treatment together.
    response_definition : str or sequence of str
        Which definitions of response to keep: ``CR+PR`` (default), ``CR``, ``score change``,
        ``other``, or several. Per-patient data (cases, registry) are scored under ``CR`` and
        ``CR+PR``; series rows enter under their own definition only.
    cases : {"patient", "source"}
        ``patient``: each published case is a row with n = 1 (study ``"<source_id>: <patient_id>"``);
        ``source``: a publication's cases are summed per group (study = ``source_id``).
    registry_name : str
        Study label of the registry.
    registry_sites : bool
        One study per registry site (``"<registry_name>: <site>"``) instead of one.

    Returns
    -------
    pandas.DataFrame
        One row per study and group: ``study, source_id, source_type, response_definition``,
        the ``by`` columns, ``events`` (responders) and ``n`` (patients evaluable);
        ``source_type`` is the source's design (``case report``, ``series``, ``registry``,
        ``trial``) and ``registry`` for the registry given. Feed it to
        ``sa.pool_proportions(table, by=...)``; with several definitions, add
        ``response_definition`` to ``by``.

    Warns
    -----
    ExcludedRowsWarning
        When rows are left out: cases or registry lines whose response was not assessed, series
        rows of another definition of response or without a count of responders.

    Notes
    -----
    A published patient counts once, on the line the report tells, by the rule the
    literature uses: the first line with a complete response (CR), else the first with a
    partial response (PR), else the last line (so patients who never responded are counted
    on their last treatment). A registry patient counts once per group, on their first line
    in it (say, the first IVIG line and the first cytoreduction line), so failures count too.
    Series rows of one source and group are summed (a source's rows are assumed to hold
    different patients). A response whose best response is NE or missing is not evaluable
    and is left out of ``n``.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> from sclero_analysis.synthetic.examples import DATA_DIR
    >>> table = sa.response_table(sa.read_literature(DATA_DIR / "literature"))
    >>> list(table.columns)
    ['study', 'source_id', 'source_type', 'response_definition', 'tier', 'events', 'n']
    >>> bool((table["events"] <= table["n"]).all())
    True
    """
    by_list, definitions = _checked(by, response_definition, cases)
    excluded: dict[str, int] = {}
    parts = [_case_rows(literature, by_list, definitions, cases, excluded),
             _series_rows(literature, by_list, definitions, excluded)]
    if registry is not None:
        parts.append(_registry_rows(registry, by_list, definitions, registry_name, registry_sites,
                                    excluded))
    columns = [*COLUMNS, *by_list, "events", "n"]
    table = pd.concat([p[columns] for p in parts if len(p)], ignore_index=True)
    if table.empty:
        table = pd.DataFrame(columns=columns)
    if excluded:
        warnings.warn("response_table left out " + "; ".join(f"{n} {what}" for what, n in excluded.items()),
                      ExcludedRowsWarning, stacklevel=2)
    table = table.astype({c: str for c in COLUMNS} | {"events": "int64", "n": "int64"})
    return table.sort_values([*by_list, "study"], kind="stable").reset_index(drop=True)


def case_relapse_frame(
    literature: Literature,
    registry: CaseSeries | None = None,
    origin: Literal["line_start", "response"] = "line_start",
    registry_name: str = "registry",
) -> pd.DataFrame:
    """Line-level time to relapse of the published cases, with their source, beside a registry's.

    Parameters
    ----------
    literature : Literature
        Published evidence; its per-patient cases are used.
    registry : CaseSeries, optional
        A registry whose lines are appended (``evidence = "registry"``).
    origin : {"line_start", "response"}
        As :func:`~sclero_analysis.relapse_frame`: time from the line's start, or from the
        response date of CR/PR lines (relapse after response).
    registry_name : str
        ``source_id`` of the registry's rows.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`~sclero_analysis.relapse_frame`, plus ``source_id`` (the
        publication; a stratum or a cluster: ``cluster="source_id"``), ``source_type`` (its
        design, ``registry`` for the registry), ``year`` (of publication) and ``evidence``
        (categorical ``registry``, ``literature``; the registry is the reference level).

    Warns
    -----
    ExcludedRowsWarning
        From :func:`~sclero_analysis.relapse_frame`, for lines with zero follow-up.

    Notes
    -----
    A published case's follow-up ends with its report: its ``last_followup_date`` is the
    last date the report describes (when the report was written), so later relapses and
    deaths are unseen and its lines are censored there. Published cases are selected (mostly
    responders, see :func:`~sclero_analysis.publish_case_reports`): the curve describes what
    the literature shows, not the patients treated.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> from sclero_analysis.synthetic.examples import DATA_DIR
    >>> lit = sa.read_literature(DATA_DIR / "literature")
    >>> both = case_relapse_frame(lit, sa.load_example())
    >>> both["evidence"].value_counts().sort_index().to_dict()
    {'registry': 952, 'literature': 74}
    """
    frame = _with_source(relapse_frame(literature.cases, origin=origin), literature)
    parts = [frame.assign(evidence="literature")]
    if registry is not None:
        own = relapse_frame(registry, origin=origin)
        parts.insert(0, own.assign(source_id=registry_name, source_type="registry", year=pd.NA,
                                   evidence="registry"))
    exclusions = [record for part in parts for record in part.attrs.get("exclusions", [])]
    both = pd.concat(parts, ignore_index=True)
    levels = ["registry", "literature"] if registry is not None else ["literature"]
    both["evidence"] = pd.Categorical(both["evidence"], levels)
    both["year"] = both["year"].astype("Int64")
    both.attrs["exclusions"] = exclusions
    return both


def _with_source(frame: pd.DataFrame, literature: Literature) -> pd.DataFrame:
    sources = literature.sources.set_index("source_id")
    source_id = frame["site"].astype(str)
    return frame.assign(source_id=source_id,
                        source_type=source_id.map(sources["design"].astype(str)),
                        year=source_id.map(sources["year"]))

"""Parse the literature's own tables cell by cell and check their values against the contract.

Cells are read with the registry's parsers (:func:`sclero_analysis.caseseries.parse.parse_column`)
after category synonyms are mapped to their canonical value ("RCT" is a ``trial``, "ORR" is
``CR+PR``); treatments are resolved to tiers through the therapy vocabulary; the pandera models
of :mod:`sclero_analysis.evidence.contract` check ranges, required values and unique ids.
Every finding is a :class:`~sclero_analysis.caseseries.problems.Problem` naming its cell.
"""

from __future__ import annotations

import warnings
from functools import cache

import pandas as pd
import pandera.pandas as pa

from sclero_analysis.caseseries.parse import is_missing, parse_column
from sclero_analysis.caseseries.problems import ERROR, WARNING, Problem, cell_text
from sclero_analysis.caseseries.read import RawTable
from sclero_analysis.evidence.contract import SCHEMAS, category_key, column_specs, synonym_lookup
from sclero_analysis.therapy import Vocabulary, resolve_agent_column

#: Optional columns whose absence is reported (numbers an analysis uses); an absent free-text
#: column (DOI, notes …) loses nothing and is not.
_REPORTED_WHEN_ABSENT = ("int", "float", "date")


def missing_columns(raw: RawTable) -> list[Problem]:
    """Report absent required columns (errors: no row can be accepted) and absent numbers."""
    problems = []
    for name in raw.missing:
        spec = column_specs(raw.table)[name]
        if spec.derived:
            continue
        if not spec.nullable:
            problems.append(Problem(
                raw.table, raw.header_row, name, None, ERROR, "missing_column",
                f"required column '{name}' is absent from {raw.table}; no row can be accepted"))
        elif spec.kind in _REPORTED_WHEN_ABSENT:
            problems.append(Problem(
                raw.table, raw.header_row, name, None, WARNING, "missing_optional_column",
                f"column '{name}' is absent; all its values are taken as missing"))
    return problems


def _canonical(cells: pd.Series, column: str) -> pd.Series:
    lookup = synonym_lookup(column)
    if not lookup:
        return cells
    return cells.map(lambda v: v if is_missing(v) else lookup.get(category_key(v), v))


def parse_table(raw: RawTable, dayfirst: bool | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse a raw literature table into working dtypes (unreadable cells become missing).

    Parameters
    ----------
    raw : RawTable
        Cells as read, indexed by file row.
    dayfirst : bool, optional
        How to read ``dd/mm/yyyy`` dates (the literature's own tables hold none today).

    Returns
    -------
    frame : pandas.DataFrame
        Non-derived contract columns, index = file rows.
    problems : list of Problem
        One per unreadable or suspicious cell.
    """
    columns, problems = {}, []
    for name, spec in column_specs(raw.table).items():
        if spec.derived:
            continue
        cells = raw.cells[name] if name in raw.cells else pd.Series(None, index=raw.cells.index,
                                                                      dtype=object)
        columns[name], findings = parse_column(_canonical(cells, name), spec, dayfirst=dayfirst)
        problems += [Problem(raw.table, int(f.row), name, cell_text(f.value), f.severity, f.rule,
                             f.message) for f in findings.itertuples(index=False)]
    return pd.DataFrame(columns, index=raw.cells.index), problems


def derive_tiers(frame: pd.DataFrame, table: str,
                 vocabulary: Vocabulary) -> tuple[pd.DataFrame, list[Problem]]:
    """Resolve ``agents`` to canonical names, ``tier`` and ``adjunct_ecp``.

    A treatment none of whose agents is in the vocabulary has no tier: an error
    (``unknown_agents``). An unknown agent beside known ones is a warning (``unknown_agent``), as
    in the registry: the tier comes from the known agents.
    """
    known = frame["agents"].notna()
    derived = resolve_agent_column(frame.loc[known, "agents"].astype(str), vocabulary)
    frame = frame.copy()
    frame.loc[known, "agents"] = derived["agents"]
    frame["tier"] = derived["tier"].reindex(frame.index)
    frame["adjunct_ecp"] = derived["adjunct_ecp"].reindex(frame.index).astype("boolean")
    problems = []
    for row, resolved in derived["resolved"].items():
        if resolved.unknown and not resolved.agents:
            problems.append(Problem(
                table, int(row), "agents", resolved.text, ERROR, "unknown_agents",
                f"no agent of '{resolved.text}' is in the vocabulary, so the treatment has no "
                "tier; correct the names or add them to therapies.toml"))
        else:
            problems += [Problem(table, int(row), "agents", resolved.text, WARNING, "unknown_agent",
                                 resolved.unknown_message(name)) for name in resolved.unknown]
    return frame[list(column_specs(table))], problems


@cache
def _value_schema(table: str) -> pa.DataFrameSchema:
    """Return the table's pandera schema with dtype checks off (working frames are nullable)."""
    updates = {column: {"dtype": None, **({"nullable": True} if spec.derived else {})}
               for column, spec in column_specs(table).items()}
    return SCHEMAS[table].to_schema().update_columns(updates)


def _rule(check: str) -> str:
    if check.startswith("str_length") or check == "not_nullable":
        return "required_value"
    if check.startswith(("greater_than", "less_than", "in_range")):
        return "out_of_range"
    return "duplicate_source" if check == "field_uniqueness" else check


def _bounds(table: str, column: str) -> str:
    bounds = {}
    for check in SCHEMAS[table].to_schema().columns[column].checks:
        bounds.update(check.statistics)
    return f"{bounds.get('min_value', '-inf')} to {bounds.get('max_value', 'inf')}"


def _message(table: str, column: str, rule: str, value: object) -> str:
    if rule == "required_value":
        return f"column '{column}' needs a value"
    if rule == "duplicate_source":
        return f"source_id '{value}' appears on more than one row"
    return f"{column} = {value} is outside the allowed range {_bounds(table, column)}"


def value_checks(table: str, frame: pd.DataFrame, known: list[Problem],
                 skip: tuple[str, ...]) -> list[Problem]:
    """Run the pandera value checks; unreadable cells and absent columns are already reported."""
    try:
        with warnings.catch_warnings():
            # pandera concatenates all-NA failure cases, which pandas >= 2.1 deprecates; the
            # warning is pandera's internal business and says nothing about the user's data.
            warnings.filterwarnings("ignore", "The behavior of DataFrame concatenation with empty",
                                    FutureWarning)
            _value_schema(table).validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as failures:
        cases = failures.failure_cases
    unreadable = {(p.row, p.column) for p in known if p.table == table and p.severity == ERROR}
    problems = []
    for case in cases.itertuples(index=False):
        row = None if pd.isna(case.index) else int(case.index)
        if (row, case.column) in unreadable or case.column in skip:
            continue
        rule = _rule(str(case.check))
        value = frame.at[row, case.column] if row is not None else None
        problems.append(Problem(table, row, case.column, cell_text(value), ERROR, rule,
                                _message(table, case.column, rule, value)))
    return problems


def final_types(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Cast accepted rows to the contract's dtypes and validate them (index reset)."""
    dtypes = {column: spec.dtype for column, spec in column_specs(table).items()}
    return SCHEMAS[table].validate(frame.astype(dtypes).reset_index(drop=True))

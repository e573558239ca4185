"""The data contract's per-column checks (pandera models), run on a table's parsed frame.

Types are already checked by parsing; what is left are the values: required cells, unique
patient ids, ranges. pandera runs every check lazily and returns every failing cell, which is
reported under the rule it breaks.
"""

from __future__ import annotations

import warnings
from functools import cache

import pandas as pd
import pandera.pandas as pa

from sclero_analysis.caseseries.problems import ERROR, Problem, cell_text
from sclero_analysis.caseseries.schema import SCHEMAS, column_specs
from sclero_analysis.caseseries.table import RawTable


@cache
def _value_schema(name: str) -> pa.DataFrameSchema:
    """Return the table's pandera schema with dtype checks off (working frames are nullable)."""
    schema = SCHEMAS[name].to_schema()
    updates = {}
    for column, spec in column_specs(name).items():
        updates[column] = {"dtype": None, **({"nullable": True} if spec.derived else {})}
    return schema.update_columns(updates)


_CHECK_RULES = {"not_nullable": "required_value", "field_uniqueness": "duplicate_id"}


def _check_rule(check: str) -> str:
    if check.startswith("str_length"):
        return "required_value"
    if check.startswith(("greater_than", "less_than", "in_range")):
        return "out_of_range"
    return _CHECK_RULES.get(check, check)


def _allowed_range(table: str, column: str) -> str:
    bounds = {}
    for check in SCHEMAS[table].to_schema().columns[column].checks:
        bounds.update(check.statistics)
    return f"{bounds.get('min_value', '-inf')} to {bounds.get('max_value', 'inf')}"


def _check_message(table: str, column: str, rule: str, value: object) -> str:
    if rule == "required_value":
        return f"column '{column}' needs a value"
    if rule == "duplicate_id":
        return f"patient_id '{value}' appears on more than one row"
    return f"{column} = {value} is outside the allowed range {_allowed_range(table, column)}"


def value_checks(frame: pd.DataFrame, known: list[Problem], raw: RawTable) -> list[Problem]:
    """Run the pandera value checks of a table on its parsed frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table's parsed working frame, indexed by file row.
    known : list of Problem
        Problems found so far: a cell already reported as unreadable is not reported again.
    raw : RawTable
        The table as read (absent columns and shifted rows are skipped: already reported).

    Returns
    -------
    list of Problem
        One error per cell that breaks a check (``required_value``, ``duplicate_id``,
        ``out_of_range``).
    """
    name = raw.table
    try:
        with warnings.catch_warnings():
            # pandera concatenates all-NA failure cases, which pandas >= 2.1 deprecates; the
            # warning is pandera's internal business and says nothing about the user's data.
            warnings.filterwarnings("ignore", "The behavior of DataFrame concatenation with empty",
                                    FutureWarning)
            _value_schema(name).validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as failures:
        cases = failures.failure_cases
    unreadable = {(p.row, p.column) for p in known if p.table == name and p.severity == ERROR}
    shifted = set(raw.shifted_rows)
    problems = []
    for case in cases.itertuples(index=False):
        row = None if pd.isna(case.index) else int(case.index)
        if (row, case.column) in unreadable or case.column in raw.missing or row in shifted:
            continue
        rule = _check_rule(str(case.check))
        value = frame.at[row, case.column] if row is not None else None
        problems.append(Problem(name, row, case.column, cell_text(value), ERROR, rule,
                                _check_message(name, case.column, rule, value)))
    return problems

"""``read_case_series``: files in, a validated :class:`CaseSeries` out, every row accounted for.

Order of work: read raw cells (:mod:`.read`), parse each column (:mod:`.parse`), derive the tier
from the agents (:mod:`sclero_analysis.therapy`), check values with the pandera models
(:mod:`.schema`), check rows against each other and across tables (:mod:`.rules`), then split
rows with errors from the accepted ones. Rows read = rows accepted + rows rejected, per table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from sclero_analysis.caseseries.case_series import CaseSeries
from sclero_analysis.caseseries.checks import value_checks
from sclero_analysis.caseseries.identity import patient_keys
from sclero_analysis.caseseries.parse import (
    DEFAULT_MAX_CHARS,
    WITHHELD_RULES,
    factorise,
    parse_bool,
    parse_column,
)
from sclero_analysis.caseseries.problems import (
    ERROR,
    WARNING,
    Problem,
    cell_text,
    problems_at,
    report_frame,
)
from sclero_analysis.caseseries.read import RawTable, iter_tables
from sclero_analysis.caseseries.rules import CROSS_ROW_RULES, foreign_key_rules
from sclero_analysis.caseseries.schema import TABLES, column_specs
from sclero_analysis.caseseries.shifted import settle_overlong
from sclero_analysis.therapy import TIERS, Vocabulary, load_vocabulary, resolve_agent_column


def read_case_series(
    path: str | Path,
    *,
    dayfirst: bool | None = None,
    sheet_names: Mapping[str, str] | None = None,
    vocabulary: Vocabulary | None = None,
) -> CaseSeries:
    """Read and validate a case series from a directory or an Excel workbook.

    Parameters
    ----------
    path : str or Path
        A directory holding ``patients``, ``lines`` and ``events`` as CSV or Parquet files, or
        one ``.xlsx`` workbook with three sheets of those names (or a directory holding only
        such a workbook).
    dayfirst : bool, optional
        How to read ``dd/mm/yyyy``-like dates: True day-first, False month-first. None (the
        default) accepts ISO dates, and non-ISO dates only when they read one way; a date such
        as ``03/04/2020`` is then an error naming the cell.
    sheet_names : Mapping[str, str], optional
        Table → sheet name when a workbook's sheets are named otherwise.
    vocabulary : Vocabulary, optional
        Therapy vocabulary for resolving agents (default: the packaged ``therapies.toml``).

    Returns
    -------
    CaseSeries
        Accepted rows in ``patients``, ``lines``, ``events`` (typed as docs/data_contract.md §3, tier and
        ``adjunct_ecp`` derived from the agents), ``rejected`` rows and the ``report``.

    Raises
    ------
    CaseSeriesError
        Only when the input cannot be read at all, naming the cause and where it is (its
        ``rule``): missing path, table or sheet; empty file; not a table (binary, a workbook
        under a text name, a password-protected workbook); a NUL byte; an unbalanced quote; a
        hidden or ambiguous sheet; no header. Problems inside tables are reported, never raised.

    Notes
    -----
    Column headers match ignoring case, accents and separators (``Patient ID`` is
    ``patient_id``). Files may be UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode
    text") or Windows-1252/Latin-1. Columns that look like direct identifiers (name, initials,
    MRN, address, phone, e-mail, birth date, in several languages) are reported and never
    loaded; other unknown columns are reported and not loaded. A row with more fields than the
    header is rejected without showing its values. Identifiers and text are brought to Unicode
    NFC without invisible characters, with a warning. Dates must lie between 1950 and today
    (see :mod:`sclero_analysis.caseseries.dates` for why). A row with an error is rejected; a
    row with warnings is kept. Lines and events of a rejected or unknown patient are rejected
    too.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> cs = sa.read_case_series("tests/data/good")
    >>> cs.counts.loc["patients", "read"] == cs.counts.loc["patients", "accepted"]
    np.True_
    """
    tables = iter_tables(path, sheet_names=sheet_names)  # one at a time: less memory at once
    return build_case_series(
        tables, dayfirst=dayfirst, vocabulary=vocabulary or load_vocabulary(), source=str(path)
    )


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    vocabulary: Vocabulary | None = None,
    source: str | None = None,
) -> CaseSeries:
    """Validate in-memory ``patients``, ``lines`` and ``events`` frames exactly as files are.

    Parameters
    ----------
    tables : Mapping[str, pandas.DataFrame]
        The three tables with contract column names (typed or text); ``tier`` and
        ``adjunct_ecp`` are derived from ``agents`` and compared with any given.
    vocabulary : Vocabulary, optional
        Therapy vocabulary (default: the packaged one).
    source : str, optional
        Name recorded as the series' source and in the report's ``file`` column.

    Returns
    -------
    CaseSeries
        As :func:`read_case_series`; report rows number data rows from 2 (header = 1), as if
        each frame were a spreadsheet.
    """
    missing = [name for name in TABLES if name not in tables]
    if missing:
        raise ValueError(f"tables {missing} are missing; give patients, lines and events")
    raw = {name: _memory_table(name, tables[name], source) for name in TABLES}
    return build_case_series(raw, dayfirst=None, vocabulary=vocabulary or load_vocabulary(),
                             source=source)


def _memory_table(name: str, frame: pd.DataFrame, source: str | None) -> RawTable:
    contract = column_specs(name)
    present = [c for c in contract if c in frame.columns]
    problems = [Problem(name, 1, str(c), None, WARNING, "unknown_column",
                        f"column '{c}' is not in the {name} data contract; it was not loaded")
                for c in frame.columns if c not in contract]
    cells = frame[present].astype(object)
    cells.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    absent = tuple(c for c in contract if c not in frame.columns)
    return RawTable(name, f"{source or 'memory'}[{name}]", 1, cells, absent, problems)


def build_case_series(
    tables: Mapping[str, RawTable] | Iterable[RawTable],
    *,
    dayfirst: bool | None,
    vocabulary: Vocabulary,
    source: str | None = None,
) -> CaseSeries:
    """Validate raw tables (see :func:`read_case_series`) and split accepted from rejected.

    ``tables`` may be an iterable that reads each table when asked: each is parsed, and its raw
    cells kept in a compact form, before the next is read.
    """
    problems: list[Problem] = []
    frames, raws = {}, {}
    today = date.today()
    for raw in tables.values() if isinstance(tables, Mapping) else tables:
        problems += raw.problems + _missing_columns(raw)
        frames[raw.table], found, compact = _parse_table(raw, dayfirst, today)
        raws[raw.table] = replace(raw, cells=compact, factorised={})
        problems += found
        del raw, compact  # the full raw cells go before the next table is read
    tables = raws
    frames["lines"], found = _derive_tiers(frames["lines"], tables["lines"], vocabulary)
    problems += found
    for name in TABLES:
        problems += value_checks(frames[name], problems, tables[name])
    keys = patient_keys(frames)
    for rule in CROSS_ROW_RULES:
        problems += rule(frames, keys)
    rejected_patients = _rows_with_errors("patients", tables["patients"], problems)
    problems += foreign_key_rules(frames, rejected_patients, keys)
    problems, shifted = settle_overlong(problems, {n: t.overlong_rows for n, t in tables.items()},
                                        {n: t.width for n, t in tables.items()})
    withheld = {name: set(tables[name].shifted_rows) | shifted[name] for name in TABLES}
    accepted, rejected = {}, {}
    for name in TABLES:
        bad = _rows_with_errors(name, tables[name], problems)
        accepted[name] = _final_types(name, frames.pop(name).drop(index=sorted(bad), errors="ignore"))
        rejected[name] = _rejected_rows(tables[name], bad, problems, withheld[name])
    files = {name: tables[name].file for name in TABLES}
    report = report_frame(_as_read(problems, tables, withheld), files)
    n_read = {name: len(tables[name].cells) for name in TABLES}
    return CaseSeries(**accepted, report=report, rejected=rejected, n_read=n_read, source=source)


def _as_read(problems: list[Problem], tables: Mapping[str, RawTable],
             withheld: Mapping[str, set[int]]) -> list[Problem]:
    """Show each problem's cell as it stands in the file, not as parsed.

    Cells that must not be repeated (too long to be a value, or in a row shifted by a stray
    delimiter, whose cells may hold a name or a phone number) are shown empty.
    """
    shown = []
    for p in problems:
        cells = tables[p.table].cells
        if p.rule in WITHHELD_RULES or p.row in withheld[p.table]:
            p = p._replace(value=None)
        elif p.row in cells.index and p.column in cells.columns:
            p = p._replace(value=cell_text(cells.at[p.row, p.column]))
        shown.append(p)
    return shown


def _missing_columns(raw: RawTable) -> list[Problem]:
    problems = []
    for name in raw.missing:
        spec = column_specs(raw.table)[name]
        if spec.derived:
            continue
        if spec.nullable:
            problems.append(Problem(
                raw.table, raw.header_row, name, None, WARNING, "missing_optional_column",
                f"column '{name}' is absent; all its values are taken as missing",
            ))
        else:
            problems.append(Problem(
                raw.table, raw.header_row, name, None, ERROR, "missing_column",
                f"required column '{name}' is absent from {raw.table}; no row can be accepted",
            ))
    return problems


def _parse_table(raw: RawTable, dayfirst: bool | None, today: date
                 ) -> tuple[pd.DataFrame, list[Problem], pd.DataFrame]:
    """Parse a table's columns; also return its raw cells in compact form (see :func:`_compact`)."""
    records = ~raw.cells.index.isin(list(raw.summary_rows))
    index = raw.cells.index[records]
    columns, problems, compact = {}, [], {}
    for name, spec in column_specs(raw.table).items():
        if spec.derived:
            continue
        if name not in raw.cells:
            columns[name], _ = parse_column(pd.Series(None, index=index, dtype=object), spec)
            continue
        codes, distinct = raw.factorised.get(name) or factorise(raw.cells[name])
        compact[name] = _compact(raw.cells[name], codes, distinct)
        columns[name], findings = parse_column(
            raw.cells.loc[records, name], spec, dayfirst=dayfirst, epoch=raw.epoch, today=today,
            factorised=(codes[records], distinct))
        problems += [
            Problem(raw.table, int(f.row), name, cell_text(f.value), f.severity, f.rule, f.message)
            for f in findings.itertuples(index=False)
        ]
    # copied: a column of raw.cells is a view that would keep all of raw.cells alive
    cells = pd.DataFrame({c: compact.get(c, raw.cells[c]).array for c in raw.cells},
                         index=raw.cells.index)
    # not copied: these arrays were made here for this frame alone
    parsed = pd.DataFrame({c: v.array for c, v in columns.items()}, index=index, copy=False)
    return parsed, problems, cells


def _compact(column: pd.Series, codes: np.ndarray, distinct: list) -> pd.Series:
    """Keep a raw text column as a categorical when its values repeat (less memory, same cells)."""
    if len(distinct) > len(column) // 2 or pd.api.types.infer_dtype(distinct) != "string":
        return column
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(distinct, dtype=object)),
                     index=column.index)


def _derive_tiers(
    lines: pd.DataFrame, raw: RawTable, vocabulary: Vocabulary
) -> tuple[pd.DataFrame, list[Problem]]:
    """Resolve agents into canonical names, tier and ECP flag; report unknown and mismatches."""
    known = lines["agents"].notna()
    derived = resolve_agent_column(lines.loc[known, "agents"].astype(str), vocabulary)
    lines = lines.copy()
    lines.loc[known, "agents"] = derived["agents"]
    lines["tier"] = derived["tier"].reindex(lines.index)
    lines["adjunct_ecp"] = derived["adjunct_ecp"].reindex(lines.index).astype("boolean")
    problems = [
        Problem("lines", int(row), "agents", resolved.text, WARNING, rule, message)
        for row, resolved in derived.loc[derived["to_report"], "resolved"].items()
        for rule, message in _agent_findings(resolved)
    ]
    return lines[list(column_specs("lines"))], problems + _typed_derived(lines, raw)


def _agent_findings(resolved) -> list[tuple[str, str]]:
    return ([("agent_spelling_corrected", resolved.correction_message(n)) for n in resolved.corrections]
            + [("unknown_agent", resolved.unknown_message(n)) for n in resolved.unknown])


def _typed_derived(lines: pd.DataFrame, raw: RawTable) -> list[Problem]:
    """Report a hand-typed tier or ECP flag that disagrees with the one derived from agents."""
    problems = []
    for column in ("tier", "adjunct_ecp"):
        if column not in raw.cells:
            continue
        typed = raw.cells[column].reindex(lines.index)
        given, derived = _as_codes(typed, lines[column], column)
        differs = (given != -1) & (derived >= 0) & (given != derived)
        if not differs.any():
            continue
        shown = lines.loc[differs, [column, "agents"]].astype(object)
        problems += problems_at(
            "lines", lines.index[differs], column, typed[differs], severity=WARNING,
            rule="derived_column_differs",
            message=[f"{column} '{_tier_text(t) if column == 'tier' else _flag_value(t)}' in "
                     f"the file differs from '{d}' derived from the agents ('{a}'); the derived "
                     "value is used"
                     for t, d, a in zip(typed[differs], shown[column], shown["agents"], strict=True)],
        )
    return problems


def _as_codes(typed: pd.Series, derived: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Typed and derived values as integer codes (-1 missing; -2 a typed value that is no tier)."""
    codes, distinct = factorise(typed)
    if column == "tier":
        read = [_tier_text(v) for v in distinct]
        given = [-1 if t is None else TIERS.index(t) if t in TIERS else -2 for t in read]
        return np.array(given + [-1])[codes], derived.cat.codes.to_numpy()
    flags = [_flag_value(v) for v in distinct]
    given = [-1 if f is None else int(f) for f in flags]
    return (np.array(given + [-1])[codes],
            derived.astype("Int64").fillna(-1).to_numpy(dtype=np.int64))


def _tier_text(value: object) -> str | None:
    return str(value).strip().casefold() if cell_text(value) else None


def _flag_value(value: object) -> bool | None:
    return parse_bool(value).value if cell_text(value) else None


def _rows_with_errors(name: str, raw: RawTable, problems: list[Problem]) -> set[int]:
    errors = [p for p in problems if p.table == name and p.severity == ERROR]
    if any(p.rule == "missing_column" for p in errors):
        return set(raw.cells.index)
    return {p.row for p in errors if p.row is not None and p.row in raw.cells.index}


def _final_types(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give accepted rows the contract's dtypes; their values passed the checks above."""
    dtypes = {column: spec.dtype for column, spec in column_specs(name).items()}
    return frame.astype(dtypes).reset_index(drop=True)


def _shown(value: object) -> str | None:
    """Show a rejected cell: one too long to be a value is summarised, not repeated."""
    text = cell_text(value)
    if text is not None and len(text) > DEFAULT_MAX_CHARS:
        return f"<{len(text):,} characters, not shown>"
    return text


def _rejected_rows(raw: RawTable, rows: set[int], problems: list[Problem], withheld: set[int]
                   ) -> pd.DataFrame:
    """Rejected rows as read, with the rules they broke; cells of shifted rows withheld."""
    rules: dict[int, list[str]] = {}
    table_rules = [p.rule for p in problems if p.table == raw.table and p.severity == ERROR
                   and p.rule == "missing_column"]
    for p in problems:
        if p.table == raw.table and p.severity == ERROR and p.row in rows:
            rules.setdefault(p.row, []).append(p.rule)
    cells = raw.cells.loc[sorted(rows)].map(_shown).astype("string")
    hidden = [c for c in cells.columns if not (c == "patient_id" and raw.id_first)]
    cells.loc[cells.index.isin(list(withheld)), hidden] = pd.NA
    cells.insert(0, "row", cells.index.astype("int64"))
    cells["rules"] = pd.Series(
        ["; ".join(dict.fromkeys(rules.get(r, []) + table_rules)) for r in cells.index],
        index=cells.index, dtype="string",
    )
    return cells.reset_index(drop=True)

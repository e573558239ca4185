"""``read_literature``: a folder or workbook of published evidence in, a validated ``Literature`` out.

Order of work: find the tables (:mod:`.files`); read, parse and check the literature's own
tables (:mod:`.parse`, :mod:`.rules`); read and validate the per-patient cases exactly as a
registry (:func:`~sclero_analysis.caseseries.read.read_tables`,
:func:`~sclero_analysis.caseseries.load.build_case_series`); then reject the cases whose source
is unknown or rejected, with their lines and events. Rows read = accepted + rejected, per table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.caseseries.case_series import empty_tables
from sclero_analysis.caseseries.load import build_case_series
from sclero_analysis.caseseries.problems import ERROR, Problem, cell_text, problems_at, report_frame
from sclero_analysis.caseseries.read import RawTable, header_key, read_tables
from sclero_analysis.caseseries.schema import column_specs as case_specs
from sclero_analysis.evidence import parse, rules
from sclero_analysis.evidence.contract import CASE_TABLES, LITERATURE_TABLES, TABLES, column_specs
from sclero_analysis.evidence.files import Located, case_tables_present, locate, read_raw
from sclero_analysis.evidence.literature import Literature, sort_report
from sclero_analysis.exceptions import CaseSeriesError
from sclero_analysis.therapy import Vocabulary, load_vocabulary


def read_literature(
    path: str | Path,
    *,
    dayfirst: bool | None = None,
    sheet_names: Mapping[str, str] | None = None,
    vocabulary: Vocabulary | None = None,
) -> Literature:
    """Read and validate published evidence from a folder of files or one ``.xlsx`` workbook.

    Parameters
    ----------
    path : str or Path
        A folder holding ``sources`` and any of ``series``, ``scores``, ``patients``,
        ``lines``, ``events`` as CSV or Parquet files, or one workbook with sheets of those
        names (or a folder holding only such a workbook). The case tables come as all three
        or none.
    dayfirst : bool, optional
        How to read ``dd/mm/yyyy`` dates of the cases (as :func:`~sclero_analysis.read_case_series`).
    sheet_names : Mapping[str, str], optional
        Table → sheet name when a workbook's sheets are named otherwise.
    vocabulary : Vocabulary, optional
        Therapy vocabulary resolving agents to tiers (default: the packaged one).

    Returns
    -------
    Literature
        Accepted rows of every table, the ``rejected`` rows and the ``report`` (``file, table,
        row, column, value, severity, rule, message``).

    Raises
    ------
    CaseSeriesError
        Only when the input cannot be read at all: missing path, no ``sources`` table, one or
        two of the three case tables without the others, an empty file, no header.

    Notes
    -----
    Cases are validated by the registry's rules; a case's ``site`` names its ``source_id``,
    which must be an accepted source (``unknown_source``, ``source_rejected``), and the lines
    and events of a rejected case are rejected too (``patient_rejected``). The rules of the
    literature's own tables are listed in :mod:`sclero_analysis.evidence.rules`. A row with an
    error is rejected; a row with warnings is kept.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> from sclero_analysis.synthetic.examples import DATA_DIR
    >>> lit = sa.read_literature(DATA_DIR / "literature")
    >>> lit.counts.loc["sources", "read"] == lit.counts.loc["sources", "accepted"]
    np.True_
    """
    located = locate(path, sheet_names)
    if not located.has("sources"):
        raise CaseSeriesError(
            f"{path}: a literature needs a 'sources' table (one row per publication); found "
            f"{', '.join(t for t in TABLES if located.has(t)) or 'no table'}",
            file=str(path), table="sources", rule="missing_table")
    own = {table: read_raw(located, table) for table in LITERATURE_TABLES if located.has(table)}
    cases = _read_cases(located, sheet_names or {})
    return build_literature(own, cases, dayfirst=dayfirst, vocabulary=vocabulary or load_vocabulary(),
                            source=str(path))


def is_literature(path: str | Path) -> bool:
    """Tell whether a folder or workbook holds a literature (it has a ``sources`` table).

    Examples
    --------
    >>> from sclero_analysis.synthetic.examples import DATA_DIR
    >>> is_literature(DATA_DIR / "literature"), is_literature(DATA_DIR / "registry")
    (True, False)
    """
    try:
        return locate(path).has("sources")
    except CaseSeriesError:
        return False


def _read_cases(located: Located, sheet_names: Mapping[str, str]) -> dict[str, RawTable] | None:
    if not case_tables_present(located):
        return None
    return read_tables(located.workbook or located.path,
                       sheet_names={t: s for t, s in sheet_names.items() if t in CASE_TABLES})


def validate_literature(
    tables: Mapping[str, pd.DataFrame],
    *,
    vocabulary: Vocabulary | None = None,
    source: str | None = None,
) -> Literature:
    """Validate in-memory literature tables exactly as files are.

    Parameters
    ----------
    tables : Mapping[str, pandas.DataFrame]
        ``sources`` and any of ``series``, ``scores``, ``patients``, ``lines``, ``events``
        (typed or text) with contract column names; derived columns (``tier``,
        ``adjunct_ecp``) are derived again from ``agents``.
    vocabulary : Vocabulary, optional
        Therapy vocabulary (default: the packaged one).
    source : str, optional
        Name recorded as the literature's source and in the report's ``file`` column.

    Returns
    -------
    Literature
        As :func:`read_literature`; report rows number data rows from 2 (header = 1).

    Examples
    --------
    >>> sources = pd.DataFrame({"source_id": ["A"], "citation": ["A et al."], "year": [2010],
    ...                         "design": ["series"], "response_definition": ["CR+PR"]})
    >>> series = pd.DataFrame({"source_id": ["A"], "agents": ["IVIG"], "n": [4],
    ...                        "responders": [5]})
    >>> lit = validate_literature({"sources": sources, "series": series})
    >>> lit.errors[["table", "row", "column", "rule"]].values.tolist()
    [['series', 2, 'responders', 'responders_exceed_n']]
    """
    unknown = set(tables) - set(TABLES)
    if unknown or "sources" not in tables:
        raise ValueError(f"give a 'sources' table and any of {TABLES[1:]}; got {sorted(tables)}")
    present = [t for t in CASE_TABLES if t in tables]
    if present and len(present) < len(CASE_TABLES):
        raise ValueError(f"cases come as patients, lines and events together; got only {present}")
    own = {t: _memory_table(t, tables[t], source, column_specs(t))
           for t in LITERATURE_TABLES if t in tables}
    cases = {t: _memory_table(t, tables[t], source, case_specs(t)) for t in present} or None
    return build_literature(own, cases, dayfirst=None, vocabulary=vocabulary or load_vocabulary(),
                            source=source)


def _memory_table(name: str, frame: pd.DataFrame, source: str | None, contract: Mapping) -> RawTable:
    present = [c for c in contract if c in frame.columns]
    problems = [Problem(name, 1, str(c), None, "warning", "unknown_column",
                        f"column '{c}' is not in the {name} data contract; it was not loaded")
                for c in frame.columns if c not in contract]
    cells = frame[present].astype(object)
    cells.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    missing = tuple(c for c in contract if c not in frame.columns)
    return RawTable(name, f"{source or 'memory'}[{name}]", 1, cells, missing, problems)


def _empty_raw(table: str) -> RawTable:
    columns = list(column_specs(table))
    cells = pd.DataFrame(columns=columns, index=pd.Index([], name="row", dtype="int64"), dtype=object)
    return RawTable(table, "", 1, cells, ())


def _rows_with_errors(raw: RawTable, problems: list[Problem]) -> set[int]:
    errors = [p for p in problems if p.table == raw.table and p.severity == ERROR]
    if any(p.rule == "missing_column" for p in errors):
        return set(raw.cells.index)
    return {p.row for p in errors if p.row is not None and p.row in raw.cells.index}


def _rejected_rows(raw: RawTable, rows: set[int], problems: list[Problem]) -> pd.DataFrame:
    """Return the rejected rows as read (text), with their file row and the rules they broke."""
    rules_of: dict[int, list[str]] = {}
    whole = [p.rule for p in problems if p.table == raw.table and p.severity == ERROR
             and p.rule == "missing_column"]
    for p in problems:
        if p.table == raw.table and p.severity == ERROR and p.row in rows:
            rules_of.setdefault(p.row, []).append(p.rule)
    cells = raw.cells.loc[sorted(rows)].map(cell_text).astype("string")
    cells.insert(0, "row", cells.index.astype("int64"))
    cells["rules"] = pd.Series(["; ".join(dict.fromkeys(rules_of.get(r, []) + whole))
                                for r in cells.index], index=cells.index, dtype="string")
    return cells.reset_index(drop=True)


def _as_read(problems: list[Problem], raws: Mapping[str, RawTable]) -> list[Problem]:
    """Show each problem's cell as it stands in the file, not as parsed."""
    shown = []
    for p in problems:
        cells = raws[p.table].cells
        if p.row in cells.index and p.column in cells.columns:
            p = p._replace(value=cell_text(cells.at[p.row, p.column]))
        shown.append(p)
    return shown


def _own_tables(own: Mapping[str, RawTable], dayfirst: bool | None,
                vocabulary: Vocabulary) -> tuple[dict[str, RawTable], dict[str, pd.DataFrame], list[Problem]]:
    """Parse sources, series and scores, derive tiers and check values (no cross-table rule)."""
    raws = {t: own.get(t) or _empty_raw(t) for t in LITERATURE_TABLES}
    frames, problems = {}, []
    for table, raw in raws.items():
        problems += raw.problems + parse.missing_columns(raw)
        frames[table], found = parse.parse_table(raw, dayfirst)
        problems += found
        if table != "sources":
            frames[table], found = parse.derive_tiers(frames[table], table, vocabulary)
            problems += found
    for table, raw in raws.items():
        problems += parse.value_checks(table, frames[table], problems, skip=raw.missing)
    return raws, frames, problems


def build_literature(
    own: Mapping[str, RawTable],
    cases: Mapping[str, RawTable] | None,
    *,
    dayfirst: bool | None,
    vocabulary: Vocabulary,
    source: str | None = None,
) -> Literature:
    """Validate raw tables (see :func:`read_literature`) and split accepted from rejected rows."""
    raws, frames, problems = _own_tables(own, dayfirst, vocabulary)
    sources = frames["sources"]
    problems += rules.source_rules(sources)
    bad = _rows_with_errors(raws["sources"], problems)
    rejected_ids = set(sources.loc[sorted(bad), "source_id"].dropna())
    for table in ("series", "scores"):
        problems += rules.provenance(table, frames[table], "source_id", sources, rejected_ids)
    problems += rules.definition_rules(frames["series"], sources)
    frames["series"] = rules.fill_response_definition(frames["series"], sources)
    problems += rules.count_rules(frames["series"])
    case_series, case_frames, case_problems = _cases(cases, sources, rejected_ids, dayfirst,
                                                      vocabulary, source)
    case_sources = set(case_frames["patients"]["site"].dropna())
    problems += rules.series_shape_rules(frames["series"], sources, case_sources)
    used = case_sources | set(frames["series"]["source_id"].dropna()) | set(
        frames["scores"]["source_id"].dropna())
    problems += rules.unused_sources(sources, used)
    accepted, rejected = {}, {}
    for table, raw in raws.items():
        rows = _rows_with_errors(raw, problems)
        accepted[table] = parse.final_types(table, frames[table].drop(index=sorted(rows)))
        rejected[table] = _rejected_rows(raw, rows, problems)
    accepted.update(_accepted_cases(case_frames, case_problems))
    rejected.update(_rejected_cases(case_series, cases, case_problems))
    files = {t: raw.file for t, raw in raws.items()} | {t: r.file for t, r in (cases or {}).items()}
    all_raws = dict(raws) | dict(cases or {})
    report = pd.concat([case_series.report,
                        report_frame(_as_read(problems + case_problems, all_raws), files)],
                       ignore_index=True)
    n_read = {t: len(raw.cells) for t, raw in raws.items()} | dict(case_series.n_read)
    return Literature(**accepted, report=sort_report(report), rejected=rejected, n_read=n_read,
                      source=source)


def _cases(cases: Mapping[str, RawTable] | None, sources: pd.DataFrame, rejected_ids: set[str],
           dayfirst: bool | None, vocabulary: Vocabulary,
           source: str | None) -> tuple[CaseSeries, dict[str, pd.DataFrame], list[Problem]]:
    """Validate the cases as a registry, then check each patient's source (``site``)."""
    if cases is None:
        empty = empty_tables()
        return CaseSeries(**empty, n_read={t: 0 for t in CASE_TABLES}), empty, []
    series = build_case_series(cases, dayfirst=dayfirst, vocabulary=vocabulary, source=source)
    frames = {}
    for table in CASE_TABLES:
        dropped = set(series.rejected[table]["row"].astype(int))
        rows = [r for r in cases[table].cells.index if r not in dropped]
        if len(rows) != len(series.table(table)):  # pragma: no cover - the loader's invariant
            raise RuntimeError(f"{table}: accepted rows do not match the rows read")
        frames[table] = series.table(table).set_axis(pd.Index(rows, name="row"))
    patients = frames["patients"]
    problems = _site_hint(cases["patients"])
    problems += rules.provenance("patients", patients, "site", sources, rejected_ids)
    problems += rules.followup_rules(patients.assign(source_id=patients["site"]), sources)
    dropped = {p.row for p in problems if p.severity == ERROR} & set(patients.index)
    ids = set(patients.loc[sorted(dropped), "patient_id"])
    for table in ("lines", "events"):
        frame = frames[table]
        hits = frame[frame["patient_id"].isin(ids)]
        problems += problems_at(table, hits.index, "patient_id", hits["patient_id"], severity=ERROR,
                                rule="patient_rejected",
                                message=[f"patient '{p}' was rejected (its source, see the "
                                         "patients table's errors), so this row cannot be analysed"
                                         for p in hits["patient_id"]])
    return series, frames, problems


def _site_hint(raw: RawTable) -> list[Problem]:
    """Say how to name a case's publication when ``site`` is missing and ``source_id`` given."""
    named = any(p.rule == "unknown_column" and header_key(p.column or "") == "sourceid"
                for p in raw.problems)
    if "site" not in raw.missing or not named:
        return []
    return [Problem("patients", raw.header_row, "source_id", None, ERROR, "source_in_site",
                    "a case names its publication in the column 'site' (the contract of "
                    "patients): rename the column 'source_id' to 'site'")]


def _accepted_cases(frames: Mapping[str, pd.DataFrame], problems: list[Problem]) -> dict[str, pd.DataFrame]:
    accepted = {}
    for table, frame in frames.items():
        rows = {p.row for p in problems if p.table == table and p.severity == ERROR}
        accepted[table] = frame.drop(index=sorted(rows & set(frame.index))).reset_index(drop=True)
    return accepted


def _rejected_cases(series: CaseSeries, cases: Mapping[str, RawTable] | None,
                    problems: list[Problem]) -> dict[str, pd.DataFrame]:
    rejected = {}
    for table in CASE_TABLES:
        before = series.rejected.get(table)
        if cases is None or before is None:
            rejected[table] = pd.DataFrame(columns=["row", *case_specs(table), "rules"])
            continue
        rows = {p.row for p in problems if p.table == table and p.severity == ERROR}
        rows = (rows & set(cases[table].cells.index)) - set(before["row"].astype(int))
        added = _rejected_rows(cases[table], rows, problems)
        rejected[table] = (pd.concat([before, added], ignore_index=True)
                           .sort_values("row", kind="stable").reset_index(drop=True))
    return rejected

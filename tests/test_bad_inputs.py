"""The malformed-input corpus (tests/data/bad/, built by tests/data/make_bad.py).

Each case names the report rows it must produce (table, row as a spreadsheet shows it, column,
rule, severity) or the rule of the CaseSeriesError when it cannot be read. Every readable case
also keeps rows read = accepted + rejected, with rows read counted here independently of the
loader.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sclero_analysis import CaseSeriesError, read_case_series
from sclero_analysis.caseseries.schema import SCHEMAS, TABLES

BAD = Path(__file__).parent / "data" / "bad"
CASES = sorted(p.name for p in BAD.iterdir() if (p / "expected.json").exists())


def load_spec(name: str) -> dict:
    return json.loads((BAD / name / "expected.json").read_text(encoding="utf-8"))


def _nonblank(rows) -> list[list]:
    return [r for r in rows if any(c is not None and str(c).strip() for c in r)]


def _visible_sheet(book, table: str):
    """The visible sheet named like the table (a hidden backup beside it is not the table)."""
    return next(s for s in book.worksheets
                if s.title.casefold() == table and s.sheet_state == "visible")


def _decoded(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def count_data_rows(directory: Path) -> dict[str, int]:
    """Rows below the header, blank rows aside, counted without the loader."""
    workbooks = list(directory.glob("*.xlsx"))
    if workbooks:
        book = openpyxl.load_workbook(workbooks[0], data_only=True)
        counts = {}
        for table in TABLES:
            rows = _nonblank(_visible_sheet(book, table).iter_rows(values_only=True))
            header = next(i for i, r in enumerate(rows) if sum(c is not None for c in r) > 1)
            counts[table] = len(rows) - header - 1
        return counts
    counts = {}
    limit = csv.field_size_limit()
    csv.field_size_limit(10**8)  # a case holds a cell far beyond the csv module's default limit
    try:
        for table in TABLES:
            text = _decoded(next(directory.glob(f"{table}.*")).read_bytes())
            dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
            counts[table] = len(_nonblank(csv.reader(io.StringIO(text), dialect))) - 1
    finally:
        csv.field_size_limit(limit)
    return counts


def matching(report: pd.DataFrame, finding: dict) -> pd.DataFrame:
    hits = report[(report["table"] == finding["table"]) & (report["rule"] == finding["rule"])
                  & (report["severity"] == finding["severity"])]
    for key in ("row", "column"):
        hits = hits[hits[key].isna()] if finding[key] is None else hits[hits[key] == finding[key]]
    return hits


def test_corpus_is_large_enough():
    assert len(CASES) >= 70


def check_refusal(directory: Path, spec: dict) -> None:
    with pytest.raises(CaseSeriesError) as caught:
        read_case_series(directory, **spec.get("kwargs", {}))
    assert caught.value.rule == spec["raises"]["rule"], str(caught.value)
    assert caught.value.table == spec["raises"]["table"]
    assert caught.value.file  # the error names the file
    for words in spec["raises"].get("contains", []):
        assert words in str(caught.value), str(caught.value)


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name):
    spec = load_spec(name)
    directory = BAD / name
    if "raises" in spec:
        check_refusal(directory, spec)
        return
    cs = read_case_series(directory, **spec.get("kwargs", {}))
    for finding in spec["findings"]:
        hits = matching(cs.report, finding)
        assert len(hits) == 1, f"{name}: expected {finding} in\n{cs.report.to_string()}"
        assert hits["file"].iloc[0].startswith(str(directory))
        assert hits["message"].iloc[0]
        assert finding.get("contains", "") in hits["message"].iloc[0], hits["message"].iloc[0]
    if not spec["findings"]:
        assert cs.report.empty, cs.report.to_string()
    # rows in = accepted + rejected, rows in counted independently of the loader
    independent = count_data_rows(directory)
    counts = cs.counts
    for table in TABLES:
        assert counts.loc[table, "read"] == independent[table]
        assert counts.loc[table, "read"] == counts.loc[table, "accepted"] + counts.loc[table, "rejected"]
    for table, expected in spec.get("accepted", {}).items():
        assert counts.loc[table, "accepted"] == expected
    for table, rows in spec.get("values", {}).items():
        for position, values in rows.items():
            record = cs.table(table).iloc[int(position)]
            for column, value in values.items():
                expected = pd.Timestamp(value) if column.endswith("date") else value
                assert record[column] == expected
    text = "".join(f.to_csv() for f in [cs.patients, cs.lines, cs.events, cs.report,
                                        *cs.rejected.values()])
    for secret in spec.get("absent_text", []):
        assert secret not in text


def check_invariants(cs) -> None:
    """What holds for every readable input: nothing lost, rejected = rows with errors."""
    counts = cs.counts
    assert (counts["read"] == counts["accepted"] + counts["rejected"]).all()
    assert list(cs.report.columns) == [
        "file", "table", "row", "column", "value", "severity", "rule", "message"]
    assert set(cs.report["severity"]) <= {"error", "warning"}
    assert cs.report["message"].str.len().gt(0).all()
    for table in TABLES:
        SCHEMAS[table].validate(cs.table(table))  # accepted rows meet the contract, dtypes included
        errors = cs.errors[cs.errors["table"] == table]
        rejected = cs.rejected[table]
        if (errors["rule"] == "missing_column").any():
            assert len(cs.table(table)) == 0
            continue
        assert set(rejected["row"]) == set(errors["row"].dropna().astype(int))
        assert (rejected["rules"].str.len() > 0).all()


READABLE = [name for name in CASES if "raises" not in load_spec(name)]


@pytest.mark.parametrize("name", READABLE)
def test_rejected_rows_are_exactly_the_rows_with_errors(name):
    check_invariants(read_case_series(BAD / name, **load_spec(name).get("kwargs", {})))

"""Random corruptions of a valid case series: never anything but CaseSeriesError, never a lost row."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sclero_analysis import CaseSeriesError, read_case_series
from sclero_analysis.caseseries.schema import TABLES

from .test_bad_inputs import check_invariants

GOOD = Path(__file__).parent / "data" / "good"
ORIGINAL = {t: list(csv.reader(io.StringIO((GOOD / f"{t}.csv").read_text("utf-8")))) for t in TABLES}

TRICKY = st.sampled_from([
    "", "NA", "-1", "1e400", "13/13/2020", "03/04/2020", "2020-02-30", "P001", " P002 ", "P999",
    "IVIG", "lenolidamide + Velcade", "dead", "alive", "130", "CR", "PR", "relapse", "yes",
    "maybe", "Total", "Hôpital", "1,5", "40982", "0", "nan", "None", "2012-03-14T00:00:00",
    "15/03/2012", "=SUM(A1:A3)", '"', ";", "1999-01-01", "2030-12-31", "line", "patient_id",
])
TEXT = st.one_of(TRICKY, st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
TABLE = st.sampled_from(TABLES)
INDEX = st.integers(min_value=0, max_value=40)

CORRUPTION = st.one_of(
    st.tuples(st.just("set"), TABLE, INDEX, INDEX, TEXT),
    st.tuples(st.just("drop_row"), TABLE, INDEX),
    st.tuples(st.just("duplicate_row"), TABLE, INDEX),
    st.tuples(st.just("drop_column"), TABLE, INDEX),
    st.tuples(st.just("rename_header"), TABLE, INDEX, TEXT),
    st.tuples(st.just("blank_row"), TABLE, INDEX),
    st.tuples(st.just("truncate_row"), TABLE, INDEX, INDEX),
    st.tuples(st.just("extend_row"), TABLE, INDEX, TEXT),
)


def corrupt(tables: dict[str, list[list[str]]], change: tuple) -> None:
    kind, table, *args = change
    rows = tables[table]
    row = 1 + args[0] % max(len(rows) - 1, 1) if len(rows) > 1 else 0
    if kind == "set" and len(rows) > 1 and rows[row]:
        rows[row][args[1] % len(rows[row])] = args[2]
    elif kind == "drop_row" and len(rows) > 1:
        del rows[row]
    elif kind == "duplicate_row":
        rows.insert(row, list(rows[row]))
    elif kind == "drop_column" and rows[0]:
        position = args[0] % len(rows[0])
        tables[table] = [r[:position] + r[position + 1:] for r in rows]
    elif kind == "rename_header" and rows[0]:
        rows[0][args[0] % len(rows[0])] = args[1]
    elif kind == "blank_row":
        rows.insert(row, [""] * len(rows[0]))
    elif kind == "truncate_row":
        rows[row] = rows[row][: args[1] % (len(rows[row]) + 1)]
    elif kind == "extend_row":
        rows[row] = rows[row] + [args[1]]


@settings(max_examples=150)
@given(changes=st.lists(CORRUPTION, max_size=6), latin1=st.booleans())
def test_random_corruptions_keep_every_row(changes, latin1):
    tables = {t: [list(r) for r in rows] for t, rows in ORIGINAL.items()}
    for change in changes:
        corrupt(tables, change)
    with tempfile.TemporaryDirectory() as directory:
        for table, rows in tables.items():
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            encoding = "latin-1" if latin1 else "utf-8"
            data = buffer.getvalue().encode(encoding, errors="replace")
            (Path(directory) / f"{table}.csv").write_bytes(data)
        try:
            cs = read_case_series(directory)
        except CaseSeriesError as error:
            assert error.rule and error.file
            return
        check_invariants(cs)

"""Build tests/data/bad/: one malformed case series per directory, from tests/data/good/.

Each case is the good fixture with one corruption, plus ``expected.json``: the report rows it
must produce (table, row as a spreadsheet shows it, column, rule, severity), or the
``CaseSeriesError`` rule when the input cannot be read at all. Run it after changing the good
fixture: ``python tests/data/make_bad.py``. The output is committed so that the corpus can be
opened and read by people, not only by tests.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904

HERE = Path(__file__).parent
GOOD = HERE / "good"
BAD = HERE / "bad"
TABLES = ("patients", "lines", "events")

Table = list[list[str]]
Tables = dict[str, Table]


def load_good() -> Tables:
    return {t: list(csv.reader(io.StringIO((GOOD / f"{t}.csv").read_text("utf-8")))) for t in TABLES}


def set_cell(tables: Tables, table: str, row: int, column: str, value: str) -> None:
    """Set a cell by spreadsheet row number (header = 1) and column name."""
    header = tables[table][0]
    tables[table][row - 1][header.index(column)] = value


def to_csv(rows: Table, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def write_csvs(directory: Path, tables: Tables, encoding: str = "utf-8") -> None:
    for table, rows in tables.items():
        (directory / f"{table}.csv").write_text(to_csv(rows), encoding=encoding)


def typed(value: str) -> object:
    """Cell value as Excel would hold it (numbers as numbers, the rest as text)."""
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        return value or None


def write_workbook(path: Path, tables: Tables, sheets: dict[str, str] | None = None,
                   epoch=None) -> openpyxl.Workbook:
    workbook = openpyxl.Workbook()
    if epoch is not None:
        workbook.epoch = epoch
    workbook.remove(workbook.active)
    for table, rows in tables.items():
        sheet = workbook.create_sheet((sheets or {}).get(table, table))
        for row in rows:
            sheet.append([typed(v) for v in row])
    workbook.save(path)
    return workbook


def expect(table: str, row: int | None, column: str | None, rule: str, severity: str = "error",
           contains: str | None = None) -> dict:
    found = {"table": table, "row": row, "column": column, "rule": rule, "severity": severity}
    return found | ({"contains": contains} if contains else {})


CASES: dict[str, tuple[str, Callable[[Path, Tables], None], dict]] = {}


def case(name: str, description: str, **expected: object):
    def register(build: Callable[[Path, Tables], None]):
        CASES[name] = (description, build, expected)
        return build

    return register


def edit(*changes: tuple[str, int, str, str]) -> Callable[[Path, Tables], None]:
    def build(directory: Path, tables: Tables) -> None:
        for change in changes:
            set_cell(tables, *change)
        write_csvs(directory, tables)

    return build


def simple(name: str, description: str, changes: list, findings: list[dict], **extra) -> None:
    case(name, description, findings=findings, **extra)(edit(*changes))


# --- cell- and row-level problems in CSV directories -----------------------------------------
simple("duplicate_patient_id", "two patients share an id (P003 typed as P002)",
       [("patients", 4, "patient_id", "P002")],
       [expect("patients", 3, "patient_id", "duplicate_id"),
        expect("patients", 4, "patient_id", "duplicate_id"),
        expect("lines", 4, "patient_id", "patient_rejected")])
simple("orphan_line", "a line names a patient who is not in patients",
       [("lines", 12, "patient_id", "P999")],
       [expect("lines", 12, "patient_id", "unknown_patient")])
simple("line_before_diagnosis", "line 1 of P004 starts before diagnosis",
       [("lines", 8, "start_date", "2015-01-01")],
       [expect("lines", 8, "start_date", "line_before_diagnosis")])
simple("end_before_start", "a line ends before it starts",
       [("lines", 2, "end_date", "2012-03-01")],
       [expect("lines", 2, "end_date", "end_before_start")])
simple("death_date_without_dead_status", "alive patient with a death date",
       [("patients", 2, "death_date", "2019-06-30")],
       [expect("patients", 2, "death_date", "death_without_dead_status")])
simple("dead_without_date", "dead patient without a death date",
       [("patients", 3, "death_date", "")],
       [expect("patients", 3, "death_date", "death_date_required")])
simple("death_after_followup", "death after the last follow-up",
       [("patients", 6, "death_date", "2018-05-01")],
       [expect("patients", 6, "death_date", "death_outside_followup")])
simple("event_after_followup", "a relapse after the last follow-up",
       [("events", 2, "date", "2020-01-01")],
       [expect("events", 2, "date", "event_outside_followup")])
simple("non_consecutive_lines", "P002's third line is numbered 4",
       [("lines", 6, "line", "4")],
       [expect("lines", 6, "line", "non_consecutive_lines")])
simple("duplicate_line_number", "P004 has line 1 twice",
       [("lines", 9, "line", "1")],
       [expect("lines", 8, "line", "duplicate_line"), expect("lines", 9, "line", "duplicate_line")])
simple("lines_out_of_order", "line 2 of P004 starts before line 1",
       [("lines", 9, "start_date", "2015-05-20"), ("lines", 9, "response_date", "2015-08-01")],
       [expect("lines", 9, "start_date", "lines_out_of_order")])
simple("line_after_death", "a line starts after the death date (follow-up recorded past death)",
       [("patients", 3, "last_followup_date", "2018-01-31"), ("lines", 6, "start_date", "2017-12-01")],
       [expect("lines", 6, "start_date", "line_after_death")])
simple("event_after_death", "a relapse dated after death",
       [("patients", 6, "last_followup_date", "2018-12-31"), ("events", 6, "date", "2018-06-01")],
       [expect("events", 6, "date", "event_after_death")])
simple("cr_without_response_date", "CR without a response date",
       [("lines", 2, "response_date", "")],
       [expect("lines", 2, "response_date", "response_date_required")])
simple("response_before_start", "response dated before the line starts",
       [("lines", 7, "response_date", "2014-01-01")],
       [expect("lines", 7, "response_date", "response_before_start")])
simple("unknown_agent", "an agent nobody knows (warning; the row is kept, tier other)",
       [("lines", 12, "agents", "frobnicide")],
       [expect("lines", 12, "agents", "unknown_agent", "warning")], accepted={"lines": 11})
simple("impossible_age", "age at diagnosis 130 years",
       [("patients", 4, "age_at_diagnosis_years", "130")],
       [expect("patients", 4, "age_at_diagnosis_years", "out_of_range")])
simple("negative_mrss", "negative skin score",
       [("patients", 5, "mrss", "-3")],
       [expect("patients", 5, "mrss", "out_of_range")])
simple("text_in_numeric", "age written in words",
       [("patients", 6, "age_at_diagnosis_years", "seventy-two")],
       [expect("patients", 6, "age_at_diagnosis_years", "not_a_number")])
simple("invalid_category", "sex coded X",
       [("patients", 7, "sex", "X")],
       [expect("patients", 7, "sex", "invalid_category")])
simple("invalid_boolean", "involvement flag 'maybe'",
       [("patients", 2, "neuro", "maybe")],
       [expect("patients", 2, "neuro", "not_a_boolean")])
simple("missing_required_value", "a patient without a site",
       [("patients", 5, "site", "")],
       [expect("patients", 5, "site", "required_value")])
simple("mixed_date_formats", "ISO and day-first dates in one column (unambiguous ones are read, "
       "with a warning)",
       [("patients", 2, "diagnosis_date", "14/03/2012"), ("patients", 3, "diagnosis_date", "2 Sep 2013")],
       [expect("patients", 2, "diagnosis_date", "non_iso_date", "warning")],
       accepted={"patients": 6})
simple("ambiguous_date", "11/05/2015 could be 11 May or 5 November",
       [("patients", 5, "diagnosis_date", "11/05/2015")],
       [expect("patients", 5, "diagnosis_date", "ambiguous_date")])
simple("two_digit_year", "a date with a two-digit year",
       [("events", 3, "date", "01/08/14")],
       [expect("events", 3, "date", "two_digit_year")])
simple("trailing_whitespace_in_id", "'P001 ' with a trailing space (warning; matched as P001)",
       [("patients", 2, "patient_id", "P001 ")],
       [expect("patients", 2, "patient_id", "whitespace_in_id", "warning")],
       accepted={"patients": 6, "lines": 11, "events": 5})


@case("typed_tier_differs", "a hand-typed tier that contradicts the agents (warning)",
      findings=[expect("lines", 3, "tier", "derived_column_differs", "warning")],
      accepted={"lines": 11})
def _typed_tier(directory: Path, tables: Tables) -> None:
    tiers = ["ivig", "ivig", "ivig", "immunosuppression", "cytoreduction", "ivig", "ivig",
             "ivig", "immunosuppression", "cytoreduction", "other"]
    tables["lines"] = [tables["lines"][0] + ["tier"]] + [
        row + [tier] for row, tier in zip(tables["lines"][1:], tiers, strict=True)]
    write_csvs(directory, tables)


@case("extra_unknown_column", "a column outside the contract (warning; not loaded)",
      findings=[expect("patients", 1, "smoking", "unknown_column", "warning")],
      accepted={"patients": 6})
def _extra_column(directory: Path, tables: Tables) -> None:
    tables["patients"] = [r + [v] for r, v in zip(tables["patients"], ["smoking"] + ["no"] * 6, strict=True)]
    write_csvs(directory, tables)


@case("direct_identifiers", "name, date of birth and MRN columns (warnings; never loaded)",
      findings=[expect("patients", 1, "Name", "direct_identifier", "warning"),
                expect("patients", 1, "Date of birth", "direct_identifier", "warning"),
                expect("patients", 1, "MRN", "direct_identifier", "warning")],
      accepted={"patients": 6}, absent_text=["Rossi", "1951-01-02", "MRN-55"])
def _identifiers(directory: Path, tables: Tables) -> None:
    people = [["Mario Rossi", "1951-01-02", f"MRN-55{i}"] for i in range(6)]
    extra = [["Name", "Date of birth", "MRN"], *people]
    tables["patients"] = [e + r for e, r in zip(extra, tables["patients"], strict=True)]
    write_csvs(directory, tables)


@case("missing_required_column", "lines without best_response: no line can be accepted",
      findings=[expect("lines", 1, "best_response", "missing_column")], accepted={"lines": 0})
def _missing_column(directory: Path, tables: Tables) -> None:
    position = tables["lines"][0].index("best_response")
    tables["lines"] = [r[:position] + r[position + 1:] for r in tables["lines"]]
    write_csvs(directory, tables)


@case("header_only", "patients has a header and no rows: every line and event is an orphan",
      findings=[expect("lines", 2, "patient_id", "unknown_patient"),
                expect("events", 2, "patient_id", "unknown_patient")],
      accepted={"patients": 0, "lines": 0, "events": 0})
def _header_only(directory: Path, tables: Tables) -> None:
    tables["patients"] = tables["patients"][:1]
    write_csvs(directory, tables)


@case("empty_file", "patients.csv has zero bytes", raises={"rule": "empty_file", "table": "patients"})
def _empty(directory: Path, tables: Tables) -> None:
    write_csvs(directory, tables)
    (directory / "patients.csv").write_bytes(b"")


@case("missing_file", "there is no events file", raises={"rule": "missing_table", "table": "events"})
def _missing_file(directory: Path, tables: Tables) -> None:
    write_csvs(directory, tables)
    (directory / "events.csv").unlink()


@case("not_a_table", "patients.csv is a binary file", raises={"rule": "not_a_table", "table": "patients"})
def _binary(directory: Path, tables: Tables) -> None:
    write_csvs(directory, tables)
    (directory / "patients.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")


@case("no_header", "the events file has no header row", raises={"rule": "no_header", "table": "events"})
def _no_header(directory: Path, tables: Tables) -> None:
    tables["events"] = tables["events"][1:]
    write_csvs(directory, tables)


@case("latin1_site_names", "patients.csv saved as Latin-1 with accented site names",
      findings=[expect("patients", None, None, "encoding_latin1", "warning")],
      accepted={"patients": 6}, values={"patients": {"0": {"site": "Hôpital Saint-Louis, Paris"}}})
def _latin1(directory: Path, tables: Tables) -> None:
    set_cell(tables, "patients", 2, "site", "Hôpital Saint-Louis, Paris")
    write_csvs(directory, tables)
    rows = tables["patients"]
    (directory / "patients.csv").write_bytes(to_csv(rows).encode("latin-1"))


@case("utf8_bom", "UTF-8 with a byte-order mark (Excel's 'CSV UTF-8'): reads cleanly",
      findings=[], accepted={"patients": 6, "lines": 11, "events": 5},
      values={"patients": {"0": {"patient_id": "P001", "site": "Zürich"}}})
def _bom(directory: Path, tables: Tables) -> None:
    set_cell(tables, "patients", 2, "site", "Zürich")
    write_csvs(directory, tables)
    for table in TABLES:
        path = directory / f"{table}.csv"
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


@case("messy_headers_semicolons", "European export: 'Patient ID' headers, semicolons, decimal comma",
      findings=[expect("patients", 2, "age_at_diagnosis_years", "decimal_comma", "warning")],
      accepted={"patients": 6, "lines": 11, "events": 5},
      values={"patients": {"0": {"age_at_diagnosis_years": 61.2}}})
def _messy(directory: Path, tables: Tables) -> None:
    for table in TABLES:
        tables[table][0] = [h.replace("_", " ").title().replace("Id", "ID") for h in tables[table][0]]
    set_cell(tables, "patients", 2, "Age At Diagnosis Years", "61,2")
    for table, rows in tables.items():
        (directory / f"{table}.csv").write_text(to_csv(rows, ";"), encoding="utf-8")


@case("ragged_row", "an unquoted comma inside a value shifts a row",
      findings=[expect("events", 3, None, "extra_fields")], accepted={"events": 4})
def _ragged(directory: Path, tables: Tables) -> None:
    write_csvs(directory, tables)
    path = directory / "events.csv"
    text = path.read_text().splitlines()
    text[2] = text[2] + ",confirmed, biopsy"
    path.write_text("\n".join(text) + "\n")


# --- Excel workbooks ----------------------------------------------------------------------------
@case("xlsx_wrong_sheet_names", "a workbook whose sheets are Sheet1..Sheet3",
      raises={"rule": "missing_sheet", "table": "patients"})
def _sheets(directory: Path, tables: Tables) -> None:
    write_workbook(directory / "registry.xlsx", tables,
                   {"patients": "Sheet1", "lines": "Sheet2", "events": "Sheet3"})


@case("xlsx_excel_serial_dates", "diagnosis dates stored as Excel serial numbers",
      findings=[expect("patients", 2, "diagnosis_date", "excel_serial_date", "warning")],
      accepted={"patients": 6}, values={"patients": {"0": {"diagnosis_date": "2012-03-14"}}})
def _serial(directory: Path, tables: Tables) -> None:
    set_cell(tables, "patients", 2, "diagnosis_date", "40982")
    write_workbook(directory / "registry.xlsx", tables)


@case("xlsx_merged_title_row", "a merged title row above the header; rows are numbered as in Excel",
      findings=[expect("patients", 2, None, "header_not_first_row", "warning"),
                expect("patients", 5, "age_at_diagnosis_years", "out_of_range")],
      accepted={"patients": 5})
def _merged(directory: Path, tables: Tables) -> None:
    set_cell(tables, "patients", 4, "age_at_diagnosis_years", "130")
    workbook = write_workbook(directory / "registry.xlsx", tables)
    sheet = workbook["patients"]
    sheet.insert_rows(1)
    sheet["A1"] = "Scleromyxedema registry - patients (export 2024-01-31)"
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(tables["patients"][0]))
    workbook.save(directory / "registry.xlsx")


@case("xlsx_total_row", "a 'Total' row at the bottom of the patients sheet",
      findings=[expect("patients", 8, None, "summary_row")], accepted={"patients": 6})
def _total(directory: Path, tables: Tables) -> None:
    workbook = write_workbook(directory / "registry.xlsx", tables)
    sheet = workbook["patients"]
    sheet.append(["Total", None, None, 60.3])
    workbook.save(directory / "registry.xlsx")


# --- round 2: what Excel, REDCap exports and hand-kept registries produce ----------------------
# Text files: encodings, NUL bytes, quotes, cells spanning lines, huge cells.
@case("utf16_unicode_text", "patients saved as Excel's 'Unicode text' (UTF-16 with BOM, tabs, "
      ".txt): read cleanly", findings=[], accepted={"patients": 6, "lines": 11, "events": 5},
      values={"patients": {"0": {"site": "Zürich"}}})
def _utf16(directory: Path, tables: Tables) -> None:
    set_cell(tables, "patients", 2, "site", "Zürich")
    write_csvs(directory, tables)
    (directory / "patients.csv").unlink()
    (directory / "patients.txt").write_bytes(to_csv(tables["patients"], "\t").encode("utf-16"))


@case("nul_byte", "a NUL byte inside a lines cell: refused, naming the byte, line and field",
      raises={"rule": "nul_byte", "table": "lines", "contains": ["line 4", "field 5"]})
def _nul(directory: Path, tables: Tables) -> None:
    set_cell(tables, "lines", 4, "agents", "IVIG\x00; thalidomide")
    write_csvs(directory, tables)


def _edit_lines(directory: Path, table: str, changes: dict[int, Callable[[str], str]]) -> None:
    """Edit lines of a written CSV file by index (0 = header)."""
    path = directory / f"{table}.csv"
    text = path.read_text(encoding="utf-8").splitlines()
    for index, change in changes.items():
        text[index] = change(text[index])
    path.write_text("\n".join(text) + "\n", encoding="utf-8")


@case("unbalanced_quote", "a stray quote on events row 3 would swallow the rest of the file: "
      "refused, naming the row", raises={"rule": "unbalanced_quote", "table": "events",
                                         "contains": ["row 3"]})
def _quote(directory: Path, tables: Tables) -> None:
    write_csvs(directory, tables)
    _edit_lines(directory, "events", {2: lambda line: line.replace("P002,", 'P002,"', 1)})


@case("stray_quotes_swallow_rows", "two stray quotes make events rows 3 to 5 one cell: refused",
      raises={"rule": "unbalanced_quote", "table": "events", "contains": ["row 3"]})
def _quotes(directory: Path, tables: Tables) -> None:
    write_csvs(directory, tables)
    _edit_lines(directory, "events", {2: lambda line: line.replace("P002,", 'P002,"', 1),
                                      4: lambda line: line.replace(",relapse", '",relapse')})


@case("multiline_cell_rows", "an agents cell on two lines (Alt+Enter): read as two agents, and "
      "later rows keep their spreadsheet numbers",
      findings=[expect("lines", 6, "best_response", "invalid_category")], accepted={"lines": 10},
      values={"lines": {"1": {"agents": "IVIG; lenalidomide", "tier": "immunosuppression"}}})
def _multiline(directory: Path, tables: Tables) -> None:
    set_cell(tables, "lines", 3, "agents", "IVIG\nlenalidomide")
    set_cell(tables, "lines", 6, "best_response", "maybe")
    write_csvs(directory, tables)


@case("huge_cell", "a 200 kB note pasted into a site cell (past the csv module's field limit): "
      "an error that never repeats the cell",
      findings=[expect("patients", 4, "site", "value_too_long")], accepted={"patients": 5},
      absent_text=["SECRET-NOTE"])
def _huge(directory: Path, tables: Tables) -> None:
    set_cell(tables, "patients", 4, "site", "SECRET-NOTE " + "x" * 200_000)
    write_csvs(directory, tables)


@case("mixed_encoding", "patients.csv is UTF-8 but one line was typed in Windows-1252: both read "
      "right, and reported", findings=[expect("patients", None, None, "mixed_encoding", "warning")],
      accepted={"patients": 6},
      values={"patients": {"0": {"site": "Zürich"}, "1": {"site": "Besançon"}}})
def _mixed(directory: Path, tables: Tables) -> None:
    set_cell(tables, "patients", 2, "site", "Zürich")
    set_cell(tables, "patients", 3, "site", "Besançon")
    write_csvs(directory, tables)
    lines = (directory / "patients.csv").read_text("utf-8").splitlines(keepends=True)
    (directory / "patients.csv").write_bytes(
        b"".join(line.encode("cp1252" if i == 2 else "utf-8") for i, line in enumerate(lines)))


@case("workbook_named_csv", "an .xlsx workbook saved as patients.csv: refused, saying it is a workbook",
      raises={"rule": "not_a_table", "table": "patients", "contains": ["zip archive", ".xlsx"]})
def _renamed(directory: Path, tables: Tables) -> None:
    write_csvs(directory, tables)
    write_workbook(directory / "patients.csv", {"patients": tables["patients"]})


@case("spreadsheet_error_value", "an mRSS cell holding '#VALUE!' (a failed formula, exported): an "
      "error", findings=[expect("patients", 3, "mrss", "spreadsheet_error")], accepted={"patients": 5})
def _excel_error(directory: Path, tables: Tables) -> None:
    set_cell(tables, "patients", 3, "mrss", "#VALUE!")
    write_csvs(directory, tables)


@case("repeated_header_row", "two exports pasted together: the header repeats inside lines",
      findings=[expect("lines", 7, None, "repeated_header")], accepted={"lines": 11})
def _repeated_header(directory: Path, tables: Tables) -> None:
    tables["lines"].insert(6, list(tables["lines"][0]))
    write_csvs(directory, tables)


# Workbooks: hidden sheets, formulas without a value, the 1904 date system.
@case("xlsx_hidden_backup_sheet", "a hidden backup sheet 'patients_' beside the real 'Patients' "
      "(equal ignoring case and separators): the visible one is read, the hidden one reported",
      findings=[expect("patients", None, None, "sheet_not_read", "warning")],
      accepted={"patients": 6, "lines": 11, "events": 5})
def _hidden_backup(directory: Path, tables: Tables) -> None:
    workbook = write_workbook(directory / "registry.xlsx", tables, {"patients": "Patients"})
    backup = workbook.create_sheet("patients_")
    for row in tables["patients"][:3]:
        backup.append([typed(v) for v in row])
    backup.sheet_state = "hidden"
    workbook.save(directory / "registry.xlsx")


@case("xlsx_only_hidden_sheet", "the only events sheet is hidden: refused, saying how to name it",
      raises={"rule": "hidden_sheet", "table": "events", "contains": ["--sheet events=events"]})
def _only_hidden(directory: Path, tables: Tables) -> None:
    workbook = write_workbook(directory / "registry.xlsx", tables)
    workbook["events"].sheet_state = "hidden"
    workbook.save(directory / "registry.xlsx")


@case("xlsx_formula_without_value", "a formula saved without its value (by a program that does "
      "not calculate): an error naming the cell",
      findings=[expect("patients", 4, "age_at_diagnosis_years", "formula_without_value",
                       contains="cell D4")], accepted={"patients": 5})
def _formula(directory: Path, tables: Tables) -> None:
    set_cell(tables, "patients", 4, "age_at_diagnosis_years", "=60+7.5")
    write_workbook(directory / "registry.xlsx", tables)


@case("xlsx_1904_date_system", "a workbook in Excel's 1904 date system (old Macs): date cells and "
      "a serial number read as the dates they show",
      findings=[expect("patients", 2, "diagnosis_date", "excel_serial_date", "warning",
                       contains="1904")],
      accepted={"patients": 6},
      values={"patients": {"0": {"diagnosis_date": "2012-03-14"},
                           "1": {"diagnosis_date": "2013-09-02"}}})
def _epoch_1904(directory: Path, tables: Tables) -> None:
    workbook = write_workbook(directory / "registry.xlsx", tables, epoch=CALENDAR_MAC_1904)
    sheet = workbook["patients"]
    column = tables["patients"][0].index("diagnosis_date") + 1
    for row in range(2, sheet.max_row + 1):
        cell = sheet.cell(row, column)
        cell.value = datetime.strptime(cell.value, "%Y-%m-%d")
        cell.number_format = "yyyy-mm-dd"
    sheet.cell(2, column).value = (date(2012, 3, 14) - date(1904, 1, 1)).days  # a bare serial
    sheet.cell(2, column).number_format = "General"
    workbook.save(directory / "registry.xlsx")


# Dates: the plausible window, placeholders, overlapping lines, ages.
simple("future_followup", "a last follow-up in the future (2099-06-30): an error",
       [("patients", 3, "last_followup_date", "2099-06-30")],
       [expect("patients", 3, "last_followup_date", "future_date")], accepted={"patients": 5})
simple("sentinel_dates", "placeholders 9999-12-31 and 1900-01-01 in date cells: errors, not a crash",
       [("patients", 4, "last_followup_date", "9999-12-31"), ("lines", 2, "end_date", "1900-01-01")],
       [expect("patients", 4, "last_followup_date", "sentinel_date"),
        expect("lines", 2, "end_date", "sentinel_date")])
simple("date_before_1950", "a diagnosis in 1946: an error",
       [("patients", 5, "diagnosis_date", "1946-05-11")],
       [expect("patients", 5, "diagnosis_date", "implausible_date")], accepted={"patients": 5})
simple("overlapping_lines", "P004's line 1 ends after its line 2 starts: a warning, rows kept",
       [("lines", 8, "end_date", "2017-06-01")],
       [expect("lines", 8, "end_date", "overlapping_lines", "warning")], accepted={"lines": 11})
simple("implausible_age", "age 104 at diagnosis, followed 7 years: 111 at the last follow-up",
       [("patients", 4, "age_at_diagnosis_years", "104")],
       [expect("patients", 4, "age_at_diagnosis_years", "implausible_age", contains="111")],
       accepted={"patients": 5})
simple("planned_end_date", "a line's end date in the future (a planned end): a warning, row kept",
       [("lines", 3, "end_date", "2099-03-01")],
       [expect("lines", 3, "end_date", "future_date", "warning")], accepted={"lines": 11})

# Identifiers: invisible characters, Unicode forms, letter case, look-alike letters.
simple("id_zero_width_space", "a zero-width space after an id in lines (pasted from a web page): "
       "normalised with a warning naming it", [("lines", 4, "patient_id", "P002\u200b")],
       [expect("lines", 4, "patient_id", "id_normalised", "warning", contains="U+200B")],
       accepted={"lines": 11})


@case("id_nonbreaking_hyphen", "ids 'P-001' typed with a non-breaking hyphen in lines: matched, "
      "with a warning", findings=[expect("lines", 2, "patient_id", "id_normalised", "warning",
                                         contains="non-breaking hyphen")],
      accepted={"patients": 6, "lines": 11, "events": 5})
def _hyphen(directory: Path, tables: Tables) -> None:
    for table in TABLES:
        for row in tables[table][1:]:
            if row[0] == "P001":
                row[0] = "P\u2011001" if table == "lines" else "P-001"
    write_csvs(directory, tables)


@case("id_decomposed_accent", "an id with a decomposed accent (NFD, as macOS writes) in events: "
      "matched, with a warning", findings=[expect("events", 2, "patient_id", "id_normalised",
                                                   "warning", contains="NFD")],
      accepted={"patients": 6, "lines": 11, "events": 5})
def _nfd(directory: Path, tables: Tables) -> None:
    for table in TABLES:
        for row in tables[table][1:]:
            if row[0] == "P001":
                row[0] = "Zoe\u0301-1" if table == "events" else "Zoé-1"
    write_csvs(directory, tables)


simple("id_letter_case_reference", "an event names 'p002' but the patient is 'P002': an error "
       "that says so", [("events", 3, "patient_id", "p002")],
       [expect("events", 3, "patient_id", "unknown_patient", contains="letter case")])
simple("duplicate_ids_by_case", "two patients 'P002' and 'p002': probable duplicates, both rejected",
       [("patients", 4, "patient_id", "p002")],
       [expect("patients", 3, "patient_id", "probable_duplicate_id"),
        expect("patients", 4, "patient_id", "probable_duplicate_id")])
simple("id_cyrillic_letter", "a line names 'Р001' with a Cyrillic Er: an error naming the letter",
       [("lines", 2, "patient_id", "\u0420001")],
       [expect("lines", 2, "patient_id", "unknown_patient", contains="cyrillic")])


# Identifier leaks: shifted rows, identifier headers in other languages, formula-like values.
@case("unquoted_surname_given", "an unquoted 'Surname, Given' shifts a row and a phone number "
      "overflows: reported by position, never by value",
      findings=[expect("patients", 3, None, "extra_fields"),
                expect("patients", 1, "Name", "direct_identifier", "warning"),
                expect("patients", 1, "Phone", "direct_identifier", "warning")],
      accepted={"patients": 5},
      absent_text=["Rossi", "Mario", "555 01", "Bianchi", "Anna"])
def _surname(directory: Path, tables: Tables) -> None:
    tables["patients"] = [["Name", "Phone", *tables["patients"][0]]] + [
        ["Bianchi, Anna", f"+39 010 555 01{i:02d}", *row] for i, row in enumerate(tables["patients"][1:])]
    write_csvs(directory, tables)
    _edit_lines(directory, "patients", {2: lambda line: line.replace('"Bianchi, Anna"', "Rossi, Mario")})


@case("identifier_headers_other_languages", "Nachname, Vorname, Geburtsdatum, Téléphone and "
      "Adresse columns: never loaded, whatever the language",
      findings=[expect("patients", 1, header, "direct_identifier", "warning")
                for header in ("Nachname", "Vorname", "Geburtsdatum", "Téléphone", "Adresse")],
      accepted={"patients": 6}, absent_text=["Müller", "Hans", "1949-02-03", "+41 61", "Hauptstrasse"])
def _languages(directory: Path, tables: Tables) -> None:
    extra = [["Nachname", "Vorname", "Geburtsdatum", "Téléphone", "Adresse"]] + [
        ["Müller", "Hans", "1949-02-03", "+41 61 000 00 00", "Hauptstrasse 1"]] * 6
    tables["patients"] = [e + r for e, r in zip(extra, tables["patients"], strict=True)]
    write_csvs(directory, tables)


simple("formula_like_values", "a site '=HYPERLINK(...)': kept as text with a warning (CSVs written "
       "by the toolkit neutralise it)",
       [("patients", 5, "site", '=HYPERLINK("http://example.org","Paris")')],
       [expect("patients", 5, "site", "formula_like_value", "warning")], accepted={"patients": 6})

# Agents: misspellings and unknown names in combinations.
simple("agent_misspelled_in_combination", "'IVIg + lenalidomid': read as IVIG + lenalidomide "
       "(tier immunosuppression) with a warning naming the correction",
       [("lines", 2, "agents", "IVIg + lenalidomid")],
       [expect("lines", 2, "agents", "agent_spelling_corrected", "warning",
               contains="'lenalidomide'")],
       accepted={"lines": 11},
       values={"lines": {"0": {"agents": "IVIG; lenalidomide", "tier": "immunosuppression"}}})
simple("unknown_agent_in_combination", "'IVIG + frobnicide': tier ivig, and the warning says so",
       [("lines", 2, "agents", "IVIG + frobnicide")],
       [expect("lines", 2, "agents", "unknown_agent", "warning", contains="tier is 'ivig'")],
       accepted={"lines": 11}, values={"lines": {"0": {"tier": "ivig"}}})


def main() -> None:
    if BAD.exists():
        shutil.rmtree(BAD)
    for name, (description, build, expected) in CASES.items():
        directory = BAD / name
        directory.mkdir(parents=True)
        build(directory, load_good())
        spec = {"description": description, "findings": [], **expected}
        (directory / "expected.json").write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(CASES)} cases to {BAD}")


if __name__ == "__main__":
    main()

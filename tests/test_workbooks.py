"""Workbooks: which sheet is read, hidden sheets, formulas without a value, the 1904 system."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime

import pandas as pd
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904

import sclero_analysis as sa
from sclero_analysis.cli import main
from sclero_analysis.exceptions import CaseSeriesError

from .data.make_bad import load_good, set_cell, write_workbook


def refusal(path, **kwargs) -> CaseSeriesError:
    with pytest.raises(CaseSeriesError) as caught:
        sa.read_case_series(path, **kwargs)
    return caught.value


def test_the_visible_sheet_named_exactly_is_read_before_a_hidden_one(tmp_path):
    tables = load_good()
    book = write_workbook(tmp_path / "w.xlsx", tables, {"patients": "PATIENTS"})
    old = book.create_sheet("Patients_")  # equal ignoring case and separators: hidden backup
    old.append(tables["patients"][0])
    old.sheet_state = "hidden"
    book.save(tmp_path / "w.xlsx")
    cs = sa.read_case_series(tmp_path / "w.xlsx")
    assert cs.counts.loc["patients", "accepted"] == 6
    assert cs.report["rule"].tolist() == ["sheet_not_read"]
    assert "hidden sheet 'Patients_'" in cs.report["message"].iloc[0]
    assert cs.report["file"].iloc[0].endswith("[PATIENTS]")


def test_two_visible_candidates_are_refused_as_ambiguous(tmp_path):
    tables = load_good()
    book = write_workbook(tmp_path / "w.xlsx", tables, {"patients": "Patients"})
    book.create_sheet("patients_").append(tables["patients"][0])
    book.save(tmp_path / "w.xlsx")
    error = refusal(tmp_path / "w.xlsx")
    assert (error.rule, error.table) == ("ambiguous_sheet", "patients")
    cs = sa.read_case_series(tmp_path / "w.xlsx", sheet_names={"patients": "Patients"})
    assert cs.counts.loc["patients", "accepted"] == 6


def test_a_hidden_sheet_is_read_only_when_named_and_then_with_a_warning(tmp_path, capsys):
    tables = load_good()
    book = write_workbook(tmp_path / "w.xlsx", tables)
    book["lines"].sheet_state = "veryHidden"
    book.save(tmp_path / "w.xlsx")
    error = refusal(tmp_path / "w.xlsx")
    assert (error.rule, error.table) == ("hidden_sheet", "lines")
    assert main(["validate", str(tmp_path / "w.xlsx")]) == 2
    assert "--sheet lines=lines" in capsys.readouterr().err
    cs = sa.read_case_series(tmp_path / "w.xlsx", sheet_names={"lines": "lines"})
    assert cs.warnings["rule"].tolist() == ["hidden_sheet_read"]
    assert cs.counts.loc["lines", "accepted"] == 11


def _cache_value(path, sheet_index: int, cell: str, value: str) -> None:
    """Give a formula cell a cached value, as a spreadsheet program saves it."""
    member = f"xl/worksheets/sheet{sheet_index}.xml"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    xml = members[member].decode()
    patched = re.sub(rf'(<c r="{cell}"[^>]*>\s*<f>[^<]*</f>\s*)<v\s*(/>|></v>)',
                     rf"\g<1><v>{value}</v>", xml)
    assert patched != xml
    members[member] = patched.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_formulas_are_read_by_their_saved_value_and_an_unsaved_one_is_an_error(tmp_path):
    tables = load_good()
    set_cell(tables, "patients", 3, "age_at_diagnosis_years", "=50+4")
    set_cell(tables, "patients", 5, "mrss", "=10+2")
    path = tmp_path / "w.xlsx"
    write_workbook(path, tables)
    _cache_value(path, 1, "D3", "54")
    cs = sa.read_case_series(path)
    assert cs.patients.set_index("patient_id").loc["P002", "age_at_diagnosis_years"] == 54.0
    error = cs.errors.iloc[0]
    assert (error["row"], error["column"], error["rule"]) == (5, "mrss", "formula_without_value")
    assert "cell M5" in error["message"]
    assert cs.counts.loc["patients", "rejected"] == 1


def test_a_formula_in_a_column_that_is_not_loaded_is_no_error(tmp_path):
    tables = load_good()
    tables["patients"] = [r + [v] for r, v in zip(tables["patients"], ["notes"] + ["=1+1"] * 6,
                                                   strict=True)]
    write_workbook(tmp_path / "w.xlsx", tables)
    assert sa.read_case_series(tmp_path / "w.xlsx").errors.empty


@pytest.mark.parametrize("epoch", [None, CALENDAR_MAC_1904])
def test_dates_and_serial_numbers_follow_the_workbooks_date_system(tmp_path, good_dir, epoch):
    tables = load_good()
    book = write_workbook(tmp_path / "w.xlsx", tables, epoch=epoch)
    sheet = book["events"]
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row, 2).value = datetime.strptime(sheet.cell(row, 2).value, "%Y-%m-%d")
        sheet.cell(row, 2).number_format = "dd.mm.yyyy"
    origin = datetime(1904, 1, 1) if epoch else datetime(1899, 12, 30)
    sheet.cell(3, 2).value = (datetime(2014, 8, 1) - origin).days  # typed as a plain number
    sheet.cell(3, 2).number_format = "General"
    book.save(tmp_path / "w.xlsx")
    cs = sa.read_case_series(tmp_path / "w.xlsx")
    expected = pd.read_csv(good_dir / "events.csv", parse_dates=["date"])["date"]
    assert cs.events["date"].tolist() == expected.tolist()
    assert cs.warnings["rule"].tolist() == ["excel_serial_date"]


def test_a_directory_of_one_table_workbooks(tmp_path):
    tables = load_good()
    for name, rows in tables.items():
        book = write_workbook(tmp_path / f"{name}.xlsx", {name: rows}, {name: "Sheet1"})
        book.save(tmp_path / f"{name}.xlsx")
    cs = sa.read_case_series(tmp_path)
    assert cs.counts["accepted"].tolist() == [6, 11, 5]
    assert cs.report.empty


def test_cells_typed_as_numbers_and_booleans_are_told_apart(tmp_path):
    tables = load_good()
    book = write_workbook(tmp_path / "w.xlsx", tables)
    sheet = book["patients"]
    sheet["G3"], sheet["G4"] = True, 0  # neuro: TRUE is yes, 0 is no
    sheet["D3"], sheet["D4"] = True, 1  # age: TRUE is not a number, though it equals 1
    book.save(tmp_path / "w.xlsx")
    cs = sa.read_case_series(tmp_path / "w.xlsx")
    errors = cs.errors[cs.errors["table"] == "patients"]
    assert errors[["row", "column", "rule"]].values.tolist() == [
        [3, "age_at_diagnosis_years", "not_a_number"]]
    p003 = cs.patients.set_index("patient_id").loc["P003"]
    assert not p003["neuro"] and p003["age_at_diagnosis_years"] == 1.0


def test_merged_cells_in_records_are_errors_naming_the_range(tmp_path):
    tables = load_good()
    for row in (3, 4):  # P001's two lines: the id typed once, merged over both rows
        set_cell(tables, "lines", row, "patient_id", "P001" if row == 3 else "")
    set_cell(tables, "lines", 2, "patient_id", "P000")
    book = write_workbook(tmp_path / "w.xlsx", tables)
    book["lines"]["A4"] = None
    book["lines"].merge_cells("A3:A4")
    book.save(tmp_path / "w.xlsx")
    cs = sa.read_case_series(tmp_path / "w.xlsx")
    merged = cs.errors[cs.errors["rule"] == "merged_cell"]
    assert merged[["table", "row", "column"]].values.tolist() == [["lines", 4, "patient_id"]]
    assert "merged into A3:A4" in merged["message"].iloc[0]
    assert (cs.errors["row"] == 4).sum() == 1  # not a second error for the empty id


def test_a_password_protected_workbook_is_refused_saying_so(tmp_path):
    (tmp_path / "w.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    error = refusal(tmp_path / "w.xlsx")
    assert error.rule == "not_a_table" and "password-protected" in str(error)


def test_an_id_turned_into_a_date_by_the_spreadsheet_is_warned_about(tmp_path):
    tables = load_good()
    book = write_workbook(tmp_path / "w.xlsx", tables)
    book["events"]["A6"] = datetime(2024, 1, 2)  # 'P005' cannot be; '1-2' typed in Excel would
    book.save(tmp_path / "w.xlsx")
    cs = sa.read_case_series(tmp_path / "w.xlsx")
    warning = cs.warnings.iloc[0]
    assert (warning["table"], warning["row"], warning["rule"]) == ("events", 6, "id_converted_to_date")
    assert cs.errors["rule"].tolist() == ["unknown_patient"]

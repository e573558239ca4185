"""No identifier-like value leaves the loader, and no CSV written here runs as a formula."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.caseseries.headers import is_identifier_column
from sclero_analysis.caseseries.spreadsheet import spreadsheet_safe
from sclero_analysis.cli import main
from sclero_analysis.tables import Table

from .data.make_bad import load_good, set_cell, write_csvs

FORMULA_STARTS = ("=", "+", "-", "@")


def everything_written(cs, tmp_path) -> str:
    """Every text the loader hands out: tables, report, rejected rows, problems.csv, messages."""
    main(["validate", cs.source, "--report", str(tmp_path / "problems.csv")])
    parts = [f.to_csv() for f in (cs.patients, cs.lines, cs.events, cs.report, *cs.rejected.values())]
    return "".join(parts) + (tmp_path / "problems.csv").read_text() + repr(cs)


def test_a_shifted_row_is_reported_by_position_not_by_value(tmp_path, capsys):
    tables = load_good()
    tables["patients"] = [["Patient name", "Mobile", *tables["patients"][0]]] + [
        [f"Bianchi{i}, Anna", f"+39 333 000 {i:04d}", *row] for i, row in enumerate(tables["patients"][1:])]
    (tmp_path / "s").mkdir()
    write_csvs(tmp_path / "s", tables)
    text = (tmp_path / "s" / "patients.csv").read_text().replace('"Bianchi2, Anna"', "Rossi, Mario")
    (tmp_path / "s" / "patients.csv").write_text(text)
    cs = sa.read_case_series(tmp_path / "s")
    error = cs.errors[cs.errors["table"] == "patients"].iloc[0]
    assert (error["row"], error["rule"]) == (4, "extra_fields") and pd.isna(error["value"])
    assert "has 20 fields, the header 19" in error["message"]
    lines = cs.errors[cs.errors["table"] == "lines"]
    assert set(lines["rule"]) == {"unknown_patient"}  # its id was withheld too: not in column 1
    written = everything_written(cs, tmp_path) + capsys.readouterr().out
    for secret in ("Rossi", "Mario", "Bianchi", "Anna", "+39 333", "000 0002"):
        assert secret not in written


def test_the_id_in_the_first_column_of_a_shifted_row_is_kept(tmp_path):
    tables = load_good()
    set_cell(tables, "patients", 3, "site", "Genoa, Italy")
    write_csvs(tmp_path, tables)
    text = (tmp_path / "patients.csv").read_text().replace('"Genoa, Italy"', "Genoa, Italy")
    (tmp_path / "patients.csv").write_text(text)
    cs = sa.read_case_series(tmp_path)
    assert set(cs.errors.loc[cs.errors["table"] == "lines", "rule"]) == {"patient_rejected"}
    shifted = cs.rejected["patients"].iloc[0]
    assert shifted["patient_id"] == "P002" and pd.isna(shifted["site"]) and pd.isna(shifted["sex"])


@pytest.mark.parametrize("header", [
    "Name", "Nachname", "Vorname", "Nom", "Prénom", "Nom de naissance", "Cognome", "Apellidos",
    "MRN", "DOB", "D.O.B.", "Geburtsdatum", "Geb.-Datum", "Date de naissance", "Fecha de nacimiento",
    "address", "Adresse", "Anschrift", "Straße", "PLZ", "phone", "Telefon", "Téléphone", "Handy",
    "E-Mail", "NHS number", "Codice fiscale", "Personnummer", "PatientName", "Initials",
])
def test_identifier_headers_in_several_languages(header):
    assert is_identifier_column(header)


@pytest.mark.parametrize("header", ["site", "Patient ID", "mRSS", "Centre", "notes", "Diagnose",
                                    "telangiectasia", "Zentrum"])
def test_ordinary_headers_are_not_identifiers(header):
    assert not is_identifier_column(header)


def test_identifier_columns_are_never_loaded_nor_echoed(tmp_path, capsys):
    tables = load_good()
    extra = [["Nachname", "Geburtsdatum", "Téléphone"]] + [["Müller", "1949-02-03", "+41 61 1"]] * 6
    tables["patients"] = [e + r for e, r in zip(extra, tables["patients"], strict=True)]
    write_csvs(tmp_path, tables)
    cs = sa.read_case_series(tmp_path)
    assert cs.report["rule"].tolist() == ["direct_identifier"] * 3
    written = everything_written(cs, tmp_path) + capsys.readouterr().out
    assert "Müller" not in written and "1949-02-03" not in written and "+41 61" not in written


def formula_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row
            if cell.startswith(FORMULA_STARTS) and not cell.lstrip("+-").replace(".", "").isdigit()]


def test_every_csv_written_neutralises_formula_like_cells(tmp_path):
    tables = load_good()
    link = '=HYPERLINK("http://example.org","Genoa")'
    set_cell(tables, "patients", 2, "site", link)
    set_cell(tables, "patients", 3, "site", "@SUM(1,1)")
    set_cell(tables, "patients", 4, "sex", "+cmd|' /C calc'!A0")
    set_cell(tables, "patients", 5, "mrss", "-3")
    (tmp_path / "in").mkdir()
    write_csvs(tmp_path / "in", tables)
    cs = sa.read_case_series(tmp_path / "in")
    assert cs.patients.loc[0, "site"] == link  # the data hold the text as typed
    assert (cs.warnings["rule"] == "formula_like_value").sum() == 2
    main(["validate", str(tmp_path / "in"), "--report", str(tmp_path / "problems.csv")])
    problems = (tmp_path / "problems.csv").read_text()
    assert formula_cells(problems) == []
    assert "'+cmd" in problems and ",-3," in problems  # neutralised; plain numbers left alone
    cs.to_dir(tmp_path / "out")
    assert formula_cells((tmp_path / "out" / "patients.csv").read_text()) == []
    again = sa.read_case_series(tmp_path / "out")
    assert again.patients["site"].tolist() == cs.patients["site"].tolist()  # read back unchanged
    table = Table(pd.DataFrame({"n": ["=1+1", "-0.52 (-1.10, 0.10)", "3"]}, index=[link, "b", "c"]))
    assert formula_cells(table.to_csv()) == []


def test_spreadsheet_safe_keeps_frames_without_formulas_as_they_are():
    frame = pd.DataFrame({"a": pd.array(["x", None], dtype="string"), "b": [-1.5, 2.0]})
    assert spreadsheet_safe(frame) is frame
    safe = spreadsheet_safe(pd.DataFrame({"a": pd.array(["=x", None], dtype="string")}))
    assert safe["a"].tolist() == ["'=x", None]

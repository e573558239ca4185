"""Patient ids: Unicode forms, invisible characters, letter case and look-alike letters."""

from __future__ import annotations

import pytest

import sclero_analysis as sa
from sclero_analysis.caseseries.normalise import foreign_letters, look_alike, normalise, visible
from sclero_analysis.caseseries.parse import parse_id

from .data.make_bad import load_good, set_cell, write_csvs


@pytest.mark.parametrize("written, read, named", [
    ("P001\u200b", "P001", "zero width space"),
    ("\ufeffP001", "P001", "zero width no-break space"),
    ("P\u2011001", "P-001", "non-breaking hyphen"),
    ("P\u2013001", "P-001", "en dash"),
    ("P001\u00a0", "P001", "no-break space"),
    ("Zoe\u0301", "Zoé", "NFD"),
])
def test_ids_are_normalised_with_a_warning_naming_the_change(written, read, named):
    cell = parse_id(written)
    assert cell.value == read
    assert (cell.severity, cell.rule) == ("warning", "id_normalised")
    assert named in cell.message


def test_plain_and_whitespace_ids():
    assert parse_id("P001") == ("P001", None, None, None)
    assert parse_id(" P001 ").rule == "whitespace_in_id"
    assert parse_id(1001.0).value == "1001"  # an id typed as a number in Excel


def test_text_helpers():
    assert normalise("Zürich") == ("Zürich", ())
    assert normalise("a\u2013b", dashes=False) == ("a\u2013b", ())  # free text keeps its dashes
    assert visible("P\u2011001\u200b") == "P<U+2011>001<U+200B>"
    assert visible("Zoé") == "Zoé"
    assert look_alike("\u0420\u0415\u0422") == "PET"
    assert foreign_letters("P001") == ()


def read(tmp_path, tables):
    write_csvs(tmp_path, tables)
    return sa.read_case_series(tmp_path)


def test_references_that_differ_only_invisibly_match_their_patient(tmp_path):
    tables = load_good()
    set_cell(tables, "lines", 2, "patient_id", "P001\u200b")
    set_cell(tables, "events", 2, "patient_id", "P001\u00a0")
    set_cell(tables, "patients", 4, "patient_id", "\u2060P003")
    cs = read(tmp_path, tables)
    assert cs.errors.empty, cs.errors.to_string()
    assert cs.warnings["rule"].tolist() == ["id_normalised"] * 3
    assert cs.counts["accepted"].tolist() == [6, 11, 5]


def test_ids_equal_up_to_case_or_look_alike_letters_are_probable_duplicates(tmp_path):
    tables = load_good()
    set_cell(tables, "patients", 4, "patient_id", "p002")  # P002 is on row 3
    set_cell(tables, "patients", 7, "patient_id", "\u0420005")  # P005 with a Cyrillic Er, row 6
    cs = read(tmp_path, tables)
    duplicates = cs.errors[cs.errors["rule"] == "probable_duplicate_id"]
    assert duplicates["row"].tolist() == [3, 4, 6, 7]
    messages = duplicates.set_index("row")["message"]
    assert "only in letter case" in messages[3] and "'p002' (row 4)" in messages[3]
    assert "look-alike letters" in messages[7] and "cyrillic capital letter er" in messages[7]
    assert cs.counts.loc["patients", "rejected"] == 4


def test_unknown_references_say_what_they_resemble(tmp_path):
    tables = load_good()
    set_cell(tables, "lines", 2, "patient_id", "p001")
    set_cell(tables, "lines", 4, "patient_id", "\u0420002")
    set_cell(tables, "events", 6, "patient_id", "P\u0030\u00305")  # plain P005: known
    set_cell(tables, "events", 5, "patient_id", "Q004")
    cs = read(tmp_path, tables)
    unknown = cs.errors[cs.errors["rule"] == "unknown_patient"].set_index("row")["message"]
    assert "'P001' is, and differs only in letter case" in unknown[2]
    assert "'P002' is, and looks the same but is written with other letters" in unknown[4]
    assert "cyrillic capital letter er (U+0420)" in unknown[4]
    assert unknown[5] == "patient 'Q004' is not in the patients table"


def test_a_registry_whose_ids_are_all_clean_reads_without_a_warning(tmp_path):
    from .userdata import write_user_registry

    cs = sa.read_case_series(write_user_registry(tmp_path / "r", 40, seed=2))
    assert cs.report.empty, cs.report.to_string()


def test_ids_a_spreadsheet_mangled_are_warned_about(tmp_path):
    tables = load_good()
    set_cell(tables, "patients", 2, "patient_id", "1.23457E+11")
    set_cell(tables, "lines", 2, "patient_id", "1.23457E+11")
    set_cell(tables, "lines", 3, "patient_id", "1.23457E+11")
    set_cell(tables, "events", 2, "patient_id", "1.23457E+11")
    set_cell(tables, "patients", 3, "patient_id", "7")
    for table, rows in (("lines", (4, 5, 6)), ("events", (3, 4))):
        for row in rows:
            set_cell(tables, table, row, "patient_id", "007")
    cs = read(tmp_path, tables)
    scientific = cs.warnings[cs.warnings["rule"] == "id_in_scientific_notation"]
    assert scientific[["table", "row"]].values.tolist() == [
        ["patients", 2], ["lines", 2], ["lines", 3], ["events", 2]]
    unknown = cs.errors[cs.errors["rule"] == "unknown_patient"]["message"]
    assert len(unknown) == 5 and unknown.str.contains("'7' is: the same number").all()

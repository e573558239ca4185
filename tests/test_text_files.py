"""Text files as clinicians send them: encodings, NUL bytes, stray quotes, cells over lines.

Every file is either read with rows numbered as a spreadsheet shows them and nothing lost
(rows read = accepted + rejected), or refused with the cause and where it is.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sclero_analysis as sa
from sclero_analysis.caseseries.textfile import guess_delimiter
from sclero_analysis.exceptions import CaseSeriesError

from .data.make_bad import GOOD, load_good, set_cell, to_csv, write_csvs


@pytest.fixture
def series(tmp_path, good_dir):
    """A copy of the good fixture to spoil."""
    shutil.copytree(good_dir, tmp_path / "s")
    return tmp_path / "s"


def refusal(path) -> CaseSeriesError:
    with pytest.raises(CaseSeriesError) as caught:
        sa.read_case_series(path)
    return caught.value


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_wide_encodings_are_read_with_or_without_byte_order_mark(series, codec):
    tables = load_good()
    set_cell(tables, "patients", 3, "site", "Besançon")
    (series / "patients.csv").unlink()
    (series / "patients.txt").write_bytes(to_csv(tables["patients"], "\t").encode(codec))
    cs = sa.read_case_series(series)
    assert cs.report.empty, cs.report.to_string()
    assert cs.patients["site"].tolist()[1] == "Besançon"
    assert cs.counts.loc["patients", "accepted"] == 6


def test_windows_1252_is_read_and_named(series):
    tables = load_good()
    set_cell(tables, "patients", 2, "site", "Hôpital Saint-Louis – Paris")  # an en dash: cp1252 only
    (series / "patients.csv").write_bytes(to_csv(tables["patients"]).encode("cp1252"))
    cs = sa.read_case_series(series)
    assert cs.patients.loc[0, "site"] == "Hôpital Saint-Louis – Paris"
    warning = cs.warnings.iloc[0]
    assert warning["rule"] == "encoding_latin1" and "line 2" in warning["message"]


def test_nul_byte_refusal_names_byte_line_and_field(series):
    data = (series / "events.csv").read_bytes()
    at = data.index(b"relapse", data.index(b"P004"))  # line 5, field 3
    (series / "events.csv").write_bytes(data[:at] + b"\x00" + data[at:])
    error = refusal(series)
    assert (error.rule, error.table) == ("nul_byte", "events")
    assert f"byte {at}" in str(error) and "line 5" in str(error) and "field 3" in str(error)


@pytest.mark.parametrize("content, what", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xls"),
    (bytes(range(256)) * 8, "binary"),
])
def test_binary_files_are_refused_saying_what_they_are(series, content, what):
    (series / "lines.csv").write_bytes(content)
    error = refusal(series)
    assert (error.rule, error.table) == ("not_a_table", "lines")
    assert what in str(error)


def test_unbalanced_quote_refusal_names_row_and_line(series):
    text = (series / "lines.csv").read_text().splitlines()
    text[1] = text[1].replace(",IVIG,", ',"IVIG,', 1)  # row 2 opens a quote that never closes
    (series / "lines.csv").write_text("\n".join(text) + "\n")
    error = refusal(series)
    assert error.rule == "unbalanced_quote"
    assert "row 2" in str(error) and "line 2" in str(error)


def test_a_genuine_multiline_note_is_not_mistaken_for_a_stray_quote(series):
    frame = pd.read_csv(series / "events.csv", dtype=str)
    frame["note"] = ["seen in clinic,\nrelapse confirmed, biopsy", "", "", "", ""]
    frame.to_csv(series / "events.csv", index=False)
    cs = sa.read_case_series(series)
    assert cs.counts.loc["events", "accepted"] == 5
    assert cs.report["rule"].tolist() == ["unknown_column"]


def test_rows_after_a_multiline_cell_keep_their_spreadsheet_number(series):
    tables = load_good()
    set_cell(tables, "patients", 2, "site", "Genoa\n(Policlinico San Martino)")
    set_cell(tables, "patients", 5, "sex", "X")
    write_csvs(series, tables)
    cs = sa.read_case_series(series)
    error = cs.errors.iloc[0]
    assert (error["row"], error["column"], error["rule"]) == (5, "sex", "invalid_category")
    assert cs.patients.loc[0, "site"] == "Genoa\n(Policlinico San Martino)"


def test_blank_and_whitespace_rows_are_numbered_but_not_read(series):
    text = (series / "events.csv").read_text().splitlines()
    text[3:3] = ["", " , ,\t"]
    text[-1] = text[-1].replace("progression", "prog")
    (series / "events.csv").write_text("\n".join(text) + "\n")
    cs = sa.read_case_series(series)
    assert cs.counts.loc["events", "read"] == 5
    assert cs.errors["row"].tolist() == [8]  # the last of 8 spreadsheet rows


def test_a_cell_past_the_csv_modules_limit_is_an_error_that_is_not_repeated(series):
    tables = load_good()
    set_cell(tables, "lines", 5, "agents", "IVIG; " + "note " * 60_000)
    write_csvs(series, tables)
    cs = sa.read_case_series(series)
    error = cs.errors[cs.errors["rule"] == "value_too_long"].iloc[0]
    assert (error["table"], error["row"], error["column"]) == ("lines", 5, "agents")
    assert pd.isna(error["value"]) and "300,006 characters" in error["message"]
    rejected = cs.rejected["lines"]
    assert rejected.loc[rejected["row"] == 5, "agents"].iloc[0] == "<300,006 characters, not shown>"


def test_rows_longer_than_the_header_are_rejected_whatever_the_delimiter(series):
    text = (series / "patients.csv").read_text().replace(",", ";").splitlines()
    text[4] += ";extra;values"
    (series / "patients.csv").write_text("\n".join(text) + "\n")
    cs = sa.read_case_series(series)
    error = cs.errors.iloc[0]
    assert (error["row"], error["rule"]) == (5, "extra_fields")
    assert "fields 18-19" in error["message"]
    assert cs.counts.loc["patients", "rejected"] == 1


def test_trailing_delimiters_on_the_header_make_unnamed_columns_not_shifted_rows(series):
    text = (series / "events.csv").read_text().splitlines()
    text = [text[0] + ","] + [line + ",checked" for line in text[1:]]
    (series / "events.csv").write_text("\n".join(text) + "\n")
    cs = sa.read_case_series(series)
    assert cs.errors.empty
    assert cs.warnings["rule"].tolist() == ["unnamed_column"]


def test_delimiter_guess():
    assert guess_delimiter("a\tb\tc\n1\t2,5\t3\n") == "\t"
    assert guess_delimiter("a|b|c\n1|2|3\n") == "|"
    assert guess_delimiter("a,b\n1,2\n") == ","


def test_a_row_ending_in_a_stray_delimiter_is_read_with_a_warning(series):
    text = (series / "events.csv").read_text().splitlines()
    text[2] += ",,"
    (series / "events.csv").write_text("\n".join(text) + "\n")
    cs = sa.read_case_series(series)
    assert cs.report[["row", "rule", "severity"]].values.tolist() == [
        [3, "extra_empty_fields", "warning"]]
    assert "has 5 fields, the header 3" in cs.report["message"].iloc[0]
    assert cs.counts.loc["events", "accepted"] == 5


def test_a_missing_table_names_a_file_that_is_nearly_it(series):
    (series / "events.csv").rename(series / "events (1).csv")
    error = refusal(series)
    assert (error.rule, error.table) == ("missing_table", "events")
    assert "rename events (1).csv?" in str(error)


def test_excels_sep_line_names_the_delimiter_and_is_not_a_row(series):
    frame = pd.read_csv(series / "patients.csv", dtype=str, keep_default_na=False)
    frame.loc[1, "sex"] = "X"
    (series / "patients.csv").write_text("sep=;\n" + frame.to_csv(sep=";", index=False))
    cs = sa.read_case_series(series)
    patients = cs.report[cs.report["table"] == "patients"]
    assert patients[["row", "column", "rule"]].values.tolist() == [[3, "sex", "invalid_category"]]
    assert cs.patients.loc[4, "site"] == "J Am Acad Dermatol 2013;69:66"  # quoted: one value


DAMAGE = [b'"', b",", b";", b"\t", b"\n", b"\r", b"\x00", b"\xff", b"\xc3", b"\xe2\x80\x8b", b"=SUM(1)",
          b"9999-12-31", b"1900-01-01", b"#REF!", b"NA", b"\xef\xbb\xbf", b"Total", b"1e309", b"nan",
          b"40982", b"13/13/2013", b"p001", b"patient_id,site"]


@settings(max_examples=40, deadline=None)
@given(edits=st.lists(st.tuples(st.sampled_from(["patients", "lines", "events"]),
                                st.floats(0, 1), st.sampled_from(DAMAGE), st.integers(0, 20)),
                      min_size=1, max_size=4))
def test_damaged_files_are_read_or_refused_never_crash(tmp_path_factory, edits):
    folder = tmp_path_factory.mktemp("damaged")
    shutil.copytree(GOOD, folder, dirs_exist_ok=True)
    for table, where, insert, cut in edits:
        path = folder / f"{table}.csv"
        data = path.read_bytes()
        at = int(where * len(data))
        path.write_bytes(data[:at] + insert + data[at + cut:])
    try:
        cs = sa.read_case_series(folder)
    except CaseSeriesError as error:
        assert error.rule and error.file
        return
    counts = cs.counts
    assert (counts["read"] == counts["accepted"] + counts["rejected"]).all()
    assert cs.report["message"].str.len().gt(0).all()

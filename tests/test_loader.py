"""read_case_series on valid inputs: types, formats, options and what never enters."""

from __future__ import annotations

import shutil

import openpyxl
import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.caseseries.schema import SCHEMAS, TABLES
from sclero_analysis.exceptions import CaseSeriesError

from .test_bad_inputs import BAD


def test_good_series_loads_clean(good_dir):
    cs = sa.read_case_series(good_dir)
    assert cs.report.empty
    assert cs.counts["accepted"].tolist() == [6, 11, 5]
    assert cs.counts["rejected"].tolist() == [0, 0, 0]
    for table in TABLES:
        SCHEMAS[table].validate(cs.table(table))
        assert list(cs.table(table).columns) == list(SCHEMAS[table].to_schema().columns)
    assert cs.lines["tier"].tolist() == [
        "ivig", "immunosuppression", "ivig", "immunosuppression", "cytoreduction", "ivig",
        "ivig", "ivig", "immunosuppression", "cytoreduction", "other"]
    assert cs.lines["adjunct_ecp"].sum() == 1
    assert cs.patients.loc[2, "mrss"] != cs.patients.loc[2, "mrss"]  # empty mRSS is NaN
    assert cs.patients["diagnosis_date"].iloc[0] == pd.Timestamp("2012-03-14")


def test_report_columns(good_dir):
    report = sa.read_case_series(BAD / "ambiguous_date").report
    assert list(report.columns) == ["file", "table", "row", "column", "value", "severity", "rule", "message"]
    assert str(report["row"].dtype) == "Int64"


def test_dayfirst_reads_ambiguous_dates_as_told():
    day_first = sa.read_case_series(BAD / "ambiguous_date", dayfirst=True)
    assert day_first.errors.empty
    assert day_first.patients.loc[3, "diagnosis_date"] == pd.Timestamp("2015-05-11")
    month_first = sa.read_case_series(BAD / "ambiguous_date", dayfirst=False)
    assert month_first.patients.loc[3, "diagnosis_date"] == pd.Timestamp("2015-11-05")


def test_ambiguous_date_message_names_both_readings():
    report = sa.read_case_series(BAD / "ambiguous_date").report
    message = report.loc[report["rule"] == "ambiguous_date", "message"].iloc[0]
    assert "2015-05-11" in message and "2015-11-05" in message and "dayfirst" in message


def test_workbook_with_custom_sheet_names(tmp_path, good_dir):
    book = openpyxl.Workbook()
    book.remove(book.active)
    names = {"patients": "Pts", "lines": "Therapy lines", "events": "Relapses"}
    for table, sheet in names.items():
        frame = pd.read_csv(good_dir / f"{table}.csv", dtype=str, keep_default_na=False)
        ws = book.create_sheet(sheet)
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            ws.append(list(row))
    book.save(tmp_path / "export.xlsx")
    with pytest.raises(CaseSeriesError, match="Pts"):
        sa.read_case_series(tmp_path / "export.xlsx")
    cs = sa.read_case_series(tmp_path / "export.xlsx", sheet_names=names)
    csv_series = sa.read_case_series(good_dir)
    for table in TABLES:
        pd.testing.assert_frame_equal(cs.table(table), csv_series.table(table))
    assert cs.report.empty
    assert cs.source.endswith("export.xlsx")


def test_directory_holding_only_a_workbook():
    cs = sa.read_case_series(BAD / "xlsx_excel_serial_dates")
    assert cs.counts["accepted"].tolist() == [6, 11, 5]


def test_identifier_columns_never_enter(tmp_path):
    cs = sa.read_case_series(BAD / "direct_identifiers")
    assert not {"Name", "Date of birth", "MRN", "name", "mrn"} & set(cs.patients.columns)
    assert cs.report["value"].isna().all()  # identifier values are not echoed in the report


def test_missing_path_and_ambiguous_table(tmp_path, good_dir):
    with pytest.raises(CaseSeriesError) as caught:
        sa.read_case_series(tmp_path / "nowhere")
    assert caught.value.rule == "missing_path"
    shutil.copytree(good_dir, tmp_path / "two")
    sa.read_case_series(good_dir).to_dir(tmp_path / "parquet", format="parquet")
    shutil.copy(tmp_path / "parquet" / "events.parquet", tmp_path / "two")
    with pytest.raises(CaseSeriesError) as caught:
        sa.read_case_series(tmp_path / "two")
    assert (caught.value.rule, caught.value.table) == ("ambiguous_table", "events")


def test_missing_optional_column_is_a_warning(tmp_path, good_dir):
    shutil.copytree(good_dir, tmp_path / "s")
    frame = pd.read_csv(good_dir / "patients.csv", dtype=str, keep_default_na=False)
    frame.drop(columns="mrss").to_csv(tmp_path / "s" / "patients.csv", index=False)
    cs = sa.read_case_series(tmp_path / "s")
    assert cs.errors.empty
    assert cs.warnings["rule"].tolist() == ["missing_optional_column"]
    assert cs.patients["mrss"].isna().all()


def test_relapse_without_response_is_a_warning(tmp_path, good_dir):
    shutil.copytree(good_dir, tmp_path / "s")
    events = pd.read_csv(good_dir / "events.csv", dtype=str)
    events.loc[1, "kind"] = "relapse"  # P002's first event: no response yet
    events.to_csv(tmp_path / "s" / "events.csv", index=False)
    cs = sa.read_case_series(tmp_path / "s")
    warning = cs.warnings.iloc[0]
    assert (warning["table"], warning["row"], warning["rule"]) == ("events", 3, "relapse_without_response")
    assert cs.counts.loc["events", "accepted"] == 5


def test_blank_rows_are_not_records(tmp_path, good_dir):
    shutil.copytree(good_dir, tmp_path / "s")
    text = (good_dir / "events.csv").read_text().splitlines()
    (tmp_path / "s" / "events.csv").write_text("\n".join(text[:3] + ["", ",,"] + text[3:]) + "\n")
    cs = sa.read_case_series(tmp_path / "s")
    assert cs.counts.loc["events", "read"] == 5
    assert cs.report.empty


def test_caller_frames_and_repr(good_dir):
    cs = sa.read_case_series(good_dir)
    assert "patients: 6 accepted, 0 rejected" in repr(cs)
    with pytest.raises(KeyError):
        cs.table("visits")


def test_mixed_value_failures_raise_no_third_party_warning(tmp_path, good_dir):
    # A missing text value and an out-of-range number in one table once made pandera emit a
    # pandas FutureWarning; with filterwarnings = error this test fails if it comes back.
    shutil.copytree(good_dir, tmp_path / "s")
    patients = pd.read_csv(good_dir / "patients.csv", dtype=str, keep_default_na=False)
    patients.loc[0, "site"] = ""
    patients.loc[1, "age_at_diagnosis_years"] = "200"
    patients.to_csv(tmp_path / "s" / "patients.csv", index=False)
    cs = sa.read_case_series(tmp_path / "s")
    assert cs.errors.loc[cs.errors["table"] == "patients", "rule"].tolist() == [
        "required_value", "out_of_range"]


@pytest.mark.parametrize("column, written, read", [
    ("neuro", "Checked", True), ("neuro", "nein", False), ("sex", "weiblich", "F"),
    ("sex", "Homme", "M"), ("vital_status", "verstorben", "dead"), ("mrss", "n.a.", None),
    ("diagnosis_date", "2012-03-14T00:00:00Z", pd.Timestamp("2012-03-14")),
    ("diagnosis_date", "40982.75", pd.Timestamp("2012-03-14")),
])
def test_spellings_exports_use(tmp_path, good_dir, column, written, read):
    shutil.copytree(good_dir, tmp_path / "s")
    patients = pd.read_csv(good_dir / "patients.csv", dtype=str, keep_default_na=False)
    patients.loc[1, column] = written
    patients.to_csv(tmp_path / "s" / "patients.csv", index=False)
    cs = sa.read_case_series(tmp_path / "s")
    value = cs.patients.loc[1, column]
    assert (pd.isna(value) if read is None else value == read), value
    assert cs.errors[cs.errors["table"] == "patients"].empty


def test_a_typographic_minus_is_a_minus():
    from sclero_analysis.caseseries.parse import parse_float

    assert parse_float("\u22123.5").value == -3.5


def test_cells_are_parsed_once_per_distinct_value(monkeypatch):
    from sclero_analysis.caseseries import parse
    from sclero_analysis.caseseries.schema import column_specs

    calls = []
    original = parse.parse_date
    monkeypatch.setattr(parse, "parse_date", lambda *a, **k: calls.append(a[0]) or original(*a, **k))
    cells = pd.Series(["2012-03-14", "14/03/2012", "", "2012-03-14"] * 2500)
    values, findings = parse.parse_column(cells, column_specs("patients")["diagnosis_date"])
    assert sorted(calls) == ["14/03/2012", "2012-03-14"]  # not 10,000 calls
    assert values.nunique() == 1 and values.isna().sum() == 2500
    assert findings["rule"].unique().tolist() == ["non_iso_date"] and len(findings) == 2500


def test_a_huge_whole_number_is_an_error_not_an_overflow():
    from sclero_analysis.caseseries.parse import parse_column
    from sclero_analysis.caseseries.schema import column_specs

    values, findings = parse_column(pd.Series([1e308, 2.0, "3"], dtype=object),
                                    column_specs("lines")["line"])
    assert values.tolist() == [pd.NA, 2, 3]
    assert findings["message"].tolist() == ["'1e+308' is far too large for a count"]


def test_typed_tier_and_ecp_flags_that_contradict_the_agents(tmp_path, good_dir):
    shutil.copytree(good_dir, tmp_path / "s")
    lines = pd.read_csv(good_dir / "lines.csv", dtype=str, keep_default_na=False)
    lines["tier"] = ["ivig", "Immunosuppression ", "ivg", "", "cytoreduction", "ivig", "ivig",
                     "ivig", "immunosuppression", "cytoreduction", "other"]
    lines["adjunct_ecp"] = ["no"] * 5 + ["no", "yes"] + [""] * 4  # ECP is on row 7, not on row 8
    lines.to_csv(tmp_path / "s" / "lines.csv", index=False)
    cs = sa.read_case_series(tmp_path / "s")
    differs = cs.warnings[cs.warnings["rule"] == "derived_column_differs"]
    assert differs[["row", "column"]].values.tolist() == [
        [4, "tier"], [7, "adjunct_ecp"], [8, "adjunct_ecp"]]
    assert "tier 'ivg' in the file differs from 'ivig'" in differs["message"].iloc[0]
    assert cs.counts.loc["lines", "accepted"] == 11

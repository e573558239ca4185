"""Numbers that read but cannot be: dates outside 1950..today, placeholders, overlaps, ages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import sclero_analysis as sa
from sclero_analysis.caseseries.cells import Cell
from sclero_analysis.caseseries.dates import EXCEL_EPOCH_1904, check_window, parse_date

from .data.make_bad import load_good, set_cell, write_csvs

TODAY = date(2024, 6, 1)


@pytest.mark.parametrize("text, rule, severity", [
    ("1900-01-01", "sentinel_date", "error"), ("9999-12-31", "sentinel_date", "error"),
    ("31/12/9999", "sentinel_date", "error"), ("1949-12-31", "implausible_date", "error"),
    ("1950-01-01", None, None), ("2024-06-01", None, None), ("2024-06-02", "future_date", "error"),
    ("1970-01-01", "possible_sentinel_date", "warning"),
])
def test_the_plausible_window(text, rule, severity):
    cell = parse_date(text, dayfirst=True, column="diagnosis_date", today=TODAY)
    assert (cell.rule, cell.severity) == (rule, severity)
    assert (cell.value is None) == (severity == "error")


def test_a_planned_end_date_is_only_a_warning():
    future = Cell(TODAY + timedelta(days=30))
    assert check_window(future, "end_date", TODAY).severity == "warning"
    assert check_window(future, "end_date", TODAY).value == future.value
    assert check_window(future, "last_followup_date", TODAY).severity == "error"


def test_serial_numbers_in_both_date_systems():
    assert parse_date(40982, today=TODAY).value == date(2012, 3, 14)
    assert parse_date(40982, epoch=EXCEL_EPOCH_1904, today=TODAY).value == date(2016, 3, 15)
    assert "1904" in parse_date(40982, epoch=EXCEL_EPOCH_1904, today=TODAY).message


@pytest.fixture
def tables():
    return load_good()


def read(tmp_path, tables):
    write_csvs(tmp_path, tables)
    return sa.read_case_series(tmp_path)


def test_dates_far_outside_pandas_range_are_errors_not_crashes(tmp_path, tables):
    for row, column in [(2, "diagnosis_date"), (3, "death_date"), (4, "last_followup_date")]:
        set_cell(tables, "patients", row, column, "9999-12-31" if row > 2 else "0001-01-01")
    set_cell(tables, "events", 2, "date", "2999-12-31")
    cs = read(tmp_path, tables)
    got = cs.errors[cs.errors["rule"].isin(["sentinel_date", "implausible_date"])]
    assert got[["table", "row", "column"]].values.tolist() == [
        ["patients", 2, "diagnosis_date"], ["patients", 3, "death_date"],
        ["patients", 4, "last_followup_date"], ["events", 2, "date"]]
    assert (cs.counts["read"] == cs.counts["accepted"] + cs.counts["rejected"]).all()


def test_future_dates_reject_the_row_except_a_planned_end(tmp_path, tables):
    next_year = str(date.today().year + 1)
    set_cell(tables, "events", 4, "date", f"{next_year}-01-15")
    set_cell(tables, "lines", 2, "end_date", f"{next_year}-02-01")
    cs = read(tmp_path, tables)
    future = cs.report[cs.report["rule"] == "future_date"]
    assert future[["table", "row", "severity"]].values.tolist() == [
        ["lines", 2, "warning"], ["events", 4, "error"]]
    assert cs.counts.loc["lines", "accepted"] == 11 and cs.counts.loc["events", "accepted"] == 4


def test_overlapping_lines_are_warned_about_and_kept(tmp_path, tables):
    set_cell(tables, "lines", 4, "end_date", "2014-11-01")  # P002's line 1 ends after line 2 starts
    set_cell(tables, "lines", 11, "start_date", "2016-07-20")  # P005's lines start the same day
    set_cell(tables, "lines", 10, "end_date", "")
    cs = read(tmp_path, tables)
    overlaps = cs.warnings[cs.warnings["rule"] == "overlapping_lines"]
    assert overlaps[["row", "column"]].values.tolist() == [[4, "end_date"], [10, "start_date"]]
    assert "after line 2 starts (2014-10-01)" in overlaps["message"].iloc[0]
    assert cs.counts.loc["lines", "accepted"] == 11


def test_lines_out_of_sequence_still_name_their_neighbours(tmp_path, tables):
    set_cell(tables, "lines", 6, "line", "5")  # P002's third line
    set_cell(tables, "lines", 9, "start_date", "2015-05-20")
    set_cell(tables, "lines", 9, "response_date", "")
    set_cell(tables, "lines", 9, "best_response", "SD")
    cs = read(tmp_path, tables)
    errors = cs.errors.set_index("rule")["message"]
    assert "line 5 follows line 2" in errors["non_consecutive_lines"]
    assert "before line 1 (2015-06-01)" in errors["lines_out_of_order"]


def test_ages_that_cannot_be(tmp_path, tables):
    set_cell(tables, "patients", 3, "age_at_diagnosis_years", "105")  # 4 years to follow-up: 109
    set_cell(tables, "patients", 4, "age_at_diagnosis_years", "104")  # 7 years: 111
    set_cell(tables, "patients", 5, "age_at_diagnosis_years", "0")
    cs = read(tmp_path, tables)
    ages = cs.report[cs.report["rule"] == "implausible_age"]
    assert ages[["row", "severity"]].values.tolist() == [[4, "error"], [5, "warning"]]
    assert cs.counts.loc["patients", "accepted"] == 5


def test_placeholder_dates_in_a_user_registry_are_counted_not_lost(tmp_path):
    from .userdata import write_user_registry

    folder = write_user_registry(tmp_path / "r", 30, seed=4, dayfirst=True)
    patients = (folder / "patients.csv").read_text().splitlines()
    fields = patients[5].split(",")
    fields[4] = "01/01/1900"  # diagnosis_date
    patients[5] = ",".join(fields)
    (folder / "patients.csv").write_text("\n".join(patients) + "\n")
    cs = sa.read_case_series(folder, dayfirst=True)
    assert cs.errors[["table", "row", "rule"]].values.tolist()[0] == ["patients", 6, "sentinel_date"]
    assert (cs.counts["read"] == cs.counts["accepted"] + cs.counts["rejected"]).all()


@pytest.mark.parametrize("text", ["2012", "2012-03", "03/2012", "March 2012"])
def test_partial_dates_are_errors_that_say_so(text):
    cell = parse_date(text, dayfirst=True, today=TODAY)
    assert (cell.value, cell.rule) == (None, "partial_date")


def test_day_first_dates_may_carry_a_time():
    assert parse_date("14/03/2012 10:30", today=TODAY).value == date(2012, 3, 14)

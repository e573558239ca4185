"""CaseSeries.to_dir then read_case_series gives equal frames, dtypes included."""

from __future__ import annotations

import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.caseseries.schema import TABLES

from .test_bad_inputs import BAD


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("source", ["good", "xlsx_excel_serial_dates", "messy_headers_semicolons",
                                    "latin1_site_names", "unknown_agent", "duplicate_patient_id"])
def test_round_trip(tmp_path, good_dir, fmt, source):
    original = sa.read_case_series(good_dir if source == "good" else BAD / source)
    written = original.to_dir(tmp_path / "out", format=fmt)
    again = sa.read_case_series(written)
    for table in TABLES:
        pd.testing.assert_frame_equal(again.table(table), original.table(table), check_exact=True)
    assert again.errors.empty


def test_round_trip_keeps_full_float_precision(tmp_path, good_dir):
    original = sa.read_case_series(good_dir)
    patients = original.patients.copy()
    patients["age_at_diagnosis_years"] = [61.123456789012345, 1 / 3, 50.0, 2 / 7, 70.1, 58.0]
    series = sa.CaseSeries(patients=patients, lines=original.lines, events=original.events)
    again = sa.read_case_series(series.to_dir(tmp_path / "p"))
    assert again.patients["age_at_diagnosis_years"].tolist() == patients["age_at_diagnosis_years"].tolist()


def test_to_dir_replaces_stale_files_and_rejects_unknown_format(tmp_path, good_dir):
    cs = sa.read_case_series(good_dir)
    cs.to_dir(tmp_path, format="csv")
    cs.to_dir(tmp_path, format="parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "events.parquet", "lines.parquet", "patients.parquet"]
    with pytest.raises(ValueError, match="format"):
        cs.to_dir(tmp_path, format="xlsx")

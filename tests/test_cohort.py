"""Analysis frames (docs/data_contract.md §4) on the good fixture, with expectations computed by hand."""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.exceptions import ExcludedRowsWarning
from sclero_analysis.therapy import TIER_DTYPE

from .test_bad_inputs import BAD


def months(start: str, stop: str) -> float:
    return (date.fromisoformat(stop) - date.fromisoformat(start)).days / 30.4375


# (patient, line): (origin, stop, event) read off tests/data/good by hand
LINE_START = {
    ("P001", 1): ("2012-04-01", "2014-11-15", 1),  # relapse before line 2
    ("P001", 2): ("2015-01-10", "2019-06-30", 0),  # censored at last follow-up
    ("P002", 1): ("2013-09-20", "2014-08-01", 1),  # progression
    ("P002", 2): ("2014-10-01", "2015-12-01", 1),  # relapse after PR
    ("P002", 3): ("2016-03-01", "2017-11-20", 2),  # death without relapse
    ("P003", 1): ("2014-02-15", "2021-02-01", 0),
    ("P004", 1): ("2015-06-01", "2016-10-01", 1),
    ("P004", 2): ("2017-02-01", "2020-12-15", 0),
    ("P005", 1): ("2016-07-20", "2016-12-01", 1),
    ("P005", 2): ("2017-02-01", "2018-04-09", 2),
    ("P006", 1): ("2011-11-01", "2016-08-01", 0),
}


@pytest.fixture
def cs(good_dir):
    return sa.read_case_series(good_dir)


def test_relapse_frame_by_hand(cs):
    df = sa.relapse_frame(cs).set_index(["patient_id", "line"])
    assert len(df) == len(cs.lines)
    for key, (origin, stop, event) in LINE_START.items():
        assert df.loc[key, "time_months"] == pytest.approx(months(origin, stop), rel=1e-12)
        assert df.loc[key, "event"] == event
    # the tiers' categories in order, but unordered: 'other' has no place in the order
    assert df["tier"].dtype == pd.CategoricalDtype(TIER_DTYPE.categories, ordered=False)
    assert df.attrs["cluster"] == "patient_id"
    assert str(df["event"].dtype) == "int64"
    assert {"age_at_diagnosis_years", "sex", "mrss", "paraprotein", "neuro", "site"} <= set(df.columns)
    assert df.loc[("P005", 2), "age_at_diagnosis_years"] == 72.1


def test_response_origin_keeps_only_responders(cs):
    df = sa.relapse_frame(cs, origin="response").set_index(["patient_id", "line"])
    responders = cs.lines[cs.lines["best_response"].isin(["CR", "PR"])]
    assert len(df) == len(responders)
    assert df.loc[("P001", 1), "time_months"] == pytest.approx(months("2012-10-01", "2014-11-15"))
    assert df.loc[("P005", 2), "event"] == 2


def test_survival_frame_overall_and_relapse(cs):
    overall = sa.survival_frame(cs).set_index("patient_id")
    assert overall.loc["P002", "time_months"] == pytest.approx(months("2013-09-02", "2017-11-20"))
    assert overall["event"].tolist() == [0, 1, 0, 0, 1, 0]
    assert overall.loc["P005", "tier"] == "immunosuppression"  # first line's tier
    relapse = sa.survival_frame(cs, endpoint="relapse").set_index("patient_id")
    assert relapse.loc["P002", "time_months"] == pytest.approx(months("2013-09-02", "2014-08-01"))
    assert relapse["event"].tolist() == [1, 1, 0, 1, 1, 0]


def test_tier_history_chains_without_gaps(cs):
    th = sa.tier_history(cs)
    for _, rows in th.groupby("patient_id"):
        assert (rows["start_months"].iloc[1:].to_numpy() == rows["stop_months"].iloc[:-1].to_numpy()).all()
    p002 = th[th["patient_id"] == "P002"]
    assert p002["tier"].tolist() == [
        "ivig", "ivig", "immunosuppression", "immunosuppression", "cytoreduction"]
    assert p002["event"].tolist() == [1, 0, 1, 0, 2]
    assert p002["prior_events"].tolist() == [0, 1, 1, 2, 2]
    assert p002["stop_months"].iloc[-1] == pytest.approx(months("2013-09-02", "2017-11-20"))
    # every relapse/progression of the series appears once as an event
    assert (th["event"] == 1).sum() == len(cs.events)


def test_rejected_rows_never_enter():
    cs = sa.read_case_series(BAD / "duplicate_patient_id")
    df = sa.relapse_frame(cs)
    assert not {"P002", "P003"} & set(df["patient_id"])
    assert len(df) == len(cs.lines)


def test_zero_follow_up_lines_are_reported_not_given_time_zero(tmp_path, good_dir):
    shutil.copytree(good_dir, tmp_path / "s")
    lines = pd.read_csv(good_dir / "lines.csv", dtype=str, keep_default_na=False)
    lines.loc[7, ["start_date", "response_date"]] = ["2015-06-01", "2015-12-01"]  # P004 line 2 = line 1 start
    lines.loc[7, "best_response"] = "PR"
    lines.to_csv(tmp_path / "s" / "lines.csv", index=False)
    cs = sa.read_case_series(tmp_path / "s")
    assert cs.errors.empty
    with pytest.warns(ExcludedRowsWarning, match=r"1 lines left out.*P004 line 1.*sa.exclusions"):
        df = sa.relapse_frame(cs)
    assert len(df) == len(cs.lines) - 1
    assert (df["time_months"] > 0).all()
    assert sa.exclusions(df).values.tolist() == [["P004", 1, "zero follow-up"]]
    assert len(pd.concat([df, df])) == 2 * len(df)  # frames with exclusions still concatenate
    with pytest.warns(ExcludedRowsWarning, match="1 intervals left out.*P004 line 1"):
        th = sa.tier_history(cs)
    assert (th["stop_months"] > th["start_months"]).all()


def test_bad_origin_is_refused(cs):
    with pytest.raises(ValueError, match="origin"):
        sa.relapse_frame(cs, origin="diagnosis")

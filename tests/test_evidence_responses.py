"""response_table and case_relapse_frame: the literature (and a registry) made ready for models."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.evidence import case_relapse_frame
from sclero_analysis.exceptions import ExcludedRowsWarning
from sclero_analysis.synthetic.examples import DATA_DIR

from .literature_data import GOOD, write_literature


@pytest.fixture(scope="module")
def lit(tmp_path_factory):
    return sa.read_literature(write_literature(tmp_path_factory.mktemp("lit")))


def rows(table: pd.DataFrame) -> list[tuple]:
    return [tuple(r) for r in table[["study", "tier", "events", "n"]].astype(object).itertuples(index=False)]


def test_cases_count_on_the_reported_line_and_series_as_printed(lit):
    with pytest.warns(ExcludedRowsWarning) as caught:
        table = sa.response_table(lit)
    text = str(caught[0].message)
    assert "1 published cases whose response was not assessed" in text  # P006: NE
    assert "1 series rows of another response definition than CR+PR" in text  # Moe 2018 (CR)
    assert list(table.columns) == ["study", "source_id", "source_type", "response_definition",
                                   "tier", "events", "n"]
    # first CR, else first PR, else the last line: P002 on its first PR (line 2, thalidomide),
    # P004 on its CR (line 2), P005 on its PR (line 2, melphalan + ASCT)
    assert rows(table) == [
        ("Lee 2021: P003", "ivig", 1, 1), ("Lee 2021: P004", "ivig", 1, 1),
        ("Roe 2015", "ivig", 7, 10), ("Smith 2020: P001", "ivig", 1, 1),
        ("Roe 2015", "immunosuppression", 4, 5), ("Smith 2020: P002", "immunosuppression", 1, 1),
        ("Kim 2019: P005", "cytoreduction", 1, 1),
        ("Roe 2015", "cytoreduction", 3, 3),
    ]
    assert set(table["response_definition"]) == {"CR+PR"}
    types = table.set_index("study")["source_type"]
    assert types["Kim 2019: P005"] == "case report" and set(types["Roe 2015"]) == {"series"}


def test_complete_response_only(lit):
    with pytest.warns(ExcludedRowsWarning, match="3 series rows of another response definition"):
        table = sa.response_table(lit, response_definition="CR")
    assert rows(table) == [
        ("Lee 2021: P003", "ivig", 1, 1), ("Lee 2021: P004", "ivig", 1, 1),
        ("Moe 2018", "ivig", 2, 6), ("Smith 2020: P001", "ivig", 1, 1),
        ("Smith 2020: P002", "immunosuppression", 0, 1), ("Kim 2019: P005", "cytoreduction", 0, 1),
    ]


def test_registry_counts_each_patient_once_per_tier_on_the_first_line_in_it(lit):
    registry = sa.read_case_series(GOOD)
    with pytest.warns(ExcludedRowsWarning, match="1 registry lines whose response was not assessed"):
        table = sa.response_table(lit, registry, cases="source", registry_name="our registry")
    own = table[table["source_type"] == "registry"]
    # ivig: P001 CR, P002 SD, P003 CR, P004 PR (line 1); immunosuppression: P001 PR, P002 PR,
    # P005 PD; cytoreduction: P002 PD, P005 PR; other: P006 NE (not assessed)
    assert rows(own) == [("our registry", "ivig", 3, 4), ("our registry", "immunosuppression", 2, 3),
                         ("our registry", "cytoreduction", 1, 2)]
    # cases summed per publication
    assert ("Lee 2021", "ivig", 2, 2) in rows(table)
    with pytest.warns(ExcludedRowsWarning):
        by_site = sa.response_table(lit, registry, registry_sites=True)
    assert "registry: Genoa" in set(by_site["study"])


def test_groupings_and_several_definitions(lit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExcludedRowsWarning)  # NE cases, asserted above
        agents = sa.response_table(lit, by="agents")
        overall = sa.response_table(lit, by=None, cases="source")
        both = sa.response_table(lit, by="tier", response_definition=["CR", "CR+PR"])
    assert "IVIG; thalidomide" in set(agents["agents"])
    assert "tier" not in overall.columns
    assert overall.set_index("study").loc["Roe 2015", "n"] == 18
    assert set(both["response_definition"]) == {"CR", "CR+PR"}
    # one study per group and definition: the table pools directly (study ids never repeat)
    assert not both.duplicated(["response_definition", "tier", "study"]).any()


def test_bad_arguments(lit):
    with pytest.raises(ValueError, match="by must be"):
        sa.response_table(lit, by="severity")
    with pytest.raises(ValueError, match="response_definition"):
        sa.response_table(lit, response_definition="ORR")
    with pytest.raises(ValueError, match="cases"):
        sa.response_table(lit, cases="paper")


def test_shipped_literature_and_registry_make_a_poolable_table():
    lit = sa.read_literature(DATA_DIR / "literature")
    registry = sa.load_example()
    table = sa.response_table(lit, registry)  # every reported response was assessed: no warning
    assert (table["events"] <= table["n"]).all() and (table["n"] >= 1).all()
    assert not table.duplicated(["tier", "study"]).any()
    published = table[table["source_type"] != "registry"]
    # the literature's patients: every case once, every aggregated patient once
    assert published["n"].sum() == len(lit.patients) + lit.series["n"].sum()
    rate = table.groupby(table["source_type"] == "registry")[["events", "n"]].sum()
    rate = rate["events"] / rate["n"]
    assert rate[False] > rate[True]  # publication selects responders (59/61 against 470/624)


def test_case_relapse_frame_has_the_source_and_sits_beside_the_registry(lit):
    frame = case_relapse_frame(lit)
    assert len(frame) == len(sa.relapse_frame(lit.cases))
    assert (frame["source_id"] == frame["site"].astype(str)).all()
    assert frame.set_index("patient_id").loc["P005", "source_type"].tolist() == ["case report"] * 2
    assert frame.set_index("patient_id").loc["P001", "year"].tolist() == [2020, 2020]
    # follow-up ends with the report: a censored last line ends at the case's last follow-up
    last = frame.sort_values("line").groupby("patient_id").tail(1).set_index("patient_id")
    follow_up = lit.patients.set_index("patient_id")["last_followup_date"]
    censored = last["event"] == 0
    assert (last.loc[censored, "event_date"] == follow_up[last.index[censored]]).all()
    registry = sa.load_example()
    both = case_relapse_frame(sa.read_literature(DATA_DIR / "literature"), registry)
    assert list(both["evidence"].cat.categories) == ["registry", "literature"]
    assert (both["evidence"] == "registry").sum() == len(sa.relapse_frame(registry))
    km = sa.kaplan_meier(both, group="evidence", cluster="patient_id")
    assert set(km.medians.index) == {"registry", "literature"}
    published = both[(both["evidence"] == "literature") & both["tier"].isin(["ivig", "cytoreduction"])]
    published = published.assign(tier=published["tier"].cat.remove_unused_categories())
    fit = sa.fit_cox(published, "tier", cluster="source_id")  # papers as clusters
    assert np.isfinite(fit.summary["se"]).all() and fit.summary["se"].iloc[0] > 0


def test_response_anchored_relapse_frame_keeps_responses_only(lit):
    frame = case_relapse_frame(lit, origin="response")
    assert set(frame["best_response"]) <= {"CR", "PR"} and len(frame) == 7

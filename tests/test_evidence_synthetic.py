"""The synthetic literature: sources, aggregate series rows and cases, valid and never double counted."""

from __future__ import annotations

import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.evidence import validate_literature
from sclero_analysis.evidence.contract import SCHEMAS
from sclero_analysis.synthetic import RegistryDesign, literature_tables, reported_lines, simulate_registry
from sclero_analysis.synthetic.papers import SERIES_COLUMNS, SOURCE_COLUMNS


@pytest.fixture(scope="module")
def registry():
    return simulate_registry(RegistryDesign(n_patients=600), seed=3, truth=False)


def test_columns_are_the_contract():
    assert list(SOURCE_COLUMNS) == list(SCHEMAS["sources"].to_schema().columns)
    assert list(SERIES_COLUMNS) == list(SCHEMAS["series"].to_schema().columns)


@pytest.mark.parametrize("design", [sa.PublicationDesign(), sa.PublicationDesign.no_selection()],
                         ids=["selected", "unselected"])
def test_every_published_patient_is_in_one_shape_and_the_literature_validates(registry, design):
    published = sa.publish_case_reports(registry, seed=4, design=design)
    assert isinstance(published, sa.CaseSeries)  # notebook 04's return value is unchanged
    tables = literature_tables(published)
    lit = validate_literature(tables)
    assert lit.report.empty, lit.report.to_string()
    cases = set(lit.patients["patient_id"])
    sizes = published.patients["site"].value_counts()
    in_series = set(published.patients.loc[
        published.patients["site"].map(sizes) >= design.aggregate_from, "patient_id"])
    assert not cases & in_series and cases | in_series == set(published.patients["patient_id"])
    # the aggregate rows count what the aggregated patients' reported lines show
    told = reported_lines(published.lines)
    told = told[told["patient_id"].isin(in_series) & told["best_response"].isin(["CR", "PR", "SD", "PD"])]
    assert lit.series["n"].sum() == len(told)
    assert lit.series["responders"].sum() == told["best_response"].isin(["CR", "PR"]).sum()
    assert (lit.series["relapsed"] <= lit.series["responders"]).all()
    assert lit.sources["source_id"].is_unique
    designs = lit.sources.set_index("source_id")["design"]
    single = sizes[sizes == 1].index.str.replace(r" \(n=1\)$", "", regex=True)
    assert set(designs[designs == "case report"].index) == set(single) & set(designs.index)


def test_aggregate_threshold_moves_patients_between_shapes(registry):
    published = sa.publish_case_reports(registry, seed=4)
    everything = literature_tables(published, aggregate_from=1)
    nothing = literature_tables(published, aggregate_from=10**6)
    assert everything["patients"].empty and len(everything["series"]) > 0
    assert nothing["series"].empty and len(nothing["patients"]) == len(published.patients)
    pd.testing.assert_frame_equal(nothing["lines"], published.lines.reset_index(drop=True))

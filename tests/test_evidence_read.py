"""read_literature: the literature contract, validated losslessly, every problem named by cell."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.evidence import is_literature, validate_literature, write_literature_template
from sclero_analysis.evidence.contract import SCHEMAS, TABLES
from sclero_analysis.exceptions import CaseSeriesError
from sclero_analysis.synthetic.examples import DATA_DIR

from .literature_data import literature_tables, write_literature


def assert_lossless(lit: sa.Literature) -> None:
    counts = lit.counts
    assert (counts["read"] == counts["accepted"] + counts["rejected"]).all(), counts
    for table in TABLES:
        rejected = lit.rejected.get(table, pd.DataFrame(columns=["row"]))
        assert len(rejected) == counts.loc[table, "rejected"]
        errors = lit.errors[(lit.errors["table"] == table) & (lit.errors["row"] > 1)]  # 1: header
        assert set(errors["row"]) <= set(rejected["row"])  # a row with an error is rejected


def test_good_literature_reads_clean(tmp_path):
    lit = sa.read_literature(write_literature(tmp_path))
    assert lit.report.empty, lit.report.to_string()
    assert lit.counts["accepted"].tolist() == [6, 4, 1, 6, 11, 5]
    assert_lossless(lit)
    for table, model in SCHEMAS.items():
        model.validate(lit.table(table))
        assert list(lit.table(table).columns) == list(model.to_schema().columns)
    # synonyms: 'case series', 'retrospective cohort' are series; 'ORR' is CR+PR
    assert lit.sources["design"].tolist() == ["series", "series", "case report", "case report",
                                              "series", "series"]
    assert lit.sources.loc[1, "response_definition"] == "CR+PR"
    # agents resolved to tiers; an empty definition is the source's
    assert lit.series["tier"].tolist() == ["ivig", "immunosuppression", "cytoreduction", "ivig"]
    assert lit.series["agents"].iloc[1] == "IVIG; lenalidomide"
    assert lit.series["response_definition"].tolist() == ["CR+PR", "CR+PR", "CR+PR", "CR"]
    assert lit.series["relapsed"].isna().tolist() == [False, False, False, True]
    assert set(lit.patients["site"]) <= set(lit.sources["source_id"])
    assert isinstance(lit.cases, sa.CaseSeries) and len(lit.cases.lines) == 11
    assert "sources: 6 accepted, 0 rejected" in repr(lit)


def test_workbook_reads_like_the_folder(tmp_path):
    folder = sa.read_literature(write_literature(tmp_path / "csv"))
    book = sa.read_literature(write_literature(tmp_path / "xlsx", fmt="xlsx"))
    assert book.report.empty
    for table in TABLES:
        pd.testing.assert_frame_equal(folder.table(table), book.table(table))


def test_to_dir_round_trips(tmp_path):
    lit = sa.read_literature(write_literature(tmp_path / "in"))
    again = sa.read_literature(lit.to_dir(tmp_path / "out"))
    assert again.report.empty
    for table in TABLES:
        pd.testing.assert_frame_equal(lit.table(table), again.table(table))


def _set(tables, table, row, column, value):
    """Change one cell (``row`` as the file shows it: header = 1)."""
    tables[table].loc[row - 2, column] = value


def _add(tables, table, **values):
    tables[table] = pd.concat([tables[table], pd.DataFrame([values])], ignore_index=True).fillna("")


# (table, row, column, rule, severity) each change must produce; rows as a spreadsheet shows them
CASES = {
    "missing source_id": (lambda t: _set(t, "sources", 3, "source_id", ""),
                          [("sources", 3, "source_id", "required_value", "error")]),
    "unknown design": (lambda t: _set(t, "sources", 2, "design", "meta-analysis"),
                       [("sources", 2, "design", "invalid_category", "error")]),
    "unknown response definition": (lambda t: _set(t, "sources", 6, "response_definition", "PASI 75"),
                                    [("sources", 6, "response_definition", "invalid_category", "error")]),
    "year in the future": (lambda t: _set(t, "sources", 6, "year", "2099"),
                           [("sources", 6, "year", "year_in_future", "error")]),
    "implausible year": (lambda t: _set(t, "sources", 6, "year", "1812"),
                         [("sources", 6, "year", "out_of_range", "error")]),
    "year not a number": (lambda t: _set(t, "sources", 6, "year", "2018a"),
                          [("sources", 6, "year", "not_a_number", "error")]),
    "malformed DOI and PMID": (
        lambda t: (_set(t, "sources", 2, "doi", "doi 10/abc"), _set(t, "sources", 2, "pmid", "PMC123")),
        [("sources", 2, "doi", "invalid_doi", "warning"), ("sources", 2, "pmid", "invalid_pmid", "warning")]),
    "responders > n": (lambda t: _set(t, "series", 2, "responders", "11"),
                       [("series", 2, "responders", "responders_exceed_n", "error")]),
    "negative count": (lambda t: _set(t, "series", 3, "died", "-1"),
                       [("series", 3, "died", "out_of_range", "error")]),
    "n of zero": (lambda t: _set(t, "series", 5, "n", "0"),
                  [("series", 5, "n", "out_of_range", "error")]),
    "count not a whole number": (lambda t: _set(t, "series", 2, "responders", "7.5"),
                                 [("series", 2, "responders", "not_an_integer", "error")]),
    "relapsed > responders": (lambda t: _set(t, "series", 3, "relapsed", "5"),
                              [("series", 3, "relapsed", "relapsed_exceed_responders", "error")]),
    "died > n": (lambda t: _set(t, "series", 4, "died", "4"),
                 [("series", 4, "died", "died_exceed_n", "error")]),
    "series row of an unknown source": (lambda t: _set(t, "series", 2, "source_id", "Roe 2016"),
                                        [("series", 2, "source_id", "unknown_source", "error")]),
    "series row without source": (lambda t: _set(t, "series", 2, "source_id", ""),
                                  [("series", 2, "source_id", "required_value", "error")]),
    "series row whose agents are unknown": (
        lambda t: _set(t, "series", 2, "agents", "unobtainium"),
        [("series", 2, "agents", "unknown_agents", "error")]),
    "an unknown agent beside a known one": (
        lambda t: _set(t, "series", 2, "agents", "IVIG + unobtainium"),
        [("series", 2, "agents", "unknown_agent", "warning")]),
    "mixed response definitions within a source": (
        lambda t: _set(t, "series", 3, "response_definition", "CR"),
        [("series", 3, "response_definition", "mixed_response_definition", "error")]),
    "the same treatment twice": (
        lambda t: _set(t, "series", 3, "agents", "IVIG"),
        [("series", 2, "agents", "duplicate_series_row", "warning"),
         ("series", 3, "agents", "duplicate_series_row", "warning")]),
    "a case report of several patients": (
        lambda t: _set(t, "sources", 7, "design", "case report"),
        [("series", 5, "n", "case_report_size", "warning")]),
    "a source with cases and series": (
        lambda t: _add(t, "series", source_id="Kim 2019", agents="IVIG", n="1", responders="1"),
        [("series", 6, "source_id", "cases_and_series", "warning")]),
    "a source without data": (
        lambda t: _add(t, "sources", source_id="Poe 2011", citation="Poe G. 2011", year="2011",
                       design="case report", response_definition="CR"),
        [("sources", 8, "source_id", "source_without_data", "warning")]),
    "score SD negative, score of an unknown source": (
        lambda t: (_set(t, "scores", 2, "sd_after", "-6"), _add(
            t, "scores", source_id="Zoe 2000", agents="IVIG", score="mRSS", n="3", mean_before="10",
            mean_after="5")),
        [("scores", 2, "sd_after", "out_of_range", "error"),
         ("scores", 3, "source_id", "unknown_source", "error")]),
    "case patient with an unknown source": (
        lambda t: _set(t, "patients", 3, "site", "Smith 2002"),
        [("patients", 3, "site", "unknown_source", "error"),
         ("lines", 4, "patient_id", "patient_rejected", "error"),
         ("lines", 5, "patient_id", "patient_rejected", "error"),
         ("lines", 6, "patient_id", "patient_rejected", "error"),
         ("events", 3, "patient_id", "patient_rejected", "error"),
         ("events", 4, "patient_id", "patient_rejected", "error")]),
    "case followed up after publication": (
        lambda t: _set(t, "sources", 4, "year", "2017"),
        [("patients", 6, "last_followup_date", "followup_after_publication", "warning")]),
    "registry rules still hold for cases": (
        lambda t: _set(t, "lines", 2, "response_date", ""),
        [("lines", 2, "response_date", "response_date_required", "error")]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_rows_are_named_and_counted(tmp_path, name):
    change, expected = CASES[name]
    tables = literature_tables()
    change(tables)
    lit = sa.read_literature(write_literature(tmp_path, tables))
    assert_lossless(lit)
    found = set(lit.report[["table", "row", "column", "rule", "severity"]].astype(object)
                .itertuples(index=False, name=None))
    for problem in expected:
        assert problem in found, (problem, lit.report.to_string())
        table = problem[0]
        files = lit.report.loc[lit.report["table"] == table, "file"]
        assert files.str.endswith(f"{table}.csv").all()
    errors = [p for p in expected if p[4] == "error"]
    assert len(lit.errors) >= len(errors)
    if not errors:  # a warning keeps the row
        assert lit.counts["rejected"].sum() == 0
    else:
        assert not lit.report["message"].isna().any()


def test_duplicate_source_ids_reject_both_rows_and_their_data(tmp_path):
    tables = literature_tables()
    _set(tables, "sources", 7, "source_id", "Roe 2015")
    lit = sa.read_literature(write_literature(tmp_path, tables))
    assert_lossless(lit)
    duplicate = lit.errors[lit.errors["rule"] == "duplicate_source"]
    assert duplicate["row"].tolist() == [6, 7] and set(duplicate["column"]) == {"source_id"}
    rejected = lit.errors[lit.errors["rule"] == "source_rejected"]
    assert rejected[["table", "row"]].values.tolist() == [
        ["series", 2], ["series", 3], ["series", 4], ["scores", 2]]
    assert "Roe 2015" not in set(lit.series["source_id"])
    assert lit.rejected["series"]["rules"].tolist()[:3] == ["source_rejected"] * 3


def test_missing_required_column_rejects_every_row(tmp_path):
    tables = literature_tables()
    tables["series"] = tables["series"].drop(columns="n")
    lit = sa.read_literature(write_literature(tmp_path, tables))
    assert_lossless(lit)
    assert lit.counts.loc["series", "rejected"] == 4 and lit.series.empty
    problem = lit.errors[lit.errors["rule"] == "missing_column"].iloc[0]
    assert (problem["table"], problem["row"], problem["column"]) == ("series", 1, "n")


def test_unknown_column_is_reported_not_loaded(tmp_path):
    tables = literature_tables()
    tables["sources"]["impact_factor"] = "3.1"
    lit = sa.read_literature(write_literature(tmp_path, tables))
    assert lit.errors.empty
    warning = lit.warnings.iloc[0]
    assert (warning["table"], warning["row"], warning["column"], warning["rule"]) == (
        "sources", 1, "impact_factor", "unknown_column")
    assert "impact_factor" not in lit.sources


def test_cases_naming_their_source_in_source_id_are_told_to_use_site(tmp_path):
    tables = literature_tables()
    tables["patients"] = tables["patients"].rename(columns={"site": "source_id"})
    lit = sa.read_literature(write_literature(tmp_path, tables))
    assert_lossless(lit)
    assert lit.patients.empty
    hint = lit.errors[lit.errors["rule"] == "source_in_site"].iloc[0]
    assert (hint["table"], hint["row"], hint["column"]) == ("patients", 1, "source_id")
    assert "rename the column 'source_id' to 'site'" in hint["message"]


def test_unreadable_inputs_raise(tmp_path):
    tables = literature_tables()
    with pytest.raises(CaseSeriesError, match="sources"):
        sa.read_literature(write_literature(tmp_path / "a", {"series": tables["series"]}))
    partial = {name: tables[name] for name in ("sources", "patients", "lines")}
    with pytest.raises(CaseSeriesError, match="events"):
        sa.read_literature(write_literature(tmp_path / "b", partial))
    with pytest.raises(CaseSeriesError, match="no such"):
        sa.read_literature(tmp_path / "nowhere")


def test_series_only_literature_has_no_cases(tmp_path):
    tables = literature_tables()
    lit = sa.read_literature(write_literature(tmp_path, {"sources": tables["sources"].iloc[4:],
                                                         "series": tables["series"]}))
    assert lit.report.empty and lit.patients.empty and len(lit.series) == 4


def test_validate_literature_in_memory_numbers_rows_from_two():
    tables = literature_tables()
    _set(tables, "series", 2, "responders", "11")
    lit = validate_literature(tables, source="extraction")
    problem = lit.errors.iloc[0]
    assert (problem["file"], problem["row"], problem["rule"]) == (
        "extraction[series]", 2, "responders_exceed_n")
    with pytest.raises(ValueError, match="together"):
        validate_literature({"sources": tables["sources"], "patients": tables["patients"]})


def test_shipped_synthetic_literature_validates_cleanly():
    lit = sa.read_literature(DATA_DIR / "literature")
    assert lit.errors.empty and lit.report.empty, lit.report.to_string()
    assert_lossless(lit)
    assert len(lit.sources) > 0 and len(lit.series) > 0 and len(lit.patients) > 0
    assert set(lit.sources["design"]) == {"case report", "series"}
    assert is_literature(DATA_DIR / "literature") and not is_literature(DATA_DIR / "registry")
    # the per-patient cases still read as a case series (notebooks, load_example)
    assert sa.load_example("literature").report.empty


def test_validate_summary_of_a_literature(tmp_path):
    from sclero_analysis.cli import format_summary

    tables = literature_tables()
    _set(tables, "series", 2, "responders", "11")
    text = format_summary(sa.read_literature(write_literature(tmp_path, tables)))
    assert "responders_exceed_n (1)" in text and "series.csv, row 2, column responders" in text


def test_template_has_every_table_headers_notes_and_drop_downs(tmp_path):
    path = write_literature_template(tmp_path / "extraction.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["guide", *TABLES, "lists"]
    assert book["lists"].sheet_state == "hidden"
    series = book["series"]
    headers = [c.value for c in series[1]]
    assert headers == ["source_id", "agents", "n", "responders", "relapsed", "died",
                       "median_followup_months", "severity", "response_definition", "notes"]
    assert "months" in series["G1"].comment.text and "Required" in series["C1"].comment.text
    lists = {column[0].value: [c.value for c in column[1:] if c.value is not None]
             for column in book["lists"].iter_cols()}
    assert lists["design"] == ["case report", "series", "registry", "trial"]
    assert lists["response_definition"] == ["CR", "CR+PR", "score change", "other"]
    assert "IVIG" in lists["agents"] and "lenalidomide" in lists["agents"]

    def validations(sheet):
        return {str(v.sqref).split(":")[0]: v for v in book[sheet].data_validations.dataValidation}

    assert validations("sources")["F2"].formula1.lstrip("=").startswith("lists!$")
    agents = validations("series")["B2"]
    assert agents.showErrorMessage is False  # combinations are typed
    assert validations("sources")["H2"].showErrorMessage is True
    guide = [row for row in book["guide"].iter_rows(values_only=True)]
    assert ("series", "median_followup_months", "no", "number", "months") in [r[:5] for r in guide]


def test_filled_template_reads_back(tmp_path):
    path = write_literature_template(tmp_path / "extraction.xlsx")
    book = openpyxl.load_workbook(path)
    tables = literature_tables()
    for table in ("sources", "series", "patients", "lines", "events"):
        sheet = book[table]
        headers = [c.value for c in sheet[1]]
        for values in tables[table].to_dict("records"):
            sheet.append([values.get(h, "") or None for h in headers])
    book.save(path)
    lit = sa.read_literature(path)
    assert lit.report.empty, lit.report.to_string()
    assert lit.counts["accepted"].tolist() == [6, 4, 0, 6, 11, 5]

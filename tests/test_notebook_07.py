"""Notebook 07 "pooling the literature" (issue 18) and ``report --literature``.

The library pieces are checked against closed forms (counts, exact intervals, the generator's
response probabilities) and against ``pool_proportions`` itself; the sentences must turn when
the numbers do. The notebook runs on a user registry without literature (sections skipped, one
sentence naming ``--literature``) and, through the command line, on a filled extraction workbook
whose tiers are tiny (one source, all responders). The shipped data run in ``test_report.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy import stats

import sclero_analysis as sa
from sclero_analysis.cli import main
from sclero_analysis.report import build_report, data_hash
from sclero_analysis.report import pooling_words as words
from sclero_analysis.report.literature_input import (
    SHIPPED_LITERATURE,
    check_literature,
    literature_path,
    load_literature,
)
from sclero_analysis.report.pooled import pool_response, registry_response, truth_response
from sclero_analysis.report.runs import declared
from sclero_analysis.report.source_types import SourceTypeRegression, source_type_regression
from tests.literature_data import literature_tables, write_literature
from tests.userdata import write_user_registry

NOTEBOOK = "07_pooling_the_literature"
NAN = re.compile(r"\bnan\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def example():
    return sa.load_example()


@pytest.fixture(scope="module")
def shipped(example):
    return pool_response(load_literature(None), example, example.truth)


# --- numbers ----------------------------------------------------------------------------------

def test_registry_response_counts_each_patient_once_per_tier_with_exact_intervals(example):
    rows = registry_response(example).set_index(["response_definition", "tier"])
    lines = example.lines.sort_values(["patient_id", "line"]).drop_duplicates(["patient_id", "tier"])
    ivig = lines[(lines["tier"] == "ivig") & lines["best_response"].isin(["CR", "PR", "SD", "PD"])]
    row = rows.loc[("CR+PR", "ivig")]
    assert row["n"] == len(ivig) and row["events"] == ivig["best_response"].isin(["CR", "PR"]).sum()
    assert rows.loc[("CR", "ivig"), "events"] == (ivig["best_response"] == "CR").sum()
    x, n = row["events"], row["n"]  # Clopper-Pearson from the beta quantiles (closed form)
    assert row["lower"] == pytest.approx(stats.beta.ppf(0.025, x, n - x + 1), rel=1e-12)
    assert row["upper"] == pytest.approx(stats.beta.ppf(0.975, x + 1, n - x), rel=1e-12)


def test_the_truth_is_the_generators_response_probability(example):
    truth = truth_response(example.truth).set_index(["response_definition", "tier"])["proportion"]
    design = example.truth["design"]
    for tier in sa.TIERS:
        assert truth[("CR+PR", tier)] == pytest.approx(sum(design[f"response_{tier}"][:2]), abs=1e-15)
        assert truth[("CR", tier)] == pytest.approx(design[f"response_{tier}"][0], abs=1e-15)
    assert truth_response({}).empty  # real data: no truth, no rows


def test_the_literature_rows_are_pool_proportions_of_one_row_per_publication(shipped):
    lit = load_literature(None)
    table = sa.response_table(lit, response_definition=["CR+PR", "CR"], cases="source")
    ivig = table[(table["tier"] == "ivig") & (table["response_definition"] == "CR+PR") & (table["n"] > 0)]
    assert ivig["study"].is_unique
    with pytest.warns(sa.exceptions.SeparationWarning):  # every IVIG source responded
        direct = sa.pool_proportions(ivig).summary.iloc[0]
    row = shipped.summary.loc[("CR+PR", "ivig", "literature")]
    assert row["proportion"] == pytest.approx(direct["proportion"], rel=1e-12)
    assert row["k"] == len(ivig) and row["n"] == ivig["n"].sum() and bool(row["penalised"])
    assert not [n for n in shipped.notes if "nan" in n.lower()]


def test_comparison_differences_and_verdicts(shipped):
    comparison = shipped.comparison()
    assert list(comparison.index) == list(sa.TIERS)
    expected = 100 * (comparison["literature"] - comparison["registry"])
    assert np.allclose(comparison["difference_pp"], expected)
    apart = (comparison["literature_lower"] > comparison["registry_upper"]) | \
        (comparison["literature_upper"] < comparison["registry_lower"])
    assert ((comparison["verdict"] != "overlapping") == apart).all()


def _low_literature(tmp_path):
    """Series reporting few responders to IVIG (4/40, 3/30): below the shipped registry's 86%."""
    tables = literature_tables()
    tables["series"] = pd.DataFrame({
        "source_id": ["Roe 2015", "Moe 2018"], "agents": ["IVIG", "IVIG"], "n": ["40", "30"],
        "responders": ["4", "3"], "relapsed": ["", ""], "died": ["", ""],
        "median_followup_months": ["", ""], "severity": ["", ""], "response_definition": ["CR+PR", "CR+PR"],
        "notes": ["", ""]})
    tables["sources"].loc[tables["sources"]["source_id"] == "Moe 2018", "response_definition"] = "CR+PR"
    for name in ("patients", "lines", "events", "scores"):
        tables[name] = tables[name].iloc[:0]
    return sa.read_literature(write_literature(tmp_path / "low", tables))


def test_sentences_turn_when_the_literature_reports_less_response(tmp_path, shipped, example):
    low = pool_response(_low_literature(tmp_path), example)
    comparison = low.comparison()
    assert list(comparison.index) == ["ivig"] and comparison.loc["ivig", "verdict"] == "lower"
    finding = words.pooling_finding(comparison, 6, None)
    assert "lies below it in 1 of 1 tier" in finding and "above" not in finding
    plain = words.pooling_plain_words(comparison, None)
    assert re.search(r"IVIG: literature 1\d% \(\d+–\d+%\), \d+ percentage points below the registry's \d+%",
                     plain), plain
    high = shipped.comparison().assign(verdict="higher")  # intervals apart, literature above
    assert "lies above the registry's in 4 of 4 tiers" in words.pooling_finding(high, 34, None)
    together = shipped.comparison().assign(verdict="overlapping")
    assert "every interval overlaps" in words.pooling_finding(together, 34, None)
    # the shipped registry: IVIG's early escalation ends lines before slow responses show
    finding = words.pooling_finding(shipped.comparison(), 34, None)
    assert "lies above the registry's in 1 of 4 tiers" in finding


def _regression(odds_ratio: float, p: float) -> SourceTypeRegression:
    coefficients = pd.DataFrame({"coef": [np.log(odds_ratio)], "se": [0.5], "lower": [np.nan],
                                 "upper": [np.nan], "p": [p], "odds_ratio": [odds_ratio],
                                 "or_lower": [odds_ratio / 3], "or_upper": [odds_ratio * 3]},
                                index=pd.Index(["case report"], name="source_type"))
    return SourceTypeRegression(coefficients, "series", 40)


def test_the_source_type_sentence_turns_with_the_odds_ratio_and_p():
    more = words.regression_text(_regression(4.0, 0.003))
    assert "case reports report more response than series (odds ratio 4.0" in more
    assert "evidence of a difference" in more and "no evidence" not in more
    less = words.regression_text(_regression(0.5, 0.4))
    assert "case reports report less response than series" in less and "no evidence of a difference" in less


def test_the_meta_regression_compares_designs_with_series_and_says_why_it_cannot(example):
    fit = source_type_regression(load_literature(None), example)
    assert fit.reference == "series" and set(fit.coefficients.index) == {"case report", "registry"}
    row = fit.coefficients.loc["registry"]
    assert row["or_lower"] < row["odds_ratio"] < row["or_upper"]
    assert np.isclose(row["odds_ratio"], np.exp(row["coef"]))
    lit = load_literature(None)
    reports = lit.sources[lit.sources["design"] == "case report"]
    patients = lit.patients[lit.patients["site"].isin(reports["source_id"])]
    only_reports = type(lit)(reports, lit.series.iloc[:0], lit.scores, patients,
                             lit.lines[lit.lines["patient_id"].isin(patients["patient_id"])],
                             lit.events.iloc[:0])
    none = source_type_regression(only_reports)
    assert not none.fitted and none.reference == "case report"
    assert words.regression_gaps(none)[0][0] == "Source-type meta-regression"
    assert re.search(r"\d", words.regression_gaps(none)[0][1])


# --- where the literature comes from --------------------------------------------------------------

def test_the_default_literature_is_the_shipped_one_only_for_the_shipped_registry(tmp_path):
    assert literature_path(None, None) == SHIPPED_LITERATURE
    assert literature_path(tmp_path, None) is None
    assert literature_path(tmp_path, "lit") == Path("lit").resolve()
    text = check_literature(None).to_text()
    assert "34 sources, 29 series rows" in text and "30 patients accepted, 0 rejected" in text


def test_only_notebooks_declaring_literature_path_receive_it():
    books = sa.report.build.default_notebooks_dir()
    parameters = {"seed": 1, "literature_path": "lit.xlsx"}
    assert declared(books / f"{NOTEBOOK}.ipynb", parameters) == parameters
    assert declared(books / "02_time_to_relapse_by_tier.ipynb", parameters) == {"seed": 1}


# --- the notebook on a user's registry ----------------------------------------------------------

def _checked(folder, name: str = NOTEBOOK) -> dict:
    cells = json.loads((folder / f"{name}.ipynb").read_text())["cells"]
    errors = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o["output_type"] == "error" or (o["output_type"] == "stream" and o["name"] == "stderr")]
    assert not errors, f"{name}: {errors[0]}"
    manifest = json.loads((folder / "manifest" / f"{name}.json").read_text())
    assert manifest["finding"] and not NAN.search(manifest["finding"]), manifest["finding"]
    return manifest


def test_a_registry_without_literature_skips_the_pooling_with_one_sentence(tmp_path):
    data = write_user_registry(tmp_path / "registry", 15, seed=2)
    report = build_report(data=data, out=tmp_path / "report", notebooks=[NOTEBOOK], fast=True, progress=None)
    assert not report.failed and report.literature is None
    manifest = _checked(report.folder)
    assert [s["section"] for s in manifest["skipped"]] == ["Pooling the literature"]
    assert "--literature PATH" in manifest["skipped"][0]["reason"]
    assert "pass --literature PATH" in manifest["finding"]
    assert "response in the registry" in manifest["finding"]
    assert "literature" not in report.provenance


def _fill(book, rows: dict[str, list[list]]) -> None:
    """Type rows into the template's sheets below their headers, as a reviewer would."""
    workbook = openpyxl.load_workbook(book)
    for sheet, values in rows.items():
        for offset, row in enumerate(values, start=2):
            for column, value in enumerate(row, start=1):
                workbook[sheet].cell(row=offset, column=column, value=value)
    workbook.save(book)


#: Three publications: a case report with its patient's timeline, a series with one tier of two
#: patients (a single source, all responders: the GLMM's penalised fallback) and a series counting
#: complete responses only.
EXTRACTION = {
    "sources": [["Kim 2019", "Kim C. Case Rep Dermatol 2019;3:3", None, None, 2019, "case report", "Korea",
                 "CR+PR"],
                ["Roe 2015", "Roe E. Arch Dermatol 2015;5:5", None, "25012345", 2015, "series", "Germany",
                 "CR+PR"],
                ["Moe 2018", "Moe F. Dermatology 2018;6:6", None, None, 2018, "series", "Japan", "CR"]],
    "series": [["Roe 2015", "IVIG", 6, 5, 2, 0, 24.5], ["Roe 2015", "melphalan", 2, 2, 0, 1, 30],
               ["Moe 2018", "IVIG", 8, 3]],
    "patients": [["K1", "Kim 2019", "F", 55, "2018-01-10", "IgG-lambda", "no", "no", "no", "no", "no", "no",
                  20, "2019-03-01", "alive"]],
    "lines": [["K1", 1, "2018-02-01", None, "IVIG", "CR", "2018-05-01"]],
    "events": [["K1", "2018-12-15", "relapse"]],
}


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_report_literature_pools_a_filled_extraction_workbook(tmp_path):
    book = tmp_path / "extraction.xlsx"
    assert run_cli("template", "literature", str(book))[0] == 0
    _fill(book, EXTRACTION)
    data = write_user_registry(tmp_path / "registry", 20, seed=3, fmt="xlsx")
    code, stdout, stderr = run_cli("report", "--data", str(data), "--literature", str(book),
                                   "--only", NOTEBOOK, "--fast", "--out", str(tmp_path / "report"))
    assert code == 0, stderr
    assert "3 sources, 3 series rows" in stdout and "1 patients accepted, 0 rejected" in stdout
    assert stdout.index("Literature:") < stdout.index(f"[1/1] {NOTEBOOK}")
    folder = tmp_path / "report"
    manifest = _checked(folder)
    assert "literature (3 sources, pooled) vs registry" in manifest["finding"]
    table = pd.read_csv(folder / "tables" / "07_response_by_tier.csv")
    melphalan = table[(table["tier"] == "cytoreduction") & (table["evidence"] == "literature")]
    assert melphalan["penalised"].all() and (melphalan["upper"] < 1).all()  # finite fallback
    parameters = json.loads((folder / f"{NOTEBOOK}.ipynb").read_text())["cells"]
    injected = [c for c in parameters if "injected-parameters" in c["metadata"].get("tags", [])][0]
    assert "extraction.xlsx" in "".join(injected["source"])  # the CLI option reached the notebook
    record = json.loads((folder / "provenance.json").read_text())
    assert record["literature"] == str(book.resolve()) and record["literature_sha256"] == data_hash(book)
    for page in folder.glob(f"{NOTEBOOK}*.html"):  # the index's provenance names the paths on purpose
        assert str(tmp_path) not in page.read_text(), page.name


def test_a_one_source_literature_pools_with_the_fallback_and_skips_what_it_cannot(tmp_path, example):
    tables = literature_tables()
    tables["sources"] = tables["sources"][tables["sources"]["source_id"] == "Roe 2015"]
    tables["series"] = tables["series"][tables["series"]["source_id"] == "Roe 2015"]
    for name in ("patients", "lines", "events", "scores"):
        tables[name] = tables[name].iloc[:0]
    lit = sa.read_literature(write_literature(tmp_path / "one", tables))
    response = pool_response(lit, example)
    cytoreduction = response.summary.loc[("CR+PR", "cytoreduction", "literature")]  # 3/3, one source
    assert bool(cytoreduction["penalised"]) and 0.5 < cytoreduction["proportion"] < cytoreduction["upper"] < 1
    assert any("single source" in note for note in response.notes)
    assert words.regression_gaps(source_type_regression(lit, None))  # one design: not fitted, said
    after = sa.evidence.case_relapse_frame(lit, example, origin="response")
    assert "0 responding lines among the published cases" in words.relapse_gaps(after)[0][1]
    assert not NAN.search(words.pooling_plain_words(response.comparison(), None))


def test_a_missing_or_unreadable_literature_stops_the_report_before_anything_is_written(tmp_path):
    with pytest.raises(FileNotFoundError, match="--literature"):
        build_report(literature=tmp_path / "nowhere", out=tmp_path / "out", progress=None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(sa.report.ReportError, match="cannot read the literature"):
        build_report(literature=tmp_path / "empty", out=tmp_path / "out", progress=None,
                     notebooks=[NOTEBOOK])
    assert not (tmp_path / "out").exists()


def test_make_report_passes_literature_and_the_readme_says_so():
    root = Path(__file__).parents[1]
    recipe = re.search(r"^report: .*\n((?:\t.*\n)+)", (root / "Makefile").read_text(), re.M)[1]
    assert "$(if $(LITERATURE),--literature $(LITERATURE))" in recipe
    readme = (root / "README.md").read_text()
    assert "LITERATURE=" in readme and f"`{NOTEBOOK}`" in readme

"""Table 1 and regression tables: numbers against R (tests/reference/tables.R), formats, suppression."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.formatting import format_p, format_ratio_ci
from sclero_analysis.report import save_table
from sclero_analysis.tables import regression_table, standardized_difference, table_one

REFERENCE = Path(__file__).parent / "reference"
TIERS = ["ivig", "immunosuppression", "cytoreduction", "other"]


@pytest.fixture(scope="module")
def r():
    return json.loads((REFERENCE / "tables.json").read_text())


@pytest.fixture(scope="module")
def lines():
    df = pd.read_csv(REFERENCE / "data" / "table_lines.csv")
    return df.assign(
        tier=pd.Categorical(df["tier"], categories=TIERS),
        sex=pd.Categorical(df["sex"], categories=["F", "M"]),
        paraprotein=pd.Categorical(df["paraprotein"], categories=[
            "IgG-lambda", "IgG-kappa", "IgA-lambda", "IgA-kappa", "IgM", "other", "none"]),
        neuro=df["neuro"].astype(bool))


def numbers(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", cell)]


def test_table_one_matches_r_summaries_smds_and_tests(lines, r):
    t = table_one(lines, continuous=["age_at_diagnosis_years", "mrss"],
                  categorical=["sex", "paraprotein", "neuro"], nonnormal=["mrss"], pvalues=True,
                  decimals=8)
    s = t.summary
    for i, tier in enumerate(TIERS):
        mean, sd = numbers(s.loc["age_at_diagnosis_years, mean (SD)", tier])
        assert mean == pytest.approx(r["age_mean"][i], abs=1e-8)
        assert sd == pytest.approx(r["age_sd"][i], abs=1e-8)
        assert numbers(s.loc["mrss, median [IQR]", tier]) == pytest.approx(
            [r["mrss_median"][i], r["mrss_q1"][i], r["mrss_q3"][i]], abs=1e-8)
    assert s.loc["mrss, median [IQR]", "Missing"] == str(r["mrss_missing"])
    for name, key in [("age_at_diagnosis_years", "smd_age"), ("mrss", "smd_mrss"),
                      ("paraprotein", "smd_paraprotein"), ("sex", "smd_sex"), ("neuro", "smd_neuro")]:
        assert t.values["smd"][name] == pytest.approx(r[key], rel=1e-10), name
    assert t.values["p"]["age_at_diagnosis_years"] == pytest.approx(r["p_age"], rel=1e-8)
    assert t.values["p"]["mrss"] == pytest.approx(r["p_mrss"], rel=1e-6)
    assert t.values["p"]["paraprotein"] == pytest.approx(r["p_paraprotein"], rel=1e-8)
    assert t.values["p"]["neuro"] == pytest.approx(r["p_neuro"], rel=1e-8)
    two = lines[lines["tier"].isin(["ivig", "cytoreduction"])]
    t2 = table_one(two, categorical=["sex", "paraprotein"], pvalues=True)
    assert t2.values["p"]["sex"] == pytest.approx(r["p_sex_two"], rel=1e-8)  # Yates, as chisq.test
    assert t2.values["smd"]["paraprotein"] == pytest.approx(r["smd_paraprotein_two"], rel=1e-10)
    assert list(t2.summary.columns) == ["Overall", "ivig", "cytoreduction", "Missing", "SMD", "p"]


def test_counts_and_percentages_are_of_non_missing_values(lines):
    df = lines.copy()
    df.loc[df.index[:10], "sex"] = np.nan
    t = table_one(df, categorical=["sex", "neuro"], smd=False)
    s = t.summary
    ivig = df[df["tier"] == "ivig"]
    n_f, n_known = int((ivig["sex"] == "F").sum()), int(ivig["sex"].notna().sum())
    assert s.loc["    F", "ivig"] == f"{n_f} ({100 * n_f / n_known:.1f})"
    assert s.loc["sex, n (%)", "Missing"] == "10"
    assert s.loc["n", "Overall"] == str(len(df)) and s.loc["n", "ivig"] == str(len(ivig))
    n_neuro = int(df["neuro"].sum())
    assert s.loc["neuro, n (%)", "Overall"] == f"{n_neuro} ({100 * n_neuro / len(df):.1f})"
    assert "SMD" not in s.columns


def test_small_cells_are_suppressed_and_said(lines):
    t = table_one(lines, categorical=["paraprotein"], min_cell=5)
    s = t.summary
    counts = pd.crosstab(lines["paraprotein"], lines["tier"])
    for level in counts.index:
        for tier in TIERS:
            n = counts.loc[level, tier]
            cell = s.loc[f"    {level}", tier]
            assert (cell == "<5") == (0 < n < 5), (level, tier, cell)
    assert any("suppressed" in note for note in t.notes)
    assert "<5" not in table_one(lines, categorical=["paraprotein"]).to_csv()


def test_case_series_table_describes_lines_by_tier():
    cs = sa.load_example()
    t = table_one(cs)
    frame = sa.relapse_frame(cs)
    assert t.summary.loc["n", "Overall"] == str(len(frame))
    assert "paraprotein, n (%)" in t.summary.index and "line, mean (SD)" in t.summary.index
    assert t.notes[0].startswith(f"Unit: lines of therapy (n = {len(frame)})")


def test_standardized_difference_closed_forms():
    a, b = pd.Series([0.0, 2.0]), pd.Series([2.0, 4.0])  # means 1, 3; variances 2, 2
    assert standardized_difference(a, b, False) == pytest.approx(2 / np.sqrt(2))
    x, y = pd.Series([True] * 3 + [False]), pd.Series([True] + [False] * 3)
    expected = 0.5 / np.sqrt((0.75 * 0.25 + 0.25 * 0.75) / 2)
    assert standardized_difference(x, y, True) == pytest.approx(expected)
    assert standardized_difference(pd.Series([1.0, 1.0]), pd.Series([1.0, 1.0]), False) == 0.0
    assert np.isinf(standardized_difference(pd.Series([1.0, 1.0]), pd.Series([2.0, 2.0]), False))
    assert np.isnan(standardized_difference(pd.Series([1.0]), pd.Series([np.nan]), False))


def test_formats_render_every_cell(lines):
    t = table_one(lines, continuous=["age_at_diagnosis_years"], categorical=["sex"], title="Table 1")
    md = t.to_markdown().splitlines()
    assert md[0] == "**Table 1**" and md[2].startswith("|  | Overall | ivig |")
    assert sum(line.startswith("| ") for line in md) == len(t.summary) + 1
    html = t.to_html()
    assert html.count("<tr>") == len(t.summary) + 1 + len(t.notes)
    assert "<caption>Table 1</caption>" in html and 'style="padding-left:1.5em"' in html
    tex = t.to_latex()
    assert r"age\_at\_diagnosis\_years" in tex and r"\quad F" in tex
    assert tex.count(r"\\") == len(t.summary) + 1
    csv = pd.read_csv(pd.io.common.StringIO(t.to_csv()), dtype=str, keep_default_na=False)
    assert list(csv["characteristic"]) == list(t.summary.index)
    assert csv.loc[0, "Overall"] == t.summary.iloc[0, 0]


def test_regression_table_reads_the_result(lines):
    df = lines.dropna(subset=["mrss"]).assign(
        time_months=np.linspace(1, 60, len(lines.dropna(subset=["mrss"]))),
        event=np.resize([1, 0, 1], len(lines.dropna(subset=["mrss"]))))
    crude, adjusted = sa.fit_cox(df, "tier"), sa.fit_cox(df, "tier + mrss + neuro")
    t = regression_table({"crude": crude, "adjusted": adjusted})
    s = t.summary
    assert list(s.index[:5]) == ["tier", *(f"    {t}" for t in TIERS)]
    row = adjusted.summary.loc["tier[cytoreduction]"]
    assert s.loc["    cytoreduction", "adjusted HR (95% CI)"] == format_ratio_ci(
        row["hr"], row["hr_lower"], row["hr_upper"])
    assert s.loc["    cytoreduction", "adjusted p"] == format_p(row["p"])
    assert s.loc["    ivig", "crude HR (95% CI)"] == "reference"
    assert s.loc["neuro", "crude HR (95% CI)"] == ""  # not in the crude model
    single = regression_table(adjusted)
    assert list(single.summary.columns) == ["HR (95% CI)", "p"]


def test_p_values_follow_journal_conventions():
    assert format_p(0.00099) == "< 0.001"
    assert format_p(0.001) == "0.001"
    assert format_p(0.0496) == "0.050" and format_p(0.0504) == "0.050"
    assert format_p(0.123) == "0.12" and format_p(0.995) == "> 0.99"
    assert format_p(float("nan")) == ""
    assert format_p(0.2, prefix=True) == "p = 0.20"


def test_bad_inputs_name_the_column(lines):
    with pytest.raises(KeyError, match="no column 'weight'"):
        table_one(lines, continuous=["weight"])
    with pytest.raises(TypeError, match="'sex' is not numeric"):
        table_one(lines, continuous=["sex"])
    with pytest.raises(KeyError, match="nonnormal 'sex'"):
        table_one(lines, continuous=["mrss"], categorical=["sex"], nonnormal=["sex"])
    with pytest.raises(ValueError, match="min_cell"):
        table_one(lines, categorical=["sex"], min_cell=0)
    with pytest.raises(TypeError, match="CaseSeries or a DataFrame"):
        table_one([1, 2, 3])


def test_save_table_writes_formats(lines, tmp_path):
    t = table_one(lines, categorical=["sex"])
    paths = save_table(t, tmp_path / "tables" / "t1", formats=("csv", "md", "html", "tex"))
    assert [p.suffix for p in paths] == [".csv", ".md", ".html", ".tex"]
    assert paths[1].read_text() == t.to_markdown()
    plain = save_table(pd.DataFrame({"x": [1]}, index=["a"]), tmp_path / "plain", formats=("md",))
    assert "| a | 1 |" in plain[0].read_text()
    with pytest.raises(ValueError, match="unknown table format"):
        save_table(t, tmp_path / "t", formats=("docx",))

"""Table 1 and regression tables: numbers against R (tests/reference/tables.R) per line, by hand per
patient, formats, suppression that no subtraction undoes."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize("source", ["frame rows", "case series per line"])
def test_table_one_matches_r_summaries_smds_and_tests(lines, r, source):
    # tables.R describes the shipped registry's lines (make_table_data.py): the per-line table of
    # the case series is the same table, labelled as per line
    data, unit = (lines, None) if source == "frame rows" else (sa.load_example(), "line")
    t = table_one(data, continuous=["age_at_diagnosis_years", "mrss"],
                  categorical=["sex", "paraprotein", "neuro"], nonnormal=["mrss"], pvalues=True,
                  decimals=8, unit=unit)
    if unit == "line":
        assert t.notes[:2] == (f"Unit: lines of therapy (n = {len(lines)}). Continuous: mean (SD) or median "
                               "[IQR]; categorical: n (%) of non-missing values.",
                               "A patient is counted once per line.")
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


def test_case_series_table_describes_each_patient_once_by_first_line_tier():
    cs = sa.load_example()
    t = table_one(cs, decimals=8)
    s = t.summary
    patients = cs.patients
    assert s.loc["n", "Overall"] == str(len(patients)) == "400"  # not 928 lines
    n_f = int((patients["sex"] == "F").sum())  # sex once per patient
    assert s.loc["    F", "Overall"] == f"{n_f} ({100 * n_f / 400:.8f})"
    # by hand: each patient's first line gives the tier
    first = cs.lines.sort_values(["patient_id", "line"]).drop_duplicates("patient_id")
    tier = patients["patient_id"].map(first.set_index("patient_id")["tier"].astype(str))
    for name in ("ivig", "immunosuppression", "cytoreduction"):
        rows = patients[tier == name]
        assert s.loc["n", name] == str(len(rows))
        age = rows["age_at_diagnosis_years"]
        assert numbers(s.loc["age_at_diagnosis_years, mean (SD)", name]) == pytest.approx(
            [age.mean(), age.std()], abs=1e-8)
        n_neuro = int(rows["neuro"].sum())
        assert s.loc["neuro, n (%)", name] == f"{n_neuro} ({100 * n_neuro / len(rows):.8f})"
    # some severe patients start on cytoreduction; nobody starts on other (no empty column)
    assert list(s.columns) == ["Overall", "ivig", "immunosuppression", "cytoreduction", "Missing", "SMD"]
    assert "line, mean (SD)" not in s.index and "adjunct_ecp, n (%)" not in s.index
    assert t.notes[0].startswith("Unit: patients (n = 400)")
    assert "tier: at the patient's first line of therapy." in t.notes
    untreated = int(tier.isna().sum())
    assert untreated > 0 and f"{untreated} patients without tier are counted in Overall only." in t.notes


def test_a_relapse_frame_is_described_per_patient_unless_asked_per_line():
    cs = sa.load_example()
    frame = quiet(sa.relapse_frame, cs)
    per_patient = table_one(frame).summary
    assert per_patient.loc["n", "Overall"] == str(frame["patient_id"].nunique())
    groups = ["ivig", "immunosuppression"]
    pd.testing.assert_frame_equal(per_patient[groups], table_one(cs).summary[groups])  # same patients
    per_line = table_one(frame, unit="line")
    assert per_line.summary.loc["n", "Overall"] == str(len(frame))
    assert "line, mean (SD)" in per_line.summary.index
    with pytest.raises(ValueError, match="'line' differs between rows of a patient.*unit='line'"):
        table_one(frame, continuous=["line"])
    with pytest.raises(KeyError, match="patient_id"):
        table_one(frame.drop(columns="patient_id"), unit="patient")
    with pytest.raises(ValueError, match="unit must be"):
        table_one(frame, unit="lines")


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ----------------------------------------------------------------------------- suppression

def parse(cell: str) -> int | None:
    """A displayed count, or None when suppressed."""
    if cell.startswith("<") or cell == "*":
        return None
    return int(cell.split(" ")[0])


def recoverable(cells: dict, equations: list[dict]) -> list:
    """Suppressed cells (value None) that the equations, whose sums a reader knows, determine.

    A cell is determined when its unit vector lies in the row space of the equations restricted
    to the unknown cells (rank unchanged by adding it). Keys ending in "hidden" are unknown but
    never shown (the "no" of a yes/no row), so they are not checked themselves.
    """
    unknown = [k for k, v in cells.items() if v is None]
    if not unknown:
        return []
    a = np.array([[eq.get(k, 0.0) for k in unknown] for eq in equations])
    a = a.reshape(len(equations), len(unknown))
    rank = np.linalg.matrix_rank(a) if len(equations) else 0
    found = []
    for j, key in enumerate(unknown):
        if key[-1] == "hidden":
            continue
        unit = np.zeros((1, len(unknown)))
        unit[0, j] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit]) if len(equations) else unit) == rank:
            found.append(key)
    return found


def block_audit(s: pd.DataFrame, df: pd.DataFrame, name: str, levels: list, groups: list,
                overall: bool) -> list:
    """Recoverable suppressed cells of one characteristic: column totals (non-missing values per
    column) known, and row totals when the Overall column is shown."""
    columns = (["Overall"] if overall else []) + groups
    binary = levels == [True]
    cells = {}
    for level in levels:
        label = f"{name}, n (%)" if binary else f"    {level}"
        for c in columns:
            cells[(level, c)] = parse(s.loc[label, c])
            assert cells[(level, c)] is None or cells[(level, c)] == 0 or cells[(level, c)] >= 5
    if binary:
        cells |= {(False, c, "hidden"): None for c in columns}
    keys = list(cells)
    equations = [{k: 1.0 for k in keys if k[1] == c} for c in columns]  # column totals
    if overall:
        for level in (levels + [False] if binary else levels):
            row = [k for k in keys if k[0] == level]
            equations.append({k: (1.0 if k[1] == "Overall" else -1.0) for k in row})
    return recoverable(cells, equations)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_no_suppressed_count_can_be_recovered_by_subtraction(data):
    n_groups = data.draw(st.integers(2, 4), label="groups")
    n_levels = data.draw(st.integers(2, 5), label="levels")
    n = data.draw(st.integers(6, 60), label="n")
    group = data.draw(st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n), label="group")
    level = data.draw(st.lists(st.integers(0, n_levels - 1) | st.just(-1), min_size=n, max_size=n))
    flag = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="flag")
    overall = data.draw(st.booleans(), label="overall")
    names = [f"L{i}" for i in range(n_levels)]
    df = pd.DataFrame({
        "g": pd.Categorical([f"G{i}" for i in group], categories=[f"G{i}" for i in range(n_groups)]),
        "cat": pd.Categorical([names[i] if i >= 0 else None for i in level], categories=names),
        "flag": flag})
    t = table_one(df, by="g", categorical=["cat", "flag"], min_cell=5, smd=False, overall=overall)
    s = t.summary
    groups = [g for g in df["g"].cat.categories if (df["g"] == g).any()]
    assert not block_audit(s, df, "cat", names, groups, overall)
    assert not block_audit(s, df, "flag", [True], groups, overall)
    sizes = {c: parse(s.loc["n", c]) for c in (["Overall"] if overall else []) + groups}
    total = {c: 1.0 for c in groups}  # the notes give n: the groups' sizes sum to it
    assert not recoverable(sizes, [total] + ([{"Overall": 1.0}] if overall else []))


def test_a_suppressed_count_alone_in_its_row_suppresses_the_next_smallest_there():
    # cat L1: 3 in group A, 7 in B, 20 in C -> the 3 alone in its row (Overall 30) takes the 7;
    # then each is alone in its column (A: L0 = 40, B: L0 = 30) and takes that column's L0
    df = pd.DataFrame({"g": pd.Categorical(list("A" * 43 + "B" * 37 + "C" * 50), categories=list("ABC")),
                       "cat": ["L0"] * 40 + ["L1"] * 3 + ["L0"] * 30 + ["L1"] * 7
                       + ["L0"] * 30 + ["L1"] * 20})
    s = table_one(df, by="g", categorical=["cat"], min_cell=5, smd=False).summary
    assert s.loc["    L1"].tolist()[:4] == ["30 (23.1)", "<5", "*", "20 (40.0)"]
    assert s.loc["    L0"].tolist()[:4] == ["100 (76.9)", "*", "*", "30 (60.0)"]
    no_overall = table_one(df, by="g", categorical=["cat"], min_cell=5, smd=False, overall=False).summary
    assert no_overall.loc["    L1"].tolist()[:3] == ["<5", "7 (18.9)", "20 (40.0)"]  # no row margin
    assert no_overall.loc["    L0"].tolist()[:3] == ["*", "30 (81.1)", "30 (60.0)"]  # the column's


def test_a_group_of_one_shows_no_sd_instead_of_nan():
    # a 15-patient series has a tier with one patient: its SD is not defined (R's tableone: NA)
    df = pd.DataFrame({"age": [50.0, 60, 57.5, 40, 45], "tier": pd.Categorical(["a", "a", "b", "c", "c"])})
    table = table_one(df, by="tier", continuous=["age"])
    row = table.summary.loc["age, mean (SD)"]
    assert row["b"] == "57.5 (–)" and row["a"] == "55.0 (7.1)"
    assert not table.summary.apply(lambda c: c.str.contains("nan")).any().any()
    assert any(note.startswith("–: not defined") for note in table.notes)
    assert not any(note.startswith("–") for note in table_one(df.iloc[[0, 1, 3, 4]], by="tier",
                                                                continuous=["age"]).notes)


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
    assert list(single.summary.columns) == ["N", "Events", "HR (95% CI)", "p"]
    assert list(regression_table(adjusted, counts=False).summary.columns) == ["HR (95% CI)", "p"]


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
        save_table(t, tmp_path / "t", formats=("odt",))

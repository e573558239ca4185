"""Figures: risk-table numbers, fixed tier colours, embedded fonts, and baseline images.

Baselines live in tests/baseline/. After an intended change of a figure, regenerate them with
``SCLERO_REGENERATE_BASELINES=1 .venv/bin/pytest tests/test_figures.py`` and review the PNGs.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402

import sclero_analysis as sa  # noqa: E402
from sclero_analysis.exceptions import PositivityWarning  # noqa: E402
from sclero_analysis.figures import TIER_COLOURS, forest_plot, journal_style  # noqa: E402
from sclero_analysis.figures.curves import RISK_TABLE_LABEL  # noqa: E402

BASELINE = Path(__file__).parent / "baseline"


@pytest.fixture(scope="module")
def lines():
    return sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"]).reset_index(drop=True)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def risk_table_axes(ax):
    return next(a for a in ax.child_axes if a.get_label() == RISK_TABLE_LABEL)


def test_risk_table_numbers_are_the_results_at_risk_counts_at_the_ticks(lines):
    km = sa.kaplan_meier(lines)
    with journal_style():
        ax = km.plot()
    table = risk_table_axes(ax)
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    expected = km.at_risk(ticks)
    cells = {(round(t.get_position()[0], 9), round(t.get_position()[1])): t.get_text() for t in table.texts}
    assert len(cells) == expected.size
    for row, (_, counts) in enumerate(expected.iterrows()):
        for tick, n in zip(ticks, counts, strict=True):
            assert cells[(round(tick, 9), row)] == f"{n:.0f}"
    assert [t.get_text() for t in table.get_yticklabels()] == list(expected.index.astype(str))


def test_every_tier_keeps_its_colour_across_figures(lines):
    km = sa.kaplan_meier(lines)
    cif = sa.cumulative_incidence(lines)
    two = lines[lines["tier"].isin(["cytoreduction", "other"])]  # colours do not shift
    two = two.assign(tier=two["tier"].cat.remove_unused_categories())
    for result in (km, cif, sa.kaplan_meier(two)):
        fig, ax = plt.subplots()
        result.plot(ax=ax, risk_table=False)
        colours = {line.get_label(): to_hex(line.get_color()) for line in ax.get_lines()
                   if not line.get_label().startswith("_")}
        assert colours and all(colours[t] == TIER_COLOURS[t].lower() for t in colours), colours
        legend = {t.get_text() for t in ax.get_legend().get_texts()}
        assert legend == set(colours)


def test_saved_pdf_embeds_truetype_fonts(lines, tmp_path):
    with journal_style():
        fig, ax = plt.subplots()
        sa.kaplan_meier(lines).plot(ax=ax)
        fig.savefig(tmp_path / "km.pdf")
    pdf = (tmp_path / "km.pdf").read_bytes()
    assert b"/FontFile2" in pdf  # TrueType program embedded (pdf.fonttype 42)
    assert b"/Subtype /Type3" not in pdf


def test_journal_style_widths_and_no_lasting_changes():
    before = dict(matplotlib.rcParams)
    with journal_style("double"):
        fig, _ = plt.subplots()
        assert matplotlib.rcParams["pdf.fonttype"] == 42
        assert not matplotlib.rcParams["axes.spines.top"]
    assert fig.get_figwidth() * 25.4 == pytest.approx(180)
    assert dict(matplotlib.rcParams) == before


def test_forest_plot_shows_reference_rows_and_the_numbers(lines):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PositivityWarning)  # one 'other' line scores < 0.01
        table = sa.compare_tiers(lines, ["age_at_diagnosis_years", "mrss", "neuro", "cardiac"])
    fig, ax = plt.subplots()
    forest_plot(table, ax=ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["ivig (reference)", "immunosuppression", "cytoreduction", "other"]
    texts = [t.get_text() for t in ax.texts]
    row = table[(table["method"] == "iptw") & (table["tier"] == "cytoreduction")].iloc[0]
    assert f"{row['hr']:.2f} ({row['hr_lower']:.2f}–{row['hr_upper']:.2f})" in texts
    assert "reference" in texts and ax.get_xscale() == "log"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"naive", "adjusted", "iptw"}


def _figures(lines):
    km = sa.kaplan_meier(lines)
    yield "km_by_tier", lambda ax: km.plot(ax=ax, pvalue=sa.logrank(lines).p_value)
    cif = sa.cumulative_incidence(lines)
    yield "cif_by_tier", lambda ax: cif.plot(ax=ax, pvalue=cif.gray_test().p_value)
    fit = sa.fit_cox(lines, "tier + age_at_diagnosis_years + mrss + neuro + cardiac", cluster="patient_id")
    yield "forest_cox", lambda ax: forest_plot(fit, ax=ax)


@pytest.mark.parametrize("name", ["km_by_tier", "cif_by_tier", "forest_cox"])
def test_figures_match_their_baseline_images(lines, name, tmp_path):
    draw = dict(_figures(lines))[name]
    with journal_style():
        fig, ax = plt.subplots(figsize=(3.35, 2.6))
        draw(ax)
        actual = tmp_path / f"{name}.png"
        fig.savefig(actual, dpi=150)
    expected = BASELINE / f"{name}.png"
    if os.environ.get("SCLERO_REGENERATE_BASELINES"):
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"no baseline {expected}: regenerate (see module docstring)"
    # RMS tolerance 2 (of 255) absorbs anti-aliasing noise; a moved curve, label or number fails
    assert compare_images(str(expected), str(actual), tol=2) is None

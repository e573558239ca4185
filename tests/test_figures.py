"""Figures: risk-table numbers, fixed tier colours, embedded fonts, and baseline images.

Baselines live in tests/baseline/. After an intended change of a figure, regenerate them with
``SCLERO_REGENERATE_BASELINES=1 .venv/bin/pytest tests/test_figures.py`` and review the PNGs.
They are drawn in the journal style with its font forced to DejaVu Sans, the copy that ships with
matplotlib (``BASELINE_FONTS``), so they match on any machine whatever fonts it has installed;
users' figures still prefer Arial or Liberation Sans where installed (tested below).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402

import sclero_analysis as sa  # noqa: E402
from sclero_analysis.exceptions import PositivityWarning  # noqa: E402
from sclero_analysis.figures import (  # noqa: E402
    TIER_COLOURS,
    forest_plot,
    journal_style,
    legend_of,
    log_ratio_axis,
    love_plot,
    plot_curves,
    plot_study,
    swimmer_plot,
    table_axes,
    therapy_courses,
)
from sclero_analysis.figures.risktable import TableNumbers  # noqa: E402
from sclero_analysis.figures.style import FONTS  # noqa: E402
from sclero_analysis.formatting import format_p  # noqa: E402
from sclero_analysis.labels import label  # noqa: E402
from sclero_analysis.report import save_figure  # noqa: E402

BASELINE = Path(__file__).parent / "baseline"
#: Fonts of the baseline images: only DejaVu Sans, which travels with matplotlib.
BASELINE_FONTS = ["DejaVu Sans"]


@pytest.fixture(scope="module")
def lines():
    return sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"]).reset_index(drop=True)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# The curves here pass cluster=False: these tests are about drawing, and the baseline images
# were made with the rows' own (unclustered) intervals.
def risk_table_axes(ax):
    return table_axes(ax)[0]


def table_cells(table) -> dict[tuple[float, int], str]:
    """(x, row) -> text of the numbers a table Axes draws."""
    (numbers,) = [a for a in table.artists if isinstance(a, TableNumbers)]
    numbers.refresh()
    return {(round(t.get_position()[0], 9), round(t.get_position()[1])): t.get_text() for t in numbers.texts}


def visible_ticks(ax):
    lo, hi = ax.get_xlim()
    return [float(t) for t in ax.get_xticks() if lo <= t <= hi]


def test_risk_table_numbers_are_the_results_at_risk_counts_at_the_ticks(lines):
    km = sa.kaplan_meier(lines, cluster=False)
    with journal_style():
        ax = km.plot()
    table = risk_table_axes(ax)
    ticks = visible_ticks(ax)
    expected = km.at_risk(ticks)
    cells = table_cells(table)
    assert len(cells) == expected.size
    for row, (_, counts) in enumerate(expected.iterrows()):
        for tick, n in zip(ticks, counts, strict=True):
            assert cells[(round(tick, 9), row)] == f"{n:.0f}"
    assert [t.get_text() for t in table.get_yticklabels()] == ["IVIG", "Immunosuppression", "Cytoreduction",
                                                                "Other"]
    assert table.get_title(loc="left") == "Number at risk"


def test_risk_table_columns_follow_later_limits_and_ticks(lines):
    km = sa.kaplan_meier(lines, cluster=False)
    ax = km.plot(xlim=36, break_time=12)
    assert visible_ticks(ax) == [0, 12, 24, 36]
    ax.set_xlim(0, 24)  # as a user narrows the plot after drawing it
    ax.figure.canvas.draw()
    cells = table_cells(risk_table_axes(ax))
    assert {x for x, _ in cells} == {0, 12, 24}
    assert cells[(24, 0)] == f"{km.at_risk([24]).iloc[0, 0]:.0f}"
    ax.set_xticks([0, 5, 10])
    assert {x for x, _ in table_cells(risk_table_axes(ax))} == {0, 5, 10}


def test_tables_live_inside_the_figure_and_survive_a_plain_savefig(lines, tmp_path):
    km = sa.kaplan_meier(lines, cluster=False)
    ax = km.plot(cumulative_events=True, censor_table=True)
    fig = ax.figure
    fig.savefig(tmp_path / "km.png", dpi=50)  # no bbox_inches: the canvas is what is saved
    renderer = fig.canvas.get_renderer()
    tables = table_axes(ax)
    assert [t.get_title(loc="left") for t in tables] == ["Number at risk", "Cumulative number of events",
                                                         "Cumulative number censored"]
    for table in tables:
        box = table.get_tightbbox(renderer)
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 + 0.5
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
        assert box.y1 < ax.get_window_extent(renderer).y0  # below the curves
    assert fig.get_figheight() > matplotlib.rcParams["figure.figsize"][1]  # the figure grew to hold them


def test_event_and_censoring_tables_count_what_happened_up_to_each_tick(lines):
    km = sa.kaplan_meier(lines, cluster=False)
    ax = km.plot(cumulative_events=True, censor_table=True, xlim=48, break_time=12)
    _, events, censored = table_axes(ax)
    # Kaplan-Meier of relapse censors deaths: they count as censored; the CIF's censored do not
    for table, counted in ((events, [1]), (censored, [0, 2])):
        cells = table_cells(table)
        for row, tier in enumerate(lines["tier"].cat.categories):
            mine = lines[lines["tier"] == tier]
            for tick in (0, 12, 24, 36, 48):
                n = int((mine["event"].isin(counted) & (mine["time_months"] <= tick)).sum())
                assert cells[(tick, row)] == str(n), (tier, tick)
    cif = sa.cumulative_incidence(lines, cluster=False)
    ax = cif.plot(censor_table=True, risk_table=False, xlim=24, break_time=12)
    cells = table_cells(table_axes(ax)[0])
    first = lines[lines["tier"] == "ivig"]
    assert cells[(12, 0)] == str(int(((first["event"] == 0) & (first["time_months"] <= 12)).sum()))


def test_every_tier_keeps_its_colour_across_figures(lines):
    km = sa.kaplan_meier(lines, cluster=False)
    cif = sa.cumulative_incidence(lines, cluster=False)
    two = lines[lines["tier"].isin(["cytoreduction", "other"])]  # colours do not shift
    two = two.assign(tier=two["tier"].cat.remove_unused_categories())
    tier_of = {label(t): t for t in TIER_COLOURS}
    for result in (km, cif, sa.kaplan_meier(two, cluster=False)):
        fig, ax = plt.subplots()
        result.plot(ax=ax, risk_table=False)
        colours = {line.get_label(): to_hex(line.get_color()) for line in ax.get_lines()
                   if not line.get_label().startswith("_")}
        assert colours and all(colours[t] == TIER_COLOURS[tier_of[t]].lower() for t in colours), colours
        legend = {t.get_text() for t in legend_of(ax).get_texts()}
        assert legend - {"Censored"} == set(colours)


def test_saved_pdf_embeds_truetype_fonts(lines, tmp_path):
    with journal_style():
        fig, ax = plt.subplots()
        sa.kaplan_meier(lines, cluster=False).plot(ax=ax)
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


def test_journal_style_draws_in_the_first_installed_of_its_fonts(lines, tmp_path):
    installed = {f.name for f in font_manager.fontManager.ttflist}
    expected = next(f for f in FONTS if f in installed)  # DejaVu Sans at worst: matplotlib ships it
    with journal_style():
        font = font_manager.findfont(font_manager.FontProperties(), fallback_to_default=False)
        fig, ax = plt.subplots()
        sa.kaplan_meier(lines, cluster=False).plot(ax=ax)
        fig.savefig(tmp_path / "km.pdf")
    assert font_manager.get_font(font).family_name == expected
    pdf = (tmp_path / "km.pdf").read_bytes()  # e.g. LiberationSans where CI installs it
    embedded = set(re.findall(rb"/BaseFont /(?:[A-Z]{6}\+)?([\w-]+)", pdf))  # subset tag ABCDEF+
    assert expected.replace(" ", "").encode() in embedded and b"/FontFile2" in pdf, embedded
    with journal_style(fonts=["Surely Not Installed Sans", "DejaVu Sans"]):
        font = font_manager.findfont(font_manager.FontProperties(), fallback_to_default=False)
    assert font_manager.get_font(font).family_name == "DejaVu Sans"


def test_forest_plot_shows_reference_rows_and_the_numbers(lines):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PositivityWarning)  # one 'other' line scores < 0.01
        table = sa.compare_tiers(lines, ["age_at_diagnosis_years", "mrss", "neuro", "cardiac"])
    fig, ax = plt.subplots()
    forest_plot(table, ax=ax, truth={"cytoreduction": 0.5, "tier[other]": 1.5})
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Therapy tier", "IVIG (reference)", "Immunosuppression", "Cytoreduction", "Other"]
    texts = [t.get_text() for t in ax.texts]
    row = table[(table["method"] == "iptw") & (table["tier"] == "cytoreduction")].iloc[0]
    assert f"{row['hr']:.2f} ({row['hr_lower']:.2f}–{row['hr_upper']:.2f})" in texts
    assert format_p(row["p"]) in texts and {"HR (95% CI)", "p", "Reference"} <= set(texts)
    assert "N" not in texts  # several models: no N/events columns
    assert ax.get_xscale() == "log"
    assert {t.get_text() for t in legend_of(ax).get_texts()} == {
        "Unadjusted Cox", "Covariate-adjusted Cox", "IPTW Cox", "True value"}
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [0.5, 1.5]
    assert list(crosses[0].get_ydata()) == [labels.index("Cytoreduction"), labels.index("Other")]


def test_forest_plot_shows_n_and_events_per_term_when_the_summary_has_them(lines):
    fit = sa.fit_cox(lines, "tier + mrss + neuro", cluster="patient_id")
    ax = forest_plot(fit)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    covariates = [label(term) for term in fit.summary.index if not term.startswith("tier")]
    assert labels == ["Therapy tier", "IVIG (reference)", "Immunosuppression", "Cytoreduction", "Other",
                      *covariates]
    assert sorted(covariates) == ["Neurological involvement", "mRSS"]
    shown = {t.get_text() for t in ax.texts}  # a fit's summary counts rows and events per term
    assert {"N", "Events"} <= shown
    reference = fit.counts.loc["tier[ivig]"]  # the reference row shows its own level's counts
    assert {f"{reference['n']:.0f}", f"{reference['events']:.0f}"} <= shown
    assert legend_of(ax) is None  # one model, no truth: nothing to tell apart
    lo, hi = ax.get_xlim()
    assert 0 < lo < fit.summary["hr_lower"].min() and hi > fit.summary["hr_upper"].max()
    # a summary with counts per term (the reference level's row holds its own counts)
    rows = np.arange(len(fit.summary))
    counted = fit.summary.assign(n=rows + 101, events=rows + 51)
    counted.loc["tier[ivig]", ["n", "events"]] = [300, 150]
    result = SimpleNamespace(summary=counted, design=SimpleNamespace(reference={"tier": "ivig"}))
    ax = forest_plot(result)
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    by_row, header = {}, []
    for text in ax.texts:  # numbers centred on their rows; the header stands on top of the axes
        if text.get_va() == "center":
            by_row.setdefault(round(text.get_position()[1]), []).append(text.get_text())
        else:
            header.append(text.get_text())
    assert header == ["N", "Events", "HR (95% CI)", "p"]
    assert by_row[labels.index("IVIG (reference)")] == ["300", "150", "Reference"]
    assert by_row[labels.index("Cytoreduction")][:2] == ["102", "52"]


def _figures(lines):
    """Each baseline: name and a draw() that makes its figure as a user gets it (a new figure)."""
    km = sa.kaplan_meier(lines, cluster=False)
    p_value = sa.logrank(lines, cluster=False).p_value
    yield "km_by_tier", lambda: km.plot(pvalue=p_value)
    cif = sa.cumulative_incidence(lines, cluster=False)
    gray = cif.gray_test().p_value
    yield "cif_by_tier", lambda: cif.plot(pvalue=gray, competing=True, cumulative_events=True)
    fit = sa.fit_cox(lines, "tier + age_at_diagnosis_years + mrss + neuro + cardiac", cluster="patient_id")
    yield "forest_cox", lambda: forest_plot(fit)
    cs = sa.load_example()
    yield "swimmer", lambda: swimmer_plot(cs, max_patients=40, seed=1)
    ps = _propensity(lines)
    yield "love", lambda: _quiet(ps.plot)
    yield "overlap_cytoreduction", lambda: ps.plot("overlap", tier="cytoreduction")

    def adjusted():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PositivityWarning)
            curves = sa.adjusted_curves(lines, COVARIATES, n_boot=20, seed=3, progress=False)
        return curves.plot()

    yield "adjusted_km", adjusted


FIGURES = ["km_by_tier", "cif_by_tier", "forest_cox", "swimmer", "love", "overlap_cytoreduction",
           "adjusted_km"]


@pytest.mark.parametrize("name", FIGURES)
def test_figures_match_their_baseline_images(lines, name, tmp_path):
    draw = dict(_figures(lines))[name]
    with journal_style(fonts=BASELINE_FONTS):
        font = Path(font_manager.findfont(font_manager.FontProperties(), fallback_to_default=False))
        assert Path(matplotlib.get_data_path()) in font.parents, f"{font} is not matplotlib's DejaVu Sans"
        fig = draw().figure
        actual = tmp_path / f"{name}.png"
        fig.savefig(actual, dpi=150, bbox_inches=None)  # the figure as it is: nothing outside it
    expected = BASELINE / f"{name}.png"
    if os.environ.get("SCLERO_REGENERATE_BASELINES"):
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"no baseline {expected}: regenerate (see module docstring)"
    # RMS tolerance 2 (of 255) absorbs anti-aliasing noise; a moved curve, label or number fails
    assert compare_images(str(expected), str(actual), tol=2) is None


# ----------------------------------------------------------------------------- swimmer

def _bars(ax, height):
    return [p for p in ax.patches if abs(p.get_height() - height) < 1e-9]


def test_swimmer_draws_every_line_in_its_tier_colour_and_no_identifier():
    cs = sa.load_example()
    fig, ax = plt.subplots()
    swimmer_plot(cs, ax=ax, max_patients=40, seed=5)
    followup = _bars(ax, 0.18)
    assert len(followup) == 40
    courses, segments, _ = therapy_courses(cs)
    sampled = courses.index[np.sort(np.random.default_rng(5).choice(400, 40, replace=False))]
    np.testing.assert_allclose(sorted(p.get_width() for p in followup),
                               sorted(courses.loc[sampled, "followup_months"]))
    lines_drawn = _bars(ax, 0.7)
    assert len(lines_drawn) == int(segments["patient_id"].isin(sampled).sum())
    tiers = segments[segments["patient_id"].isin(sampled)]["tier"]
    assert {to_hex(p.get_facecolor()) for p in lines_drawn} == {TIER_COLOURS[t].lower() for t in set(tiers)}
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    assert not any("SYN" in t for t in texts)  # no patient identifier in a figure
    assert ax.get_ylabel() == "Patients (random sample of 40 of 400)"


def test_swimmer_orders_by_followup_or_escalation_and_samples_reproducibly():
    cs = sa.load_example()
    courses, _, _ = therapy_courses(cs)
    ids = list(courses.sort_values("followup_months").index[:30])
    fig, (a, b, c) = plt.subplots(1, 3)
    swimmer_plot(cs, ax=a, patients=ids)
    widths = [p.get_width() for p in sorted(_bars(a, 0.18), key=lambda p: p.get_y())]
    assert widths == sorted(widths, reverse=True)  # longest follow-up on top (smallest y)
    swimmer_plot(cs, ax=b, patients=ids, sort_by="escalation")
    order = [round(p.get_width(), 9) for p in sorted(_bars(b, 0.18), key=lambda p: p.get_y())]
    escalation = courses.loc[ids].assign(w=courses.loc[ids, "followup_months"].round(9)).set_index("w")
    times = escalation.loc[order, "escalation_months"].to_numpy()
    escalated = times[~np.isnan(times)]
    assert np.all(np.diff(escalated) >= 0) and np.isnan(times[len(escalated):]).all()
    again = swimmer_plot(cs, max_patients=25, seed=2)
    assert ax_equal(swimmer_plot(cs, ax=c, max_patients=25, seed=2), again)
    with pytest.raises(KeyError, match="not in the case series"):
        swimmer_plot(cs, patients=["nobody"])
    with pytest.raises(ValueError, match="sort_by"):
        swimmer_plot(cs, sort_by="age")


def ax_equal(a, b):
    return [(p.get_x(), p.get_y(), p.get_width()) for p in a.patches] == \
        [(p.get_x(), p.get_y(), p.get_width()) for p in b.patches]


def test_swimmer_markers_are_the_case_series_responses_events_and_deaths():
    cs = sa.load_example()
    courses, _, markers = therapy_courses(cs)
    assert (markers["kind"] == "CR").sum() == (cs.lines["best_response"] == "CR").sum()
    assert (markers["kind"] == "death").sum() == cs.patients["death_date"].notna().sum()
    assert (markers["kind"].isin(["relapse", "progression"])).sum() == len(cs.events)
    assert courses["alive"].sum() == (cs.patients["vital_status"] == "alive").sum()
    fig, ax = plt.subplots()
    swimmer_plot(cs, ax=ax, max_patients=None)
    n_points = sum(len(line.get_xdata()) for line in ax.get_lines()
                   if line.get_marker() in ("o", "v", "X", "s"))
    assert n_points == len(markers)


# ----------------------------------------------------------------------------- balance

COVARIATES = ["age_at_diagnosis_years", "mrss", "neuro", "cardiac"]


def _quiet(fn, *args, **kwargs):
    """Call fn with the expected PositivityWarning (one 'other' line scores < 0.01) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PositivityWarning)
        return fn(*args, **kwargs)


def _propensity(lines):
    return _quiet(sa.propensity, lines, COVARIATES)


def test_love_plot_points_are_the_balance_tables_absolute_smds(lines):
    balance = _quiet(_propensity(lines).balance)
    fig, (a, b) = plt.subplots(1, 2)
    balance.plot(ax=a)
    covariate = {label(c): c for c in COVARIATES}
    labels = [covariate[t.get_text()] for t in a.get_yticklabels()]
    assert set(covariate) == {"Age at diagnosis (years)", "mRSS", "Neurological involvement",
                              "Cardiac involvement"}
    expected = balance.summary.assign(after=balance.summary["smd_after"].abs(),
                                      before=balance.summary["smd_before"].abs()).groupby("covariate")
    points = {line.get_label(): line.get_xdata() for line in a.get_lines() if line.get_label() in
              ("Unweighted", "Weighted")}
    np.testing.assert_allclose(points["Weighted"], expected["after"].max().loc[labels], rtol=1e-12)
    np.testing.assert_allclose(points["Unweighted"], expected["before"].max().loc[labels], rtol=1e-12)
    assert list(points["Unweighted"]) == sorted(points["Unweighted"], reverse=True)
    assert any(np.allclose(line.get_xdata(), 0.1) for line in a.get_lines())  # threshold
    love_plot(balance, ax=b, pair="cytoreduction vs ivig")
    one = balance.summary[balance.summary["pair"] == "cytoreduction vs ivig"].set_index("covariate")
    weighted = next(line for line in b.get_lines() if line.get_label() == "Weighted")
    labels = [covariate[t.get_text()] for t in b.get_yticklabels()]
    np.testing.assert_allclose(weighted.get_xdata(), one.loc[labels, "smd_after"].abs(), rtol=1e-12)
    assert b.get_xlabel().replace("\n", " ").endswith("(Cytoreduction vs IVIG)")
    legend = [t.get_text() for t in legend_of(b).get_texts()]
    assert legend == ["Unweighted", "Weighted", "Threshold (0.1)"]
    with pytest.raises(KeyError, match="pair"):
        love_plot(balance, pair="a vs b")


def test_overlap_plot_has_one_panel_per_tier_and_histograms_of_the_scores(lines):
    ps = _propensity(lines)
    axes = ps.plot("overlap")
    assert [ax.get_title() for ax in axes] == ["P(IVIG)", "P(Immunosuppression)", "P(Cytoreduction)",
                                               "P(Other)"]
    legend = [t.get_text() for t in axes[0].figure.legends[0].get_texts()]
    assert legend == [f"Received {label(t)}" for t in ps.levels]
    fig, ax = plt.subplots()
    ps.plot("overlap", ax=ax, tier="cytoreduction", bins=10)
    filled = [p for p in ax.patches if p.get_alpha() is not None]
    heights = np.array([p.get_height() for p in filled]).reshape(len(ps.levels), 10)
    own = ps.scores.loc[(ps.treatment == "cytoreduction").to_numpy(), "cytoreduction"]
    density, _ = np.histogram(own, bins=np.linspace(0, 1, 11), density=True)
    np.testing.assert_allclose(heights[ps.levels.index("cytoreduction")], density, rtol=1e-12)
    with pytest.raises(ValueError, match="kind"):
        ps.plot("violin")
    with pytest.raises(KeyError, match="tier"):
        ps.plot("overlap", tier="surgery")


def test_adjusted_curves_plot_draws_the_weighted_estimates(lines):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PositivityWarning)
        curves = sa.adjusted_curves(lines, COVARIATES, n_boot=5, seed=1, progress=False)
    fig, ax = plt.subplots()
    curves.plot(ax=ax)
    drawn = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    for tier, table in curves.summary.groupby("group", observed=True):
        np.testing.assert_array_equal(drawn[label(tier)].get_ydata()[1:], table["estimate"].to_numpy())
        assert to_hex(drawn[label(tier)].get_color()) == TIER_COLOURS[str(tier)].lower()
    assert ax.get_ylabel().replace("\n", " ") == ("IPTW-weighted probability of remaining relapse-free "
                                                  "(death censored)")
    # the table under it: sums of the weights of the lines at risk, per tier, at each tick
    ticks = visible_ticks(ax)
    cells = table_cells(table_axes(ax)[0])
    rows = lines.loc[curves.weights.index]
    for row, tier in enumerate(curves.propensity.levels):
        mine = (rows["tier"] == tier).to_numpy()
        for tick in ticks:
            at_risk = curves.weights.to_numpy()[mine & (rows["time_months"].to_numpy() >= tick)].sum()
            assert cells[(round(tick, 9), row)] == f"{at_risk:.0f}", (tier, tick)
    assert table_axes(ax)[0].get_title(loc="left") == "Weighted number at risk"


def test_competing_incidence_adds_up_with_the_cause_to_one_minus_all_cause_survival(lines):
    cif = sa.cumulative_incidence(lines, cluster=False)
    competing = cif.competing_summary()
    any_event = lines.assign(event=(lines["event"] > 0).astype(int))
    km = sa.kaplan_meier(any_event, cluster=False).summary
    total = cif.summary["cif"].to_numpy() + competing["cif"].to_numpy()
    np.testing.assert_allclose(total, 1 - km["survival"].to_numpy(), atol=1e-12)
    fig, ax = plt.subplots()
    cif.plot(ax=ax, competing=True, risk_table=False)
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--" and len(line.get_xdata())]
    assert len(dashed) == lines["tier"].nunique()
    assert "Death (dashed)" in {t.get_text() for t in legend_of(ax).get_texts()}


# ----------------------------------------------------------------------------- saving

def test_save_figure_writes_each_format_with_embedded_fonts_and_no_date(lines, tmp_path):
    fig, ax = plt.subplots()  # outside journal_style: save_figure still embeds TrueType
    sa.kaplan_meier(lines, cluster=False).plot(ax=ax)
    paths = save_figure(fig, tmp_path / "sub" / "km", formats=("pdf", "svg", "png"), dpi=120)
    assert [p.name for p in paths] == ["km.pdf", "km.svg", "km.png"] and all(p.stat().st_size for p in paths)
    pdf = paths[0].read_bytes()
    assert b"/FontFile2" in pdf and b"/Subtype /Type3" not in pdf and b"CreationDate" not in pdf
    assert "<text" in paths[1].read_text()  # SVG keeps text as text
    again = save_figure(fig, tmp_path / "again", formats=("pdf",))[0].read_bytes()
    assert again == pdf  # same figure, same bytes
    with pytest.raises(ValueError, match="without extension"):
        save_figure(fig, tmp_path / "km.pdf")
    with pytest.raises(ValueError, match="unknown figure format"):
        save_figure(fig, tmp_path / "km", formats=("jpg",))


def test_save_figure_takes_a_figure_made_without_pyplot(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()  # its canvas is matplotlib's base canvas, which has no renderer of its own
    fig.add_subplot().plot([0, 1], [1, 0])
    paths = save_figure(fig, tmp_path / "bare", formats=("pdf", "png"))
    assert all(p.stat().st_size for p in paths)


# ----------------------------------------------------------------------------- new figure or the given ax

def _plot_calls(lines):
    """Every public plot function and result .plot method: name -> draw(ax=None)."""
    km = sa.kaplan_meier(lines, cluster="patient_id")
    cif = sa.cumulative_incidence(lines, cluster="patient_id")
    ps = _propensity(lines)
    balance = _quiet(ps.balance)
    fit = sa.fit_cox(lines, "tier + mrss", cluster="patient_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PositivityWarning)
        curves = sa.adjusted_curves(lines, COVARIATES, n_boot=2, seed=1, progress=False)
    cs = sa.load_example()
    return {
        "KaplanMeier.plot": lambda ax=None: km.plot(ax=ax),
        "CumulativeIncidence.plot": lambda ax=None: cif.plot(ax=ax, competing=True),
        "AdjustedCurves.plot": lambda ax=None: curves.plot(ax=ax),
        "plot_curves": lambda ax=None: sa.figures.plot_curves(km.summary, "survival", ax=ax),
        "forest_plot": lambda ax=None: forest_plot(fit, ax=ax),
        "swimmer_plot": lambda ax=None: swimmer_plot(cs, ax=ax, max_patients=10),
        "love_plot": lambda ax=None: love_plot(balance, ax=ax),
        "Balance.plot": lambda ax=None: balance.plot(ax=ax),
        "Propensity.plot": lambda ax=None: _quiet(ps.plot, ax=ax),
        "Propensity.plot overlap tier": lambda ax=None: ps.plot("overlap", ax=ax, tier="ivig"),
        "Propensity.plot overlap": lambda ax=None: ps.plot("overlap", ax=ax),
        "overlap_plot": lambda ax=None: sa.figures.overlap_plot(ps, axes=ax),
    }


PLOT_CALLS = ["KaplanMeier.plot", "CumulativeIncidence.plot", "AdjustedCurves.plot", "plot_curves",
              "forest_plot", "swimmer_plot", "love_plot", "Balance.plot", "Propensity.plot",
              "Propensity.plot overlap tier", "Propensity.plot overlap", "overlap_plot"]


@pytest.fixture(scope="module")
def plot_calls(lines):
    return _plot_calls(lines)


def _axes_of(drawn):
    return list(np.atleast_1d(drawn))


@pytest.mark.parametrize("name", PLOT_CALLS)
def test_each_plot_call_draws_on_a_new_figure_unless_given_axes(plot_calls, name):
    draw = plot_calls[name]
    current, untouched = plt.subplots()  # what plt.gca() would return: no plot may draw on it
    first, second = _axes_of(draw()), _axes_of(draw())
    assert first[0].figure is not current and second[0].figure is not current
    assert first[0].figure is not second[0].figure
    assert plt.gcf() is not current and not untouched.has_data() and current.axes == [untouched]
    assert all(ax.has_data() for ax in first + second)
    given = plt.subplots(1, len(first), squeeze=False)[1][0]
    drawn = _axes_of(draw(ax=given[0] if len(given) == 1 else given))
    assert drawn == list(given) and all(ax.has_data() for ax in drawn)


# ----------------------------------------------------------------------------- p-values, axes, panels

def test_the_p_value_goes_to_a_corner_no_curve_crosses_or_else_into_the_legend(lines):
    km = sa.kaplan_meier(lines, cluster=False)
    ax = km.plot(pvalue=0.0004, risk_table=False)
    (text,) = [t for t in ax.texts if t.get_text() == "p < 0.001"]
    fig = ax.figure
    fig.canvas.draw()
    box = text.get_window_extent().transformed(ax.transData.inverted())  # in data units
    for line in ax.get_lines():
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        inside = (x >= box.x0) & (x <= box.x1) & (y >= box.y0) & (y <= box.y1)
        assert not inside.any(), line.get_label()
    # curves through every corner: the p-value joins the legend instead
    summary = pd.DataFrame({"group": ["high", "high", "low", "low"], "time": [0.1, 100.0, 0.1, 100.0],
                            "survival": [0.92, 0.92, 0.08, 0.08], "lower": np.nan, "upper": np.nan})
    ax = plot_curves(summary, "survival", pvalue=0.2, xlim=100)
    assert not ax.texts and "p = 0.20" in [t.get_text() for t in legend_of(ax).get_texts()]


def test_proportions_stay_within_0_and_1_and_reference_lines_are_in_the_legend():
    summary = pd.DataFrame({"analysis": ["naive_cox", "iptw_cox"], "n_patients": [50, 50],
                            "power": [0.99, 0.02], "power_mcse": [0.03, 0.03], "bias": [0.2, -0.1],
                            "bias_mcse": [0.05, 0.05], "coverage": [1.0, 0.9], "coverage_mcse": [0.04, 0.04],
                            "failure_rate": [0.0, 0.01], "failure_rate_mcse": [0.02, 0.02]})
    axes = plot_study(summary, x="n_patients", labels={"iptw_cox": "Weighted Cox"})
    for ax in axes[[0, 2, 3]]:
        assert ax.get_ylim()[1] == 1.0 and ax.get_ylim()[0] >= 0
        for container in ax.containers:
            (bars,) = container.lines[2]
            ends = np.concatenate([segment[:, 1] for segment in bars.get_segments()])
            assert ends.min() >= 0 and ends.max() <= 1.0 + 1e-12
    assert axes[0].get_xlabel() == "Patients per registry"
    legend = [t.get_text() for t in axes[0].figure.legends[0].get_texts()]
    assert legend == ["Naive Cox", "Weighted Cox", "Nominal level (α = 0.05)", "Nominal coverage (95%)"]


def test_ratio_axes_are_logarithmic_with_plain_ticks():
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0.3, 3.5], [0, 1])
    log_ratio_axis(ax, limits=(0.2, 5))
    fig.canvas.draw()
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.25", "0.5", "1", "2", "4"]
    assert any(np.allclose(line.get_xdata(), 1.0) for line in ax.get_lines())  # no effect
    fig.set_size_inches(1.2, 2)  # a narrow axis takes fewer, clear ticks
    fig.canvas.draw()
    narrow = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in narrow and len(narrow) < 5


def test_tables_of_a_panel_stay_in_its_column_of_the_figure(lines):
    km = sa.kaplan_meier(lines, cluster=False)
    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3.5))
    right.plot([0, 1], [0, 1])
    ax = km.plot(ax=left)
    assert ax is left
    (table,) = table_axes(left)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert table.get_position().x1 <= right.get_position().x0  # under the left panel only
    assert left.get_position().y0 > table.get_position().y1
    assert fig.bbox.contains(*table.get_tightbbox(renderer).p0)
    assert legend_of(left) is left.get_legend()  # a panel among others keeps its own legend


def test_a_risk_table_can_be_added_to_curves_drawn_without_one(lines):
    km = sa.kaplan_meier(lines, cluster=False)
    ax = plot_curves(km.summary, "survival", xlim=24, break_time=12)
    assert table_axes(ax) == []
    table = sa.figures.risk_table(ax, km.at_risk, labels={"ivig": "IVIG first"})
    assert table_axes(ax) == [table]
    assert table.get_yticklabels()[0].get_text() == "IVIG first"
    assert table_cells(table)[(12, 1)] == f"{km.at_risk([12]).iloc[1, 0]:.0f}"

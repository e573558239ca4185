"""Every public figure, on the shipped registry and on small user-like ones, is free of layout defects.

A defect (see tests/layout.py) is two texts that overlap or touch, a text outside the figure, or
a raw name with an underscore. Figures are drawn as a user gets them (a new figure, from the
result's ``.plot``) in the single-column journal style (the least room) and in matplotlib's
defaults (the largest text), at a low dpi.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import sclero_analysis as sa  # noqa: E402
from sclero_analysis.exceptions import ScleroWarning  # noqa: E402
from sclero_analysis.figures import forest_plot, journal_style, plot_study, swimmer_plot  # noqa: E402
from tests.layout import assert_clean_layout, layout_defects  # noqa: E402
from tests.userdata import write_user_registry  # noqa: E402

DPI = 60  # low: layout does not depend on it, drawing time does
POOLING_DATA = Path(__file__).parent / "reference" / "data" / "literature_props.csv"


class Registry:
    """A registry and the results its figures draw (fitted once per registry)."""

    def __init__(self, cs, small: bool):
        # a small registry has tiers of 2-3 lines and empty centres: the estimators warn (named
        # ScleroWarnings), which is right for them and beside the point of a layout test
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScleroWarning)
            self._fit(cs, small)

    def _fit(self, cs, small: bool) -> None:
        self.cs = cs
        df = sa.relapse_frame(cs)
        self.km = sa.kaplan_meier(df, cluster="patient_id")
        self.logrank_p = sa.logrank(df, cluster="patient_id").p_value
        self.cif = sa.cumulative_incidence(df, cluster="patient_id")
        self.gray_p = self.cif.gray_test().p_value if not small else 0.3
        self.cox = sa.fit_cox(df, "tier + age_at_diagnosis_years + neuro", cluster="patient_id")
        if small:  # as the propensity model's error advises: merge the sparse tiers
            escalated = np.where(df["tier"].astype(str) == "ivig", "ivig", "escalated")
            df = df.assign(tier=pd.Categorical(escalated, ["ivig", "escalated"]))
            covariates = ["age_at_diagnosis_years"]
        else:
            df = df.dropna(subset=["mrss"])
            df = df[df["tier"] != "other"].assign(tier=lambda d: d["tier"].cat.remove_unused_categories())
            covariates = ["age_at_diagnosis_years", "mrss", "neuro", "cardiac"]
        self.ps = sa.propensity(df, covariates)
        self.compared = sa.compare_tiers(df, covariates)
        self.adjusted = sa.adjusted_curves(df, covariates, n_boot=5, seed=1, progress=False)
        truth = (cs.truth or {}).get("marginal_log_hr") or {"escalated": -0.3}
        self.truth = {tier: float(np.exp(v)) for tier, v in truth.items()}


@pytest.fixture(scope="module", params=["shipped", "user 8 patients", "user 15 patients"])
def registry(request, tmp_path_factory):
    if request.param == "shipped":
        return Registry(sa.load_example(), small=False)
    folder = tmp_path_factory.mktemp("registry")
    if request.param == "user 8 patients":  # CSV folder, a centre without mRSS
        path = write_user_registry(folder / "csv", 8, seed=1)
        return Registry(sa.read_case_series(path), small=True)
    path = write_user_registry(folder / "book", 15, seed=1, fmt="xlsx", dayfirst=True)
    return Registry(sa.read_case_series(path, dayfirst=True), small=True)


def _study_summary() -> pd.DataFrame:
    """A registry study's summary as StudyResult.summary shapes it (coverage and power at the bounds)."""
    rows = []
    for name, power, coverage in (("naive_cox", 0.35, 0.81), ("adjusted_cox", 0.55, 1.0),
                                  ("iptw_cox", 0.6, 0.97), ("rmst_difference", 0.0, 0.9)):
        for n in (50, 100, 200):
            rows.append({"n_patients": n, "analysis": name, "power": min(power * n / 100, 1.0),
                         "power_mcse": 0.03, "bias": 0.1 - n / 2000, "bias_mcse": 0.02,
                         "coverage": coverage, "coverage_mcse": 0.02, "failure_rate": 0.5 / n * 10,
                         "failure_rate_mcse": 0.01})
    return pd.DataFrame(rows)


def _km_limits(r: Registry):
    ax = r.km.plot(xlim=36, break_time=6, cumulative_events=True)
    ax.set_xlim(0, 24)  # the tables follow the new limits
    return ax


FIGURES = {
    "km": lambda r: r.km.plot(pvalue=r.logrank_p, median_lines=True),
    "km all tables, xlim set after": _km_limits,
    "km with censor table": lambda r: r.km.plot(censor_table=True, cumulative_events=True),
    "cif": lambda r: r.cif.plot(competing=True, pvalue=r.gray_p, cumulative_events=True),
    "adjusted": lambda r: r.adjusted.plot(),
    "forest cox": lambda r: forest_plot(r.cox),
    "forest methods with truth": lambda r: forest_plot(r.compared, truth=r.truth),
    "swimmer": lambda r: swimmer_plot(r.cs, sort_by="escalation", max_patients=40),
    "love": lambda r: r.ps.plot(),
    "overlap": lambda r: r.ps.plot("overlap"),
    "overlap one tier": lambda r: r.ps.plot("overlap", tier=r.ps.levels[-1]),
    "study": lambda r: plot_study(_study_summary(), x="n_patients"),
    "pooling forest": lambda r: sa.pool_proportions(pd.read_csv(POOLING_DATA).head(12),
                                                    by="source_type").plot(),
}


def _figure(drawn):
    return np.ravel(drawn)[0].figure


STYLES = {"journal single column": lambda: journal_style("single"),
          "matplotlib defaults": contextlib.nullcontext}  # 10 pt text: the most crowded


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_has_a_clean_layout(registry, name, style):
    with STYLES[style](), warnings.catch_warnings():
        warnings.simplefilter("ignore", ScleroWarning)  # small pools and tiers warn, by design
        fig = _figure(FIGURES[name](registry))
        fig.set_dpi(DPI)
        assert_clean_layout(fig)
    plt.close(fig)


ON_GIVEN_AXES = {
    "km": lambda r, ax: r.km.plot(ax=ax, pvalue=r.logrank_p, cumulative_events=True),
    "cif": lambda r, ax: r.cif.plot(ax=ax, competing=True),
    "forest": lambda r, ax: forest_plot(r.compared, ax=ax),
    "love": lambda r, ax: r.ps.plot(ax=ax),
    "swimmer": lambda r, ax: swimmer_plot(r.cs, ax=ax, max_patients=20),
}


@pytest.mark.parametrize("name", list(ON_GIVEN_AXES))
def test_figures_drawn_on_a_users_plain_axes_stay_inside_it(registry, name):
    fig, ax = plt.subplots(figsize=(5, 4), dpi=DPI)  # no layout engine: the plot gives it one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScleroWarning)
        ON_GIVEN_AXES[name](registry, ax)
    assert_clean_layout(fig)
    plt.close(fig)


# ----------------------------------------------------------------------------- the checker itself

def test_the_layout_check_finds_overlaps_raw_names_and_text_outside_the_figure():
    fig, ax = plt.subplots(figsize=(3, 2), dpi=DPI)
    ax.text(0.5, 0.5, "p = 0.01", transform=ax.transAxes)
    ax.text(0.52, 0.52, "IVIG", transform=ax.transAxes)  # over the p-value
    ax.set_xlabel("age_at_diagnosis_years")
    fig.text(0.98, 0.5, "cut off at the edge")
    defects = layout_defects(fig)
    assert any(d.startswith("overlap") and "p = 0.01" in d and "IVIG" in d for d in defects), defects
    assert any(d.startswith("raw name") and "age_at_diagnosis_years" in d for d in defects), defects
    assert any(d.startswith("outside") and "cut off" in d for d in defects), defects
    plt.close(fig)


def test_the_layout_check_sees_touching_texts_and_only_texts_that_were_drawn():
    fig, ax = plt.subplots(figsize=(3, 2), dpi=DPI)
    ax.set_xlim(0, 1)
    left = ax.text(0.2, 0.5, "Immunosuppression", ha="right")
    renderer = fig.canvas.get_renderer()
    width = left.get_window_extent(renderer).width
    ax.text(0.2, 0.5, "268", ha="left")  # starts where the label ends: touching
    assert any("Immunosuppression" in d and "268" in d for d in layout_defects(fig)), width
    hidden = Text(0.5, 0.5, "never_drawn")
    ax.add_artist(hidden)
    hidden.set_visible(False)
    ax.set_xticks([0, 0.5, 1, 5])  # the tick at 5 is outside the view: its label is not drawn
    ax.set_xticklabels(["0", "0.5", "1", "out_of_view"])
    ax.set_xlim(0, 1)
    assert not any("never_drawn" in d or "out_of_view" in d for d in layout_defects(fig))
    plt.close(fig)

"""Display labels as data: defaults, per-figure and package-level overrides, and axis titles
that say the time origin and the event, read from the analysis frames."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import sclero_analysis as sa  # noqa: E402
from sclero_analysis.exceptions import ExcludedRowsWarning  # noqa: E402
from sclero_analysis.figures import forest_plot, legend_of, table_axes  # noqa: E402
from sclero_analysis.labels import (  # noqa: E402
    DEFAULT_LABELS,
    Endpoint,
    current_labels,
    humanise,
    label,
    reset_labels,
    set_labels,
)


@pytest.fixture(scope="module")
def cs():
    return sa.load_example()


@pytest.fixture(autouse=True)
def _clean():
    yield
    reset_labels()
    plt.close("all")


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in legend_of(ax).get_texts()]


def test_defaults_name_columns_tiers_terms_and_analyses_without_underscores():
    assert [label(t) for t in sa.TIERS] == ["IVIG", "Immunosuppression", "Cytoreduction", "Other"]
    assert label("age_at_diagnosis_years") == "Age at diagnosis (years)"
    assert label("tier[cytoreduction]") == "Cytoreduction" and label("cardiac[True]") == "Cardiac involvement"
    assert label("naive_cox") == "Naive Cox" and label("n_patients") == "Patients per registry"
    assert label("log_hr_cytoreduction") == "True log HR, cytoreduction vs IVIG"
    assert not [name for name, text in DEFAULT_LABELS.items() if "_" in text]
    assert humanise("loss_to_followup_per_year") == "Loss to followup per year"
    assert "_" not in label("a_column_nobody_named")  # unknown names are written in words


def test_labels_for_one_figure_win_over_the_packages_which_win_over_the_defaults(cs):
    df = sa.relapse_frame(cs)
    km = sa.kaplan_meier(df, cluster="patient_id")
    before = set_labels({"ivig": "IVIG alone"}, cytoreduction="Melphalan, bortezomib or ASCT")
    assert before == {}
    ax = km.plot(risk_table=True)
    assert legend_texts(ax)[:3] == ["IVIG alone", "Immunosuppression", "Melphalan, bortezomib or ASCT"]
    table = table_axes(ax)[0]
    assert [t.get_text() for t in table.get_yticklabels()][0] == "IVIG alone"  # the table's rows too
    ax = km.plot(labels={"ivig": "Intravenous immunoglobulin"})
    assert legend_texts(ax)[0] == "Intravenous immunoglobulin"
    assert current_labels({"other": "Anything else"})["cytoreduction"] == "Melphalan, bortezomib or ASCT"
    reset_labels("ivig")
    assert label("ivig") == "IVIG" and label("cytoreduction") != "Cytoreduction"
    reset_labels()
    assert label("cytoreduction") == "Cytoreduction"
    with pytest.raises(TypeError, match="must be a str"):
        set_labels(mrss=3)


def test_a_package_label_reaches_the_forest_plot_and_the_love_plot(cs):
    df = sa.relapse_frame(cs).dropna(subset=["mrss"])
    set_labels(mrss="mRSS at diagnosis")
    ax = forest_plot(sa.fit_cox(df, "tier + mrss", cluster="patient_id"))
    assert "mRSS at diagnosis" in [t.get_text() for t in ax.get_yticklabels()]
    df = df[df["tier"] != "other"].assign(tier=lambda d: d["tier"].cat.remove_unused_categories())
    ax = sa.propensity(df, ["mrss", "age_at_diagnosis_years"]).balance().plot()
    assert "mRSS at diagnosis" in [t.get_text() for t in ax.get_yticklabels()]
    assert sa.set_labels is set_labels and sa.labels.label is label


def test_frames_carry_their_time_origin_and_event_names(cs):
    df = sa.relapse_frame(cs)
    assert df.attrs["time_origin"] == "start of line"
    assert df.attrs["event_labels"] == {1: "relapse", 2: "death"}
    kept = pd.concat([df.dropna(subset=["mrss"]), df.iloc[:0]])  # the attrs survive what users do
    assert kept.attrs["time_origin"] == "start of line"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExcludedRowsWarning)  # responses on a line's last day
        response = sa.relapse_frame(cs, origin="response")
    assert response.attrs["time_origin"] == "response"
    overall = sa.survival_frame(cs)
    assert (overall.attrs["time_origin"], overall.attrs["event_labels"]) == ("diagnosis", {1: "death"})
    assert sa.tier_history(cs).attrs["time_origin"] == "diagnosis"


def test_axis_titles_say_since_when_and_of_what(cs):
    df = sa.relapse_frame(cs)
    ax = sa.kaplan_meier(df, cluster="patient_id").plot(risk_table=False)
    assert ax.get_xlabel() == "Months since start of line"
    assert ax.get_ylabel().replace("\n", " ") == "Probability of remaining relapse-free (death censored)"
    ax = sa.cumulative_incidence(df, cluster="patient_id").plot(risk_table=False)
    assert ax.get_ylabel().replace("\n", " ") == "Cumulative incidence of relapse (death competing)"
    ax = sa.cumulative_incidence(df, cause=2, cluster="patient_id").plot(risk_table=False)
    assert ax.get_ylabel().replace("\n", " ") == "Cumulative incidence of death (relapse competing)"
    ax = sa.kaplan_meier(sa.survival_frame(cs), group=None).plot(risk_table=False)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Months since diagnosis", "Probability of survival")
    plain = df[["time_months", "event", "tier"]].copy()
    plain.attrs = {}  # a frame the user built: nothing is claimed that it does not say
    ax = sa.kaplan_meier(plain).plot(risk_table=False, ylabel="Remaining in response")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Months", "Remaining in response")


def test_endpoint_reads_the_frame_and_the_cause():
    frame = pd.DataFrame({"time_months": [1.0]})
    frame.attrs.update(time_origin="response", event_labels={1: "relapse", 2: "death", 3: "transplant"})
    assert Endpoint.of(frame, cause=3) == Endpoint("response", "transplant", "relapse or death")
    assert Endpoint.of(frame).incidence_label() == (
        "Cumulative incidence of relapse (death or transplant competing)")
    assert Endpoint.of(pd.DataFrame()).survival_label() == "Probability of remaining event-free"
    assert Endpoint("start of line", "relapse or progression").survival_label() == (
        "Probability of remaining free of relapse or progression")

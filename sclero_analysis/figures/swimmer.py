"""Swimmer plot of therapy courses: one bar per patient from diagnosis, coloured by tier.

No patient identifier is ever drawn in a figure: rows are anonymous, ordered by follow-up or by the
time to first escalation.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sclero_analysis.cohort import months_between
from sclero_analysis.figures.panels import keep_inside
from sclero_analysis.figures.style import OKABE_ITO, TIER_COLOURS, colours_for, new_axes
from sclero_analysis.figures.text import font_points, wrap_to
from sclero_analysis.labels import Labels, label

SortBy = Literal["followup", "escalation"]
#: Marker style per course event: (marker, face colour, edge colour, label).
MARKERS = {
    "CR": ("o", "black", "black", "Complete response"),
    "PR": ("o", "white", "black", "Partial response"),
    "relapse": ("v", OKABE_ITO[5], OKABE_ITO[5], "Relapse"),
    "progression": ("X", OKABE_ITO[5], OKABE_ITO[5], "Progression"),
    "death": ("s", "black", "black", "Death"),
}


def therapy_courses(cs) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Months from diagnosis of each line, course event and end of follow-up.

    Parameters
    ----------
    cs : CaseSeries
        Accepted ``patients``, ``lines`` and ``events`` tables (the data contract).

    Returns
    -------
    (patients, segments, markers) : tuple of pandas.DataFrame
        ``patients`` indexed by patient_id: ``followup_months, alive, escalation_months``
        (start of line 2; NaN if never escalated); ``segments``: ``patient_id, tier,
        start_months, end_months`` (on therapy: to the line's end date, else to the next
        line's start or the last follow-up); ``markers``: ``patient_id, time_months, kind``
        (CR, PR, relapse, progression, death).
    """
    patients = cs.patients.set_index("patient_id")
    diagnosis = patients["diagnosis_date"]
    lines = cs.lines.sort_values(["patient_id", "line"])
    next_start = lines.groupby("patient_id")["start_date"].shift(-1)
    last = lines["patient_id"].map(patients["last_followup_date"])
    stop = lines["end_date"].fillna(next_start).fillna(last)
    dx = lines["patient_id"].map(diagnosis)
    segments = pd.DataFrame({
        "patient_id": lines["patient_id"].to_numpy(), "tier": lines["tier"].astype(str).to_numpy(),
        "start_months": months_between(dx, lines["start_date"]).to_numpy(),
        "end_months": months_between(dx, stop).to_numpy()})
    responded = lines[lines["best_response"].isin(["CR", "PR"]) & lines["response_date"].notna()]
    events = cs.events
    dead = patients[patients["death_date"].notna()]
    markers = pd.concat([
        pd.DataFrame({"patient_id": responded["patient_id"].to_numpy(),
                      "time_months": months_between(responded["patient_id"].map(diagnosis),
                                                    responded["response_date"]).to_numpy(),
                      "kind": responded["best_response"].astype(str).to_numpy()}),
        pd.DataFrame({"patient_id": events["patient_id"].to_numpy(),
                      "time_months": months_between(events["patient_id"].map(diagnosis),
                                                    events["date"]).to_numpy(),
                      "kind": events["kind"].astype(str).to_numpy()}),
        pd.DataFrame({"patient_id": dead.index.to_numpy(),
                      "time_months": months_between(dead["diagnosis_date"], dead["death_date"]).to_numpy(),
                      "kind": "death"}),
    ], ignore_index=True)
    second = lines[lines["line"] == 2].set_index("patient_id")["start_date"]
    summary = pd.DataFrame({
        "followup_months": months_between(diagnosis, patients["last_followup_date"]),
        "alive": patients["vital_status"].astype(str).eq("alive"),
        "escalation_months": months_between(diagnosis, second.reindex(patients.index)),
    })
    return summary, segments, markers


def _order(summary: pd.DataFrame, sort_by: SortBy) -> list[str]:
    if sort_by == "followup":
        return list(summary.sort_values("followup_months", ascending=False, kind="stable").index)
    if sort_by == "escalation":
        ranked = summary.assign(never=summary["escalation_months"].isna())
        return list(ranked.sort_values(["never", "escalation_months", "followup_months"],
                                       ascending=[True, True, False], kind="stable").index)
    raise ValueError(f"sort_by must be 'followup' or 'escalation', not {sort_by!r}")


def _legend(ax: Axes, tiers: list[str], colours: dict[str, str], arrow: bool, labels: Labels) -> None:
    handles = [Patch(color=colours[t], label=label(t, labels)) for t in tiers]
    for marker, face, edge, text in MARKERS.values():
        handles.append(Line2D([], [], ls="none", marker=marker, mfc=face, mec=edge, ms=4, label=text))
    if arrow:
        handles.append(Line2D([], [], ls="none", marker=">", color="grey", ms=4, label="Alive, followed"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
              handlelength=1.2, borderaxespad=0)


def swimmer_plot(
    cs,
    ax: Axes | None = None,
    sort_by: SortBy = "followup",
    max_patients: int | None = 50,
    seed: int = 0,
    patients: list[str] | None = None,
    legend: bool = True,
    labels: Labels = None,
) -> Axes:
    """Draw each patient's therapy course from diagnosis: lines by tier, responses, relapses.

    Thick segments are lines of therapy coloured by tier (on therapy until the line's end date,
    or the next line or last follow-up when ongoing); the thin grey bar is follow-up; markers
    show complete (filled) and partial (open) responses, relapse, progression and death; an
    arrow marks a patient alive at last follow-up.

    Parameters
    ----------
    cs : CaseSeries
    ax : matplotlib.axes.Axes, optional
        Default: a new single-column figure whose height grows with the number of patients.
    sort_by : {"followup", "escalation"}
        Longest follow-up on top, or earliest escalation (start of line 2) on top, patients
        never escalated last.
    max_patients : int or None
        With more patients than this, draw a random sample of this size (seeded; the y label
        says so). ``None`` draws everyone.
    seed : int
        Seed of the sample.
    patients : list of str, optional
        Draw only these patients (e.g. one site: a facet).
    legend : bool
        Tiers and markers, to the right of the plot.
    labels : mapping, optional
        Display labels of the tiers for this figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> ax = swimmer_plot(sa.load_example(), max_patients=40)
    >>> ax.get_ylabel()
    'Patients (random sample of 40 of 400)'
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    summary, segments, markers = therapy_courses(cs)
    if patients is not None:
        unknown = sorted(set(patients) - set(summary.index))
        if unknown:
            raise KeyError(f"patients not in the case series: {unknown[:5]}")
        summary = summary.loc[list(patients)]
    total = len(summary)
    ylabel = f"Patients (n = {total})"
    if max_patients is not None and total > max_patients:
        rng = np.random.default_rng(seed)
        summary = summary.iloc[np.sort(rng.choice(total, max_patients, replace=False))]
        ylabel = f"Patients (random sample of {max_patients} of {total})"
    order = _order(summary, sort_by)
    row = {p: i for i, p in enumerate(order)}
    if ax is None:
        # rows of bars, but never shorter than the legend beside them (up to 11 entries)
        legend_inches = (len(TIER_COLOURS) + len(MARKERS) + 1) * 1.45 * font_points("small") / 72 + 0.6
        ax = new_axes(figsize=(85 / 25.4 * 1.35, max(0.9 + 0.075 * len(order), legend_inches)))
    keep_inside(ax.figure)  # the legend at the right stays in the figure
    seg = segments[segments["patient_id"].isin(row)]
    present = set(seg["tier"])
    tiers = [t for t in TIER_COLOURS if t in present] + sorted(present - set(TIER_COLOURS))
    colours = colours_for(tiers)
    y = summary.index.map(row).to_numpy(float)
    ax.barh(y, summary["followup_months"], height=0.18, color="0.8", lw=0)
    ax.barh(seg["patient_id"].map(row).to_numpy(float), seg["end_months"] - seg["start_months"],
            left=seg["start_months"], height=0.7, color=[colours[t] for t in seg["tier"]], lw=0)
    mark = markers[markers["patient_id"].isin(row)]
    for kind, (marker, face, edge, _) in MARKERS.items():
        these = mark[mark["kind"] == kind]
        ax.plot(these["time_months"], these["patient_id"].map(row), ls="none", marker=marker,
                mfc=face, mec=edge, ms=3, mew=0.5, zorder=3)
    alive = summary[summary["alive"]]
    ax.plot(alive["followup_months"] + 1.0, alive.index.map(row), ls="none", marker=">",
            color="grey", ms=3, zorder=3)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_yticks([])
    ax.set_xlim(0, float(summary["followup_months"].max()) * 1.04 + 1)
    ax.set_xlabel("Months since diagnosis")
    height = ax.get_position().height * ax.figure.get_figheight() * 72
    ax.set_ylabel(wrap_to(ylabel, 0.9 * height))
    ax.spines["left"].set_visible(False)
    if legend:
        _legend(ax, tiers, colours, arrow=bool(len(alive)), labels=labels)
    return ax

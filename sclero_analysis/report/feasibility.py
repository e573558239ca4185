"""What the data can support, decided before a model is fitted, and said in numbers.

A researcher's case series may hold 8 patients, a tier with two lines and no relapse, a centre
that never records mRSS, or no relapse at all. The notebooks ask this module, section by section:
which tiers carry enough lines and relapses for a model (the others are merged along the
escalation ladder or left out) and which covariates are recorded and vary. Every answer carries
the sentence the notebook prints and records with ``NotebookOutputs.skip``. How far follow-up
reaches is :mod:`sclero_analysis.report.horizon`'s question; whether a model can be fitted at
all, :mod:`sclero_analysis.report.fits`'s.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.causal.propensity import covariate_formula
from sclero_analysis.conventions import DEATH, RELAPSE
from sclero_analysis.exceptions import ScleroWarning
from sclero_analysis.report.findings import count, events_per_parameter, few_clusters, share
from sclero_analysis.survival.design import design_matrix
from sclero_analysis.therapy import TIERS

#: The escalation ladder (``other`` is not on it): sparse tiers above the first are merged.
LADDER = TIERS[:3]
#: A tier needs this many lines, and ``MIN_TIER_EVENTS`` relapses, for its own hazard ratio.
MIN_TIER_LINES = 3
MIN_TIER_EVENTS = 2
#: A covariate varies when its less common values occur in at least this many lines.
MIN_MINORITY = 2


def tier_counts(df: pd.DataFrame, group: str = "tier", event: str = "event") -> pd.DataFrame:
    """Lines, relapses and deaths without relapse per tier (every category, empty ones included).

    Parameters
    ----------
    df : pandas.DataFrame
        An analysis frame, e.g. :func:`sclero_analysis.relapse_frame` (event codes 1 relapse
        or progression, 2 death without it, 0 censored).
    group, event : str
        Tier and event-code columns.

    Returns
    -------
    pandas.DataFrame
        Indexed by tier: ``lines, relapses, deaths, patients`` (``patients`` counts distinct
        ``patient_id``, or lines when the frame has none).

    Examples
    --------
    >>> df = pd.DataFrame({"tier": ["ivig", "ivig", "other"], "event": [1, 2, 0],
    ...                    "patient_id": ["a", "b", "a"]})
    >>> tier_counts(df).loc["ivig"].tolist()
    [2, 1, 1, 2]
    """
    tiers = df[group]
    levels = list(tiers.cat.categories) if isinstance(tiers.dtype, pd.CategoricalDtype) \
        else list(pd.unique(tiers))
    ids = df["patient_id"] if "patient_id" in df.columns else pd.Series(np.arange(len(df)), df.index)
    rows = {}
    for level in levels:
        mask = (tiers == level).to_numpy()
        codes = df.loc[mask, event]
        rows[level] = {"lines": int(mask.sum()), "relapses": int((codes == RELAPSE).sum()),
                       "deaths": int((codes == DEATH).sum()), "patients": int(ids[mask].nunique())}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["lines", "relapses", "deaths",
                                                                  "patients"])
    table.index.name = group
    return table


def _describe(counts: pd.DataFrame, tiers: Sequence[str]) -> str:
    chosen = counts.loc[list(tiers)]
    lines, events = int(chosen["lines"].sum()), int(chosen["relapses"].sum())
    return f"{count(lines, 'line')}, {count(events, 'relapse')}"


@dataclass(frozen=True)
class TierGroups:
    """Tiers as a model uses them: sparse tiers merged along the ladder or left out.

    Attributes
    ----------
    frame : pandas.DataFrame
        The input's rows in the kept tiers, ``tier`` recoded to :attr:`levels` (a merged tier
        is named ``"immunosuppression+cytoreduction"``); the first level is the reference.
    counts : pandas.DataFrame
        :func:`tier_counts` of the input.
    merged : dict
        Merged label → the tiers it holds.
    left_out : tuple of str
        Tiers (or merged groups) with too few lines or relapses, whose rows were dropped.
    absent : tuple of str
        Tiers with no line at all.
    min_lines, min_events : int
        The thresholds applied.
    """

    frame: pd.DataFrame
    counts: pd.DataFrame
    merged: dict[str, tuple[str, ...]]
    left_out: tuple[str, ...]
    absent: tuple[str, ...]
    min_lines: int
    min_events: int

    @property
    def levels(self) -> list[str]:
        """Tiers of the model, reference first."""
        return list(self.frame["tier"].cat.categories)

    @property
    def comparable(self) -> bool:
        """At least two tiers remain to compare."""
        return len(self.levels) >= 2

    @property
    def why_not(self) -> str:
        """Why no comparison of tiers is possible ("" when two or more tiers remain)."""
        if self.comparable:
            return ""
        total = self.counts[["lines", "relapses"]].sum()
        return (f"fewer than two tiers with at least {count(self.min_lines, 'line')} and "
                f"{count(self.min_events, 'relapse')} ({count(total['lines'], 'line')} and "
                f"{count(total['relapses'], 'relapse')} in all)")

    @property
    def changed(self) -> bool:
        """Some tier was merged or left out."""
        return bool(self.merged or self.left_out)

    def members(self, level: str) -> tuple[str, ...]:
        """Return the original tiers a level holds."""
        return self.merged.get(level, tuple(level.split("+")))

    def sentence(self) -> str:
        """Say what was merged or left out and why, in numbers ("" when nothing changed)."""
        parts = []
        for label, tiers in self.merged.items():
            each = ", ".join(f"{t} ({_describe(self.counts, [t])})" for t in tiers)
            parts.append(f"{each} merged as {label} ({_describe(self.counts, tiers)})")
        for label in self.left_out:
            parts.append(f"{label} ({_describe(self.counts, self.members(label))}) left out")
        if not parts:
            return ""
        rule = (f"a tier needs at least {count(self.min_lines, 'line')} and "
                f"{count(self.min_events, 'relapse')} for its own estimate")
        kept = ", ".join(self.levels)
        remaining = (f"; {len(self.levels)} tiers remain ({kept})" if self.comparable
                     else f"; {'only ' + kept if kept else 'no tier'} remains, nothing to compare")
        return "; ".join(parts) + f" ({rule}){remaining}"


def _is_sparse(counts: pd.DataFrame, tiers: Sequence[str], min_lines: int, min_events: int) -> bool:
    chosen = counts.loc[list(tiers)]
    return bool(chosen["lines"].sum() < min_lines or chosen["relapses"].sum() < min_events)


def _merge_ladder(groups: list[list[str]], sparse: Callable[[list[str]], bool]) -> list[list[str]]:
    """Merge each sparse escalation group with its neighbour above (the top one with the one below)."""
    groups = [list(g) for g in groups]
    while len(groups) > 2:
        flagged = [j for j in range(1, len(groups)) if sparse(groups[j])]
        if not flagged:
            break
        j = flagged[0]
        k = j + 1 if j + 1 < len(groups) else j - 1
        low, high = sorted((j, k))
        groups[low:high + 1] = [groups[low] + groups[high]]
    return groups


def group_tiers(df: pd.DataFrame, min_lines: int = MIN_TIER_LINES, min_events: int = MIN_TIER_EVENTS,
                event: str = "event") -> TierGroups:
    """Merge or leave out tiers with too few lines or relapses for a model.

    Parameters
    ----------
    df : pandas.DataFrame
        An analysis frame with a ``tier`` column.
    min_lines, min_events : int
        What a tier needs for its own estimate.
    event : str
        Event-code column (relapses, code 1, are counted).

    Returns
    -------
    TierGroups

    Notes
    -----
    The first tier of the ladder present (IVIG) stays the reference and is never merged. A
    sparse tier above it (immunosuppression, cytoreduction) is merged with its neighbour on the
    ladder (the one above, or below for the top tier), as long as more than one escalation
    group is left. A group still sparse after that, the reference included, and a sparse tier
    off the ladder (``other``: its agents have nothing in common) are left out.

    Examples
    --------
    >>> df = pd.DataFrame({"tier": pd.Categorical(["ivig"] * 6 + ["cytoreduction"] * 2 +
    ...                    ["immunosuppression"] * 4, categories=list(TIERS)),
    ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0]})
    >>> groups = group_tiers(df)
    >>> groups.levels
    ['ivig', 'immunosuppression+cytoreduction']
    >>> groups.left_out, groups.absent
    ((), ('other',))
    """
    counts = tier_counts(df, event=event)
    present = [t for t in counts.index if counts.loc[t, "lines"] > 0]
    absent = tuple(t for t in counts.index if counts.loc[t, "lines"] == 0)

    def sparse(tiers: Sequence[str]) -> bool:
        return _is_sparse(counts, tiers, min_lines, min_events)

    ladder = _merge_ladder([[t] for t in present if t in LADDER], sparse)
    groups = ladder + [[t] for t in present if t not in LADDER]
    kept = [g for g in groups if not sparse(g)]
    label = {t: "+".join(g) for g in kept for t in g}
    levels = list(dict.fromkeys(label.values()))
    rows = df[df["tier"].astype(object).isin(label)].copy()
    rows["tier"] = pd.Categorical(rows["tier"].astype(object).map(label), categories=levels)
    return TierGroups(rows, counts, {"+".join(g): tuple(g) for g in kept if len(g) > 1},
                      tuple("+".join(g) for g in groups if sparse(g)), absent, min_lines, min_events)


@dataclass(frozen=True)
class Covariates:
    """The adjustment set the data support and the complete-case rows it leaves.

    Attributes
    ----------
    frame : pandas.DataFrame
        Rows with every kept covariate recorded.
    kept : tuple of str
        Covariates of the adjustment set.
    unrecorded : tuple of str
        Covariates recorded in no row (dropped).
    constant : dict
        Covariate → ``(differing, lines)``: lines with a value other than its most common one,
        fewer than ``min_minority``, among the lines where it was checked (all lines recording
        it, or the complete cases) — dropped: the covariate does not vary.
    missing : dict
        Kept covariate → lines where it is missing (those lines are dropped).
    n_rows : int
        Rows before the complete-case restriction.
    min_minority : int
    """

    frame: pd.DataFrame
    kept: tuple[str, ...]
    unrecorded: tuple[str, ...]
    constant: dict[str, tuple[int, int]]
    missing: dict[str, int]
    n_rows: int
    min_minority: int = MIN_MINORITY

    @property
    def dropped_rows(self) -> int:
        """Lines left out because a kept covariate is missing."""
        return self.n_rows - len(self.frame)

    def sentence(self) -> str:
        """Say what left the adjustment set and the rows, in numbers ("" if nothing did)."""
        parts = []
        if self.unrecorded:
            parts.append(f"{', '.join(self.unrecorded)} recorded in none of the {self.n_rows} lines: "
                         "dropped from the adjustment set")
        if self.constant:
            listing = ", ".join(f"{name} ({n} of {count(of, 'line')})"
                                for name, (n, of) in self.constant.items())
            parts.append(f"{listing} differing from the most common value (fewer than "
                         f"{self.min_minority}): too little variation, dropped from the adjustment set")
        if self.dropped_rows:
            listing = ", ".join(f"{name} missing in {n}" for name, n in self.missing.items())
            parts.append(f"complete cases only: {share(self.dropped_rows, self.n_rows)} lines "
                         f"dropped ({listing}), {len(self.frame)} lines analysed")
        return "; ".join(parts)


def _minority(values: pd.Series) -> int:
    """Lines whose value differs from the most common one (0 for a constant column)."""
    observed = values.dropna()
    return int(len(observed) - observed.value_counts().iloc[0]) if len(observed) else 0


def usable_covariates(df: pd.DataFrame, covariates: Sequence[str],
                      min_minority: int = MIN_MINORITY) -> Covariates:
    """Drop covariates never recorded or (nearly) constant; keep complete cases on the rest.

    Parameters
    ----------
    df : pandas.DataFrame
        The analysis frame.
    covariates : sequence of str
        The intended adjustment set.
    min_minority : int
        A covariate is kept when its less common values occur in at least this many lines
        (a binary flag seen once cannot be adjusted for: it separates).

    Returns
    -------
    Covariates

    Examples
    --------
    >>> df = pd.DataFrame({"age": [50.0, 61.0, 70.0, 44.0], "mrss": [10.0, None, 20.0, 5.0],
    ...                    "cardiac": [False] * 4})
    >>> usable = usable_covariates(df, ["age", "mrss", "cardiac"])
    >>> usable.kept, usable.dropped_rows
    (('age', 'mrss'), 1)
    """
    names = list(covariates)
    unrecorded = tuple(c for c in names if df[c].isna().all())
    names = [c for c in names if c not in unrecorded]
    constant = {c: (_minority(df[c]), int(df[c].notna().sum())) for c in names
                if _minority(df[c]) < min_minority}
    names = [c for c in names if c not in constant]
    rows = df.dropna(subset=names)
    late = {c: (_minority(rows[c]), len(rows)) for c in names if _minority(rows[c]) < min_minority}
    constant.update(late)
    names = [c for c in names if c not in late]
    missing = {c: int(df[c].isna().sum()) for c in names if df[c].isna().any()}
    return Covariates(rows, tuple(names), unrecorded, constant, missing, len(df), min_minority)


def propensity_rows_needed(df: pd.DataFrame, covariates: Sequence[str] | str) -> int:
    """Rows per tier a propensity model on ``covariates`` needs (its design columns + 2).

    :func:`sclero_analysis.propensity` refuses a tier with fewer rows; pass this as
    ``min_lines`` to :func:`group_tiers` to merge such tiers first.

    Examples
    --------
    >>> df = pd.DataFrame({"age": [50.0, 61.0, 70.0], "neuro": [True, False, True]})
    >>> propensity_rows_needed(df, ["age", "neuro"])
    4
    """
    _, formula = covariate_formula(df, covariates)
    complete = df.dropna(subset=[c for c in df.columns if c in formula])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScleroWarning)  # unused categories: the count is what matters
        return design_matrix(complete, formula).matrix.shape[1] + 2


@dataclass(frozen=True)
class Comparison:
    """The rows, tiers and covariates an adjusted comparison of tiers can use.

    Attributes
    ----------
    covariates : Covariates
        The adjustment set and its complete-case rows.
    tiers : TierGroups
        The tiers of those rows, sparse ones merged or left out.
    reason : str
        Why no adjusted comparison can be made ("" when it can).
    """

    covariates: Covariates
    tiers: TierGroups
    reason: str = ""

    @property
    def ready(self) -> bool:
        """An adjusted comparison can be fitted."""
        return not self.reason

    @property
    def frame(self) -> pd.DataFrame:
        """The rows to analyse (complete cases, kept tiers, ``tier`` recoded)."""
        return self.tiers.frame

    @property
    def kept(self) -> list[str]:
        """The adjustment set."""
        return list(self.covariates.kept)

    def caveats(self, cluster: str = "patient_id") -> list[str]:
        """Return cautions on an adjusted Cox model of these rows: events per parameter, clusters."""
        if not self.ready:
            return []
        rows = self.frame
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScleroWarning)
            p = design_matrix(rows, " + ".join(["tier", *self.kept])).matrix.shape[1]
        notes = [events_per_parameter(int((rows["event"] == RELAPSE).sum()), p),
                 few_clusters(int(rows[cluster].nunique())) if cluster in rows.columns else ""]
        return [n for n in notes if n]

    def skips(self, section: str) -> list[tuple[str, str]]:
        """Return ``(section, reason)`` for each reduction of ``section`` (covariates, tiers).

        Whether the section is skipped altogether is :attr:`reason`.
        """
        found = [(f"{section}: covariates", self.covariates.sentence()),
                 (f"{section}: tiers", self.tiers.sentence())]
        return [(name, text) for name, text in found if text]


def comparison_data(df: pd.DataFrame, covariates: Sequence[str], propensity: bool = False,
                    min_events: int = MIN_TIER_EVENTS) -> Comparison:
    """Decide the rows, tiers and covariates of an adjusted (or propensity) comparison of tiers.

    Parameters
    ----------
    df : pandas.DataFrame
        Analysis frame.
    covariates : sequence of str
        The intended adjustment set (see :func:`usable_covariates`).
    propensity : bool
        The comparison fits a propensity model: each tier then needs
        :func:`propensity_rows_needed` lines (at least ``MIN_TIER_LINES``).
    min_events : int
        Relapses each tier needs.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> df = pd.DataFrame({"tier": ["ivig"] * 5 + ["cytoreduction"] * 5,
    ...                    "event": [1, 0, 1, 1, 0, 1, 1, 0, 0, 1], "mrss": [None] * 10})
    >>> comparison_data(df, ["mrss"]).reason
    'no covariate is both recorded and varying: nothing to adjust for'
    """
    usable = usable_covariates(df, covariates)
    needed = MIN_TIER_LINES
    if propensity and usable.kept and len(usable.frame):
        needed = max(needed, propensity_rows_needed(usable.frame, list(usable.kept)))
    tiers = group_tiers(usable.frame, needed, min_events)
    if not usable.kept:
        reason = "no covariate is both recorded and varying: nothing to adjust for"
    elif not len(usable.frame):
        reason = "no line has every covariate recorded"
    elif not tiers.comparable:
        reason = f"among the complete cases, {tiers.why_not}"
    else:
        reason = ""
    return Comparison(usable, tiers, reason)


__all__ = ["LADDER", "MIN_MINORITY", "MIN_TIER_EVENTS", "MIN_TIER_LINES", "Comparison", "Covariates",
           "TierGroups", "comparison_data", "group_tiers", "propensity_rows_needed", "tier_counts",
           "usable_covariates"]

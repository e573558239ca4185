"""``StrategyEmulation``: the result of :func:`~sclero_analysis.strategies.emulate_strategies`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.strategies.curves import Curve

LEVEL = 0.95


def _limits(replicates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Percentile limits over replicates (NaN replicates left out; NaN without any)."""
    if replicates.size == 0:
        return np.full(replicates.shape[1:], np.nan), np.full(replicates.shape[1:], np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: no interval
            lower = np.nanquantile(replicates, (1 - LEVEL) / 2, axis=0)
            upper = np.nanquantile(replicates, (1 + LEVEL) / 2, axis=0)
    return lower, upper


def _with_limits(frame: pd.DataFrame, replicates: np.ndarray | None) -> pd.DataFrame:
    lower, upper = _limits(replicates if replicates is not None else np.empty((0, len(frame))))
    return frame.assign(lower=lower, upper=upper)


def _weights_summary(fitted: dict) -> pd.DataFrame:
    frames = []
    for name, parts in fitted.items():
        pieces = parts["pieces"]
        frame = pd.DataFrame({"month": pieces.month, "w": pieces.weight})
        grouped = frame.groupby("month")["w"]
        summary = pd.DataFrame(
            {
                "n_clones": grouped.size(),
                "mean": grouped.mean(),
                "max": grouped.max(),
                "ess": grouped.sum() ** 2 / frame.assign(w2=frame["w"] ** 2).groupby("month")["w2"].sum(),
            }
        )
        frames.append(summary.reset_index().assign(strategy=name))
    columns = ["strategy", "month", "n_clones", "mean", "max", "ess"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def _followers(fitted: dict, times: np.ndarray) -> pd.DataFrame:
    rows = []
    for name, parts in fitted.items():
        clones = parts["clones"]
        row = {
            "strategy": name,
            "clones": len(clones.time),
            "deviated_at_zero": int(np.sum(clones.deviated & (clones.time == 0))),
            "deviated_later": int(np.sum(clones.deviated & (clones.time > 0))),
            "relapses": int(np.sum(clones.status == 1)),
            "deaths": int(np.sum(clones.status == 2)),
        }
        for t in times:
            row[f"following_at_{t:g}"] = int(np.sum(clones.time >= t))
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class StrategyEmulation:
    """Strategies compared by clone-censor-weight (see ``emulate_strategies``).

    Attributes
    ----------
    summary : pandas.DataFrame
        ``strategy, measure, time_months, estimate, lower, upper``: ``relapse_free_survival``
        (alive without relapse or progression) and ``relapse_cif`` (death competing) at 12, 24,
        36 months (within the horizon) and the horizon, and ``rmst`` (months) to the horizon;
        percentile bootstrap 95% limits (NaN without bootstrap).
    contrasts : pandas.DataFrame
        ``strategy, reference, measure, time_months, difference, lower, upper`` against the first
        strategy.
    naive : pandas.DataFrame
        As ``summary`` for the per-protocol analysis without weights (censoring at deviation only).
    weights_summary : pandas.DataFrame
        ``strategy, month, n_clones, mean, max, ess`` of the stabilised weights of the clones
        followed in each month (effective sample size (Σw)²/Σw²).
    followers : pandas.DataFrame
        Per strategy: clones, deviations at time zero and later, relapses, deaths, and clones
        still followed at each reported time.
    curves : dict of str to Curve
        Weighted relapse-free survival per strategy (for ``plot``).
    labels : dict of str to str
        Each strategy's description.
    adjusted_for : tuple of str
        The baseline covariates in the censoring models (with a missing indicator where some
        values are missing).
    unrecorded : tuple of str
        Covariates asked for but never recorded: left out of the censoring models.
    """

    summary: pd.DataFrame
    contrasts: pd.DataFrame
    naive: pd.DataFrame
    weights_summary: pd.DataFrame
    followers: pd.DataFrame
    curves: dict[str, Curve]
    labels: dict[str, str]
    horizon_months: float
    n_patients: int
    n_boot: int
    n_boot_failed: int
    seed: int | None
    adjusted_for: tuple[str, ...] = ()
    unrecorded: tuple[str, ...] = ()

    @classmethod
    def build(
        cls, analysis, fitted: dict, estimate: np.ndarray, replicates: np.ndarray, seed: int | None
    ) -> StrategyEmulation:
        """Assemble the tables from the estimate vector and its bootstrap replicates."""
        from sclero_analysis.strategies.emulate import estimates_frame

        boot = replicates if replicates.size else None
        weighted = estimates_frame(estimate, analysis, "weighted")
        naive = estimates_frame(estimate, analysis, "naive")
        summary = _with_limits(
            weighted, None if boot is None else _to_frame_order(boot, analysis, "weighted")
        )
        naive = _with_limits(naive, None if boot is None else _to_frame_order(boot, analysis, "naive"))
        contrasts = _contrasts(
            weighted,
            None if boot is None else _to_frame_order(boot, analysis, "weighted"),
            list(analysis.strategies),
        )
        failed = int(np.isnan(replicates).any(axis=1).sum()) if replicates.size else 0
        return cls(
            summary,
            contrasts,
            naive,
            _weights_summary(fitted),
            _followers(fitted, analysis.times),
            {name: parts["weighted"] for name, parts in fitted.items()},
            {name: s.label for name, s in analysis.strategies.items()},
            analysis.horizon,
            len(analysis.line),
            len(replicates),
            failed,
            seed,
            tuple(n for n in analysis.line.covariate_names if not n.endswith(" missing")),
            analysis.line.unrecorded,
        )

    def plot(self, ax=None):
        """Weighted relapse-free survival per strategy (step curves); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        for name, curve in self.curves.items():
            keep = curve.time <= self.horizon_months
            x = np.concatenate([[0.0], curve.time[keep]])
            y = np.concatenate([[1.0], curve.survival[keep]])
            ax.step(x, y, where="post", label=self.labels.get(name, name))
        ax.set_xlim(0, self.horizon_months)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("Months from the first line's start")
        ax.set_ylabel("Relapse-free survival (weighted)")
        ax.legend(frameon=False)
        return ax

    def __repr__(self) -> str:
        lacking = (f", {self.n_boot_failed} of them without every estimate (a strategy nobody followed "
                   f"in the sample, or not followed to a reported time)" if self.n_boot_failed else "")
        unrecorded = (f"; never recorded, so not adjusted for: {', '.join(self.unrecorded)}"
                      if self.unrecorded else "")
        return (
            f"StrategyEmulation({len(self.labels)} strategies, {self.n_patients} patients, "
            f"horizon {self.horizon_months:g} months, {self.n_boot} bootstrap replicates{lacking}; "
            f"weights adjusted for {', '.join(self.adjusted_for) or 'no baseline covariate'}, the response "
            f"so far (any line's and the line in course's), escalation so far and time{unrecorded})"
        )


def _to_frame_order(boot: np.ndarray, analysis, kind: str) -> np.ndarray:
    """Bootstrap replicates as columns in the order of ``estimates_frame`` rows."""
    from sclero_analysis.strategies.emulate import estimates_frame

    frame = estimates_frame(boot, analysis, kind)  # each estimate cell holds its replicates
    return np.vstack(frame["estimate"].to_numpy()).T


def _contrasts(weighted: pd.DataFrame, boot: np.ndarray | None, names: list[str]) -> pd.DataFrame:
    reference = names[0]
    ref = weighted["strategy"] == reference
    rows, diffs = [], []
    for name in names[1:]:
        mine = (weighted["strategy"] == name).to_numpy()
        for i, j in zip(np.flatnonzero(mine), np.flatnonzero(ref.to_numpy()), strict=True):
            rows.append(
                (
                    name,
                    reference,
                    weighted["measure"].iloc[i],
                    weighted["time_months"].iloc[i],
                    weighted["estimate"].iloc[i] - weighted["estimate"].iloc[j],
                )
            )
            diffs.append(None if boot is None else boot[:, i] - boot[:, j])
    frame = pd.DataFrame(rows, columns=["strategy", "reference", "measure", "time_months", "difference"])
    lower, upper = _limits(
        np.column_stack(diffs) if boot is not None and diffs else np.empty((0, len(frame)))
    )
    return frame.assign(lower=lower, upper=upper)

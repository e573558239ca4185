"""Sentences and feasibility of notebook 08 (which management strategy), computed from the numbers.

Every sentence is built from an emulation's tables (``StrategyEmulation.summary`` and
``.contrasts``), so that an opposite result gives the opposite sentence; nothing is written in
advance.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.exceptions import StrategyError
from sclero_analysis.strategies import Strategy, emulate_strategies

#: Fewer patients with a line of therapy than this: the emulation is not attempted.
MIN_PATIENTS = 30
RFS = "relapse_free_survival"


def answer_month(summary: pd.DataFrame) -> float:
    """Return the month the answer is given at: 24, or the horizon when shorter."""
    times = sorted(summary.loc[summary["measure"] == RFS, "time_months"].unique())
    return 24.0 if 24.0 in times else float(times[-1])


def followable(
    cs: CaseSeries, strategies: Mapping[str, Strategy]
) -> tuple[dict[str, Strategy], list[tuple[str, str]]]:
    """Return the strategies somebody follows, and (section, reason) for those left out.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> kept, skipped = followable(sa.load_example(), sa.strategies.default_strategies())
    >>> sorted(kept), skipped
    (['early_cytoreduction', 'escalate_if_no_response', 'never_escalate'], [])
    """
    n = cs.lines["patient_id"].nunique()
    if n < MIN_PATIENTS:
        return {}, [
            (
                "Strategies compared",
                f"{n} patients with a line of therapy; the emulation needs at "
                f"least {MIN_PATIENTS} (every strategy's clones are censored at deviations)",
            )
        ]
    kept, skipped = {}, []
    treated = cs.patients[cs.patients["patient_id"].isin(cs.lines["patient_id"])]
    for name, strategy in strategies.items():
        if strategy.severe is not None and treated.query(strategy.severe).empty:
            others = ("never escalating" if strategy.no_response_months is None else
                      f"escalating if no response by {strategy.no_response_months:g} months")
            skipped.append((f"Strategy '{strategy.label}'",
                            f"none of the {n} patients with a line is severe by its rule "
                            f"({strategy.severe}), so for every patient it is the same as {others}"))
            continue
        try:
            emulate_strategies(cs, {name: strategy}, n_boot=0)
        except StrategyError as error:
            skipped.append(
                (f"Strategy '{strategy.label}'", f"of {n} patients with a line, nobody follows it: {error}")
            )
        else:
            kept[name] = strategy
    if len(kept) < 2 and kept:
        skipped.append(("Contrasts", f"{len(kept)} strategy followed by anybody: nothing to compare"))
    return kept, skipped


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _points(value: float, unit: bool = True) -> str:
    return f"{100 * value:+.0f}" + (" percentage points" if unit else "")


def strategy_finding(summary: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """One line: relapse-free survival of each strategy at the answer month.

    Examples
    --------
    >>> s = pd.DataFrame({"strategy": ["a", "b"], "measure": [RFS, RFS], "time_months": [24.0, 24.0],
    ...                   "estimate": [0.4, 0.5], "lower": [0.3, 0.4], "upper": [0.5, 0.6]})
    >>> strategy_finding(s, {"a": "never", "b": "escalate"})
    'Relapse-free at 24 months (emulated): escalate 50% (95% CI 40% to 60%), never 40% (95% CI 30% to 50%).'
    """
    month = answer_month(summary)
    rows = summary[(summary["measure"] == RFS) & (summary["time_months"] == month)]
    rows = rows.sort_values("estimate", ascending=False)
    parts = []
    for _, row in rows.iterrows():
        interval = (
            "" if pd.isna(row["lower"]) else f" (95% CI {_percent(row['lower'])} to {_percent(row['upper'])})"
        )
        parts.append(f"{labels.get(row['strategy'], row['strategy'])} {_percent(row['estimate'])}{interval}")
    return f"Relapse-free at {month:g} months (emulated): " + ", ".join(parts) + "."


def strategy_plain_words(contrasts: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """Return the answer in plain words: each strategy against the reference, at the answer month.

    Examples
    --------
    >>> c = pd.DataFrame({"strategy": ["b"], "reference": ["a"], "measure": [RFS], "time_months": [24.0],
    ...                   "difference": [0.1], "lower": [0.03], "upper": [0.17]})
    >>> strategy_plain_words(c, {"a": "never escalating", "b": "escalating"})[:60]
    'At 24 months, escalating kept more patients relapse-free tha'
    """
    rows = contrasts[contrasts["measure"] == RFS]
    if rows.empty:
        return "Only one strategy could be emulated, so there is nothing to compare."
    month = 24.0 if 24.0 in set(rows["time_months"]) else float(rows["time_months"].max())
    sentences = []
    for _, row in rows[rows["time_months"] == month].iterrows():
        name, reference = (
            labels.get(row["strategy"], row["strategy"]),
            labels.get(row["reference"], row["reference"]),
        )
        size = f"{_points(row['difference'])}"
        if pd.isna(row["lower"]):
            sentences.append(f"{name} vs {reference}: {size} (no interval without the bootstrap).")
        elif row["lower"] > 0:
            sentences.append(
                f"At {month:g} months, {name} kept more patients relapse-free than {reference} "
                f"({size}, 95% CI {_points(row['lower'], False)} to {_points(row['upper'], False)})."
            )
        elif row["upper"] < 0:
            sentences.append(
                f"At {month:g} months, {name} kept fewer patients relapse-free than {reference} "
                f"({size}, 95% CI {_points(row['lower'], False)} to {_points(row['upper'], False)})."
            )
        else:
            sentences.append(
                f"At {month:g} months, these data cannot tell {name} from {reference} ({size}, "
                f"95% CI {_points(row['lower'], False)} to {_points(row['upper'], False)} "
                "includes no difference)."
            )
    return " ".join(sentences)


def compare_with_truth(summary: pd.DataFrame, naive: pd.DataFrame, truth: Mapping) -> pd.DataFrame:
    """Naive, emulated and true relapse-free survival per strategy and month (strategies with a truth)."""
    rows = []
    for _, row in summary[summary["measure"] == RFS].iterrows():
        true = truth.get(row["strategy"], {}).get("relapse_free_survival", {})
        value = true.get(row["time_months"], true.get(str(int(row["time_months"]))))
        if value is None:
            continue
        match = naive[
            (naive["strategy"] == row["strategy"])
            & (naive["measure"] == RFS)
            & (naive["time_months"] == row["time_months"])
        ]
        rows.append(
            {
                "strategy": row["strategy"],
                "time_months": row["time_months"],
                "naive": float(match["estimate"].iloc[0]),
                "emulated": row["estimate"],
                "lower": row["lower"],
                "upper": row["upper"],
                "truth": float(value),
            }
        )
    return pd.DataFrame(
        rows, columns=["strategy", "time_months", "naive", "emulated", "lower", "upper", "truth"]
    )


def truth_sentence(table: pd.DataFrame, month: float) -> str:
    """How far the naive and the emulated estimates fall from the truth at ``month``."""
    at = table[table["time_months"] == month]
    if at.empty:
        return "No strategy here has a known truth to compare with."
    naive_gap = (at["naive"] - at["truth"]).abs().mean()
    emulated_gap = (at["emulated"] - at["truth"]).abs().mean()
    better = "closer to" if emulated_gap < naive_gap else "no closer to"
    return (
        f"At {month:g} months the emulated estimates are {better} the truth than the naive per-protocol ones "
        f"(mean absolute error {100 * emulated_gap:.1f} vs {100 * naive_gap:.1f} percentage points)."
    )

"""Notebook 08 (which management strategy) on a researcher's own data, and its sentences.

The notebook runs through ``build_report`` on user-like registries (no truth): no cell fails, the
finding holds no "nan", the truth comparison is left out with a sentence, and a registry too small
for the emulation is skipped with its numbers. The sentences turn when the numbers say the opposite.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from sclero_analysis.report import build_report
from sclero_analysis.report import strategy_answers as answers
from tests.userdata import write_user_registry

NAME = "08_which_management_strategy"
NAN = re.compile(r"\bnan\b", re.IGNORECASE)


def _run(tmp_path, n_patients: int) -> dict:
    data = write_user_registry(tmp_path / "registry", n_patients, seed=3, fmt="csv")
    build_report(data=data, out=tmp_path / "report", notebooks=[NAME], fast=True, progress=None)
    cells = json.loads((tmp_path / "report" / f"{NAME}.ipynb").read_text())["cells"]
    errors = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o["output_type"] == "error" or (o["output_type"] == "stream" and o["name"] == "stderr")]
    assert not errors, errors[0]
    manifest = json.loads((tmp_path / "report" / "manifest" / f"{NAME}.json").read_text())
    assert manifest["finding"] and not NAN.search(manifest["finding"]), manifest["finding"]
    return manifest


def test_a_user_registry_runs_without_truth(tmp_path):
    manifest = _run(tmp_path, 150)
    sections = {entry["section"]: entry["reason"] for entry in manifest["skipped"]}
    assert "no truth" in sections["Naive, emulated and true"]
    assert manifest["finding"].startswith("Relapse-free at 24 months (emulated):")


def test_a_small_registry_is_skipped_with_its_numbers(tmp_path):
    manifest = _run(tmp_path, 12)
    reasons = [entry["reason"] for entry in manifest["skipped"]]
    assert any(re.search(r"\d+ patients with a line of therapy; the emulation needs at least 30", r)
               for r in reasons), reasons
    assert manifest["finding"].startswith("No strategy could be emulated")


def _contrast(difference: float, lower: float, upper: float) -> pd.DataFrame:
    return pd.DataFrame({"strategy": ["esc"], "reference": ["never"], "measure": [answers.RFS],
                         "time_months": [24.0], "difference": [difference], "lower": [lower],
                         "upper": [upper]})


LABELS = {"esc": "escalating", "never": "never escalating"}


@pytest.mark.parametrize(("numbers", "expected"), [
    ((0.10, 0.03, 0.17), "escalating kept more patients relapse-free than never escalating (+10"),
    ((-0.10, -0.17, -0.03), "escalating kept fewer patients relapse-free than never escalating (-10"),
    ((0.02, -0.05, 0.09), "cannot tell escalating from never escalating (+2"),
])
def test_the_plain_words_follow_the_numbers(numbers, expected):
    assert expected in answers.strategy_plain_words(_contrast(*numbers), LABELS)


def test_the_finding_orders_strategies_by_their_estimate():
    rows = pd.DataFrame({"strategy": ["never", "esc"], "measure": [answers.RFS] * 2,
                         "time_months": [24.0] * 2, "estimate": [0.6, 0.4], "lower": [0.5, 0.3],
                         "upper": [0.7, 0.5]})
    assert answers.strategy_finding(rows, LABELS).index("never escalating 60%") < \
        answers.strategy_finding(rows, LABELS).index("escalating 40%")
    flipped = rows.assign(estimate=[0.4, 0.6])
    assert answers.strategy_finding(flipped, LABELS).startswith(
        "Relapse-free at 24 months (emulated): escalating 60%")


def test_the_truth_sentence_says_which_is_closer():
    table = pd.DataFrame({"strategy": ["a"], "time_months": [24.0], "naive": [0.5], "emulated": [0.42],
                          "lower": [0.3], "upper": [0.5], "truth": [0.4]})
    assert "are closer to the truth" in answers.truth_sentence(table, 24.0)
    assert "no closer to the truth" in answers.truth_sentence(table.assign(naive=0.41), 24.0)


def test_a_registry_without_severe_patients_leaves_out_early_cytoreduction():
    # with nobody severe, early cytoreduction is never escalating for every patient: comparing the
    # two would print a difference of exactly 0 (95% CI 0 to 0) as if it had been estimated
    import sclero_analysis as sa

    cs = sa.load_example()
    mild = cs.patients[(cs.patients["mrss"].fillna(0) < 30) & ~cs.patients["cardiac"]]["patient_id"]
    keep = {name: table[table["patient_id"].isin(mild)] for name, table in
            (("patients", cs.patients), ("lines", cs.lines), ("events", cs.events))}
    kept, skipped = answers.followable(sa.CaseSeries(**keep), sa.strategies.default_strategies())
    assert sorted(kept) == ["escalate_if_no_response", "never_escalate"]
    treated = keep["lines"]["patient_id"].nunique()
    assert skipped == [("Strategy 'early cytoreduction if severe'",
                        f"none of the {treated} patients with a line is severe by its rule (mrss >= 30 or "
                        "cardiac), so for every patient it is the same as never escalating")]

"""Formulas that are plain sums of columns are built without patsy, with patsy's exact result.

``design_matrix`` builds ``"tier + age + mrss"``-like formulas directly; every comparison here
is with the patsy path (``_patsy_design``) on the same data: the matrices must be equal bit for
bit (same numbers, so every fit on them is the same), and the column names, terms and
reference levels identical. Interactions, ``C()`` and functions still go through patsy.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.exceptions import SmallSampleWarning
from sclero_analysis.survival import SurvivalInputError
from sclero_analysis.survival import cox as cox_module
from sclero_analysis.survival.design import _patsy_design, design_matrix, plain_terms


def _frame(n: int = 60, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "time_months": rng.exponential(10, n).round(1) + 0.1,
        "event": rng.choice([0, 1, 2], n),
        "tier": pd.Categorical(rng.choice(["ivig", "cytoreduction", "other"], n),
                               categories=["ivig", "immunosuppression", "cytoreduction", "other"]),
        "grade": pd.Categorical(rng.choice(["low", "high"], n), categories=["low", "high"]),
        "age": rng.normal(55, 10, n),
        "lines": rng.integers(1, 5, n),
        "neuro": rng.uniform(size=n) < 0.4,
        "centre": rng.choice(["Paris", "Berlin", "Aachen"], n).astype(object),
        "ph.ecog": rng.integers(0, 3, n).astype(float),
        "wt loss": rng.normal(0, 5, n),
    })


PLAIN = ["tier", "age", "tier + age", "age + tier", "age + tier + lines", "neuro + age",
         "centre + tier + age", "age + centre + neuro + grade + lines", "age + age + tier",
         "ph.ecog + wt loss", "wt loss + tier + ph.ecog", " grade+age ", "lines"]
NOT_PLAIN = ["tier * age", "tier:age + age", "C(lines) + age", "C(tier, Treatment('other'))",
             "I(age / 10) + tier", "np.log(age) + neuro", "age - 1 + tier", "centre * neuro"]


def _same(a, b) -> None:
    assert a.columns == b.columns
    assert a.terms == b.terms
    assert a.reference == b.reference
    assert a.matrix.shape == b.matrix.shape and np.array_equal(a.matrix, b.matrix)


@pytest.mark.parametrize("formula", PLAIN)
def test_plain_formula_equals_patsy(formula):
    df = _frame()
    assert plain_terms(df, formula) is not None
    with warnings.catch_warnings():  # tier has an unused level: both paths warn (checked below)
        warnings.simplefilter("ignore", SmallSampleWarning)
        _same(design_matrix(df, formula), _patsy_design(df, formula))


@pytest.mark.parametrize("formula", NOT_PLAIN)
def test_other_formulas_go_through_patsy(formula):
    df = _frame()
    assert plain_terms(df, formula) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        _same(design_matrix(df, formula), _patsy_design(df, formula))


def test_columns_patsy_must_decide_are_left_to_it():
    df = _frame().assign(
        one_level=pd.Categorical(["a"] * 60, categories=["a", "b"]),
        nullable=pd.array(np.arange(60.0), dtype="Float64"),
        numeric_levels=pd.Categorical(np.arange(60) % 3),
    )
    for formula in ("one_level + age", "nullable + age", "numeric_levels + age", "age + 1"):
        assert plain_terms(df, formula) is None


def test_unused_levels_and_missing_values_behave_as_on_the_patsy_path():
    df = _frame()
    for build in (design_matrix, _patsy_design):
        with pytest.warns(SmallSampleWarning, match=r"'tier' levels \['immunosuppression'\]"):
            build(df, "tier + age")
    gaps = df.assign(age=df["age"].where(df.index % 7 != 0))
    messages = []
    for build in (design_matrix, _patsy_design):
        with pytest.raises(SurvivalInputError, match="covariate 'age' is missing in 9 rows") as error:
            build(gaps, "grade + age")
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    with pytest.raises(SurvivalInputError, match="constant"):
        design_matrix(df.assign(c=1.0), "age + c")


def test_fit_cox_is_the_same_on_both_paths(monkeypatch):
    df = _frame(n=150, seed=5).assign(patient_id=lambda d: d.index // 2)
    df["tier"] = df["tier"].cat.remove_unused_categories()
    formula = "tier + age + neuro + grade + centre + lines"
    assert plain_terms(df, formula) is not None
    plain = sa.fit_cox(df, formula, cluster="patient_id")
    monkeypatch.setattr(cox_module, "design_matrix", _patsy_design)
    with_patsy = sa.fit_cox(df, formula, cluster="patient_id")
    pd.testing.assert_frame_equal(plain.summary, with_patsy.summary, rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(plain.tests, with_patsy.tests, rtol=1e-12, atol=0)

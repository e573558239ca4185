"""Read the committed R reference values (tests/reference/*.json) and their data."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
TIERS = ["ivig", "immunosuppression", "cytoreduction", "other"]


def _number(value):
    if isinstance(value, str):
        return {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}[value]
    return value


def as_array(values) -> np.ndarray:
    """R vector (list, scalar, or strings for NA/Inf) as a float array."""
    if isinstance(values, np.ndarray):
        return values.astype(float)
    if not isinstance(values, list):
        values = [values]
    return np.array([_number(v) for v in values], dtype=float)


@cache
def reference(name: str) -> dict:
    """The JSON written by tests/reference/<name>.R."""
    return json.loads((HERE / f"{name}.json").read_text())


@cache
def _relapse() -> pd.DataFrame:
    frame = pd.read_csv(HERE / "data" / "relapse.csv")
    frame["tier"] = pd.Categorical(frame["tier"], categories=TIERS)
    return frame


def relapse_data() -> pd.DataFrame:
    """The simulated line-level data the R script analysed (a fresh copy)."""
    return _relapse().copy()

"""Sensitivity to unmeasured confounding: E-values and tipping points (docs/methods.md §10).

The E-value (VanderWeele & Ding 2017) is the minimum strength of association, on the risk ratio
scale, that an unmeasured confounder would need with both the tier and the outcome, beyond the
measured covariates, to move the estimate (or its confidence limit) to the null. The tipping
point curve gives every pair of associations that would do so (Ding & VanderWeele 2016 bounding
factor RR_EU·RR_UD / (RR_EU + RR_UD − 1)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _to_rr(hr: float, rare: bool) -> float:
    """Hazard ratio → risk ratio: itself for a rare outcome, else VanderWeele's square-root rule."""
    if rare:
        return hr
    return (1 - 0.5 ** np.sqrt(hr)) / (1 - 0.5 ** np.sqrt(1 / hr))


def _threshold(x: float, true: float = 1.0) -> float:
    """Return the E-value of a risk ratio ``x`` against ``true`` (EValue's ``threshold``)."""
    if x <= 1:
        x, true = 1 / x, 1 / true
    if true <= x:
        return float((x + np.sqrt(x * (x - true))) / true)
    ratio = true / x
    return float(ratio + np.sqrt(ratio * (ratio - 1)))


def _check(values: dict[str, float | None]) -> None:
    for name, value in values.items():
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite ratio, not {value!r}")


def e_value(
    hr: float,
    lower: float | None = None,
    upper: float | None = None,
    rare: bool | None = None,
    true: float = 1.0,
) -> pd.DataFrame:
    """Compute the E-values of a hazard ratio and of its confidence limit closer to the null.

    Parameters
    ----------
    hr : float
        Estimated hazard ratio (e.g. an IPTW HR of a tier vs IVIG).
    lower, upper : float, optional
        Its confidence limits.
    rare : bool
        Required: True when the outcome is rare (< 15% by the end of follow-up; HR ≈ RR),
        False otherwise (RR = (1 − 0.5^√HR) / (1 − 0.5^√(1/HR)), applied to the estimate, each
        limit and ``true``). Relapse in scleromyxedema is common: usually False.
    true : float
        Hazard ratio to shift the estimate to (default 1, the null).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``estimate, lower, upper``: ``hr``, ``rr`` (risk ratio scale) and
        ``e_value``. Only the limit closer to ``true`` has an E-value (the other is NaN); a
        limit on the other side of ``true`` (the interval includes it) has E-value 1.

    Raises
    ------
    ValueError
        ``rare`` not given, a non-positive ratio, or ``hr`` outside its interval.

    Notes
    -----
    A hazard ratio below 1 is handled by inversion (the E-value of 0.5 equals that of 2).

    References
    ----------
    VanderWeele TJ, Ding P (2017). Sensitivity analysis in observational research:
    introducing the E-value. Ann Intern Med 167:268–274.

    Examples
    --------
    >>> e_value(2.0, rare=False).loc["estimate", "e_value"].round(6)
    np.float64(2.606409)
    >>> e_value(0.80, 0.71, 0.91, rare=True)["e_value"].round(2).tolist()  # the paper: 1.81, 1.43
    [1.81, nan, 1.43]
    """
    if rare is None:
        raise ValueError("say whether the outcome is rare (< 15% by the end of follow-up): "
                         "rare=True or rare=False (relapse is usually common: False)")
    _check({"hr": hr, "lower": lower, "upper": upper, "true": true})
    if (lower is not None and lower > hr) or (upper is not None and upper < hr):
        raise ValueError(f"hr={hr} is outside its interval ({lower}, {upper})")
    rr = {k: (_to_rr(v, rare) if v is not None else np.nan)
          for k, v in {"estimate": hr, "lower": lower, "upper": upper}.items()}
    t = _to_rr(true, rare)
    e = {"estimate": _threshold(rr["estimate"], t), "lower": np.nan, "upper": np.nan}
    side = "lower" if rr["estimate"] > t else "upper" if rr["estimate"] < t else "lower"
    limit = rr[side]
    if not np.isnan(limit):
        crosses = (limit <= t) if side == "lower" else (limit >= t)
        e[side] = 1.0 if crosses else _threshold(limit, t)
    return pd.DataFrame({"hr": [hr, lower, upper], "rr": list(rr.values()), "e_value": list(e.values())},
                        index=pd.Index(["estimate", "lower", "upper"], name="quantity")).astype(float)


def tipping_point(
    hr: float,
    lower: float | None = None,
    upper: float | None = None,
    rare: bool | None = None,
    rr_exposure: np.ndarray | list[float] | None = None,
) -> pd.DataFrame:
    """How strong an unmeasured confounder must be to move the estimate, or the CI, to 1.

    For each strength of the confounder–tier association RR_EU, the confounder–outcome
    association RR_UD at which the bounding factor RR_EU·RR_UD / (RR_EU + RR_UD − 1) equals the
    observed risk ratio (explaining the estimate away) or the confidence limit closer to 1
    (moving the interval across 1): RR_UD = RR·(RR_EU − 1) / (RR_EU − RR), infinite when
    RR_EU ≤ RR.

    Parameters
    ----------
    hr, lower, upper, rare
        As in :func:`e_value`.
    rr_exposure : array-like, optional
        Confounder–tier risk ratios to tabulate (default 1.1 to 10).

    Returns
    -------
    pandas.DataFrame
        ``rr_exposure``, ``rr_outcome_estimate`` (RR_UD that explains the estimate away),
        ``rr_outcome_ci`` (RR_UD that moves the interval across 1; 1 if it already includes 1,
        NaN without limits). Where RR_EU = RR_UD the curve passes through the E-value.

    Examples
    --------
    >>> table = tipping_point(0.5, 0.3, 0.8, rare=True, rr_exposure=[3.0, 4.0])
    >>> table["rr_outcome_estimate"].round(3).tolist()
    [4.0, 3.0]
    """
    values = e_value(hr, lower, upper, rare)
    rr = values["rr"].to_numpy()
    rr = np.where(rr < 1, 1 / rr, rr)
    limit = values.loc["lower" if values.loc["estimate", "rr"] >= 1 else "upper", "rr"]
    limit = 1 / limit if limit < 1 else limit
    grid = np.asarray(rr_exposure if rr_exposure is not None else np.round(np.arange(1.1, 10.01, 0.1), 2),
                      float)

    def needed(target: float) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = target * (grid - 1) / (grid - target)
        return np.where(grid > target, value, np.inf) if target > 1 else np.ones_like(grid)

    crosses = values.loc[["lower", "upper"], "e_value"].eq(1.0).any()
    ci = np.full_like(grid, np.nan) if np.isnan(limit) else (
        np.ones_like(grid) if crosses else needed(limit))
    return pd.DataFrame({"rr_exposure": grid, "rr_outcome_estimate": needed(rr[0]), "rr_outcome_ci": ci})

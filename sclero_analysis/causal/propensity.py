"""Propensity scores for therapy tiers: logistic (two tiers) or multinomial logit (more).

The model is statsmodels' ``Logit`` / ``MNLogit`` fitted by Newton–Raphson, so its
coefficients are R's ``glm`` / ``nnet::multinom`` maximum likelihood estimates. The first level
of the treatment (``ivig`` for ``tier``) is the reference category of the multinomial model.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special
from statsmodels.discrete.discrete_model import Logit, MNLogit

from sclero_analysis.causal.balance import Balance, balance_table
from sclero_analysis.causal.weights import (
    Estimand,
    Trim,
    balancing_weights,
    check_estimand,
    positivity_check,
)
from sclero_analysis.exceptions import ExcludedRowsWarning, PropensityError, SeparationWarning
from sclero_analysis.figures.balance import love_plot, overlap_plot
from sclero_analysis.survival.design import design_matrix

SCORE_FLOOR = 1e-6  # scores are bounded to [SCORE_FLOOR, 1] when the model separates
MIN_SCORE = 0.01  # an own-tier score below this (an ATE weight above 100) is a positivity warning
Missing = Literal["error", "drop"]


@dataclass(frozen=True, eq=False)
class Propensity:
    """A fitted propensity model.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per analysed row (the input's index), one column per treatment level: the
        probability of receiving that level given the covariates (rows sum to 1).
    treatment : pandas.Series
        The observed treatment of each analysed row (categorical, present levels only).
    covariates : pandas.DataFrame
        The covariate columns as given (before expansion), for balance tables.
    coefficients : pandas.DataFrame
        Model coefficients, one column per non-reference level (log odds vs the reference).
    estimand : {"ATE", "ATT", "ATO"}
    focal : str or None
        The focal (treated) level for ``ATT``.
    excluded : pandas.Index
        Rows left out because a covariate was missing (``missing="drop"``); empty otherwise.
    separated : bool
        True when the model showed (quasi-)complete separation (scores then bounded).
    """

    scores: pd.DataFrame
    treatment: pd.Series
    covariates: pd.DataFrame
    coefficients: pd.DataFrame
    estimand: Estimand
    focal: str | None
    excluded: pd.Index
    separated: bool = field(default=False)

    @property
    def levels(self) -> list[str]:
        """Treatment levels in model order (the first is the reference)."""
        return list(self.scores.columns)

    @property
    def own_score(self) -> pd.Series:
        """Each row's probability of the treatment it actually received."""
        codes = self.treatment.cat.codes.to_numpy()
        return pd.Series(self.scores.to_numpy()[np.arange(len(codes)), codes], index=self.scores.index)

    def weights(self, stabilized: bool = True, trim: Trim = None) -> pd.Series:
        """Balancing weights for the model's estimand.

        Parameters
        ----------
        stabilized : bool
            Multiply each weight by the share of rows in its treatment level (Robins, Hernán &
            Brumback 2000), so that weights average about 1 in every level.
        trim : None, (lo, hi) or float
            ``(lo, hi)``: truncate weights at their ``lo`` and ``hi`` quantiles (e.g. (0.01,
            0.99)); a float: cap weights at that value. No row is dropped.

        Returns
        -------
        pandas.Series
            Weights indexed like :attr:`scores`, named ``weight``.
        """
        return balancing_weights(self.scores, self.treatment, self.estimand, self.focal,
                                 stabilized, trim)

    def balance(self, weights: pd.Series | np.ndarray | None = None,
                binary: Literal["std", "raw"] = "std") -> Balance:
        """Covariate balance before and after weighting (cobalt's definitions).

        Parameters
        ----------
        weights : pandas.Series or array, optional
            Weights to assess (default: :meth:`weights` with its defaults).
        binary : {"std", "raw"}
            Binary covariates as standardised differences (default) or raw differences in
            proportions (cobalt's default).

        Returns
        -------
        Balance
        """
        w = self.weights() if weights is None else pd.Series(np.asarray(weights, float),
                                                              index=self.scores.index)
        return balance_table(self.covariates, self.treatment, w, self.estimand, self.focal, binary)

    def overlap(self) -> pd.DataFrame:
        """Distribution of each level's score among the rows of each observed level.

        Returns
        -------
        pandas.DataFrame
            One row per (observed level, score of level): ``observed, score_of, n, min, q05,
            q25, median, q75, q95, max``. Poor overlap shows as a level whose own scores are
            near 1 while the other levels' scores for it are near 0.
        """
        rows = []
        for observed in self.levels:
            mask = (self.treatment == observed).to_numpy()
            for level in self.levels:
                values = self.scores.loc[mask, level]
                q = values.quantile([0, 0.05, 0.25, 0.5, 0.75, 0.95, 1]).to_numpy()
                rows.append({"observed": observed, "score_of": level, "n": int(mask.sum()),
                             **dict(zip(("min", "q05", "q25", "median", "q75", "q95", "max"), q,
                                        strict=True))})
        return pd.DataFrame(rows)

    def plot(self, kind: Literal["love", "overlap"] = "love", ax=None, **options):
        """Draw the love plot of :meth:`balance` (default weights) or the score overlap.

        Parameters
        ----------
        kind : {"love", "overlap"}
            ``love``: :func:`sclero_analysis.figures.love_plot`; ``overlap``:
            :func:`sclero_analysis.figures.overlap_plot` (one panel per tier).
        ax : Axes (or array of Axes for ``overlap``), optional
            Draw on it; default: a new figure (never the current one).
        **options
            Passed to the drawing function (``threshold``, ``pair``, ``tier``, ``bins``).

        Returns
        -------
        matplotlib.axes.Axes, or an array of Axes for the overlap panels
        """
        if kind == "love":
            return love_plot(self.balance(), ax=ax, **options)
        if kind == "overlap":
            return overlap_plot(self, axes=ax, **options)
        raise ValueError(f"kind must be 'love' or 'overlap', not {kind!r}")

    def __repr__(self) -> str:
        counts = self.treatment.value_counts().reindex(self.levels)
        return (f"Propensity({self.estimand}, {len(self.treatment)} rows: "
                + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")")


def _treatment(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        raise PropensityError(f"treatment column '{column}' is not in the data")
    values = df[column]
    if values.isna().any():
        raise PropensityError(f"treatment '{column}' is missing in {int(values.isna().sum())} rows")
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    return values.cat.remove_unused_categories()


def _complete_rows(df: pd.DataFrame, columns: list[str], missing: Missing) -> pd.DataFrame:
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise PropensityError(f"covariates {absent} are not columns of the data")
    counts = df[columns].isna().sum()
    counts = counts[counts > 0]
    if counts.empty:
        return df
    listing = ", ".join(f"'{c}' in {n} rows" for c, n in counts.items())
    if missing == "error":
        raise PropensityError(f"covariates are missing: {listing}; impute them or pass "
                              "missing='drop' to analyse complete rows only")
    kept = df.dropna(subset=columns)
    warnings.warn(f"{len(df) - len(kept)} of {len(df)} rows left out of the propensity model "
                  f"for missing covariates ({listing})", ExcludedRowsWarning, stacklevel=3)
    return kept


def covariate_formula(df: pd.DataFrame, covariates: Sequence[str] | str) -> tuple[list[str], str]:
    """Return the columns a covariate list or formula uses, and the formula's right-hand side."""
    if isinstance(covariates, str):
        formula = covariates.split("~", 1)[-1]
        names = [c for c in df.columns if c in set(pd.Series(formula).str.findall(
            r"[A-Za-z_][A-Za-z0-9_.]*").iloc[0])]
        return names, formula
    names = list(covariates)
    if not names:
        raise PropensityError("give at least one covariate (a list of columns or a formula)")
    return names, " + ".join(f"Q('{c}')" if not c.isidentifier() else c for c in names)


def _check_sizes(treatment: pd.Series, n_columns: int) -> None:
    counts = treatment.value_counts()
    needed = n_columns + 2
    small = counts[counts < needed]
    if len(counts) < 2:
        raise PropensityError(f"the treatment has a single level ({list(counts.index)}): "
                              "nothing to compare")
    if not small.empty:
        listing = ", ".join(f"'{k}' has {v}" for k, v in small.items())
        raise PropensityError(
            f"too few rows for a propensity model with {n_columns} covariate columns: {listing} "
            f"(at least {needed} per level needed). Merge sparse tiers (e.g. into "
            "'immunosuppression' or 'cytoreduction'), compare two tiers at a time, or use fewer "
            "covariates; with estimand='ATT' pick a well-populated focal tier.")


def _fit(x: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, bool]:
    """Maximum likelihood coefficients ((p + 1) × (k − 1)) and whether the fit separated."""
    exog = np.column_stack([np.ones(len(x)), x])
    model = Logit(codes, exog) if k == 2 else MNLogit(codes, exog)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = model.fit(method="newton", maxiter=100, disp=False)
            params, converged = np.asarray(result.params, float), bool(result.mle_retvals["converged"])
        except np.linalg.LinAlgError:  # singular information: separated or degenerate
            result = model.fit(method="bfgs", maxiter=1000, disp=False)
            params, converged = np.asarray(result.params, float), False
    noisy = any(issubclass(w.category, (RuntimeWarning, UserWarning)) for w in caught)
    params = params.reshape(exog.shape[1], k - 1)
    return params, (not converged) or noisy


def _scores(x: np.ndarray, params: np.ndarray) -> np.ndarray:
    eta = np.column_stack([np.zeros(len(x)), np.column_stack([np.ones(len(x)), x]) @ params])
    return np.exp(eta - special.logsumexp(eta, axis=1, keepdims=True))


def propensity(
    df: pd.DataFrame,
    covariates: Sequence[str] | str,
    treatment: str = "tier",
    estimand: Estimand = "ATE",
    focal: str | None = None,
    missing: Missing = "error",
) -> Propensity:
    """Fit a propensity model of the treatment (tier) on covariates.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per unit of comparison, e.g. :func:`sclero_analysis.relapse_frame` (lines).
    covariates : list of str or str
        Covariate columns, or a formula right-hand side (``"age_at_diagnosis_years + mrss +
        C(line)"``); categorical and boolean columns are expanded as in regression.
    treatment : str
        Treatment column (default ``tier``); its first present level is the reference.
    estimand : {"ATE", "ATT", "ATO"}
        Average treatment effect (inverse probability weights), effect in the treated
        ``focal`` level, or in the overlap population (Li & Li 2019 generalised overlap weights).
    focal : str, optional
        The treated level for ``ATT`` (required there).
    missing : {"error", "drop"}
        Rows with a missing covariate: an error naming the columns and counts, or left out
        with an :class:`~sclero_analysis.exceptions.ExcludedRowsWarning` (listed in
        ``.excluded``).

    Returns
    -------
    Propensity
        ``.scores``, ``.weights()``, ``.balance()``, ``.overlap()``.

    Raises
    ------
    PropensityError
        Unknown columns, missing treatment or covariates (``missing="error"``), a single level,
        a level with fewer rows than the model has parameters per level + 1, a bad ``focal``.

    Warns
    -----
    SeparationWarning
        The covariates (quasi-)perfectly predict a level; scores are bounded to [1e-6, 1].
    PositivityWarning
        Some row's score for its own level is below 0.01.

    Notes
    -----
    Logistic regression for two levels, multinomial logit otherwise (maximum likelihood by
    Newton–Raphson, statsmodels). Weights: ATE 1/e_a(x); ATT e_f(x)/e_a(x); ATO
    (1/e_a(x)) / Σ_k 1/e_k(x), which for two levels is 1 − e_a(x).

    References
    ----------
    Rosenbaum PR, Rubin DB (1983). Biometrika 70:41–55. Imbens GW (2000). Biometrika
    87:706–710. Li F, Li F (2019). Ann Appl Stat 13:2389–2415.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.load_example())
    >>> ps = sa.propensity(df, ["age_at_diagnosis_years", "mrss", "neuro", "cardiac"],
    ...                    missing="drop")  # doctest: +SKIP
    >>> ps.balance().summary  # doctest: +SKIP
    """
    check_estimand(estimand)
    if not df.index.is_unique:
        raise PropensityError("the frame's index has duplicate labels; weights are matched to rows "
                              "by index: call df.reset_index(drop=True) first")
    names, formula = covariate_formula(df, covariates)
    rows = _complete_rows(df, names, missing)
    excluded = df.index.difference(rows.index, sort=False)
    tier = _treatment(rows, treatment)
    levels = [str(c) for c in tier.cat.categories]
    if estimand == "ATT" and focal not in levels:
        raise PropensityError(f"estimand='ATT' needs focal= one of {levels} (got {focal!r})")
    design = design_matrix(rows, formula)
    _check_sizes(tier, design.matrix.shape[1])
    params, separated = _fit(design.matrix, tier.cat.codes.to_numpy(), len(levels))
    scores = _scores(design.matrix, params)
    separated = separated or bool(scores.min() < 1e-10)
    if separated:
        warnings.warn(
            "the propensity model separates: the covariates (nearly) perfectly predict the "
            "tier, so tiers do not overlap; scores are bounded to [1e-6, 1]. Drop or coarsen "
            "the separating covariate, compare tiers that overlap, or trim the weights",
            SeparationWarning, stacklevel=2)
        scores = np.clip(scores, SCORE_FLOOR, 1.0)
        scores /= scores.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(scores, index=rows.index, columns=levels)
    coefficients = pd.DataFrame(params, index=["Intercept", *design.columns], columns=levels[1:])
    result = Propensity(frame, tier, rows[names], coefficients, estimand, focal, excluded, separated)
    positivity_check(result.own_score, tier, MIN_SCORE)
    return result

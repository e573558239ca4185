"""Pool single-arm proportions (response rates) across sources: ``sa.pool_proportions``.

A source is a published case report (n = 1), a case series, or a registry (one row per source or
site). Each group of sources (``by``) is pooled by a binomial-normal GLMM or by inverse-variance
random-effects methods (``docs/methods.md`` §15); moderators fit a
meta-regression, e.g. case reports against series.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from sclero_analysis.evidence.design import design_matrix, estimable
from sclero_analysis.evidence.fitting import METHODS, Caveats, Method, fit_group
from sclero_analysis.evidence.inference import PooledFit, Test, coefficient_table, moderator_test, prediction
from sclero_analysis.evidence.inputs import EVENTS, STUDY, N, PoolingError, PoolingInput, checked_input
from sclero_analysis.evidence.inverse_variance import ft_back
from sclero_analysis.evidence.quadrature import Binomial
from sclero_analysis.evidence.result import PooledProportions
from sclero_analysis.exceptions import SmallSampleWarning

TESTS = ("z", "t", "knha")
GLMM_COLUMNS = ("q_wald", "q_wald_p", "q_lrt", "q_lrt_p")
IV_COLUMNS = ("i2", "q", "q_p")


def _check_options(method: str, test: str, conf_level: float) -> None:
    if method not in METHODS:
        raise PoolingError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if test not in TESTS:
        raise PoolingError(f"test must be one of {', '.join(TESTS)}; got {test!r}")
    if test == "knha" and method == "glmm":
        raise PoolingError("test='knha' (Knapp-Hartung) rescales inverse-variance weights; with "
                           "method='glmm' use test='z' or test='t'")
    if not 0 < conf_level < 1:
        raise PoolingError(f"conf_level must lie strictly between 0 and 1; got {conf_level!r}")


def clopper_pearson(x: np.ndarray, n: np.ndarray, conf_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval of each proportion ``x / n``.

    Examples
    --------
    >>> lower, upper = clopper_pearson(np.array([0, 1]), np.array([1, 1]), 0.95)
    >>> lower.round(6).tolist(), upper.round(6).tolist()
    ([0.0, 0.025], [0.975, 1.0])
    """
    alpha = 1 - conf_level
    x, n = np.asarray(x, float), np.asarray(n, float)
    with np.errstate(invalid="ignore"):
        lower = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n - x + 1), 0.0)
        upper = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, n - x), 1.0)
    return lower, upper


def _pooled_row(fit: PooledFit, data: Binomial, method: Method, conf_level: float) -> dict:
    """Summary columns of one group's intercept-only fit."""
    pred = prediction(fit, np.ones(1), conf_level)
    scale = ["estimate", "lower", "upper", "pi_lower", "pi_upper"]
    if method == "pft":
        back = {key: float(ft_back(pred[key], data.n)) for key in scale}
    else:
        back = {key: float(special.expit(pred[key])) for key in scale}
    row = {"k": len(data.x), "n": int(data.n.sum()), "events": int(data.x.sum()),
           "proportion": back["estimate"], "lower": back["lower"], "upper": back["upper"],
           "pi_lower": back["pi_lower"], "pi_upper": back["pi_upper"],
           "logit": np.nan if method == "pft" else pred["estimate"], "se": pred["se"],
           "tau2": fit.tau2}
    if method == "pft":
        row["ft"] = pred["estimate"]
    for column in GLMM_COLUMNS if method == "glmm" else IV_COLUMNS:
        row[column] = fit.heterogeneity[column]
    row["penalised"] = fit.penalised
    return row


def _study_rows(frame: pd.DataFrame, spec: PoolingInput, fit: PooledFit, conf_level: float) -> pd.DataFrame:
    x, n = frame[spec.events].to_numpy(), frame[spec.n].to_numpy()
    lower, upper = clopper_pearson(x, n, conf_level)
    rows = frame[[*spec.by, spec.study]].copy()
    rows.columns = [*spec.by, "study"]
    return rows.assign(events=x, n=n, proportion=x / n, lower=lower, upper=upper, weight=fit.weights)


def _moderator_rows(frame: pd.DataFrame, data: Binomial, spec: PoolingInput, method: Method,
                    test: Test, conf_level: float, where: str, caveats: Caveats) -> pd.DataFrame | None:
    design, terms = design_matrix(frame, spec.moderators)
    if not estimable(frame, spec.moderators, design):
        caveats.append((SmallSampleWarning, f"{where}: the meta-regression on "
                        f"{', '.join(spec.moderators)} cannot be fitted ({len(frame)} sources, "
                        f"{design.shape[1]} coefficients, or a moderator with a single value); no "
                        "rows in .moderators"))
        return None
    fit = fit_group(data, design, method, test, f"{where} (meta-regression)", caveats)
    table = coefficient_table(fit, terms, conf_level)
    qm, qm_df, qm_p = moderator_test(fit)
    return table.assign(tau2=fit.tau2, qm=qm, qm_df=qm_df, qm_p=qm_p, penalised=fit.penalised)


def _groups(spec: PoolingInput) -> list[tuple[dict, pd.DataFrame]]:
    if not spec.by:
        return [({}, spec.frame)]
    grouped = spec.frame.groupby(spec.by, sort=True, observed=True)
    return [(dict(zip(spec.by, key, strict=True)), part) for key, part in grouped]


def pool_proportions(df: pd.DataFrame, events: str = EVENTS, n: str = N, study: str = STUDY,
                     by: str | Sequence[str] | None = None, method: Method = "glmm", test: Test = "z",
                     conf_level: float = 0.95,
                     moderators: str | Sequence[str] | None = None) -> PooledProportions:
    """Pool proportions (e.g. response rates) across sources, per group, with a random-effects model.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per source (and group): a case report is a source with ``n = 1``; a registry
        enters as one row per source or site.
    events, n, study : str
        Columns with the number of responders, the number of patients (>= 1) and the source id.
    by : str or list of str, optional
        Pool separately within each combination of these columns (e.g. ``"treatment"``).
    method : {"glmm", "reml", "dl", "pm", "pft"}
        ``glmm``: binomial-normal model by maximum likelihood (7-point adaptive Gauss-Hermite),
        as ``metafor::rma.glmm(measure="PLO")``. ``reml``, ``dl``, ``pm``: inverse-variance
        random effects on the logit scale (1/2 added to both cells of sources with 0 or n
        responders), as ``metafor::rma(measure="PLO")``. ``pft``: Freeman-Tukey double arcsine,
        REML, back-transformed with the harmonic mean of ``n``; offered for comparison, not
        recommended (its back-transformation is unreliable for pooled proportions).
    test : {"z", "t", "knha"}
        z tests and intervals; ``t`` on ``k - p`` degrees of freedom; ``knha``: Knapp-Hartung
        (inverse-variance methods only).
    conf_level : float
        Level of confidence and prediction intervals.
    moderators : str or list of str, optional
        Also fit a meta-regression on these columns (e.g. ``"source_type"``: case report vs
        series vs registry); results in ``.moderators``.

    Returns
    -------
    PooledProportions
        ``.summary`` (one row per group): ``k, n, events, proportion, lower, upper, pi_lower,
        pi_upper, logit, se, tau2`` plus ``q_wald, q_wald_p, q_lrt, q_lrt_p`` (glmm) or ``i2, q,
        q_p`` (inverse variance), ``ft`` (pft: the pooled double arcsine; ``logit`` is then NaN and
        ``se``, ``tau2`` are on that scale) and ``penalised``. ``.studies``: each source's
        ``events, n, proportion`` with its Clopper-Pearson interval and ``weight`` (percent of
        its group). ``.moderators``: ``term, coef, se, stat, p, lower, upper, tau2, qm, qm_df,
        qm_p`` per group. ``.plot()`` draws the forest plot.

    Raises
    ------
    PoolingError
        Bad counts, missing study ids, repeated ids, several response definitions (a
        ``response_definition`` column) pooled together without ``by`` or ``moderators``
        including it, unknown options.

    Warns
    -----
    SeparationWarning
        GLMM with no finite maximum likelihood (every source responds, none does, or the
        between-source variance grows without bound): a penalised likelihood is maximised
        instead, ``log L - sum(beta^2) / (2 * 2.5^2) - tau`` (normal N(0, 2.5^2) prior on the
        logit coefficients, exponential(1) on ``tau``), and ``penalised`` is True.
    SmallSampleWarning
        One source, or only single-patient sources (GLMM): ``tau^2`` is set to 0.

    Notes
    -----
    The GLMM's ``proportion`` is the inverse logit of the mean logit, i.e. the median source's
    proportion. Its prediction interval is ``logit +/- crit * sqrt(se^2 + tau^2)`` back-transformed,
    where it will fall for a new source. Weights: ``1 / (v + tau^2)`` for inverse-variance
    methods; for the GLMM each source's observed information about its own logit.

    Methods, their R equivalents and edge cases: ``docs/methods.md`` §15.

    References
    ----------
    Hamza TH, van Houwelingen HC, Stijnen T. The binomial distribution of meta-analysis was
    preferred to model within-study variability. J Clin Epidemiol 2008;61:41-51.

    Stijnen T, Hamza TH, Ozdemir P. Random effects meta-analysis of event outcome in the framework
    of the generalized linear mixed model with applications in sparse data. Stat Med
    2010;29:3046-3067.

    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48.

    Gelman A, Jakulin A, Pittau MG, Su YS. A weakly informative default prior distribution for
    logistic and other regression models. Ann Appl Stat 2008;2:1360-1383.

    Schwarzer G, Chemaitelly H, Abu-Raddad LJ, Rucker G. Seriously misleading results using inverse
    of Freeman-Tukey double arcsine transformation in meta-analysis of single proportions. Res
    Synth Methods 2019;10:476-483.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"study": ["A", "B", "C", "D"], "events": [4, 9, 2, 7], "n": [10, 12, 9, 8]})
    >>> pooled = pool_proportions(table)
    >>> pooled.summary[["k", "proportion", "lower", "upper"]].round(3).to_dict("records")
    [{'k': 4, 'proportion': 0.574, 'lower': 0.289, 'upper': 0.818}]
    """
    _check_options(method, test, conf_level)
    spec = checked_input(df, events, n, study, by, moderators)
    summaries, studies, coefficients, caveats = [], [], [], []
    for keys, frame in _groups(spec):
        where = ", ".join(f"{k}={v!r}" for k, v in keys.items()) or "all sources"
        data = Binomial(frame[spec.events].to_numpy(float), frame[spec.n].to_numpy(float))
        fit = fit_group(data, np.ones((len(frame), 1)), method, test, where, caveats)
        summaries.append({**keys, **_pooled_row(fit, data, method, conf_level)})
        studies.append(_study_rows(frame, spec, fit, conf_level))
        if spec.moderators:
            table = _moderator_rows(frame, data, spec, method, test, conf_level, where, caveats)
            if table is not None:
                coefficients.append(table.assign(**keys)[[*keys, *table.columns]])
    for category, message in caveats:
        warnings.warn(message, category, stacklevel=2)
    moderator_table = None
    if spec.moderators:
        moderator_table = pd.concat(coefficients, ignore_index=True) if coefficients else pd.DataFrame()
    return PooledProportions(summary=pd.DataFrame(summaries), studies=pd.concat(studies, ignore_index=True),
                             moderators=moderator_table, method=method, test=test, conf_level=conf_level,
                             by=tuple(spec.by))

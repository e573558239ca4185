"""Fit one pooling model in one group of sources, with the caveats it must not hide.

The binomial-normal GLMM falls back to its penalised likelihood when the maximum likelihood is
at infinity (``SeparationWarning``); a single source, or single-patient sources only, leave the
between-source variance unidentifiable and it is set to 0 (``SmallSampleWarning``). The
inverse-variance methods follow ``metafor::rma`` (``tau^2 = 0`` and a z test for one source).
Caveats are appended to a list (category, message) for the public function to issue, so that
each warning points at the user's call.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from sclero_analysis.evidence.glmm import PRIOR_SD, fit_glmm
from sclero_analysis.evidence.heterogeneity import heterogeneity_tests
from sclero_analysis.evidence.inference import PooledFit, Test
from sclero_analysis.evidence.inputs import PoolingError
from sclero_analysis.evidence.inverse_variance import effect_sizes, fit_inverse_variance
from sclero_analysis.evidence.quadrature import Binomial
from sclero_analysis.exceptions import SeparationWarning, SmallSampleWarning

Method = Literal["glmm", "reml", "dl", "pm", "pft"]
METHODS = ("glmm", "reml", "dl", "pm", "pft")
Caveats = list[tuple[type[Warning], str]]


def _no_finite_maximum(data: Binomial) -> str | None:
    if (data.x == data.n).all():
        return "every source reports every patient responding"
    if (data.x == 0).all():
        return "no source reports a responder"
    return None


def _penalised_caveat(where: str, reason: str) -> tuple[type[Warning], str]:
    return SeparationWarning, (
        f"{where}: the maximum likelihood is at infinity ({reason}); the estimate is a penalised "
        f"likelihood one (normal prior N(0, {PRIOR_SD}^2) on the logit, exponential(1) on tau), "
        "finite but pulled toward 50%; read its interval, not its point")


def _identifiable(data: Binomial, design: np.ndarray, where: str, caveats: Caveats) -> bool:
    """Whether tau can be estimated; a caveat when it cannot."""
    k, p = design.shape
    if k == 1:
        caveats.append((SmallSampleWarning, f"{where}: a single source; its proportion is the pooled "
                        "one and the between-source variance cannot be estimated (tau^2 = 0)"))
        return False
    if (data.n == 1).all():
        caveats.append((SmallSampleWarning, f"{where}: only single-patient sources (case reports); "
                        "the between-source variance cannot be told apart from the mean, tau^2 is set "
                        "to 0 and the prediction interval equals the confidence interval"))
        return False
    return k > p


def fit_glmm_group(data: Binomial, design: np.ndarray, test: Test, where: str,
                   caveats: Caveats) -> PooledFit:
    """Binomial-normal model (penalised when needed) with Wald and LR heterogeneity tests."""
    random = _identifiable(data, design, where, caveats)
    reason = _no_finite_maximum(data)
    fit = None if reason else fit_glmm(data, design, random=random)
    if fit is None:
        caveats.append(_penalised_caveat(where, reason or "a logit or the between-source variance "
                                         "grows without bound"))
        fit = fit_glmm(data, design, random=random, penalised=True)
    if fit is None:
        raise PoolingError(f"{where}: the penalised binomial-normal model did not converge; pool these "
                           "sources with an inverse-variance method (method='reml')")
    k, p = design.shape
    return PooledFit(beta=fit.beta, vcov=fit.vcov, tau2=fit.tau2, df=k - p, test=test if k > 1 else "z",
                     weights=100 * fit.information / fit.information.sum(),
                     heterogeneity=heterogeneity_tests(data, design), penalised=fit.penalised)


def fit_group(data: Binomial, design: np.ndarray, method: Method, test: Test, where: str,
              caveats: Caveats) -> PooledFit:
    """Fit ``method`` to one group of sources; caveats (naming the group ``where``) go to ``caveats``.

    Examples
    --------
    >>> data = Binomial(np.array([4.0, 9.0, 2.0, 7.0]), np.array([10.0, 12.0, 9.0, 8.0]))
    >>> fit = fit_group(data, np.ones((4, 1)), "dl", "z", "all sources", caveats=[])
    >>> round(float(fit.beta[0]), 4), round(fit.tau2, 4), round(fit.heterogeneity["i2"], 1)
    (0.255, 1.106, 65.3)
    """
    if method == "glmm":
        return fit_glmm_group(data, design, test, where, caveats)
    if design.shape[0] == 1:
        _identifiable(data, design, where, caveats)
    y, v = effect_sizes(data, "PFT" if method == "pft" else "PLO")
    estimator = "reml" if method == "pft" else method
    fit = fit_inverse_variance(y, v, design, estimator, test if design.shape[0] > 1 else "z")
    if test == "knha" and fit.df >= 1 and not np.any(fit.se > 0):
        caveats.append((SmallSampleWarning, f"{where}: every source has the same estimate, so the "
                        "Knapp-Hartung standard error is 0 (as metafor); use test='z'"))
    return fit

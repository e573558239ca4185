"""Compiled arithmetic of the clinical pathway (Numba): one line of therapy for every patient.

The random numbers are drawn in :mod:`~sclero_analysis.synthetic.pathway`, always in the same
order from the registry's own generator; this module turns them, row by row, into the line's
tier, best response, competing exits and the state the next line starts from. The scalar
pieces (whole days, the true linear predictor, the Weibull relapse time with the IVIG-stop
multiplier) are also what the counterfactual truth uses, so the model is written once.

Every operation is the one NumPy's element-wise code performs, in the same order (including
NumPy's shortcuts for ``x ** 2``, ``x ** 0.5`` …), and exp, log and pow come from the same C
library where NumPy has no SIMD version of its own, so the compiled pathway reproduces the
vectorised one it replaced; ``tests/test_synthetic.py`` checks the shipped registry byte for
byte. (Where NumPy uses its AVX-512 exp/log, a result may differ in the last bit, which moves
a whole day or a response only if it sits exactly on the boundary.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import typeof, types

from sclero_analysis._compiled import B1, F8, I8, helper, kernel, read, write
from sclero_analysis.conventions import DAYS_PER_MONTH


class PathwayParams(NamedTuple):
    """The design's numbers the kernel reads (from :func:`pathway_params`)."""

    confounding: bool
    tier_cdf: np.ndarray  # (4,) cumulative random_tier_mix (tiers without confounding)
    first_line_immuno_logit: float
    escalation_logit: float
    severity_on_escalation: float
    nonresponse_on_escalation: float
    response_table: np.ndarray  # (4, 4) CR, PR, SD, PD probabilities per tier
    severity_on_response: float
    ivig_stop_per_month: float
    switch_per_month: float
    treatment_death_per_month: float
    ecp_fraction: float
    regimen_cdf: np.ndarray  # (4, k) normalised cumulative regimen weights per tier, inf-padded
    relapse: np.ndarray  # (3,) Weibull shape, scale (months), IVIG-stop hazard ratio
    hazard: np.ndarray  # (10,) see linear_predictor_kernel
    early_escalation_logit: float
    severity_on_early_escalation: float
    early_cytoreduction_logit: float
    forced: int  # 0 the clinical pathway; a FORCED strategy (the counterfactual truth)
    forced_month: int  # the review month of FORCED_ESCALATE


#: Strategies the pathway can be forced to follow (``PathwayParams.forced``): every first line on
#: IVIG and never escalated before a relapse; escalated at the review of ``forced_month`` when
#: without PR or better by then; cytoreduction first when severe (else never escalated).
FORCED_NONE, FORCED_NEVER, FORCED_ESCALATE, FORCED_CYTOREDUCTION = 0, 1, 2, 3
#: Monthly reviews of a relapse-free patient on IVIG: months 2 to 5 after the first line's start
#: (an escalation decided at month m starts before m + 1 months).
REVIEW_MONTHS = (2, 3, 4, 5)


def pathway_params(design, regimen_weights, forced: int = FORCED_NONE,
                   forced_month: int = 3) -> PathwayParams:
    """Collect the kernel's parameters from a ``RegistryDesign`` and the regimens' weights.

    ``forced`` (one of the ``FORCED_*`` codes) replaces the clinical decisions of the first
    lines by a strategy, for the counterfactual truth.
    """
    width = max(len(w) for w in regimen_weights)
    regimen_cdf = np.full((4, width), np.inf)
    for level, weights in enumerate(regimen_weights):  # as Generator.choice(p=...) builds it
        cdf = np.asarray(weights, float).cumsum()
        regimen_cdf[level, :len(cdf)] = cdf / cdf[-1]
    responses = np.array([design.response_ivig, design.response_immunosuppression,
                          design.response_cytoreduction, design.response_other], float)
    return PathwayParams(
        bool(design.confounding), np.cumsum(np.asarray(design.random_tier_mix, float)),
        float(design.first_line_immuno_logit),
        float(design.escalation_logit), float(design.severity_on_escalation),
        float(design.nonresponse_on_escalation), responses, float(design.severity_on_response),
        float(design.ivig_stop_per_month), float(design.switch_per_month),
        float(design.treatment_death_per_year / 12), float(design.ecp_fraction), regimen_cdf,
        relapse_params(design), hazard_params(design), float(design.early_escalation_logit),
        float(design.severity_on_early_escalation), float(design.early_cytoreduction_logit), int(forced),
        int(forced_month))


def relapse_params(design) -> np.ndarray:
    """Weibull shape, scale (months) and the hazard ratio after an IVIG stop."""
    return np.array([design.relapse_shape, design.relapse_scale_months, design.ivig_stop_hr], float)


def hazard_params(design) -> np.ndarray:
    """Tier log-HRs (IVIG 0) and the covariates' log-HRs and centres, as the kernels read them."""
    return np.array([0.0, design.log_hr_immunosuppression, design.log_hr_cytoreduction, design.log_hr_other,
                     design.log_hr_age_per_10y, design.age_mean_years, design.log_hr_mrss_per_point,
                     design.mrss_mean, design.log_hr_neuro, design.log_hr_cardiac], float)


# ----------------------------------------------------------------------------- scalar pieces

@helper
def whole_days(months):
    """Return a duration in months as whole days, at least one (a non-finite duration: inf)."""
    days = np.ceil(months * DAYS_PER_MONTH)
    return max(days, 1.0) if np.isfinite(days) else np.inf


@helper
def _power(x, exponent):
    """``x ** exponent`` as NumPy computes an array to a scalar power (its exact shortcuts)."""
    if exponent == 2.0:
        return x * x
    if exponent == 0.5:
        return np.sqrt(x)
    if exponent == 1.0:
        return x
    if exponent == -1.0:
        return 1.0 / x
    if exponent == 0.0:
        return 1.0
    return x**exponent


@helper
def _expit(x):
    return 1 / (1 + np.exp(-x))


@helper
def _waiting(draw, rate):
    """Return a unit exponential draw as a waiting time at ``rate`` (a zero rate: never, inf)."""
    return draw / rate if rate > 0 else np.inf


@helper
def log_hazard(hazard, tier, age, mrss_true, neuro, cardiac):
    """Return the true conditional log relapse hazard of one line (vs an average IVIG patient)."""
    return (hazard[tier] + hazard[4] * (age - hazard[5]) / 10 + hazard[6] * (mrss_true - hazard[7])
            + hazard[8] * neuro + hazard[9] * cardiac)


@helper
def relapse_month(relapse, lp, frailty, is_ivig, stop_months, uniform):
    """Invert the cumulative Weibull hazard, multiplied by the IVIG-stop HR after a stop.

    H(t) = u·e^lp·(t/scale)^shape, the multiplier applying to (t/scale)^shape −
    (S/scale)^shape after the maintenance stop S of an IVIG line.
    """
    rho, scale, hr = relapse[0], relapse[1], relapse[2]
    target = -np.log1p(-uniform) / (frailty * np.exp(lp))
    before_stop = _power(stop_months / scale, rho) if is_ivig else np.inf
    base = before_stop + (target - before_stop) / hr if target > before_stop else target
    return _power(base, 1 / rho) * scale


# ----------------------------------------------------------------------------- array forms

@kernel(F8[::1](read(F8, 1)))
def days_array(months):
    """:func:`whole_days` of every element (1-D)."""
    out = np.empty(months.shape[0])
    for i in range(months.shape[0]):
        out[i] = whole_days(months[i])
    return out


# hazard and relapse are typed writable, as in PathwayParams: log_hazard and relapse_month compile once
@kernel(F8[::1](write(F8, 1), read(I8, 1), read(F8, 1), read(F8, 1), read(F8, 1), read(F8, 1)))
def linear_predictor_kernel(hazard, tier, age, mrss_true, neuro, cardiac):
    """:func:`log_hazard` of every line (1-D arrays of equal length)."""
    out = np.empty(tier.shape[0])
    for i in range(tier.shape[0]):
        out[i] = log_hazard(hazard, tier[i], age[i], mrss_true[i], neuro[i], cardiac[i])
    return out


@kernel(F8[::1](write(F8, 1), read(F8, 1), read(F8, 1), read(B1, 1), read(F8, 1), read(F8, 1)))
def relapse_months_kernel(relapse, lp, frailty, is_ivig, stop_months, uniform):
    """:func:`relapse_month` of every line (1-D arrays of equal length)."""
    out = np.empty(lp.shape[0])
    for i in range(lp.shape[0]):
        out[i] = relapse_month(relapse, lp[i], frailty[i], is_ivig[i], stop_months[i], uniform[i])
    return out


# ----------------------------------------------------------------------------- one line

@helper
def _first_tier(params, u, recorded, severe):
    """Return the first line's tier: the forced strategy's, or from the recorded severity only.

    Cytoreduction for some severe patients, else IVIG (glucocorticoids added for some).
    """
    if params.forced != FORCED_NONE:
        return 2 if params.forced == FORCED_CYTOREDUCTION and severe else 0
    p_cyto = 0.0
    if severe:
        p_cyto = _expit(params.early_cytoreduction_logit + params.severity_on_early_escalation * recorded)
    p_immuno = _expit(params.first_line_immuno_logit + params.severity_on_escalation * recorded)
    if u < p_cyto:
        return 2
    return 1 if u < p_cyto + (1 - p_cyto) * p_immuno else 0


@helper
def _tier(params, k, u, severity, recorded, severe, tier_before, nonresponse, after_event):
    """Tier of line k: the pathway (confounded by indication) or, without confounding, at random.

    After an early escalation (no relapse), ``tier_before`` already holds the escalated tier.
    """
    if k == 0 and (params.confounding or params.forced != FORCED_NONE):
        return _first_tier(params, u, recorded, severe)
    if not params.confounding and params.forced == FORCED_NONE:
        count = 0
        for c in range(params.tier_cdf.shape[0]):
            count += params.tier_cdf[c] <= u
        return min(count, 3)
    logit = (params.escalation_logit + params.severity_on_escalation * severity
             + params.nonresponse_on_escalation * (1.0 if nonresponse else 0.0))
    return min(tier_before + 1, 3) if after_event and u < _expit(logit) else tier_before


@helper
def _response(params, tier, intercept, severity, rank):
    """Best response (0 CR, 1 PR, 2 SD, 3 PD) from the copula's rank (see ``pathway._responses``)."""
    table = params.response_table[tier]
    respond = table[0] + table[1]
    p_respond = _expit(intercept + params.severity_on_response * severity)
    p_cr = p_respond * table[0] / max(respond, 1e-12)
    p_sd = (1 - p_respond) * table[2] / max(1 - respond, 1e-12)
    if rank < p_cr:
        return 0
    if rank < p_respond:
        return 1
    return 2 if rank < p_respond + p_sd else 3


@helper
def _regimens(params, tier, u, regimen):
    """Regimen index within each line's tier: Generator.choice's draws, tier by tier in row order."""
    offset = np.zeros(5, np.int64)
    for i in range(tier.shape[0]):
        offset[tier[i] + 1] += 1
    for level in range(4):
        offset[level + 1] += offset[level]
    for i in range(tier.shape[0]):
        draw = u[offset[tier[i]]]
        offset[tier[i]] += 1
        cdf = params.regimen_cdf[tier[i]]
        count = 0
        for c in range(cdf.shape[0]):
            count += cdf[c] <= draw
        regimen[i] = count


@helper
def _review_escalation(params, draws, i, start, time0, exit_after, response_day, recorded):
    """Days from the line's start to an early escalation decided at a monthly review (inf: none).

    At the review of month m (2-5 months after the first line's start), a patient without PR or
    better by m months gets immunosuppression added with probability expit(logit + b·recorded
    severity) (``draws[7 + m]`` decides), started on the last whole day of that month (before
    m + 1 months, so within a 1-month grace period); a forced escalation strategy escalates
    whoever has no response at the review of its month. Reviews stop at the line's first other
    exit, or once the patient has responded.
    """
    if params.forced == FORCED_NEVER or params.forced == FORCED_CYTOREDUCTION:
        return np.inf
    if params.forced == FORCED_NONE and not params.confounding:
        return np.inf
    p = _expit(params.early_escalation_logit + params.severity_on_early_escalation * recorded)
    for m in REVIEW_MONTHS:
        review = time0 + np.floor((m + 1) * DAYS_PER_MONTH) - start
        if review >= exit_after:
            return np.inf
        if response_day >= 0 and response_day <= time0 + m * DAYS_PER_MONTH:
            return np.inf
        if review <= 0:
            continue
        if params.forced == FORCED_ESCALATE:
            if m == params.forced_month:
                return review
        elif draws[7 + m, i] < p:
            return review
    return np.inf


#: The type of :class:`PathwayParams` as the line kernel reads it.
PARAMS_TYPE = typeof(PathwayParams(False, np.zeros(4), 0.0, 0.0, 0.0, 0.0, np.zeros((4, 4)), 0.0, 0.0, 0.0,
                                   0.0, 0.0, np.zeros((4, 2)), np.zeros(3), np.zeros(10), 0.0, 0.0, 0.0,
                                   0, 0))
LINE_SIGNATURE = types.void(
    PARAMS_TYPE, I8, B1, read(I8, 1), read(F8, 2), read(F8, 1), read(F8, 2), read(F8, 1),  # params ...
    write(F8, 1), write(B1, 1), write(I8, 1), write(B1, 1), write(B1, 1), write(F8, 1),  # the patients' state
    write(B1, 1), write(F8, 2), write(I8, 2),  # relapse_free; out_float, out_int
)


@kernel(LINE_SIGNATURE)
def line_kernel(params, k, last_line, rows, draws, rank, cohort, intercepts,  # noqa: C901
                day, active, tier_before, nonresponse, after_event, death_day, relapse_free, out_float,
                out_int):
    """Line ``k`` of every patient in ``rows``: tier, response and exits; the state updated in place.

    Parameters
    ----------
    draws : (13, m) the line's random numbers as drawn: tier uniform, relapse uniform, unit
        exponentials of the IVIG stop, the switch and a treatment-related death, the response
        delay, the gap before the next line, the ECP uniform, the regimen uniform and the
        uniforms of the reviews at months 2, 3, 4, 5.
    rank : (m,) the copula rank ordering each response with its relapse draw.
    cohort : (10, n) severity, age, true mRSS, neuro, cardiac, frailty, censoring day, recorded
        severity, severe (0/1), the first line's start day (time zero of the strategies).
    intercepts : (4,) the tiers' response intercepts (logit scale).
    day, active, tier_before, nonresponse, after_event, death_day : (n,) the patients' state:
        next line's start day, still in follow-up, previous tier, previous line without a
        response, previous line ended by relapse or progression, death day; ``relapse_free``:
        no relapse or progression yet (early escalations happen only then).
    out_float : (4, m) written: start, end, response day, event day (−1 where absent).
    out_int : (5, m) written: tier, response (0 CR … 3 PD), regimen, ECP, treatment death.
    """
    severity, age, mrss_true, neuro, cardiac = cohort[0], cohort[1], cohort[2], cohort[3], cohort[4]
    frailty, censor_day, recorded, severe, time0 = cohort[5], cohort[6], cohort[7], cohort[8], cohort[9]
    switch_rate = 0.0 if last_line else params.switch_per_month
    for i in range(rows.shape[0]):
        r = rows[i]
        tier = _tier(params, k, draws[0, i], severity[r], recorded[r], severe[r] > 0, tier_before[r],
                     nonresponse[r], after_event[r])
        response = _response(params, tier, intercepts[tier], severity[r], rank[i])
        start = day[r]
        stop_months = _waiting(draws[2, i], params.ivig_stop_per_month)
        lp = log_hazard(params.hazard, tier, age[r], mrss_true[r], neuro[r], cardiac[r])
        relapse = whole_days(relapse_month(params.relapse, lp, frailty[r], tier == 0, stop_months,
                                           draws[1, i]))
        switch = whole_days(_waiting(draws[3, i], switch_rate))
        toxic = whole_days(_waiting(draws[4, i], params.treatment_death_per_month)) if tier == 2 else np.inf
        limit = min(death_day[r], censor_day[r]) - start
        exit_after = min(min(min(relapse, switch), toxic), limit)
        responder = response <= 1
        delay = whole_days(draws[5, i])
        response_day = start + min(max(delay, 0.0), max(exit_after - 1, 0.0)) if responder else -1.0
        escalation = np.inf
        if tier == 0 and relapse_free[r] and not last_line:
            escalation = _review_escalation(params, draws, i, start, time0[r], exit_after, response_day,
                                            recorded[r])
        escalated = escalation < exit_after
        if escalated:  # immunosuppression added: this line's best response is the one by then
            exit_after = escalation
            if responder and delay > escalation - 1:
                response, responder, response_day = 2, False, -1.0
        relapsed = relapse <= exit_after
        toxic_death = not relapsed and toxic <= exit_after and toxic < limit
        switched = escalated or (not relapsed and not toxic_death and switch <= exit_after and switch < limit)
        if toxic_death:
            death_day[r] = start + toxic
        event_day = start + relapse if relapsed else -1.0
        gap = np.floor(draws[6, i])
        next_start = event_day + gap if relapsed else (start + exit_after if switched else np.inf)
        continues = next_start < min(death_day[r], censor_day[r]) and (relapsed or switched) and not last_line
        stop_day = start + whole_days(stop_months)
        if tier == 0 and stop_day < start + exit_after:
            end = stop_day
        else:
            end = next_start if continues else (event_day if relapsed else -1.0)
        if continues:
            day[r] = next_start
        active[r] = continues
        tier_before[r] = 1 if escalated else tier
        relapse_free[r] = relapse_free[r] and not relapsed
        nonresponse[r] = not responder
        after_event[r] = relapsed
        out_float[0, i] = start
        out_float[1, i] = end
        out_float[2, i] = response_day
        out_float[3, i] = event_day
        out_int[0, i] = tier
        out_int[1, i] = response
        out_int[3, i] = 1 if draws[7, i] < params.ecp_fraction else 0
        out_int[4, i] = 1 if toxic_death else 0
    _regimens(params, out_int[0], draws[8], out_int[2])

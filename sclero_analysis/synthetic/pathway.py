"""The clinical pathway of a simulated registry, vectorised across patients.

Patients are drawn at diagnosis; lines of therapy are then generated one line number at a time
for all patients still in follow-up: tier (IVIG first, escalation driven by severity and
response), agents, best response, and the competing exits of a line (relapse or progression
from the true proportional-hazards model, a line change without relapse, treatment-related
death, death, loss to follow-up). All times are whole days from diagnosis, so every interval
is at least one day long.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from sclero_analysis.synthetic.design import RegistryDesign

DAYS_PER_MONTH = 30.4375
TIER_NAMES = ("ivig", "immunosuppression", "cytoreduction", "other")
REGIMENS = {  # agents written on a line of each tier (resolved through therapies.toml)
    0: (("IVIG",), (1.0,)),
    1: (("IVIG; prednisone", "IVIG; lenalidomide", "IVIG; thalidomide", "IVIG; dexamethasone",
         "IVIG; lenalidomide; dexamethasone"), (0.3, 0.3, 0.1, 0.15, 0.15)),
    2: (("bortezomib; dexamethasone; IVIG", "melphalan; ASCT", "melphalan; prednisone",
         "bortezomib; lenalidomide; dexamethasone"), (0.4, 0.3, 0.1, 0.2)),
    3: (("cyclosporine", "methotrexate", "interferon alfa-2b", "PUVA", "acitretin"),
        (0.25, 0.25, 0.2, 0.15, 0.15)),
}
RESPONSES = ("CR", "PR", "SD", "PD")
LINE_COLUMNS = {"patient": "int64", "line": "int64", "tier": "int64", "start": float, "end": float,
                "agents": object, "response": "int64", "response_day": float, "event_day": float,
                "event_kind": object}
INVOLVEMENT = ("neuro", "cardiac", "pulmonary", "renal", "musculoskeletal", "gastrointestinal")


def _days(months: np.ndarray) -> np.ndarray:
    """Durations in months → whole days, at least one (inf stays inf)."""
    with np.errstate(over="ignore"):  # astronomically long durations are simply never reached
        days = np.ceil(np.asarray(months, float) * DAYS_PER_MONTH)
    return np.where(np.isfinite(days), np.maximum(days, 1), np.inf)


def _exponential(rng: np.random.Generator, rate, size: int) -> np.ndarray:
    """Exponential waiting times in the unit of 1/rate; a zero rate never happens (inf)."""
    rate = np.broadcast_to(np.asarray(rate, float), (size,))
    draws = rng.exponential(1.0, size)
    with np.errstate(divide="ignore", over="ignore"):  # tiny rates: never, within any follow-up
        return np.where(rate > 0, draws / rate, np.inf)


def _expit(x):
    return 1 / (1 + np.exp(-x))


@dataclass(frozen=True)
class Cohort:
    """Patient-level draws kept for the true model and the counterfactual truth."""

    frame: pd.DataFrame | None  # patients table of the data contract; None when drawn without labels
    age: np.ndarray
    mrss: np.ndarray  # observed baseline mRSS (NaN when not recorded)
    mrss_true: np.ndarray
    neuro: np.ndarray
    cardiac: np.ndarray
    severity: np.ndarray  # standardised severity index driving escalation
    site: np.ndarray
    frailty: np.ndarray  # site frailty of each patient
    death_day: np.ndarray
    death_cause: np.ndarray
    censor_day: np.ndarray
    natural_death_day: np.ndarray  # death day without treatment-related deaths
    response_intercept: np.ndarray  # per tier: logit scale, makes the cohort average the design's


def response_intercepts(design: RegistryDesign, severity: np.ndarray) -> np.ndarray:
    """Per tier, the intercept a with mean(expit(a + b·severity)) = the design's response rate.

    So ``response_<tier>`` are the probabilities for a patient drawn from the registry, while
    sicker patients respond less (b = ``severity_on_response``). Solved by Newton's method.
    """
    intercepts = np.empty(4)
    rates = [sum(getattr(design, f"response_{t}")[:2]) for t in TIER_NAMES]
    for tier, rate in enumerate(rates):
        if rate <= 0 or rate >= 1 or len(severity) == 0:
            intercepts[tier] = -np.inf if rate <= 0 else np.inf if rate >= 1 else np.log(rate / (1 - rate))
            continue
        a = np.log(rate / (1 - rate))
        for _ in range(50):
            p = _expit(a + design.severity_on_response * severity)
            step = (p.mean() - rate) / np.mean(p * (1 - p))
            a -= step
            if abs(step) < 1e-12:
                break
        intercepts[tier] = a
    return intercepts


def linear_predictor(design: RegistryDesign, cohort: Cohort, tier: np.ndarray,
                     rows: np.ndarray) -> np.ndarray:
    """Return the true conditional log relapse hazard of ``rows`` (vs an average IVIG patient)."""
    tier_effect = np.array([0.0, design.log_hr_immunosuppression, design.log_hr_cytoreduction,
                            design.log_hr_other])
    return (tier_effect[tier]
            + design.log_hr_age_per_10y * (cohort.age[rows] - design.age_mean_years) / 10
            + design.log_hr_mrss_per_point * (cohort.mrss_true[rows] - design.mrss_mean)
            + design.log_hr_neuro * cohort.neuro[rows] + design.log_hr_cardiac * cohort.cardiac[rows])


def relapse_months(design: RegistryDesign, lp: np.ndarray, frailty: np.ndarray,
                   is_ivig: np.ndarray, stop_months: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Invert the cumulative Weibull hazard, multiplied by ``ivig_stop_hr`` after an IVIG stop.

    H(t) = u·e^lp·(t/scale)^shape, with the multiplier applying to (t/scale)^shape −
    (S/scale)^shape after the maintenance stop S of an IVIG line.
    """
    rho, scale = design.relapse_shape, design.relapse_scale_months
    with np.errstate(over="ignore", divide="ignore"):  # inf: a relapse or stop that never comes
        target = -np.log1p(-uniform) / (frailty * np.exp(lp))
        before_stop = np.where(is_ivig, (stop_months / scale) ** rho, np.inf)
        stopped = target > before_stop
        base = np.where(stopped, before_stop + (target - np.where(stopped, before_stop, 0))
                        / design.ivig_stop_hr, target)
        return base ** (1 / rho) * scale


def _lognormal_delay(design: RegistryDesign, rng: np.random.Generator, n: int) -> np.ndarray:
    sigma = np.sqrt(2 * np.log(design.delay_mean_months / design.delay_median_months))
    return rng.lognormal(np.log(design.delay_median_months), sigma, n)


def draw_cohort(design: RegistryDesign, rng: np.random.Generator, labels: bool = True) -> Cohort:
    """Draw patients at diagnosis: demographics, paraprotein, organs, skin, death, censoring.

    ``labels=False`` makes the same draws but skips the patients table (identifiers, site names,
    dates as text), which a simulation study does not need.
    """
    n = design.n_patients
    start = np.datetime64(f"{design.accrual_start_year}-01-01")
    admin_end = np.datetime64(design.admin_end)
    window = min(design.accrual_years * 365.25, float((admin_end - start).astype(int)) - 31)
    diagnosis = start + np.floor(rng.uniform(0, max(window, 1), n)).astype("timedelta64[D]")
    age = np.round(np.clip(rng.normal(design.age_mean_years, design.age_sd_years, n), 18, 95), 1)
    male = rng.uniform(size=n) < design.male_fraction
    isotypes = list(design.paraprotein_mix)
    has_mg = rng.uniform(size=n) < design.mg_fraction
    isotype = rng.choice(len(isotypes), n, p=list(design.paraprotein_mix.values()))
    organs = {name: rng.uniform(size=n) < getattr(design, f"p_{name}") for name in INVOLVEMENT}
    delay = _lognormal_delay(design, rng, n)
    mrss_true = np.round(np.clip(rng.normal(design.mrss_mean + design.mrss_per_month_delay
                                            * (delay - design.delay_mean_months), design.mrss_sd, n), 0, 51))
    mrss = np.where(rng.uniform(size=n) < design.mrss_missing, np.nan, mrss_true)
    neuro, cardiac = organs["neuro"].astype(float), organs["cardiac"].astype(float)
    raw = (mrss_true - design.mrss_mean) / design.mrss_sd + neuro + cardiac
    spread = np.sqrt(1 + design.p_neuro * (1 - design.p_neuro) + design.p_cardiac * (1 - design.p_cardiac))
    severity = (raw - design.p_neuro - design.p_cardiac) / spread
    site = rng.integers(0, design.n_sites, n)
    sigma2 = np.log1p(design.site_frailty_variance)
    frailty = np.exp(rng.normal(-sigma2 / 2, np.sqrt(sigma2), design.n_sites))[site]
    death_day, death_cause = _death(design, rng, age, neuro, cardiac)
    to_end = (admin_end - diagnosis).astype(int).astype(float)
    lost = _days(_exponential(rng, design.loss_to_followup_per_year / 12, n))
    censor_day = np.minimum(lost, to_end)
    frame = None
    if labels:
        frame = pd.DataFrame({
            "patient_id": [f"SYN{i + 1:05d}" for i in range(n)],
            "site": [f"Site {s + 1:02d}" for s in site], "sex": np.where(male, "M", "F"),
            "age_at_diagnosis_years": age, "diagnosis_date": diagnosis.astype("datetime64[ns]"),
            "paraprotein": np.where(has_mg, np.array(isotypes)[isotype], "none"), **organs, "mrss": mrss,
        })
    return Cohort(frame, age, mrss, mrss_true, neuro, cardiac, severity, site, frailty, death_day,
                  death_cause, censor_day, death_day.copy(), response_intercepts(design, severity))


def _death(design: RegistryDesign, rng: np.random.Generator, age, neuro, cardiac):
    """Death day and cause: disease-related excess for neuro/cardiac, other, malignancy."""
    n = len(age)
    excess = design.death_hr_neuro**neuro * design.death_hr_cardiac**cardiac
    age_effect = design.death_log_hr_age_per_10y * (age - design.age_mean_years) / 10
    base = design.death_per_year / 12 * np.exp(age_effect)
    general = _exponential(rng, base * excess, n)
    malignancy = _exponential(rng, design.malignancy_per_year / 12, n)
    disease_share = 1 - 0.7 / excess  # 30% of baseline deaths disease-related: assumption
    cause = np.where(rng.uniform(size=n) < disease_share, "disease",
                     np.where(rng.uniform(size=n) < 0.8, "other", "unknown"))
    cause = np.where(malignancy < general, "malignancy", cause)
    return _days(np.minimum(general, malignancy)), cause


@dataclass
class _State:
    """Per-patient state while lines are generated."""

    day: np.ndarray  # start day of the next line
    active: np.ndarray
    tier: np.ndarray
    nonresponse: np.ndarray
    after_event: np.ndarray
    death_day: np.ndarray
    death_cause: np.ndarray


def _next_tier(design: RegistryDesign, rng, cohort: Cohort, state: _State, rows, k: int):
    """Tier of line k: the pathway (confounded by indication) or, without confounding, at random."""
    uniform = rng.uniform(size=len(rows))
    if not design.confounding:  # every line's tier independent of severity and history
        return np.searchsorted(np.cumsum(design.random_tier_mix), uniform, side="right").clip(0, 3)
    if k == 0:
        logit = design.first_line_immuno_logit + design.severity_on_escalation * cohort.severity[rows]
        return np.where(uniform < _expit(logit), 1, 0)
    logit = (design.escalation_logit + design.severity_on_escalation * cohort.severity[rows]
             + design.nonresponse_on_escalation * state.nonresponse[rows])
    escalate = state.after_event[rows] & (uniform < _expit(logit))
    return np.where(escalate, np.minimum(state.tier[rows] + 1, 3), state.tier[rows])


def _responses(design: RegistryDesign, rng, cohort: Cohort, tier, rows, relapse_uniform) -> np.ndarray:
    """Best response per line, ordered with the line's relapse draw by a Gaussian copula.

    The latest relapses tend to follow complete responses, then partial ones, the earliest
    stable or progressive disease. Each response keeps its probability (by tier and severity,
    averaging to the design's rate over the registry's patients) and the relapse time its
    proportional-hazards distribution; only their dependence is added.
    """
    table = np.array([design.response_ivig, design.response_immunosuppression,
                      design.response_cytoreduction, design.response_other])[tier]
    respond = table[:, 0] + table[:, 1]
    with np.errstate(invalid="ignore"):  # ±inf intercepts (rates 0 or 1) give exactly 0 or 1
        p_respond = _expit(cohort.response_intercept[tier]
                           + design.severity_on_response * cohort.severity[rows])
    rho = design.response_relapse_correlation
    late = special.ndtri(np.clip(relapse_uniform, 1e-12, 1 - 1e-12))  # normal quantile: late relapse
    latent = rho * late + np.sqrt(1 - rho**2) * rng.standard_normal(len(rows))
    rank = special.ndtr(-latent)  # the normal survival function: uniform, small for late relapses
    p_cr = p_respond * table[:, 0] / np.maximum(respond, 1e-12)
    p_sd = (1 - p_respond) * table[:, 2] / np.maximum(1 - respond, 1e-12)
    return np.select([rank < p_cr, rank < p_respond, rank < p_respond + p_sd], [0, 1, 2], 3)


def generate(design: RegistryDesign, rng: np.random.Generator) -> tuple[Cohort, pd.DataFrame]:
    """Draw a cohort and its lines of therapy.

    Returns
    -------
    cohort : Cohort
    lines : pandas.DataFrame
        One row per line with integer days from diagnosis: ``patient, line, tier, start, end,
        response, response_day, event_day, event_kind`` (−1 where absent).
    """
    cohort, lines = generate_arrays(design, rng)
    return cohort, pd.DataFrame(lines).astype(LINE_COLUMNS)


def generate_arrays(design: RegistryDesign, rng: np.random.Generator,
                    labels: bool = True) -> tuple[Cohort, dict[str, np.ndarray]]:
    """Draw a cohort and its lines as arrays (the same draws as :func:`generate`, no DataFrame).

    Parameters
    ----------
    design : RegistryDesign
    rng : numpy.random.Generator
    labels : bool
        False: the same draws without the text a study does not need (no patients table in
        ``cohort.frame``, no ``agents`` column), which is several times faster.

    Returns
    -------
    cohort : Cohort
    lines : dict of numpy.ndarray
        The columns of :func:`generate`'s lines table, ordered by line number then patient, plus
        ``regimen`` (index into the tier's ``REGIMENS``) and ``ecp``.
    """
    cohort = draw_cohort(design, rng, labels)
    n = design.n_patients
    first_start = np.floor(rng.uniform(0, 61, n))
    exit_day = np.minimum(cohort.death_day, cohort.censor_day)
    state = _State(first_start, first_start < exit_day, np.zeros(n, int), np.zeros(n, bool),
                   np.zeros(n, bool), cohort.death_day.copy(), cohort.death_cause.copy())
    pieces = []
    for k in range(design.max_lines):
        rows = np.flatnonzero(state.active)
        if len(rows) == 0:
            break
        pieces.append(_one_line(design, rng, cohort, state, rows, k))
    dtypes = {**LINE_COLUMNS, "regimen": "int64", "ecp": bool}
    lines = {name: np.concatenate([piece[name] for piece in pieces]) if pieces
             else np.array([], dtype=dtype) for name, dtype in dtypes.items() if name != "agents"}
    if labels:
        lines["agents"] = _agent_labels(lines["tier"], lines["regimen"], lines["ecp"])
    cohort = dataclasses.replace(cohort, death_day=state.death_day, death_cause=state.death_cause)
    return cohort, lines


def _one_line(design: RegistryDesign, rng, cohort: Cohort, state: _State, rows, k) -> dict[str, np.ndarray]:
    tier = _next_tier(design, rng, cohort, state, rows, k)
    relapse_uniform = rng.uniform(size=len(rows))
    response = _responses(design, rng, cohort, tier, rows, relapse_uniform)
    start = state.day[rows]
    stop_months = _exponential(rng, design.ivig_stop_per_month, len(rows))
    lp = linear_predictor(design, cohort, tier, rows)
    relapse = _days(relapse_months(design, lp, cohort.frailty[rows], tier == 0, stop_months,
                                   relapse_uniform))
    last_line = k == design.max_lines - 1
    switch = _days(_exponential(rng, 0.0 if last_line else design.switch_per_month, len(rows)))
    toxic = np.where(tier == 2, _days(_exponential(rng, design.treatment_death_per_year / 12,
                                                   len(rows))), np.inf)
    limit = np.minimum(state.death_day[rows], cohort.censor_day[rows]) - start
    exit_after = np.minimum.reduce([relapse, switch, toxic, limit])
    relapsed = relapse <= exit_after
    toxic_death = ~relapsed & (toxic <= exit_after) & (toxic < limit)
    switched = ~relapsed & ~toxic_death & (switch <= exit_after) & (switch < limit)
    state.death_day[rows[toxic_death]] = (start + toxic)[toxic_death]
    state.death_cause[rows[toxic_death]] = "treatment"
    event_day = np.where(relapsed, start + relapse, -1)
    responder = response <= 1
    delay = _days(rng.uniform(1, 6, len(rows)))
    length = exit_after
    response_day = np.where(responder, start + np.clip(delay, 0, np.maximum(length - 1, 0)), -1)
    gap = np.floor(rng.uniform(1, 61, len(rows)))
    next_start = np.where(relapsed, event_day + gap, np.where(switched, start + switch, np.inf))
    end_limit = np.minimum(state.death_day[rows], cohort.censor_day[rows])
    continues = (next_start < end_limit) & (relapsed | switched) & ~last_line
    stop_day = start + _days(stop_months)
    end_day = np.where((tier == 0) & (stop_day < start + exit_after), stop_day,
                       np.where(continues, next_start, np.where(relapsed, event_day, -1)))
    state.day[rows] = np.where(continues, next_start, state.day[rows])
    state.active[rows] = continues
    state.tier[rows] = tier
    state.nonresponse[rows] = ~responder
    state.after_event[rows] = relapsed
    ecp = rng.uniform(size=len(rows)) < design.ecp_fraction
    return {
        "patient": rows, "line": np.full(len(rows), k + 1), "tier": tier, "start": start, "end": end_day,
        "regimen": _regimens(rng, tier), "ecp": ecp, "response": response, "response_day": response_day,
        "event_day": event_day, "event_kind": np.where(responder, "relapse", "progression"),
    }


def _regimens(rng: np.random.Generator, tier: np.ndarray) -> np.ndarray:
    """Index of each line's regimen within its tier's ``REGIMENS``."""
    regimen = np.zeros(len(tier), dtype=np.int64)
    for level, (names, weights) in REGIMENS.items():
        where = np.flatnonzero(tier == level)
        regimen[where] = rng.choice(len(names), len(where), p=weights)
    return regimen


def _agent_labels(tier: np.ndarray, regimen: np.ndarray, ecp: np.ndarray) -> np.ndarray:
    """Return each line's agents as text (from ``REGIMENS``, "; ECP" added where given)."""
    agents = np.empty(len(tier), dtype=object)
    for level, (names, _) in REGIMENS.items():
        where = np.flatnonzero(tier == level)
        agents[where] = np.array(names, dtype=object)[regimen[where]]
    return np.where(ecp, agents + "; ECP", agents)

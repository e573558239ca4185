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
from sclero_analysis.synthetic.line_kernel import (
    FORCED_NONE,
    days_array,
    hazard_params,
    line_kernel,
    linear_predictor_kernel,
    pathway_params,
    relapse_months_kernel,
    relapse_params,
)

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
    months = np.asarray(months, float)
    return days_array(np.ascontiguousarray(months.ravel())).reshape(months.shape)


def _exponential(rng: np.random.Generator, rate, size: int) -> np.ndarray:
    """Exponential waiting times in the unit of 1/rate; a zero rate never happens (inf)."""
    draws = rng.exponential(1.0, size)
    if np.ndim(rate) == 0:
        if rate <= 0:
            return np.full(size, np.inf)
        with np.errstate(over="ignore"):  # tiny rates: never, within any follow-up
            return draws / rate
    with np.errstate(divide="ignore", over="ignore"):
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
    recorded_severity: np.ndarray  # the same index from what a registry records (mRSS mean-filled)
    severe: np.ndarray  # recorded mRSS at least ``severe_mrss`` or cardiac involvement
    site: np.ndarray
    frailty: np.ndarray  # site frailty of each patient
    death_day: np.ndarray
    death_cause: np.ndarray
    censor_day: np.ndarray
    natural_death_day: np.ndarray  # death day without treatment-related deaths
    response_intercept: np.ndarray  # per tier: logit scale, makes the cohort average the design's
    first_line_day: np.ndarray | None = None  # start of the first line (time zero of the strategies)


def response_intercepts(design: RegistryDesign, severity: np.ndarray) -> np.ndarray:
    """Per tier, the intercept a with mean(expit(a + b·severity)) = the design's response rate.

    So ``response_<tier>`` are the probabilities for a patient drawn from the registry, while
    sicker patients respond less (b = ``severity_on_response``). Solved by Newton's method, the
    four tiers side by side, each stopping at its own convergence.
    """
    rates = np.array([sum(getattr(design, f"response_{t}")[:2]) for t in TIER_NAMES])
    with np.errstate(divide="ignore"):
        intercepts = np.where(rates <= 0, -np.inf, np.where(rates >= 1, np.inf, np.log(rates / (1 - rates))))
    solving = np.flatnonzero((rates > 0) & (rates < 1)) if len(severity) else np.array([], int)
    effect = design.severity_on_response * severity
    for _ in range(50):
        if len(solving) == 0:
            break
        p = _expit(intercepts[solving, None] + effect[None, :])
        step = (p.mean(axis=1) - rates[solving]) / np.mean(p * (1 - p), axis=1)
        intercepts[solving] -= step
        solving = solving[~(np.abs(step) < 1e-12)]
    return intercepts


def linear_predictor(design: RegistryDesign, cohort: Cohort, tier: np.ndarray,
                     rows: np.ndarray) -> np.ndarray:
    """Return the true conditional log relapse hazard of ``rows`` (vs an average IVIG patient)."""
    return linear_predictor_kernel(hazard_params(design), np.ascontiguousarray(tier, np.int64),
                                   cohort.age[rows], cohort.mrss_true[rows], cohort.neuro[rows],
                                   cohort.cardiac[rows])


def relapse_months(design: RegistryDesign, lp: np.ndarray, frailty: np.ndarray,
                   is_ivig: np.ndarray, stop_months: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Invert the cumulative Weibull hazard, multiplied by ``ivig_stop_hr`` after an IVIG stop.

    H(t) = u·e^lp·(t/scale)^shape, with the multiplier applying to (t/scale)^shape −
    (S/scale)^shape after the maintenance stop S of an IVIG line.
    """
    def column(values, dtype=float):
        return np.ascontiguousarray(np.broadcast_to(values, np.shape(lp)), dtype)

    return relapse_months_kernel(relapse_params(design), column(lp), column(frailty), column(is_ivig, bool),
                                 column(stop_months), column(uniform))


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
    recorded = np.where(np.isnan(mrss), design.mrss_mean, mrss)  # a missing score: nothing known
    recorded_severity = ((recorded - design.mrss_mean) / design.mrss_sd + neuro + cardiac
                         - design.p_neuro - design.p_cardiac) / spread
    severe = (recorded >= design.severe_mrss) & ~np.isnan(mrss) | (cardiac > 0)
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
    return Cohort(frame, age, mrss, mrss_true, neuro, cardiac, severity, recorded_severity, severe, site,
                  frailty, death_day,
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
    """Per-patient state while lines are generated (updated in place by the line kernel)."""

    day: np.ndarray  # start day of the next line
    active: np.ndarray
    tier: np.ndarray
    nonresponse: np.ndarray
    after_event: np.ndarray
    death_day: np.ndarray
    death_cause: np.ndarray
    relapse_free: np.ndarray


def _copula_rank(design: RegistryDesign, rng, relapse_uniform: np.ndarray) -> np.ndarray:
    """Rank of each line's best response, ordered with its relapse draw by a Gaussian copula.

    The latest relapses tend to follow complete responses, then partial ones, the earliest
    stable or progressive disease. Each response keeps its probability (by tier and severity,
    averaging to the design's rate over the registry's patients; the line kernel compares the
    rank with them) and the relapse time its proportional-hazards distribution; only their
    dependence is added.
    """
    rho = design.response_relapse_correlation
    late = special.ndtri(np.clip(relapse_uniform, 1e-12, 1 - 1e-12))  # normal quantile: late relapse
    latent = rho * late + np.sqrt(1 - rho**2) * rng.standard_normal(len(relapse_uniform))
    return special.ndtr(-latent)  # the normal survival function: uniform, small for late relapses


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
    first_start = np.floor(rng.uniform(0, 61, design.n_patients))
    pieces, state = run_lines(design, rng, cohort, first_start)
    dtypes = {**LINE_COLUMNS, "regimen": "int64", "ecp": bool}
    lines = {name: np.concatenate([piece[name] for piece in pieces]) if pieces else np.array([], dtype=dtype)
             for name, dtype in dtypes.items() if name not in ("agents", "event_kind")}
    responder = lines["response"] <= 1
    lines["event_kind"] = (np.where(responder, "relapse", "progression") if pieces
                           else np.array([], dtype=object))
    if labels:
        lines["agents"] = _agent_labels(lines["tier"], lines["regimen"], lines["ecp"])
    cohort = dataclasses.replace(cohort, death_day=state.death_day, death_cause=state.death_cause,
                                 first_line_day=first_start)
    return cohort, lines


def run_lines(design: RegistryDesign, rng: np.random.Generator, cohort: Cohort, first_start: np.ndarray,
              forced: int = FORCED_NONE, censor_day: np.ndarray | None = None) -> tuple[list[dict], _State]:
    """Generate the lines of every patient of ``cohort``, one line number at a time.

    ``forced`` (a ``FORCED_*`` code of :mod:`~sclero_analysis.synthetic.line_kernel`) makes every
    patient follow a strategy instead of the clinical decisions (the counterfactual truth), and
    ``censor_day`` replaces the cohort's (e.g. never, for the truth).
    """
    n = len(first_start)
    censor = cohort.censor_day if censor_day is None else censor_day
    exit_day = np.minimum(cohort.death_day, censor)
    state = _State(first_start.astype(float), first_start < exit_day, np.zeros(n, np.int64),
                   np.zeros(n, bool),
                   np.zeros(n, bool), cohort.death_day.copy(), cohort.death_cause.copy(), np.ones(n, bool))
    params = pathway_params(design, [weights for _, weights in REGIMENS.values()], forced)
    patients = np.stack([cohort.severity, cohort.age, cohort.mrss_true, cohort.neuro, cohort.cardiac,
                         cohort.frailty, censor, cohort.recorded_severity, cohort.severe,
                         first_start]).astype(float)
    pieces = []
    for k in range(design.max_lines):
        rows = np.flatnonzero(state.active)
        if len(rows) == 0:
            break
        pieces.append(_one_line(design, params, patients, rng, cohort, state, rows, k))
    return pieces, state


def _one_line(design: RegistryDesign, params, patients: np.ndarray, rng, cohort: Cohort, state: _State,
              rows: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Line k of every patient still in follow-up: draw its random numbers, then the kernel."""
    m = len(rows)
    tier_uniform, relapse_uniform = rng.uniform(size=m), rng.uniform(size=m)
    rank = _copula_rank(design, rng, relapse_uniform)
    draws = np.stack([tier_uniform, relapse_uniform,  # then unit exponentials: stop, switch, toxic death
                      rng.exponential(1.0, m), rng.exponential(1.0, m), rng.exponential(1.0, m),
                      rng.uniform(1, 6, m), rng.uniform(1, 61, m),  # response delay, gap to the next line
                      rng.uniform(size=m), rng.random(m),  # ECP; the regimen (as Generator.choice draws)
                      *rng.uniform(size=(4, m))])  # reviews at months 2, 3, 4, 5
    out_float, out_int = np.empty((4, m)), np.empty((5, m), np.int64)
    line_kernel(params, k, k == design.max_lines - 1, rows, draws, rank, patients,  # inf: never happens
                cohort.response_intercept, state.day, state.active, state.tier, state.nonresponse,
                state.after_event, state.death_day, state.relapse_free, out_float, out_int)
    state.death_cause[rows[out_int[4] == 1]] = "treatment"
    return {
        "patient": rows, "line": np.full(m, k + 1), "tier": out_int[0], "start": out_float[0],
        "end": out_float[1], "regimen": out_int[2], "ecp": out_int[3] == 1, "response": out_int[1],
        "response_day": out_float[2], "event_day": out_float[3],
    }


def _agent_labels(tier: np.ndarray, regimen: np.ndarray, ecp: np.ndarray) -> np.ndarray:
    """Return each line's agents as text (from ``REGIMENS``, "; ECP" added where given)."""
    agents = np.empty(len(tier), dtype=object)
    for level, (names, _) in REGIMENS.items():
        where = np.flatnonzero(tier == level)
        agents[where] = np.array(names, dtype=object)[regimen[where]]
    return np.where(ecp, agents + "; ECP", agents)

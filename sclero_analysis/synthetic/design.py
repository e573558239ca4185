"""``RegistryDesign``: every parameter of the synthetic-registry generator, with its basis.

Defaults are calibrated to the published figures in ``docs/synthetic.md``; each field's comment
names its source (S1 … S15 as listed there) or says ``assumption``. Times are in months unless a
name says otherwise; hazards are per month.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PARAPROTEIN_MIX = {  # given a monoclonal gammopathy
    "IgG-lambda": 0.78,  # S2 73%, S6 78%, S5 86%: use 0.78 (docs/synthetic.md, suggested parameters)
    "IgG-kappa": 0.14,  # S5 2/14 IgG-κ; remainder split: assumption
    "IgA-lambda": 0.03,  # assumption (rare isotypes)
    "IgA-kappa": 0.02,  # assumption
    "IgM": 0.02,  # assumption
    "other": 0.01,  # assumption (biclonal, light chain only)
}


@dataclass(frozen=True)
class RegistryDesign:
    """Parameters of a simulated scleromyxedema registry (frozen; use ``replace`` to vary).

    Every default names its basis: a source id of ``docs/synthetic.md`` or "assumption".
    """

    # --- size and follow-up -------------------------------------------------------------------
    n_patients: int = 400  # registry size: assumption (a consortium registry; S1-S12 are 8-34)
    n_sites: int = 12  # centres: assumption (S1 pooled 5 countries, S2 French multicentre)
    accrual_start_year: int = 2012  # assumption: the IVIG era (S3, S4, S11)
    accrual_years: float = 10.0  # assumption
    admin_end: str = "2025-06-30"  # administrative end of follow-up: assumption
    loss_to_followup_per_year: float = 0.12  # gives mean follow-up near 3-4 years: S1 33.5, S3 44 months
    # --- patients -----------------------------------------------------------------------------
    age_mean_years: float = 58.0  # S1, S3 mean 59; S7 median 53; Boin about 55
    age_sd_years: float = 11.0  # assumption (range 30-80 reported, no SD seen)
    male_fraction: float = 0.55  # S1 17/30, S7 10/19, S3 5/8: use 0.55
    mg_fraction: float = 0.88  # S1 90%, S6 88%, S5 93%
    paraprotein_mix: dict = field(default_factory=lambda: dict(PARAPROTEIN_MIX))  # see PARAPROTEIN_MIX
    p_neuro: float = 0.30  # S1 neurologic 30%
    p_cardiac: float = 0.20  # S1 cardiac 20%
    p_pulmonary: float = 0.32  # S7 dyspnoea 6/19
    p_renal: float = 0.05  # docs/synthetic.md suggested about 0.05 (S7 one autopsy case)
    p_musculoskeletal: float = 0.25  # S1 rheumatologic 23%, S2 arthralgia 25%
    p_gastrointestinal: float = 0.42  # S7 dysphagia 8/19
    mrss_mean: float = 20.0  # baseline mRSS (0-51): assumption
    mrss_sd: float = 8.0  # assumption
    mrss_per_month_delay: float = 0.3  # longer diagnostic delay, worse skin: assumption
    mrss_missing: float = 0.10  # mRSS missing at random: assumption
    delay_median_months: float = 6.0  # diagnostic delay, lognormal: S1 mean 9 months
    delay_mean_months: float = 9.0  # S1
    # --- clinical pathway (confounding by indication) ------------------------------------------
    confounding: bool = True  # escalation depends on severity and response; False: random tiers
    random_tier_mix: tuple = (0.55, 0.25, 0.15, 0.05)  # line tiers without confounding: assumption
    first_line_immuno_logit: float = -2.2  # IVIG first for everyone, steroids added if severe: S13, S15
    escalation_logit: float = -0.3  # after relapse/progression, odds of moving up a tier: assumption
    severity_on_escalation: float = 1.0  # log-odds per SD of severity: assumption
    nonresponse_on_escalation: float = 1.0  # extra log-odds after SD/PD: assumption
    switch_per_month: float = 0.004  # line changes without relapse (toxicity, preference): assumption
    # early decisions on the first IVIG line, from what a registry records (recorded mRSS, organs,
    # response so far): they make the management strategies of docs/synthetic.md §4 observable
    early_escalation_logit: float = -1.0  # at each monthly review 2-5 months, a relapse-free patient
    #   without PR or better on IVIG gets immunosuppression added (log-odds at average severity): assumption
    severity_on_early_escalation: float = 0.4  # log-odds per SD of recorded severity: assumption (at
    #   0.8, severe non-responders stayed on IVIG through the four reviews with ~1% probability: too
    #   few for a 1,000-patient registry to represent them under 'never escalate', see docs/synthetic.md)
    severe_mrss: float = 30.0  # severe disease: recorded mRSS at least this, or cardiac involvement (S13)
    early_cytoreduction_logit: float = -0.8  # severe patients starting on cytoreduction (log-odds at
    #   average severity; S8-S10 transplant and bortezomib for severe disease): assumption
    max_lines: int = 6  # assumption
    ecp_fraction: float = 0.08  # ECP adjunct on a line: assumption (case reports only)
    # best response probabilities (CR, PR, SD, PD) per tier, averaged over the registry's patients
    response_ivig: tuple = (0.40, 0.40, 0.12, 0.08)  # S2 CR 13/31 (42%), S4 8/8 responses
    response_immunosuppression: tuple = (0.25, 0.40, 0.20, 0.15)  # S1 steroids ineffective; S10 Len-Dex good
    response_cytoreduction: tuple = (0.60, 0.30, 0.06, 0.04)  # S8 CR 5/7, S9, S10 8/8
    response_other: tuple = (0.15, 0.30, 0.30, 0.25)  # variable efficacy: assumption
    severity_on_response: float = -0.5  # log-odds of response per SD of severity: assumption
    response_relapse_correlation: float = 0.6  # responders relapse later (Gaussian copula): assumption
    # --- relapse or progression on a line (true conditional model) -------------------------------
    relapse_shape: float = 1.3  # Weibull shape: docs/synthetic.md suggested (Weibull, S3 relapse 6-25 months)
    relapse_scale_months: float = 40.0  # IVIG line on maintenance, average patient: assumption
    ivig_stop_per_month: float = 0.01  # stopping IVIG maintenance: assumption
    ivig_stop_hr: float = 4.0  # relapse after stopping IVIG: S3 (6, 25 months), S2, S4, S11
    log_hr_immunosuppression: float = -0.2  # vs IVIG: assumption (the truth to recover)
    log_hr_cytoreduction: float = -0.7  # vs IVIG: assumption; S8-S10 durable responses
    log_hr_other: float = 0.2  # vs IVIG: assumption
    log_hr_age_per_10y: float = 0.10  # assumption
    log_hr_mrss_per_point: float = 0.03  # assumption
    log_hr_neuro: float = 0.40  # assumption (DNS, severe disease)
    log_hr_cardiac: float = 0.30  # assumption
    site_frailty_variance: float = 0.10  # log-normal site effect on relapse hazard: assumption
    # --- death ----------------------------------------------------------------------------------
    death_per_year: float = 0.035  # baseline: S2 1/33 deaths, S1 crude 0.085/PY (range 0.02-0.09)
    death_hr_neuro: float = 2.0  # disease-related deaths (DNS): S1 2/5 deaths
    death_hr_cardiac: float = 2.0  # mucinous cardiopathy: S1, S2
    death_log_hr_age_per_10y: float = 0.5  # assumption
    malignancy_per_year: float = 0.008  # haematological malignancy (about 10% lifetime): S1, S2
    treatment_death_per_year: float = 0.03  # on cytoreduction: S7 2/12 (melphalan era), S9 0/5

    def replace(self, **changes) -> RegistryDesign:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_toml(cls, path: str | Path) -> RegistryDesign:
        """Read a design from a TOML file of field = value pairs (unknown keys are an error)."""
        values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"{path}: unknown design fields {sorted(unknown)}")
        converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**converted)

    def as_dict(self) -> dict:
        """All fields as plain Python values (for truth.json)."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}

    def __post_init__(self) -> None:
        """Check ranges that would make the generator meaningless."""
        if self.n_patients < 1 or self.n_sites < 1 or self.max_lines < 1:
            raise ValueError("n_patients, n_sites and max_lines must be at least 1")
        for name in ("male_fraction", "mg_fraction", "p_neuro", "p_cardiac", "p_pulmonary",
                     "p_renal", "p_musculoskeletal", "p_gastrointestinal", "mrss_missing",
                     "ecp_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a probability, not {getattr(self, name)}")
        for tier in ("ivig", "immunosuppression", "cytoreduction", "other"):
            probabilities = getattr(self, f"response_{tier}")
            if len(probabilities) != 4 or abs(sum(probabilities) - 1) > 1e-9:
                raise ValueError(f"response_{tier} must be 4 probabilities (CR, PR, SD, PD) summing to 1")
        if not -1 < self.response_relapse_correlation < 1:
            raise ValueError("response_relapse_correlation must be in (-1, 1)")
        if len(self.random_tier_mix) != 4 or abs(sum(self.random_tier_mix) - 1) > 1e-9:
            raise ValueError("random_tier_mix must be 4 tier probabilities summing to 1")
        if abs(sum(self.paraprotein_mix.values()) - 1) > 1e-9:
            raise ValueError("paraprotein_mix must sum to 1")
        if self.delay_mean_months <= self.delay_median_months:
            raise ValueError("a lognormal delay needs mean > median")

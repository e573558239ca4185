"""Display labels as data: what a column, level or analysis is called in figures and tables.

One mapping from the names the code uses (``age_at_diagnosis_years``, ``mrss``, ``ivig``,
``naive_cox``, ``n_patients``) to the words a reader sees ("Age at diagnosis (years)", "mRSS",
"IVIG", "Naive Cox", "Patients per registry"). Three layers, the first that knows a name wins:

1. the ``labels=`` mapping passed to a plot function (that figure only);
2. the package's labels, set with :func:`set_labels` (every figure and table of the session);
3. :data:`DEFAULT_LABELS`.

A name none of them knows is written in words (:func:`humanise`), so no identifier with an
underscore ever reaches a figure.

:class:`Endpoint` says what a time-to-event frame measures (its time origin, its event and the
competing event), read from the analysis frame's ``attrs``, so that axis titles say "Months
since start of line" and "Cumulative incidence of relapse (death competing)".

Examples
--------
>>> label("mrss")
'mRSS'
>>> label("mrss", {"mrss": "mRSS at diagnosis"})
'mRSS at diagnosis'
>>> label("tier[cytoreduction]")
'Cytoreduction'
>>> label("some_new_column")
'Some new column'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

Labels = Mapping[str, str] | None

_COLUMNS = {
    "patient_id": "Patient", "site": "Centre", "sex": "Sex", "sex[F]": "Female", "sex[M]": "Male",
    "F": "Female", "M": "Male",
    "age_at_diagnosis_years": "Age at diagnosis (years)", "diagnosis_date": "Date of diagnosis",
    "paraprotein": "Paraprotein", "paraprotein[none]": "No paraprotein",
    "neuro": "Neurological involvement", "cardiac": "Cardiac involvement",
    "pulmonary": "Pulmonary involvement", "renal": "Renal involvement",
    "musculoskeletal": "Musculoskeletal involvement",
    "gastrointestinal": "Gastrointestinal involvement",
    "mrss": "mRSS", "last_followup_date": "Date of last follow-up", "vital_status": "Vital status",
    "death_date": "Date of death", "death_cause": "Cause of death",
    "line": "Line of therapy", "n_lines": "Lines of therapy", "tier": "Therapy tier",
    "agents": "Agents", "adjunct_ecp": "Adjunctive ECP", "best_response": "Best response",
    "prior_events": "Previous relapses", "time_months": "Time (months)", "event": "Event",
    "event_type": "Event type", "source": "Source",
}
_TIERS = {"ivig": "IVIG", "immunosuppression": "Immunosuppression",
          "cytoreduction": "Cytoreduction", "other": "Other"}
_RESPONSES = {"CR": "Complete response", "PR": "Partial response", "SD": "Stable disease",
              "PD": "Progressive disease", "NE": "Not evaluable"}
_ANALYSES = {
    # registry-study analyses
    "naive_cox": "Naive Cox", "adjusted_cox": "Adjusted Cox", "iptw_cox": "IPTW Cox",
    "logrank": "Log-rank test", "fine_gray": "Fine–Gray", "rmst_difference": "RMST difference",
    # compare_tiers methods
    "naive": "Unadjusted Cox", "adjusted": "Covariate-adjusted Cox", "iptw": "IPTW Cox",
    # study measures
    "power": "Power", "bias": "Bias", "coverage": "Coverage", "failure_rate": "Failed fits",
    "scenario": "Scenario",
}
_DESIGN = {
    "n_patients": "Patients per registry", "n_sites": "Centres", "admin_end": "End of follow-up",
    "accrual_years": "Accrual period (years)", "accrual_start_year": "First year of accrual",
    "loss_to_followup_per_year": "Loss to follow-up per year", "confounding": "Confounding strength",
    "mrss_missing": "Share of mRSS missing", "max_lines": "Lines of therapy at most",
    "log_hr_immunosuppression": "True log HR, immunosuppression vs IVIG",
    "log_hr_cytoreduction": "True log HR, cytoreduction vs IVIG",
    "log_hr_other": "True log HR, other vs IVIG", "site_frailty_variance": "Centre frailty variance",
    "death_per_year": "Deaths per year", "strength": "Selection strength",
}
#: The labels every figure and table starts from (read-only; see :func:`set_labels`).
DEFAULT_LABELS: Mapping[str, str] = MappingProxyType({**_COLUMNS, **_TIERS, **_RESPONSES,
                                                       **_ANALYSES, **_DESIGN})
#: Words kept in their own spelling when a name is written out (:func:`humanise`).
_WORDS = {"hr": "HR", "ivig": "IVIG", "mrss": "mRSS", "ecp": "ECP", "cox": "Cox", "iptw": "IPTW",
          "rmst": "RMST", "ci": "CI", "id": "ID", "cr": "CR", "pr": "PR", "asct": "ASCT",
          "se": "SE", "mcse": "MCSE", "n": "number of"}
_LEVEL = re.compile(r"^(?P<term>[^\[]+)\[(?P<level>.+)\]$")
_package: dict[str, str] = {}


def set_labels(mapping: Mapping[str, str] | None = None, /, **labels: str) -> dict[str, str]:
    """Set display labels for every figure and table of the session.

    Parameters
    ----------
    mapping : mapping of str to str, optional
        Name → label, e.g. ``{"mrss": "mRSS at diagnosis"}``; a level of a term can be named
        as the model does (``"sex[M]": "Male sex"``) or by the level alone.
    **labels : str
        The same as keywords (``set_labels(mrss="mRSS at diagnosis")``).

    Returns
    -------
    dict
        The package's labels before this call (pass to :func:`reset_labels` then
        :func:`set_labels` to restore them).

    Examples
    --------
    >>> before = set_labels(mrss="mRSS at diagnosis")
    >>> label("mrss")
    'mRSS at diagnosis'
    >>> reset_labels()
    >>> label("mrss")
    'mRSS'
    """
    before = dict(_package)
    new = {**dict(mapping or {}), **labels}
    for name, text in new.items():
        if not isinstance(text, str):
            raise TypeError(f"the label of {name!r} must be a str, not {type(text).__name__}")
    _package.update(new)
    return before


def reset_labels(*names: str) -> None:
    """Forget labels set with :func:`set_labels` (the given names, or all of them)."""
    for name in names or list(_package):
        _package.pop(name, None)


def current_labels(labels: Labels = None) -> dict[str, str]:
    """Return every known label: defaults, then the package's, then ``labels`` (the last wins).

    Tables use it to rename their columns and levels the way figures name them.

    Examples
    --------
    >>> current_labels({"ivig": "IV immunoglobulin"})["ivig"]
    'IV immunoglobulin'
    """
    return {**DEFAULT_LABELS, **_package, **dict(labels or {})}


def humanise(name: str) -> str:
    """Write an identifier in words: underscores become spaces, known abbreviations keep case.

    Examples
    --------
    >>> humanise("log_hr_age_per_10y")
    'Log HR age per 10y'
    >>> humanise("IgG-lambda")
    'IgG-lambda'
    """
    words = [_WORDS.get(word.lower(), word) if word.islower() or len(word) <= 1 else word
             for word in str(name).split("_") if word]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def _lookup(name: str, layers: tuple[Mapping[str, str], ...]) -> str | None:
    for layer in layers:
        if name in layer:
            return layer[name]
    return None


def label(name, labels: Labels = None) -> str:
    """Return the display label of a column, level, term or analysis name.

    Parameters
    ----------
    name : object
        A column (``mrss``), a level (``ivig``), a model term (``tier[cytoreduction]``,
        ``neuro[True]``) or an analysis (``iptw_cox``).
    labels : mapping, optional
        Labels for this call only; they win over the package's and the defaults.

    Returns
    -------
    str
        A term's level is labelled as the level (``tier[ivig]`` → "IVIG"); a yes/no term as
        its covariate (``neuro[True]`` → "Neurological involvement").

    Examples
    --------
    >>> label("neuro[True]")
    'Neurological involvement'
    >>> label("sex[M]")
    'Male'
    >>> label("paraprotein[IgG-kappa]")
    'IgG-kappa'
    """
    name = str(name)
    layers = (dict(labels or {}), _package, DEFAULT_LABELS)
    found = _lookup(name, layers)
    if found is not None:
        return found
    match = _LEVEL.match(name)
    if match is None:
        return humanise(name)
    if match["level"] == "True":
        return label(match["term"], labels)
    return label(match["level"], labels)


def value_label(value, labels: Labels = None) -> str:
    """Label a data value (a source, a centre): its label if one is set, else itself without underscores.

    Unlike :func:`label`, an unknown value keeps its case (``pritz1997`` stays ``pritz1997``).

    Examples
    --------
    >>> value_label("smith_2010"), value_label("ivig")
    ('smith 2010', 'IVIG')
    """
    text = str(value)
    found = _lookup(text, (dict(labels or {}), _package, DEFAULT_LABELS))
    return found if found is not None else text.replace("_", " ")


def level_labels(levels, labels: Labels = None) -> dict[str, str]:
    """Map each level (as text) to its label: ``{"ivig": "IVIG", ...}``."""
    return {str(level): label(level, labels) for level in levels}


@dataclass(frozen=True)
class Endpoint:
    """What a time-to-event analysis measures: where time starts and what the events are.

    Attributes
    ----------
    time_origin : str or None
        "start of line", "response", "diagnosis" (None when the frame does not say).
    event : str or None
        The event of interest ("relapse", "death").
    competing : str or None
        The other events, censored in Kaplan–Meier and competing in cumulative incidence.
    time_unit : str
        "Months".

    Examples
    --------
    >>> e = Endpoint("start of line", "relapse", "death")
    >>> e.time_label()
    'Months since start of line'
    >>> e.survival_label()
    'Probability of remaining relapse-free (death censored)'
    >>> e.incidence_label()
    'Cumulative incidence of relapse (death competing)'
    """

    time_origin: str | None = None
    event: str | None = None
    competing: str | None = None
    time_unit: str = "Months"

    @classmethod
    def of(cls, frame, cause: int = 1) -> Endpoint:
        """Read an analysis frame's ``attrs["time_origin"]`` and ``attrs["event_labels"]``.

        ``event_labels`` maps event codes to names (``{1: "relapse", 2: "death"}``): ``cause``
        names the event, the other codes the competing event. A frame without them gives an
        Endpoint that says nothing it does not know.
        """
        attrs = getattr(frame, "attrs", {}) or {}
        names = {int(code): str(text) for code, text in dict(attrs.get("event_labels") or {}).items()}
        others = [text for code, text in sorted(names.items()) if code != cause]
        return cls(attrs.get("time_origin"), names.get(cause), " or ".join(others) or None)

    def time_label(self) -> str:
        """Return the time axis title: "Months since start of line" (or just "Months")."""
        return f"{self.time_unit} since {self.time_origin}" if self.time_origin else self.time_unit

    def survival_label(self) -> str:
        """Return the Kaplan–Meier axis title: remaining free of the event, others censored."""
        if self.event is None:
            return "Probability of remaining event-free"
        if self.event == "death" and self.competing is None:
            return "Probability of survival"
        censored = f" ({self.competing} censored)" if self.competing else ""
        state = f"{self.event}-free" if " " not in self.event else f"free of {self.event}"
        return f"Probability of remaining {state}{censored}"

    def incidence_label(self) -> str:
        """Return the cumulative-incidence axis title: the event, and the competing event."""
        if self.event is None:
            return "Cumulative incidence"
        competing = f" ({self.competing} competing)" if self.competing else ""
        return f"Cumulative incidence of {self.event}{competing}"

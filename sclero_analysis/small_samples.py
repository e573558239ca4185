"""What a small multicentre series can show: ordinary vs Firth-penalised Cox on sparse tiers.

Notebook 06 draws many series of a few dozen patients from a registry and fits, in each, the
ordinary Cox model (whose estimate runs to infinity when a tier has no or almost no events:
monotone likelihood) and Firth's penalised Cox model with profile-likelihood intervals (R's
``coxphf``), which stays finite.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.cohort import relapse_frame
from sclero_analysis.exceptions import NotEstimableWarning, ScleroWarning, SeparationWarning
from sclero_analysis.literature import response_rates
from sclero_analysis.survival import fit_cox
from sclero_analysis.survival.inputs import SurvivalInputError
from sclero_analysis.synthetic.examples import load_example

SMALL_SAMPLE_COLUMNS = ("sample", "method", "patients", "lines", "events", "contrast_lines",
                        "contrast_events", "coef", "lower", "upper", "monotone", "status", "error")
#: Patients in a large multicentre series of this disease (the notebook's default series size).
SERIES_SIZE = 30
#: Repeated draws come from the data only when they hold this many times the series size.
SOURCE_RATIO = 2
#: What a draw's fit can end in (``status`` of :func:`firth_vs_cox`).
STATUSES = ("estimated", "monotone", "failed", "no contrast lines", "no relapses")


def sample_series(cs: CaseSeries, n_patients: int,
                  rng: np.random.Generator | int | None = None) -> CaseSeries:
    """Draw ``n_patients`` patients at random (without replacement) with all their lines and events.

    Parameters
    ----------
    cs : CaseSeries
    n_patients : int
        At most the number of patients in ``cs``.
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    CaseSeries
        The sampled patients' accepted rows (an empty validation report; ``truth`` kept).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> len(sample_series(sa.load_example(), 30, rng=1).patients)
    30
    """
    rng = np.random.default_rng(rng)
    ids = cs.patients["patient_id"].to_numpy()
    if not 1 <= n_patients <= len(ids):
        raise ValueError(f"n_patients must be between 1 and {len(ids)}, not {n_patients}")
    chosen = set(rng.choice(ids, n_patients, replace=False))

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["patient_id"].isin(chosen)].reset_index(drop=True)

    return CaseSeries(keep(cs.patients), keep(cs.lines), keep(cs.events), cs.report.iloc[0:0],
                      {}, {}, cs.source, cs.truth)


def _fit(df: pd.DataFrame, contrast: str, firth: bool) -> dict:
    term = f"tier[{contrast}]"
    empty = {"coef": np.nan, "lower": np.nan, "upper": np.nan, "monotone": False}
    if not (df["tier"] == contrast).any():
        return {**empty, "status": "no contrast lines", "error": f"no {contrast} lines"}
    if not (df["event"] == 1).any():
        return {**empty, "status": "no relapses", "error": "no relapse in the series"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScleroWarning)
        try:
            fit = fit_cox(df, "tier", ties="breslow", firth=firth, cluster=False)  # model-based, as Firth
        except (SurvivalInputError, np.linalg.LinAlgError) as exc:
            return {**empty, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    row = fit.summary.loc[term]
    if not np.isfinite(row["coef"]):  # the contrast's lines are never at risk at an event (R: NA)
        return {**empty, "status": "failed", "error": f"{term} cannot be estimated in this series"}
    monotone = any(issubclass(w.category, SeparationWarning) for w in caught)
    with np.errstate(divide="ignore"):  # a monotone fit's interval reaches 0 or infinity
        lower, upper = np.log(row["hr_lower"]), np.log(row["hr_upper"])
    return {"coef": float(row["coef"]), "lower": float(lower), "upper": float(upper),
            "monotone": monotone, "status": "monotone" if monotone else "estimated", "error": ""}


def firth_vs_cox(cs: CaseSeries, n_patients: int = 30, n_samples: int = 200, seed: int | None = None,
                 contrast: str = "cytoreduction") -> pd.DataFrame:
    """Fit ordinary and Firth Cox models (tier; Breslow ties) in many small series.

    Parameters
    ----------
    cs : CaseSeries
        The registry the series are drawn from.
    n_patients : int
        Patients per series (e.g. 30, a large multicentre series in this disease).
    n_samples : int
        Series drawn (Monte Carlo).
    seed : int, optional
    contrast : str
        The tier whose log HR vs IVIG is reported.

    Returns
    -------
    pandas.DataFrame
        Two rows per series (``method`` ``cox`` and ``firth``): ``sample, method, patients,
        lines, events, contrast_lines, contrast_events, coef, lower, upper`` (log HR and its
        95% CI: Wald for Cox, profile penalised likelihood for Firth), ``monotone`` (the
        ordinary likelihood had no finite maximum: SeparationWarning), ``status`` (one of
        :data:`STATUSES`: a draw without a contrast line or without a relapse is not fitted),
        ``error``.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> out = firth_vs_cox(sa.load_example(), n_patients=30, n_samples=2, seed=1)
    >>> sorted(set(out["method"]))
    ['cox', 'firth']
    """
    rng = np.random.default_rng(seed)
    rows = []
    for sample in range(n_samples):
        small = sample_series(cs, n_patients, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScleroWarning)  # zero-follow-up lines: counted below
            df = relapse_frame(small)
        in_contrast = df["tier"] == contrast
        base = {"sample": sample, "patients": n_patients, "lines": len(df),
                "events": int((df["event"] == 1).sum()), "contrast_lines": int(in_contrast.sum()),
                "contrast_events": int((in_contrast & (df["event"] == 1)).sum())}
        df = df.assign(tier=df["tier"].cat.remove_unused_categories())
        for method in ("cox", "firth"):
            rows.append({**base, "method": method, **_fit(df, contrast, method == "firth")})
    return pd.DataFrame(rows, columns=list(SMALL_SAMPLE_COLUMNS))


@dataclass(frozen=True)
class SeriesPlan:
    """How large the notebook's small series are and where the repeated draws come from.

    Attributes
    ----------
    available : int
        Patients in the user's registry.
    wanted : int
        The series size asked for.
    n_patients : int
        The series size used: ``wanted``, or every patient when the registry has fewer.
    from_data : bool
        Repeated draws come from the registry (it holds at least ``SOURCE_RATIO`` series);
        otherwise from the shipped synthetic registry (default design).
    notes : tuple of (section, reason)
        What was reduced or replaced, in numbers (empty when nothing was).
    """

    available: int
    wanted: int
    n_patients: int
    from_data: bool
    notes: tuple = ()

    @property
    def source(self) -> str:
        """Where the repeated draws come from, in words."""
        return "the registry" if self.from_data else "the shipped synthetic registry"


def plan_series(available: int, wanted: int = SERIES_SIZE, ratio: int = SOURCE_RATIO) -> SeriesPlan:
    """Size the small-series exercise from the data: use what there is and say so.

    Parameters
    ----------
    available : int
        Patients in the registry.
    wanted : int
        Series size asked for (default :data:`SERIES_SIZE`).
    ratio : int
        Repeated draws of ``n`` patients come from the registry only when it has at least
        ``ratio * n`` patients (fewer: the draws would mostly repeat the same patients).

    Returns
    -------
    SeriesPlan

    Examples
    --------
    >>> plan = plan_series(15)
    >>> plan.n_patients, plan.from_data, plan.notes[0][0]
    (15, False, 'One small series')
    >>> plan_series(400).notes
    ()
    """
    if available < 1 or wanted < 1:
        raise ValueError(f"need at least one patient and a series size >= 1, not {available}, {wanted}")
    n = min(wanted, available)
    notes = []
    if n < wanted:
        notes.append(("One small series", f"the registry has {available} patients, fewer than {wanted}: "
                                          f"the series is the whole registry ({available} patients)"))
    from_data = available >= ratio * n
    if not from_data:
        notes.append(("Many small series", f"the registry has {available} patients, fewer than {ratio} × {n}"
                                           f" = {ratio * n}, so repeated {n}-patient draws from it would "
                                           "mostly repeat the same patients: the draws come from the "
                                           "shipped synthetic registry (400 patients, default design) "
                                           "instead"))
    return SeriesPlan(available, wanted, n, from_data, tuple(notes))


def draw_source(cs: CaseSeries, plan: SeriesPlan) -> CaseSeries:
    """Return the case series the repeated draws come from: ``cs`` or the shipped synthetic registry."""
    return cs if plan.from_data else load_example()


ORDINARY, FIRTH = "Ordinary Cox (Wald CI)", "Firth (profile CI)"
ONE_SERIES = "One small series"


@dataclass(frozen=True)
class SeriesFit:
    """Ordinary and Firth Cox models (tier; Breslow ties) of one series, or why they are missing.

    Attributes
    ----------
    models : dict
        ``{ORDINARY: CoxResult, FIRTH: CoxResult}``; empty when no comparison could be fitted.
    separation : tuple of str
        The ordinary fit's ``SeparationWarning`` messages (monotone likelihood).
    tiers : pandas.DataFrame
        Lines and relapses per tier of the data fitted (after any tier was left out).
    notes : tuple of (section, reason)
        Tiers left out or models not fitted, in numbers.
    """

    models: dict
    separation: tuple
    tiers: pd.DataFrame
    notes: tuple = ()


def tier_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Lines and first relapses (event 1) per tier present in a relapse frame."""
    tiers = df["tier"].cat.remove_unused_categories()
    return df.assign(relapse=df["event"] == 1).groupby(tiers, observed=True).agg(
        lines=("event", "size"), relapses=("relapse", "sum")).astype(int)


def _fit_pair(df: pd.DataFrame) -> tuple[dict, tuple]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SeparationWarning)
        warnings.simplefilter("always", NotEstimableWarning)
        ordinary = fit_cox(df, "tier", ties="breslow", cluster=False)  # model-based SEs, as Firth's
    degenerate = [str(w.message) for w in caught if issubclass(w.category, NotEstimableWarning)]
    if degenerate:  # a tier never at risk at an event: neither model can estimate it
        raise SurvivalInputError(degenerate[0])
    firth = fit_cox(df, "tier", ties="breslow", firth=True, cluster=False)
    separation = tuple(str(w.message) for w in caught if issubclass(w.category, SeparationWarning))
    return {ORDINARY: ordinary, FIRTH: firth}, separation


def _unfittable(counts: pd.DataFrame) -> str:
    """Why a tier comparison cannot be fitted at all ("" when it can be tried)."""
    if len(counts) < 2:
        tier = counts.index[0] if len(counts) else "none"
        lines = int(counts["lines"].sum())
        return (f"every line of the series is on one tier ({tier}: {lines} lines): there is no tier "
                "to compare, so the models are not fitted")
    if counts["relapses"].sum() == 0:
        return f"no relapse on any of the series' {counts['lines'].sum()} lines: nothing to fit"
    return ""


def fit_series(df: pd.DataFrame) -> SeriesFit:
    """Fit ordinary and Firth Cox models of tier; leave out the sparsest tier while a fit fails.

    Parameters
    ----------
    df : pandas.DataFrame
        A relapse frame (:func:`~sclero_analysis.relapse_frame`) of one series.

    Returns
    -------
    SeriesFit
        When a fit raises (Firth's penalised likelihood without a finite maximum, a singular
        information matrix), the non-reference tier with the fewest relapses (then lines) is left
        out and both models are refitted on the same rows; each step is a note.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sample_series(sa.load_example(), 30, rng=1))
    >>> sorted(fit_series(df).models)
    ['Firth (profile CI)', 'Ordinary Cox (Wald CI)']
    """
    df = df.assign(tier=df["tier"].cat.remove_unused_categories())
    notes = []
    while True:
        counts = tier_counts(df)
        reason = _unfittable(counts)
        if reason:
            return SeriesFit({}, (), counts, (*notes, (ONE_SERIES, reason)))
        try:
            models, separation = _fit_pair(df)
            return SeriesFit(models, separation, counts, tuple(notes))
        except (SurvivalInputError, np.linalg.LinAlgError) as exc:
            others = counts.iloc[1:].sort_values(["relapses", "lines"], kind="stable")
            drop = others.index[0]
            lines, relapses = int(others.loc[drop, "lines"]), int(others.loc[drop, "relapses"])
            notes.append((ONE_SERIES, f"with {len(counts)} tiers a fit failed ({_short(str(exc))}); {drop} "
                                      f"({lines} line{'s' * (lines != 1)}, {relapses} relapse"
                                      f"{'s' * (relapses != 1)}) was left out and both models refitted "
                                      "on the other tiers"))
            df = df[df["tier"] != drop]
            df = df.assign(tier=df["tier"].cat.remove_unused_categories())


def _short(error: str) -> str:
    """Return the first clause of an error message, without the exception's name.

    Examples
    --------
    >>> _short("SurvivalInputError: no finite maximum here (a singular matrix: constant?)")
    'no finite maximum here'
    """
    return re.sub(r"^\w+(Error|Exception): ", "", error).split(" (")[0]


def summarise_draws(draws: pd.DataFrame) -> pd.DataFrame:
    """Count what became of each method's fits in :func:`firth_vs_cox`'s draws.

    Parameters
    ----------
    draws : pandas.DataFrame
        The output of :func:`firth_vs_cox`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``method``: ``series``, one count per status (``estimated, monotone, failed,
        not_estimable`` = no contrast line or no relapse), ``median_log_hr`` and
        ``median_ci_width`` (over estimated fits with a finite interval), ``excludes_null``
        (estimated fits whose 95% CI excludes HR = 1), ``failure`` (the most common failure).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> table = summarise_draws(firth_vs_cox(sa.load_example(), n_patients=30, n_samples=3, seed=1))
    >>> int(table.loc["firth", "series"])
    3
    """
    rows = {}
    for method, group in draws.groupby("method", sort=True):
        estimated = group[group["status"] == "estimated"]
        width = (estimated["upper"] - estimated["lower"]).replace([np.inf, -np.inf], np.nan).dropna()
        failures = group.loc[group["status"] == "failed", "error"].map(_short)
        rows[method] = {
            "series": len(group), "estimated": len(estimated),
            "monotone": int((group["status"] == "monotone").sum()),
            "failed": len(failures), "not_estimable": int(group["status"].isin(STATUSES[3:]).sum()),
            "median_log_hr": float(estimated["coef"].median()) if len(estimated) else np.nan,
            "median_ci_width": float(width.median()) if len(width) else np.nan,
            "excludes_null": int(((estimated["lower"] > 0) | (estimated["upper"] < 0)).sum()),
            "failure": failures.mode().iloc[0] if len(failures) else "",
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")


def spread_gaps(source: CaseSeries, table: pd.DataFrame,
                contrast: str = "cytoreduction") -> list[tuple[str, str]]:
    """List what the spread of Firth HRs cannot show, as ``(section, reason)`` pairs.

    Parameters
    ----------
    source : CaseSeries
        The case series the draws came from (its ``truth`` may hold the true marginal HR).
    table : pandas.DataFrame
        :func:`summarise_draws` of the draws.
    contrast : str

    Returns
    -------
    list of tuple
        Empty when there are finite Firth estimates and a true value to compare them with.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> table = pd.DataFrame({"series": [10], "estimated": [0]}, index=pd.Index(["firth"], name="method"))
    >>> [section for section, _ in spread_gaps(sa.load_example(), table)]
    ['Spread of Firth HRs']
    """
    gaps = []
    firth = table.loc["firth"]
    if not firth["estimated"]:
        gaps.append(("Spread of Firth HRs", f"none of the {firth['series']} draws gave a finite Firth "
                                            f"estimate for {contrast} vs IVIG: the histogram is empty"))
    if source.truth.get("marginal_log_hr", {}).get(contrast) is None:
        gaps.append(("True HR in the spread", "these data carry no true effect (they are not simulated): "
                                              "the histogram shows the spread without a true value"))
    return gaps


def exact_response_rates(cs: CaseSeries) -> pd.DataFrame:
    """:func:`~sclero_analysis.literature.response_rates` with Clopper–Pearson (exact) 95% intervals.

    Returns
    -------
    pandas.DataFrame
        The response-rate table plus ``exact_lower, exact_upper`` (NaN where nothing was assessed).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> rates = exact_response_rates(sample_series(sa.load_example(), 30, rng=1))
    >>> bool((rates["exact_lower"] <= rates["response_rate"]).all())
    True
    """
    rates = response_rates(cs)
    intervals = [stats.binomtest(int(r.CR + r.PR), int(r.assessed)).proportion_ci(method="exact")
                 if r.assessed else None for r in rates.itertuples()]
    rates["exact_lower"] = [i.low if i else np.nan for i in intervals]
    rates["exact_upper"] = [i.high if i else np.nan for i in intervals]
    return rates

"""What a reader of case reports sees: response rates and hazard ratios in a published subset.

The comparison of notebook 04: the literature-like subset of a registry
(:func:`sclero_analysis.publish_case_reports`) against the registry itself and, for synthetic
data, the generator's truth; and how the distortion moves with the strength of selection.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.cohort import relapse_frame
from sclero_analysis.exceptions import ScleroWarning, SeparationWarning
from sclero_analysis.survival import fit_cox
from sclero_analysis.survival.inputs import SurvivalInputError
from sclero_analysis.synthetic.publication import (
    design_for_strength,
    expected_reports,
    publish_case_reports,
    reported_lines,
)
from sclero_analysis.therapy import TIERS

RESPONDED = ("CR", "PR")
ASSESSED = ("CR", "PR", "SD", "PD")
#: The tier compared with IVIG in the notebooks' hazard ratios.
CONTRAST = "cytoreduction"


def wilson_interval(successes: np.ndarray, n: np.ndarray,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (NaN where n = 0).

    Examples
    --------
    >>> lo, hi = wilson_interval(np.array([8]), np.array([8]))
    >>> round(float(lo[0]), 4), float(hi[0])
    (0.6756, 1.0)
    """
    successes, n = np.asarray(successes, float), np.asarray(n, float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def response_rates(cs: CaseSeries, by: str = "tier") -> pd.DataFrame:
    """Best-response rates per tier (lines with a response assessment).

    Parameters
    ----------
    cs : CaseSeries
    by : str
        Column of ``cs.lines`` to group by (default the therapy tier).

    Returns
    -------
    pandas.DataFrame
        Indexed by tier (and a last row ``all``): ``lines, assessed, CR, PR, SD, PD,
        response_rate, lower, upper`` — rate = (CR + PR) / assessed (NE and missing
        responses not assessed), with a 95% Wilson interval.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> rates = response_rates(sa.load_example())
    >>> bool(rates.loc["all", "lines"] == len(sa.load_example().lines))
    True
    """
    lines = cs.lines
    response = lines["best_response"].astype(object)
    counts = pd.crosstab(lines[by], response).reindex(columns=["CR", "PR", "SD", "PD"], fill_value=0)
    levels = [t for t in TIERS if t in counts.index] if by == "tier" else list(counts.index)
    counts = counts.reindex(levels, fill_value=0)
    counts.loc["all"] = counts.sum()
    table = counts.astype(int)
    table.columns.name = None
    table.insert(0, "assessed", table.sum(axis=1))
    sizes = lines[by].astype(object).value_counts()
    table.insert(0, "lines", [int(sizes.get(level, 0)) for level in levels] + [len(lines)])
    responded = table["CR"] + table["PR"]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["response_rate"] = responded / table["assessed"].where(table["assessed"] > 0)
    table["lower"], table["upper"] = wilson_interval(responded.to_numpy(), table["assessed"].to_numpy())
    table.index.name = by
    return table


def reported_response_rate(cs: CaseSeries) -> float:
    """Share of responses (CR or PR) among the lines the reports tell (one per patient, assessed).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> 0 < reported_response_rate(sa.load_example()) < 1
    True
    """
    told = reported_lines(cs.lines)["best_response"].astype(object)
    assessed = told.isin(["CR", "PR", "SD", "PD"]).sum()
    return float(told.isin(RESPONDED).sum() / assessed) if assessed else np.nan


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True)
class CrudeHR:
    """A crude Cox hazard ratio of one tier against IVIG, or the reason it is not estimable.

    Attributes
    ----------
    contrast : str
        The tier compared with IVIG.
    log_hr, se : float
        Log hazard ratio and its SE (NaN when not estimable).
    lines, relapses : dict
        Lines and first relapses (event 1) per tier, IVIG and the contrast.
    reason : str
        Why no estimate ("" when there is one).
    """

    contrast: str
    log_hr: float
    se: float
    lines: dict = field(default_factory=dict)
    relapses: dict = field(default_factory=dict)
    reason: str = ""

    @property
    def estimable(self) -> bool:
        """True when the fit gave a finite estimate (no monotone likelihood, no failure)."""
        return not self.reason and bool(np.isfinite(self.log_hr))

    @property
    def hr(self) -> float:
        """The hazard ratio (NaN when not estimable)."""
        return float(np.exp(self.log_hr))

    def counts(self) -> str:
        """``"ivig 5 lines, 3 relapses; cytoreduction 1 line, 0 relapses"``."""
        return "; ".join(f"{t} {_plural(self.lines[t], 'line')}, {_plural(self.relapses[t], 'relapse')}"
                         for t in self.lines)


def _sparse_reason(lines: dict, relapses: dict) -> str:
    """Why a crude two-tier Cox model cannot have a finite estimate, from the counts ("" if it can)."""
    empty = [tier for tier, n in lines.items() if n == 0]
    if empty:
        return f"no {' and no '.join(empty)} lines"
    silent = [tier for tier, n in relapses.items() if n == 0]
    if silent:
        return f"no relapse on {' or '.join(silent)}: without one the partial likelihood is monotone"
    return ""


def _fit_crude(df: pd.DataFrame, contrast: str) -> tuple[float, float, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScleroWarning)  # recorded: a monotone fit is not an estimate
        try:
            fit = fit_cox(df.assign(tier=df["tier"].cat.remove_unused_categories()), "tier",
                          cluster="patient_id")  # lines of one patient are correlated
        except (SurvivalInputError, np.linalg.LinAlgError) as exc:
            return np.nan, np.nan, f"the Cox fit failed ({type(exc).__name__}: {exc})"
    if any(issubclass(w.category, SeparationWarning) for w in caught):
        return np.nan, np.nan, "the partial likelihood is monotone (the estimate runs to infinity)"
    row = fit.summary.loc[f"tier[{contrast}]"]
    return float(row["coef"]), float(row["se"]), ""


def crude_hr(cs: CaseSeries, contrast: str = CONTRAST) -> CrudeHR:
    """Crude Cox hazard ratio of ``contrast`` vs IVIG on the lines of these two tiers.

    Parameters
    ----------
    cs : CaseSeries
        A registry or a published subset (any size, possibly without lines).
    contrast : str
        The tier compared with IVIG.

    Returns
    -------
    CrudeHR
        Not estimable (NaN with a ``reason``) when a tier has no line or no relapse, when the
        partial likelihood is monotone (``SeparationWarning``) or when the fit fails.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> result = crude_hr(sa.load_example())
    >>> result.estimable, result.hr < 1
    (True, True)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScleroWarning)  # zero-follow-up lines are left out
        df = relapse_frame(cs)
    df = df[df["tier"].isin([TIERS[0], contrast])]
    tiers = (TIERS[0], contrast)
    lines = {t: int((df["tier"] == t).sum()) for t in tiers}
    relapses = {t: int(((df["tier"] == t) & (df["event"] == 1)).sum()) for t in tiers}
    reason = _sparse_reason(lines, relapses)
    log_hr, se = np.nan, np.nan
    if not reason:
        log_hr, se, reason = _fit_crude(df, contrast)
    return CrudeHR(contrast, log_hr, se, lines, relapses, reason)


def naive_log_hr(cs: CaseSeries, contrast: str = CONTRAST) -> tuple[float, float]:
    """Return the crude Cox log HR (and SE) of ``contrast`` vs IVIG; NaN when not estimable.

    Not estimable: see :func:`crude_hr` (a tier without lines or relapses, a monotone
    likelihood, a failed fit).
    """
    result = crude_hr(cs, contrast)
    return result.log_hr, result.se


def publication_sweep(
    cs: CaseSeries,
    strengths: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    seeds: Sequence[int] = range(10),
    contrast: str = CONTRAST,
) -> pd.DataFrame:
    """Publish the registry under selections of several strengths and summarise what readers see.

    Parameters
    ----------
    cs : CaseSeries
        The full registry.
    strengths : sequence of float
        0 = no selection on response, 1 = the default :class:`PublicationDesign`, larger =
        stronger (odds of publication after CR 20^s, PR 4^s, dramatic therapies 2^s); the
        expected number of reports is held at the default's (see
        :func:`~sclero_analysis.synthetic.publication.design_for_strength`).
    seeds : sequence of int
        One publication draw per seed (Monte Carlo over which cases get written up).
    contrast : str
        Tier compared with IVIG.

    Returns
    -------
    pandas.DataFrame
        One row per strength × seed: ``strength, seed, patients, lines, response_rate`` (of the
        line each report tells; NaN when no report tells an assessed line), ``log_hr, se``
        (crude Cox, contrast vs IVIG, all published lines; NaN when not estimable, see
        :func:`crude_hr`), ``estimable``.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> sweep = publication_sweep(sa.load_example(), strengths=(0, 1), seeds=[1])
    >>> list(sweep["strength"])
    [0.0, 1.0]
    """
    rows = []
    for strength in strengths:
        design = design_for_strength(cs, float(strength))
        for seed in seeds:
            published = publish_case_reports(cs, seed=int(seed), design=design)
            hr = crude_hr(published, contrast)
            rows.append({"strength": float(strength), "seed": int(seed),
                         "patients": len(published.patients), "lines": len(published.lines),
                         "response_rate": reported_response_rate(published),
                         "log_hr": hr.log_hr, "se": hr.se, "estimable": hr.estimable})
    return pd.DataFrame(rows)


def _mcse(values: pd.Series) -> float:
    """Monte Carlo SE of a mean over draws (NaN with fewer than two finite values)."""
    finite = values.dropna()
    return float(finite.std() / np.sqrt(len(finite))) if len(finite) > 1 else np.nan


def sweep_summary(sweep: pd.DataFrame) -> pd.DataFrame:
    """Average a :func:`publication_sweep` per selection strength, counting the draws behind each mean.

    Parameters
    ----------
    sweep : pandas.DataFrame
        The output of :func:`publication_sweep`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``strength``: ``draws, reports`` (mean published patients), ``rate_draws``
        (draws with an assessed reported line), ``response_rate, response_rate_mcse``,
        ``hr_draws`` (draws with an estimable crude HR), ``log_hr, log_hr_mcse``; a mean over no
        draw is NaN and its count says 0.

    Examples
    --------
    >>> sweep = pd.DataFrame({"strength": [0.0, 0.0], "seed": [1, 2], "patients": [3, 1],
    ...                       "response_rate": [0.5, np.nan], "log_hr": [np.nan, np.nan]})
    >>> sweep_summary(sweep)[["draws", "rate_draws", "hr_draws"]].values.tolist()
    [[2, 1, 0]]
    """
    grouped = sweep.groupby("strength")
    table = pd.DataFrame({
        "draws": grouped.size(),
        "reports": grouped["patients"].mean(),
        "rate_draws": grouped["response_rate"].count(),
        "response_rate": grouped["response_rate"].mean(),
        "response_rate_mcse": grouped["response_rate"].agg(_mcse),
        "hr_draws": grouped["log_hr"].count(),
        "log_hr": grouped["log_hr"].mean(),
        "log_hr_mcse": grouped["log_hr"].agg(_mcse),
    })
    return table


def sweep_gaps(summary: pd.DataFrame, contrast: str = CONTRAST) -> list[tuple[str, str]]:
    """Sections of the selection sweep that some strengths cannot show: ``(section, reason)`` pairs.

    Parameters
    ----------
    summary : pandas.DataFrame
        The output of :func:`sweep_summary`.
    contrast : str
        The tier of the crude HR.

    Returns
    -------
    list of tuple
        Empty when every strength has a response rate and a crude HR from at least one draw.

    Examples
    --------
    >>> summary = pd.DataFrame({"draws": [3, 3], "reports": [2.0, 2.3], "rate_draws": [3, 3],
    ...                         "hr_draws": [0, 2]}, index=pd.Index([0.0, 2.0], name="strength"))
    >>> sweep_gaps(summary)[0][1][:62]
    'no estimable crude HR for cytoreduction vs IVIG in any of 3 dr'
    """
    gaps = []
    for column, section, what in (("rate_draws", "Selection sweep: response rates",
                                   "no published report telling an assessed line"),
                                  ("hr_draws", "Selection sweep: hazard ratios",
                                   f"no estimable crude HR for {contrast} vs IVIG")):
        missing = summary.index[summary[column] == 0]
        if len(missing):
            draws = int(summary.loc[missing, "draws"].max())
            where = ", ".join(f"{s:g}" for s in missing)
            reports = summary.loc[missing, "reports"].mean()
            rest = ("the panel is left empty" if len(missing) == len(summary)
                    else "the panel shows the other strengths")
            gaps.append((section, f"{what} in any of {draws} draws at strength {where} "
                                  f"({reports:.1f} published patients per draw on average); {rest}"))
    return gaps


@dataclass(frozen=True)
class PublicationComparison:
    """A registry against its published subset: how many reports, what they show.

    Attributes
    ----------
    registry_patients, published_patients : int
    expected_reports : float
        Expected number of published patients under the publication filter used.
    reported_assessed, reported_responses : int
        Reports telling an assessed line (CR, PR, SD, PD) and those telling a response.
    registry_assessed, registry_responses : int
        Assessed lines and responses over every line of the registry.
    registry_hr, literature_hr : CrudeHR
        Crude HR of the contrast vs IVIG in each.
    events_reported, events_registry : int
        Relapses or progressions of the published patients as their reports tell them (up to
        the writing date) and as the registry records them (whole follow-up).
    """

    registry_patients: int
    published_patients: int
    expected_reports: float
    reported_assessed: int
    reported_responses: int
    registry_assessed: int
    registry_responses: int
    registry_hr: CrudeHR
    literature_hr: CrudeHR
    events_reported: int = 0
    events_registry: int = 0

    def rate(self, source: str) -> tuple[float, float, float]:
        """Return the response rate with its 95% Wilson interval (NaN without an assessed line).

        ``source`` is ``"registry"`` (every assessed line) or ``"literature"`` (the line each
        report tells).
        """
        if source == "registry":
            x, n = self.registry_responses, self.registry_assessed
        elif source == "literature":
            x, n = self.reported_responses, self.reported_assessed
        else:
            raise ValueError(f"source must be 'registry' or 'literature', not {source!r}")
        lower, upper = wilson_interval(np.array([x]), np.array([n]))
        return (x / n if n else np.nan), float(lower[0]), float(upper[0])

    def hr_table(self, truth: dict | None = None) -> pd.DataFrame:
        """Crude HR per source (and the generator's marginal HR when ``truth`` has it).

        Returns a DataFrame indexed by ``source``: ``log_hr, se, hr``, ``lines, relapses`` (on
        IVIG and the contrast), ``note`` (why an HR is missing).
        """
        rows = {}
        for source, result in (("registry", self.registry_hr), ("literature", self.literature_hr)):
            rows[source] = {"log_hr": result.log_hr, "se": result.se, "hr": result.hr,
                            "lines": sum(result.lines.values()), "relapses": sum(result.relapses.values()),
                            "note": result.reason}
        marginal = (truth or {}).get("marginal_log_hr", {}).get(self.registry_hr.contrast)
        if marginal is not None:
            rows["truth (marginal)"] = {"log_hr": marginal, "se": np.nan, "hr": float(np.exp(marginal)),
                                        "lines": np.nan, "relapses": np.nan, "note": ""}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("source")


def compare_publication(cs: CaseSeries, literature: CaseSeries, contrast: str = CONTRAST,
                        design=None) -> PublicationComparison:
    """Compare a registry with the cases :func:`~sclero_analysis.publish_case_reports` took from it.

    Parameters
    ----------
    cs : CaseSeries
        The registry.
    literature : CaseSeries
        Its published subset (possibly empty).
    contrast : str
        The tier compared with IVIG.
    design : PublicationDesign, optional
        The filter that published ``literature`` (default :class:`PublicationDesign`), for the
        expected number of reports.

    Returns
    -------
    PublicationComparison

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> cs = sa.load_example()
    >>> comparison = compare_publication(cs, sa.publish_case_reports(cs, seed=1))
    >>> comparison.rate("literature")[0] > comparison.rate("registry")[0]
    True
    """
    told = reported_lines(literature.lines)["best_response"].astype(object)
    every = cs.lines["best_response"].astype(object)
    return PublicationComparison(
        registry_patients=len(cs.patients), published_patients=len(literature.patients),
        expected_reports=expected_reports(cs, design),
        reported_assessed=int(told.isin(ASSESSED).sum()),
        reported_responses=int(told.isin(RESPONDED).sum()),
        registry_assessed=int(every.isin(ASSESSED).sum()),
        registry_responses=int(every.isin(RESPONDED).sum()),
        registry_hr=crude_hr(cs, contrast), literature_hr=crude_hr(literature, contrast),
        events_reported=len(literature.events),
        events_registry=int(cs.events["patient_id"].isin(literature.patients["patient_id"]).sum()))


def publication_gaps(comparison: PublicationComparison, has_truth: bool) -> list[tuple[str, str]]:
    """List what notebook 04 cannot show on these data, as ``(section, reason)`` pairs in numbers.

    Parameters
    ----------
    comparison : PublicationComparison
    has_truth : bool
        The data carry the generator's truth (synthetic data).

    Returns
    -------
    list of tuple
        Empty when every section can be shown.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> cs = sa.load_example()
    >>> publication_gaps(compare_publication(cs, sa.publish_case_reports(cs, seed=1)), has_truth=True)
    []
    """
    c = comparison
    published = (f"{c.published_patients} of {c.registry_patients} patients would be published "
                 f"(expected {c.expected_reports:.1f} under the default filter)")
    gaps = []
    if c.published_patients == 0:
        gaps.append(("Registry vs literature curves", f"{published}: the figure shows the registry alone"))
    if c.reported_assessed == 0:
        gaps.append(("Response rate of the reports", f"{published}, and no report tells an assessed "
                                                     "line: there is no reported response rate"))
    for source, result in (("published cases", c.literature_hr), ("registry", c.registry_hr)):
        if not result.estimable:
            gaps.append((f"Crude HR in the {source}", f"{result.reason} ({result.counts()}); "
                                                      "the table leaves it empty"))
    if not has_truth:
        gaps.append(("Comparison with the truth", "these data carry no true effects (they are not "
                                                  "simulated): the registry and its published subset "
                                                  "are compared with each other only"))
    return gaps

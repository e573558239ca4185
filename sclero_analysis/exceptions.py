"""Named exceptions and warnings of sclero_analysis, all in one place.

Errors stop a computation; warnings name a statistical or data caveat that must not pass
silently (a tier with three events, an agent nobody recognises). Catch them by class, never by
message text.
"""

from __future__ import annotations


class ScleroError(Exception):
    """Base class of every error raised by sclero_analysis."""


class CaseSeriesError(ScleroError):
    """A case series cannot be read at all (missing file, empty file, not a table).

    Problems inside readable tables never raise: they go to ``CaseSeries.report``.

    Parameters
    ----------
    message : str
        What went wrong, in words a clinical researcher can act on.
    file : str, optional
        The file (or workbook) concerned.
    table : str, optional
        ``patients``, ``lines`` or ``events``.
    rule : str, optional
        Machine-readable name of the rule broken, e.g. ``missing_table``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        table: str | None = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.table = table
        self.rule = rule


class PropensityError(ScleroError, ValueError):
    """A propensity model cannot be fitted as asked (too few rows in a tier, missing values…)."""


class StrategyError(ScleroError, ValueError):
    """A management strategy cannot be emulated: nobody in the data follows it (or its rule)."""


class ReportError(ScleroError):
    """A report cannot be built: unreadable data, no valid patients, or an unusable output folder.

    Raised before any notebook runs; the previous report, if any, is left as it was. A notebook
    that fails does not raise: the report records it (``Report.runs``) and shows it as failed.
    """


class ScleroWarning(UserWarning):
    """Base class of every warning issued by sclero_analysis."""


class UnknownAgentWarning(ScleroWarning):
    """A therapy line names an agent that is not in the vocabulary (``therapies.toml``)."""


class AgentSpellingWarning(UnknownAgentWarning):
    """A therapy line misspells a known agent (one or two letters off); it was read as that agent."""


class ExcludedRowsWarning(ScleroWarning):
    """Rows of an analysis frame were left out (e.g. zero follow-up); they are listed."""


class SmallSampleWarning(ScleroWarning):
    """An estimate rests on very few patients or events; read it with caution."""


class SeparationWarning(ScleroWarning):
    """A regression shows (quasi-)complete separation; estimates may be infinite."""


class PositivityWarning(ScleroWarning):
    """Propensity scores approach 0 or 1 (or weights explode) for some group."""


class RepeatedIdsWarning(ScleroWarning):
    """Rows repeat an identifier (a patient's several lines) but are analysed as independent.

    Analysis frames name their identifier column in ``frame.attrs["cluster"]``; pass
    ``cluster="patient_id"`` for clustered (robust) standard errors, or ``cluster=False`` to
    treat the rows as independent on purpose.
    """


class NotEstimableWarning(ScleroWarning):
    """A coefficient or curve cannot be estimated from these data; it is reported as NaN (R's NA)."""


class UnadjustedCovariateWarning(ScleroWarning):
    """A covariate asked for was never recorded, so a model leaves it out (nothing is adjusted for it)."""

"""The report's data check: the case series validated as ``sclero-analysis validate`` reads it.

Before any notebook runs, :func:`check_data` reads the data with the same function the notebooks
call (:func:`~sclero_analysis.report.notebook.load_data`, with the same ``dayfirst`` and
``sheets``) and summarises what was accepted and rejected, by rule. Data that cannot be read, or
that leave no patient or no line of therapy to analyse, stop the report before anything is
written; data with errors but some valid rows are reported (the rejected rows are left out and
counted), with a prominent warning when a table loses more than
:data:`REJECTED_SHARE_LIMIT` of its rows.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.exceptions import CaseSeriesError, ReportError
from sclero_analysis.report.notebook import load_data

#: A table that loses more than this share of its rows to errors is warned about.
REJECTED_SHARE_LIMIT = 0.10
#: Rules listed per table before "… and N more".
SHOWN_RULES = 4
#: How the warnings name each table's rows.
NOUNS = {"patients": "patients", "lines": "lines of therapy", "events": "relapse/progression events"}
#: What the user says to read dd/mm or mm/dd dates, on the command line and in Python.
DATE_ORDER_HINT = "--dayfirst or --monthfirst (dayfirst=True/False in Python)"


def date_order(dayfirst: bool | None) -> str:
    """Describe how dates are read: ``day-first``, ``month-first`` or ISO/unambiguous only."""
    if dayfirst is None:
        return "ISO or unambiguous only"
    return "day-first (dd/mm/yyyy)" if dayfirst else "month-first (mm/dd/yyyy)"


@dataclass(frozen=True, eq=False)
class DataCheck:
    """What validation kept and rejected in the report's data.

    Attributes
    ----------
    source : str
        The data path, or the shipped synthetic registry.
    dates : str
        How dates were read (:func:`date_order`).
    counts : pandas.DataFrame
        Indexed by table: ``read, accepted, rejected`` (read = accepted + rejected).
    rejected_by_rule : pandas.DataFrame
        ``table, rule, rows``: rejected rows per rule broken (a row may break several rules).
    warnings_by_rule : pandas.DataFrame
        ``table, rule, rows``: warnings (their rows were kept).
    validate : str
        The ``sclero-analysis validate`` command that lists every problem and its cell.
    """

    source: str
    dates: str
    counts: pd.DataFrame
    rejected_by_rule: pd.DataFrame
    warnings_by_rule: pd.DataFrame
    validate: str = "sclero-analysis validate PATH"

    @property
    def rejected_share(self) -> pd.Series:
        """Rejected rows / rows read, per table (0 for an empty table)."""
        read = self.counts["read"].where(self.counts["read"] > 0)
        return (self.counts["rejected"] / read).fillna(0.0)

    @property
    def heavy(self) -> list[str]:
        """Tables that lost more than :data:`REJECTED_SHARE_LIMIT` of their rows."""
        share = self.rejected_share
        return [str(t) for t in share.index[share > REJECTED_SHARE_LIMIT]]

    def alerts(self) -> list[str]:
        """Return the warnings to show prominently: one per heavily rejected table, a date hint."""
        lines = []
        for table in self.heavy:
            row = self.counts.loc[table]
            lines.append(f"WARNING: {row.rejected} of {row.read} {NOUNS.get(table, table)} "
                         f"({row.rejected / row.read:.0%}) rejected for errors, more than "
                         f"{REJECTED_SHARE_LIMIT:.0%}: the report analyses the accepted rows only.")
        rules = set(self.rejected_by_rule["rule"])
        if "ambiguous_date" in rules and self.dates == date_order(None):
            lines.append("Dates such as 03/04/2020 read two ways: say which with " + DATE_ORDER_HINT + ".")
        return lines

    def to_text(self) -> str:
        """Render the check for a terminal: source, counts, rejected rows by rule, alerts."""
        lines = [f"Data: {self.source} (dates: {self.dates})", self.counts.to_string(), ""]
        if self.rejected_by_rule.empty:
            lines.append("No rows rejected.")
        else:
            lines.append("Rejected rows by rule:")
            lines += [f"  {t}: {_rules(g)}" for t, g in self.rejected_by_rule.groupby("table", sort=False)]
        if not self.warnings_by_rule.empty:
            lines.append(f"Warnings (rows kept): {_rules(self.warnings_by_rule)}")
        if not (self.rejected_by_rule.empty and self.warnings_by_rule.empty):
            lines.append(f"Every problem and its cell: {self.validate}")
        alerts = self.alerts()
        return "\n".join((lines + [""] + alerts) if alerts else lines)


def _rules(frame: pd.DataFrame) -> str:
    ranked = frame.groupby("rule", sort=False)["rows"].sum().sort_values(ascending=False, kind="stable")
    shown = ", ".join(f"{rule} {n}" for rule, n in ranked.head(SHOWN_RULES).items())
    more = len(ranked) - SHOWN_RULES
    return shown + (f" … and {more} more rules" if more > 0 else "")


def _rejected_by_rule(cs: CaseSeries) -> pd.DataFrame:
    rows = []
    for table, frame in cs.rejected.items():
        if len(frame) and "rules" in frame:
            rules = frame["rules"].astype(str).str.split(";").explode().str.strip()
            rows += [(table, rule, int(n)) for rule, n in rules[rules != ""].value_counts().items()]
    return pd.DataFrame(rows, columns=["table", "rule", "rows"])


def _warnings_by_rule(cs: CaseSeries) -> pd.DataFrame:
    warnings = cs.warnings
    if warnings.empty:
        return pd.DataFrame(columns=["table", "rule", "rows"])
    sizes = warnings.groupby(["table", "rule"], observed=True, sort=False).size()
    return sizes.rename("rows").reset_index().astype({"table": str, "rule": str})


def validate_command(data: str | Path | None, dayfirst: bool | None = None,
                     sheets: dict[str, str] | None = None) -> str:
    """Return the ``sclero-analysis validate`` command reading the data as the report does.

    Examples
    --------
    >>> validate_command("my registry", dayfirst=True, sheets={"lines": "Therapy lines"})
    "sclero-analysis validate 'my registry' --dayfirst --sheet 'lines=Therapy lines'"
    """
    words = ["sclero-analysis", "validate", shlex.quote(str(data) if data is not None else "PATH")]
    if dayfirst is not None:
        words.append("--dayfirst" if dayfirst else "--monthfirst")
    words += [f"--sheet {shlex.quote(f'{table}={sheet}')}" for table, sheet in (sheets or {}).items()]
    return " ".join(words)


def summarize(cs: CaseSeries, source: str, dayfirst: bool | None = None,
              validate: str = "sclero-analysis validate PATH") -> DataCheck:
    """Summarise a validated case series for the report (see :class:`DataCheck`).

    Parameters
    ----------
    cs : CaseSeries
        The validated series.
    source : str
        Where it was read from, as shown to the user.
    dayfirst : bool, optional
        How its dates were read.
    validate : str
        The command that lists every problem (:func:`validate_command`).

    Returns
    -------
    DataCheck

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> check = summarize(sa.load_example(), "example")
    >>> check.heavy, int(check.counts.loc["lines", "accepted"])
    ([], 952)
    """
    return DataCheck(source, date_order(dayfirst), cs.counts, _rejected_by_rule(cs),
                     _warnings_by_rule(cs), validate)


def check_data(data: str | Path | None = None, dayfirst: bool | None = None,
               sheets: dict[str, str] | None = None) -> DataCheck:
    """Validate the report's data as the notebooks will read it.

    Parameters
    ----------
    data : str or Path, optional
        A case series directory or .xlsx workbook; None: the shipped synthetic registry.
    dayfirst : bool, optional
        True reads dd/mm/yyyy dates, False mm/dd/yyyy; None only ISO or unambiguous dates.
    sheets : dict, optional
        ``{table: sheet}`` for a workbook whose sheets are not named after the tables.

    Returns
    -------
    DataCheck

    Raises
    ------
    ReportError
        The data cannot be read, or no patient or no line of therapy was accepted.

    Examples
    --------
    >>> check_data().counts["rejected"].tolist()
    [0, 0, 0]
    """
    source = str(Path(data).resolve()) if data is not None else "the shipped synthetic registry"
    try:
        cs = load_data(data, dayfirst=dayfirst, sheets=sheets)
    except (CaseSeriesError, ValueError) as error:
        raise ReportError(f"cannot read {data}: {str(error).removeprefix(f'{data}: ')}") from None
    check = summarize(cs, source, dayfirst, validate_command(data, dayfirst, sheets))
    empty = [t for t in ("patients", "lines") if check.counts.loc[t, "accepted"] == 0]
    if empty:
        raise ReportError(f"{data}: no {empty[0]} accepted, nothing to analyse.\n" + check.to_text())
    return check

"""The ``Literature``: accepted tables of published evidence, rejected rows and every problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.caseseries.problems import ERROR, REPORT_COLUMNS, WARNING, report_frame
from sclero_analysis.evidence.contract import CASE_TABLES, TABLES


def empty_report() -> pd.DataFrame:
    """Return a report with no rows and the report's columns and dtypes."""
    return report_frame([], {})


def sort_report(report: pd.DataFrame) -> pd.DataFrame:
    """Order a report by table (as :data:`~sclero_analysis.evidence.contract.TABLES`), row, column."""
    order = report["table"].map({name: i for i, name in enumerate(TABLES)}).astype(float)
    ordered = report.assign(_t=order).sort_values(["_t", "row", "column"], na_position="first",
                                                  kind="stable")
    return ordered.drop(columns="_t").reset_index(drop=True)[list(REPORT_COLUMNS)]


@dataclass(frozen=True, eq=False)
class Literature:
    """Published evidence, validated: sources, aggregate series, score changes and cases.

    Build one with :func:`~sclero_analysis.read_literature` (from files) or
    :func:`~sclero_analysis.evidence.validate_literature` (from frames).

    Attributes
    ----------
    sources : pandas.DataFrame
        One row per publication: ``source_id, citation, doi, pmid, year, design, country,
        response_definition, notes``.
    series : pandas.DataFrame
        Aggregate rows per source and treatment: ``source_id, agents, tier, adjunct_ecp, n,
        responders, relapsed, died, median_followup_months, severity, response_definition,
        notes`` (``response_definition`` filled in from the source when empty).
    scores : pandas.DataFrame
        Score changes: ``source_id, agents, tier, adjunct_ecp, score, n, mean_before,
        sd_before, mean_after, sd_after, followup_months, notes``.
    patients, lines, events : pandas.DataFrame
        Per-patient cases in the registry's contract; a patient's ``site`` is its ``source_id``.
    report : pandas.DataFrame
        One row per problem: ``file, table, row, column, value, severity, rule, message``.
    rejected : Mapping[str, pandas.DataFrame]
        Per table, the rows with errors as read (text), their file ``row`` and the ``rules``
        they broke.
    n_read : Mapping[str, int]
        Data rows read per table.
    source : str, optional
        Where the literature was read from.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> from sclero_analysis.synthetic.examples import DATA_DIR
    >>> lit = sa.read_literature(DATA_DIR / "literature")
    >>> int(lit.counts["rejected"].sum()), lit.errors.empty
    (0, True)
    """

    sources: pd.DataFrame
    series: pd.DataFrame
    scores: pd.DataFrame
    patients: pd.DataFrame
    lines: pd.DataFrame
    events: pd.DataFrame
    report: pd.DataFrame = field(default_factory=empty_report)
    rejected: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    n_read: Mapping[str, int] = field(default_factory=dict)
    source: str | None = None

    def table(self, name: str) -> pd.DataFrame:
        """Return the accepted rows of one table (``sources``, ``series``, … ``events``)."""
        if name not in TABLES:
            raise KeyError(f"no table {name!r}; the tables are {TABLES}")
        return getattr(self, name)

    @property
    def cases(self) -> CaseSeries:
        """The per-patient cases as a :class:`~sclero_analysis.CaseSeries` (``site`` = source).

        Every analysis frame of a case series works on it, e.g. ``sa.relapse_frame(lit.cases)``.
        """
        report = self.report[self.report["table"].isin(CASE_TABLES)].reset_index(drop=True)
        return CaseSeries(self.patients, self.lines, self.events, report,
                          {t: r for t, r in self.rejected.items() if t in CASE_TABLES},
                          {t: n for t, n in self.n_read.items() if t in CASE_TABLES}, self.source)

    @property
    def counts(self) -> pd.DataFrame:
        """Rows read, accepted and rejected per table (read = accepted + rejected)."""
        rows = []
        for name in TABLES:
            rejected = len(self.rejected.get(name, ()))
            accepted = len(self.table(name))
            rows.append((name, self.n_read.get(name, accepted + rejected), accepted, rejected))
        frame = pd.DataFrame(rows, columns=["table", "read", "accepted", "rejected"])
        return frame.set_index("table")

    @property
    def errors(self) -> pd.DataFrame:
        """The report's errors (rows with errors were rejected)."""
        return self.report[self.report["severity"] == ERROR].reset_index(drop=True)

    @property
    def warnings(self) -> pd.DataFrame:
        """The report's warnings (rows with only warnings were kept)."""
        return self.report[self.report["severity"] == WARNING].reset_index(drop=True)

    def to_dir(self, path: str | Path) -> Path:
        """Write the accepted tables as CSV files (``sources.csv`` … ``events.csv``).

        Parameters
        ----------
        path : str or Path
            Folder to write into (created if needed; existing table files are replaced).

        Returns
        -------
        Path
            The folder; :func:`~sclero_analysis.read_literature` on it gives equal tables.
        """
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            for stale in directory.glob(f"{name}.*"):
                stale.unlink()
            self.table(name).to_csv(directory / f"{name}.csv", index=False, date_format="%Y-%m-%d")
        return directory

    def __repr__(self) -> str:
        counts = self.counts
        parts = [f"{t}: {c.accepted} accepted, {c.rejected} rejected" for t, c in counts.iterrows()]
        where = f" from {self.source}" if self.source else ""
        return (f"Literature{where}\n  " + "\n  ".join(parts)
                + f"\n  report: {len(self.errors)} errors, {len(self.warnings)} warnings")

"""The ``CaseSeries``: accepted tables, rejected rows and the report of every problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from sclero_analysis.caseseries.problems import ERROR, WARNING, report_frame
from sclero_analysis.caseseries.schema import SCHEMAS, TABLES
from sclero_analysis.caseseries.spreadsheet import spreadsheet_safe


def _empty_report() -> pd.DataFrame:
    return report_frame([], {})


@dataclass(frozen=True, eq=False)
class CaseSeries:
    """A validated case series: three tables of the data contract plus what was wrong.

    Build one with :func:`~sclero_analysis.read_case_series` (from files) rather than by hand.

    Attributes
    ----------
    patients, lines, events : pandas.DataFrame
        Accepted rows, typed as docs/data_contract.md §3 (columns in the contract's order).
    report : pandas.DataFrame
        One row per problem: ``file, table, row, column, value, severity, rule, message``.
    rejected : Mapping[str, pandas.DataFrame]
        Per table, the rows with errors as they were read (text), with their file ``row`` and
        the ``rules`` they broke. Rejected rows never enter an analysis frame.
    n_read : Mapping[str, int]
        Data rows read per table (blank rows aside); defaults to accepted + rejected for
        series built in memory.
    source : str, optional
        Where the series was read from.
    truth : Any, optional
        For simulated registries, the true parameters and estimands.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> cs = sa.read_case_series("tests/data/good")  # doctest: +SKIP
    >>> cs.counts  # doctest: +SKIP
    """

    patients: pd.DataFrame
    lines: pd.DataFrame
    events: pd.DataFrame
    report: pd.DataFrame = field(default_factory=_empty_report)
    rejected: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    n_read: Mapping[str, int] = field(default_factory=dict)
    source: str | None = None
    truth: Any = None

    def table(self, name: str) -> pd.DataFrame:
        """Return the accepted rows of ``patients``, ``lines`` or ``events``."""
        if name not in TABLES:
            raise KeyError(f"no table {name!r}; the tables are {TABLES}")
        return getattr(self, name)

    @property
    def counts(self) -> pd.DataFrame:
        """Rows read, accepted and rejected per table (read = accepted + rejected)."""
        rows = []
        for name in TABLES:
            rejected = len(self.rejected.get(name, ()))
            accepted = len(self.table(name))
            rows.append((name, self.n_read.get(name, accepted + rejected), accepted, rejected))
        return pd.DataFrame(rows, columns=["table", "read", "accepted", "rejected"]).set_index(
            "table"
        )

    @property
    def errors(self) -> pd.DataFrame:
        """The report's errors (rows with errors were rejected)."""
        return self.report[self.report["severity"] == ERROR].reset_index(drop=True)

    @property
    def warnings(self) -> pd.DataFrame:
        """The report's warnings (rows with only warnings were kept)."""
        return self.report[self.report["severity"] == WARNING].reset_index(drop=True)

    def to_dir(self, path: str | Path, format: Literal["csv", "parquet"] = "csv") -> Path:
        """Write the accepted tables as ``patients``, ``lines``, ``events`` files.

        Parameters
        ----------
        path : str or Path
            Directory to write into (created if needed; existing table files are replaced).
        format : {"csv", "parquet"}
            CSV (UTF-8, ISO dates, full float precision; a text cell a spreadsheet would run
            as a formula is written with a ``'`` before it, which the loader reads back) or
            Parquet.

        Returns
        -------
        Path
            The directory; ``read_case_series`` on it gives equal tables, dtypes included.
        """
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            frame = self.table(name)
            for stale in directory.glob(f"{name}.*"):
                stale.unlink()
            if format == "csv":
                spreadsheet_safe(frame).to_csv(directory / f"{name}.csv", index=False,
                                               date_format="%Y-%m-%d")
            elif format == "parquet":
                frame.to_parquet(directory / f"{name}.parquet", index=False)
            else:
                raise ValueError(f"format must be 'csv' or 'parquet', not {format!r}")
        return directory

    def __repr__(self) -> str:
        counts = self.counts
        parts = [f"{t}: {c.accepted} accepted, {c.rejected} rejected" for t, c in counts.iterrows()]
        n_err, n_warn = len(self.errors), len(self.warnings)
        where = f" from {self.source}" if self.source else ""
        return (f"CaseSeries{where}\n  " + "\n  ".join(parts)
                + f"\n  report: {n_err} errors, {n_warn} warnings")


def empty_tables() -> dict[str, pd.DataFrame]:
    """Return empty, correctly typed ``patients``, ``lines`` and ``events`` frames."""
    tables = {}
    for name, model in SCHEMAS.items():
        columns = model.to_schema().columns
        tables[name] = pd.DataFrame(
            {c: pd.Series([], dtype=col.dtype.type) for c, col in columns.items()}
        )
    return tables

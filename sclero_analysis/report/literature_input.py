"""The report's literature: which one the notebooks pool, read and checked before they run.

``sclero-analysis report --literature PATH`` names a literature (an extraction workbook from
``sclero-analysis template literature`` or a folder of CSV files, see
:func:`~sclero_analysis.read_literature`). Without it, the report on the shipped synthetic
registry pools the shipped synthetic literature, and a report on the user's own registry has
none (notebook 07 then says how to give one). :func:`check_literature` reads it before any
notebook runs and summarises what was accepted and rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sclero_analysis.evidence import Literature, read_literature
from sclero_analysis.exceptions import CaseSeriesError, ReportError
from sclero_analysis.synthetic.examples import DATA_DIR

#: The literature shipped with the example registry.
SHIPPED_LITERATURE = DATA_DIR / "literature"
#: How the shipped literature is named in the provenance and the data check.
SHIPPED_NAME = "shipped synthetic literature (data/synthetic/literature)"
#: Tables counted as "cases" in the summary.
CASE_TABLES = ("patients", "lines", "events")


def literature_path(data_path: str | Path | None, literature: str | Path | None) -> Path | None:
    """Return the literature the notebooks pool: the one given, else the shipped one for the example.

    Parameters
    ----------
    data_path : str or Path, optional
        The registry (None or "": the shipped synthetic registry).
    literature : str or Path, optional
        The literature given (``--literature``); None or "": the default.

    Returns
    -------
    Path or None
        ``literature`` resolved; the shipped literature when the registry is the shipped one;
        else None (no literature).

    Examples
    --------
    >>> literature_path(None, None).name, literature_path("my_registry", None)
    ('literature', None)
    """
    if literature is not None and str(literature) != "":
        return Path(literature).resolve()
    if data_path is None or str(data_path) == "":
        return SHIPPED_LITERATURE
    return None


def load_literature(literature: str | Path | None, data_path: str | Path | None = None,
                    dayfirst: bool | None = None) -> Literature | None:
    """Read the notebooks' literature (see :func:`literature_path`); None when there is none.

    Parameters
    ----------
    literature : str or Path, optional
        A literature folder or workbook (the notebooks' ``literature_path``).
    data_path : str or Path, optional
        The registry: when it is the shipped one and ``literature`` is None, the shipped
        literature is read.
    dayfirst : bool, optional
        How dates of the published cases are read (as the registry's).

    Returns
    -------
    Literature or None

    Examples
    --------
    >>> len(load_literature(None).sources), load_literature(None, "my_registry")
    (34, None)
    """
    path = literature_path(data_path, literature)
    return None if path is None else read_literature(path, dayfirst=dayfirst)


@dataclass(frozen=True, eq=False)
class LiteratureCheck:
    """What validation kept and rejected in the report's literature.

    Attributes
    ----------
    source : str
        The literature's path, or the shipped synthetic literature.
    counts : pandas.DataFrame
        Indexed by table (``sources, series, scores, patients, lines, events``): ``read,
        accepted, rejected``.
    n_errors, n_warnings : int
        Problems found (rows with errors are left out of the pooling).
    """

    source: str
    counts: pd.DataFrame
    n_errors: int
    n_warnings: int

    def to_text(self) -> str:
        """One line of counts (sources, series rows, cases accepted/rejected), then problems.

        Examples
        --------
        >>> print(check_literature(None).to_text().splitlines()[1][:60])
        34 sources, 29 series rows, 0 score rows; cases: 30 patients
        """
        c = self.counts
        cases = (f"cases: {c.loc['patients', 'accepted']} patients accepted, "
                 f"{c.loc['patients', 'rejected']} rejected ({c.loc['lines', 'accepted']} lines, "
                 f"{c.loc['events', 'accepted']} events accepted)")
        lines = [f"Literature: {self.source}",
                 f"{c.loc['sources', 'accepted']} sources, {c.loc['series', 'accepted']} series rows, "
                 f"{c.loc['scores', 'accepted']} score rows; {cases}"]
        rejected = int(c["rejected"].sum())
        if rejected or self.n_warnings:
            lines.append(f"{rejected} literature rows rejected ({self.n_errors} errors), "
                         f"{self.n_warnings} warnings: sclero-analysis validate {self.source}")
        return "\n".join(lines)


def check_literature(literature: str | Path | None, dayfirst: bool | None = None) -> LiteratureCheck:
    """Read and validate the report's literature as notebook 07 will.

    Parameters
    ----------
    literature : str or Path, optional
        A literature folder or workbook; None: the shipped synthetic literature.
    dayfirst : bool, optional
        How dates of the published cases are read.

    Returns
    -------
    LiteratureCheck

    Raises
    ------
    ReportError
        The literature cannot be read, or no source was accepted.

    Examples
    --------
    >>> int(check_literature(None).counts.loc["sources", "accepted"])
    34
    """
    path = SHIPPED_LITERATURE if literature is None else Path(literature)
    shown = SHIPPED_NAME if literature is None else str(path.resolve())
    if not path.exists():
        raise ReportError(f"--literature {literature}: no such file or directory")
    try:
        lit = read_literature(path, dayfirst=dayfirst)
    except (CaseSeriesError, ValueError) as error:
        raise ReportError(f"cannot read the literature {literature}: {error}") from None
    check = LiteratureCheck(shown, lit.counts, len(lit.errors), len(lit.warnings))
    if check.counts.loc["sources", "accepted"] == 0:
        raise ReportError(f"--literature {literature}: no source accepted, nothing to pool.\n"
                          + check.to_text())
    return check

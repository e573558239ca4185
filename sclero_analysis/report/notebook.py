"""What the report's notebooks share: their data, where their outputs go, their one-line finding.

Each notebook of ``notebooks/`` opens with :func:`load_data` (the shipped synthetic registry, or
the user's case series given by ``--data``) and writes through a :class:`NotebookOutputs`:
figures to ``<out>/figures/``, tables to ``<out>/tables/``, and a manifest
(``<out>/manifest/<notebook>.json``) listing them with the notebook's finding, from which
:func:`sclero_analysis.report.build_report` writes ``index.html``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sclero_analysis.caseseries import CaseSeries, read_case_series
from sclero_analysis.exceptions import ScleroWarning
from sclero_analysis.report.save import save_figure, save_table
from sclero_analysis.synthetic.examples import load_example
from sclero_analysis.tables import Table
from sclero_analysis.tables.table import MEDIAN_COLUMNS, NOT_REACHED


def load_data(data_path: str | Path | None = None, dayfirst: bool | None = None,
              sheets: dict[str, str] | None = None) -> CaseSeries:
    """Load the notebooks' case series.

    Parameters
    ----------
    data_path : str or Path, optional
        A directory of patients/lines/events files or an .xlsx workbook (the data contract).
        None: the shipped synthetic registry (:func:`sclero_analysis.load_example`).
    dayfirst : bool, optional
        True reads dd/mm/yyyy dates, False mm/dd/yyyy; None accepts only ISO or unambiguous
        dates (``report --dayfirst/--monthfirst``).
    sheets : dict, optional
        ``{table: sheet}`` for a workbook whose sheets are not named after the tables
        (``report --sheet TABLE=SHEET``).

    Returns
    -------
    CaseSeries
        Validated; ``truth`` is the generator's truth for synthetic data (the shipped registry,
        or a directory holding the ``truth.json`` that ``sclero-analysis simulate`` writes),
        else empty: notebooks then skip their comparisons with the truth.

    Examples
    --------
    >>> load_data().truth["marginal_log_hr"]["cytoreduction"] < 0
    True
    """
    if data_path is None or str(data_path) == "":
        return load_example()
    path = Path(data_path)
    cs = read_case_series(path, dayfirst=dayfirst, sheet_names=dict(sheets or {}))
    truth_file = path / "truth.json" if path.is_dir() else None
    if truth_file is not None and truth_file.exists():
        truth = json.loads(truth_file.read_text())
    else:
        truth = {}  # real data have no truth: the notebooks test ``cs.truth.get(...)``
    return CaseSeries(cs.patients, cs.lines, cs.events, cs.report, cs.rejected, cs.n_read,
                      cs.source, truth)


@dataclass
class NotebookOutputs:
    """Where one notebook writes its figures, tables and finding.

    Attributes
    ----------
    folder : Path
        The report folder (``reports/``).
    notebook : str
        The notebook's name without extension (``02_time_to_relapse_by_tier``); its number
        prefixes every file it writes.
    """

    folder: Path
    notebook: str
    figures: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    finding_text: str = ""
    skipped: list[dict] = field(default_factory=list)
    methods_text: str = ""

    @property
    def prefix(self) -> str:
        """The notebook's number (``02``), or its whole name when it has none."""
        head = self.notebook.split("_", 1)[0]
        return head if head.isdigit() else self.notebook

    def figure(self, fig: Figure, name: str, formats=("pdf", "png"), close: bool = False) -> list[Path]:
        """Save ``fig`` as ``figures/<prefix>_<name>.pdf`` and ``.png`` and list it in the manifest.

        ``close=True`` also closes the figure (when the notebook has already displayed it).
        """
        stem = f"{self.prefix}_{name}"
        paths = save_figure(fig, self.folder / "figures" / stem, formats=formats)
        if stem not in self.figures:
            self.figures.append(stem)
        self._write()
        if close:
            import matplotlib.pyplot as plt  # not at import: the package never loads pyplot itself

            plt.close(fig)
        return paths

    def table(self, table: Table | pd.DataFrame, name: str, formats=("csv", "md")) -> list[Path]:
        """Save a table as ``tables/<prefix>_<name>.csv`` and ``.md`` and list it in the manifest."""
        stem = f"{self.prefix}_{name}"
        paths = save_table(table, self.folder / "tables" / stem, formats=formats)
        if stem not in self.tables:
            self.tables.append(stem)
        self._write()
        return paths

    def finding(self, text: str) -> str:
        """Record the notebook's one-line finding (shown in ``index.html``) and return it."""
        text = " ".join(str(text).split())
        if not text:
            raise ValueError("a finding cannot be empty")
        self.finding_text = text
        self._write()
        return text

    def methods(self, text: str) -> str:
        """Record the notebook's methods paragraph (shown in ``index.html``) and return it.

        Write it from what was run, with its numbers: the estimators, the model formula, the
        variance, how many patients, lines and events, what was left out ("Kaplan-Meier per
        tier on 907 lines of 400 patients; Cox with robust variance clustered by patient …").
        Calling it again replaces the paragraph.
        """
        text = " ".join(str(text).split())
        if not text:
            raise ValueError("a methods paragraph cannot be empty")
        self.methods_text = text
        self._write()
        return text

    def skip(self, section: str, reason: str) -> str:
        """Record that a section was left out or reduced, and why (in numbers); return the sentence.

        The notebook goes on; ``index.html`` lists the section under the notebook's status
        ("complete, with sections skipped"). Print or display the returned sentence so the
        notebook's reader sees it where the section would have been.

        Parameters
        ----------
        section : str
            The section's title as the notebook shows it ("IPTW-adjusted curves").
        reason : str
            What is missing, in numbers, and what was done instead ("2 lines on cytoreduction,
            a propensity model needs at least 6 per tier: the tier is merged with ...").
        """
        section, reason = " ".join(str(section).split()), " ".join(str(reason).split())
        if not section or not reason:
            raise ValueError("a skipped section needs its title and the reason")
        entry = {"section": section, "reason": reason}
        if entry not in self.skipped:
            self.skipped.append(entry)
        self._write()
        return f"{section}: {reason}"

    @property
    def manifest_path(self) -> Path:
        """The manifest file of this notebook."""
        return self.folder / "manifest" / f"{self.notebook}.json"

    def _write(self) -> None:
        self.manifest_path.parent.mkdir(parents=True, exist_ok=True)
        self.manifest_path.write_text(json.dumps({
            "notebook": self.notebook, "finding": self.finding_text,
            "figures": self.figures, "tables": self.tables, "skipped": self.skipped,
            "methods": self.methods_text,
        }, indent=1))


def frame_html(frame: pd.DataFrame) -> str:
    """Return a DataFrame's notebook HTML with its missing cells in words instead of ``NaN``.

    In a table of medians (a ``median`` column), NaN in ``median, lower, upper`` is "not
    reached" (the curve never reaches 0.5), as in the saved tables; any other missing cell is
    "–" (not estimated, or not applicable to that row).

    Examples
    --------
    >>> html = frame_html(pd.DataFrame({"median": [12.5, float("nan")], "n": [3, None]}))
    >>> "not reached" in html and "–" in html and "NaN" not in html
    True
    """
    if "median" in frame.columns:
        frame = frame.copy()
        for column in (c for c in MEDIAN_COLUMNS if c in frame.columns):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), NOT_REACHED)
    return frame.to_html(na_rep="–", notebook=True, max_rows=pd.get_option("display.max_rows"),
                         max_cols=pd.get_option("display.max_columns"), show_dimensions=False)


#: How Python shows a warning (kept: :func:`show_as_note` hands it every other warning).
_PYTHON_SHOWWARNING = warnings.showwarning


def show_as_note(message, category, filename, lineno, file=None, line=None) -> None:
    """Show a named warning as a note in the output, any other warning as Python does.

    Named warnings (:class:`~sclero_analysis.exceptions.ScleroWarning`: a group without
    events, a small sample) are messages to the reader; on stderr a report's reader pages
    would hide them and the executed notebook would show them as error output, with the
    interpreter's file and line.

    Examples
    --------
    >>> from sclero_analysis.exceptions import SmallSampleWarning
    >>> show_as_note(SmallSampleWarning("group 'other' has no events"), SmallSampleWarning, "x.py", 1)
    Note: group 'other' has no events
    """
    if issubclass(category, ScleroWarning):
        print(f"Note: {message}")
    else:
        _PYTHON_SHOWWARNING(message, category, filename, lineno, file, line)


def _notebook_display() -> None:
    """In a running notebook, DataFrames by :func:`frame_html`, named warnings by :func:`show_as_note`."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)
        warnings.showwarning = show_as_note


def notebook_outputs(out_dir: str | Path, notebook: str) -> NotebookOutputs:
    """Start a notebook's outputs in ``out_dir`` (its manifest starts empty).

    In a running notebook, DataFrames are then displayed with missing cells in words
    (:func:`frame_html`: "not reached", "–") instead of ``NaN``, as the saved tables are, and
    the package's named warnings are printed as notes (:func:`show_as_note`).

    Parameters
    ----------
    out_dir : str or Path
        The report folder; ``figures/``, ``tables/`` and ``manifest/`` are made inside.
    notebook : str
        The notebook's name without extension.

    Returns
    -------
    NotebookOutputs

    Examples
    --------
    >>> import tempfile
    >>> out = notebook_outputs(tempfile.mkdtemp(), "01_overview")
    >>> out.finding("Four tiers, 400 patients.")
    'Four tiers, 400 patients.'
    >>> out.manifest_path.name
    '01_overview.json'
    """
    outputs = NotebookOutputs(Path(out_dir), notebook)
    outputs._write()
    _notebook_display()
    return outputs

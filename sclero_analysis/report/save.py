"""Save a figure in every format a journal or a report needs, and tables beside it (text, Word, Excel)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sclero_analysis.report.office import write_docx, write_xlsx
from sclero_analysis.tables import Table

FIGURE_FORMATS = ("pdf", "svg", "png", "tiff", "eps")
TABLE_FORMATS = ("csv", "md", "html", "tex", "docx", "xlsx")


def save_figure(fig: Figure, path_stem: str | Path, formats: Sequence[str] = ("pdf", "svg", "png"),
                dpi: int = 300) -> list[Path]:
    """Write ``fig`` as ``<path_stem>.pdf``, ``.svg``, ``.png`` … with fonts embedded.

    PDF and EPS embed TrueType (Type 42) fonts and SVG keeps text as text, whatever the
    session's rcParams; raster formats use ``dpi``. Parent folders are created.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path_stem : str or Path
        Path without extension (``reports/figures/km_by_tier``); an extension is refused.
    formats : sequence of {"pdf", "svg", "png", "tiff", "eps"}
    dpi : int
        Resolution of PNG/TIFF (300 for print; 600 for line art).

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.

    Examples
    --------
    >>> import tempfile, matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> paths = save_figure(fig, tempfile.mkdtemp() + "/demo", formats=("pdf", "png"))
    >>> [p.suffix for p in paths]
    ['.pdf', '.png']
    >>> plt.close(fig)
    """
    stem = Path(path_stem)
    if stem.suffix.lstrip(".") in FIGURE_FORMATS:
        raise ValueError(f"give the path without extension ({stem.with_suffix('')}), and the formats apart")
    unknown = [f for f in formats if f not in FIGURE_FORMATS]
    if unknown:
        raise ValueError(f"unknown figure format {unknown[0]!r}; choose from {FIGURE_FORMATS}")
    import matplotlib as mpl

    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    rc = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none"}
    with mpl.rc_context(rc):
        _settle(fig)
        for fmt in formats:
            path = stem.parent / f"{stem.name}.{fmt}"
            fig.savefig(path, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.02,
                        metadata=_metadata(fmt))
            written.append(path)
    return written


def _settle(fig: Figure, draws: int = 10) -> None:
    """Draw until the figure's extent stops changing (same figure, same bytes, at every save).

    Tables placed from the previous draw's text extents (risk tables) move by a little less at
    each draw; a figure saved once and again would otherwise differ in its last digits.
    """
    bounds = None
    for _ in range(draws):
        fig.draw_without_rendering()  # any canvas, also a Figure() made without pyplot
        now = fig.get_tightbbox().bounds
        if now == bounds:
            return
        bounds = now


def _metadata(fmt: str) -> dict | None:
    """Reproducible files: no creation date in PDF/SVG (same figure, same bytes)."""
    if fmt == "pdf":
        return {"CreationDate": None}
    if fmt == "svg":
        return {"Date": None}
    return None


def _table_paths(path: Path, formats: Sequence[str] | None) -> list[Path]:
    """Return the files to write: ``path`` itself when it names a format, else ``path.<format>`` each."""
    named = path.suffix.lstrip(".").lower()
    if named in TABLE_FORMATS:
        if formats is not None and tuple(formats) != (named,):
            raise ValueError(f"{path.name} names its format; give a path without extension to write "
                             f"{tuple(formats)}")
        return [path]
    chosen = ("csv", "md") if formats is None else tuple(formats)
    unknown = [f for f in chosen if f not in TABLE_FORMATS]
    if unknown:
        raise ValueError(f"unknown table format {unknown[0]!r}; choose from {TABLE_FORMATS}")
    return [path.parent / f"{path.name}.{fmt}" for fmt in chosen]


def save_table(table, path: str | Path, formats: Sequence[str] | None = None) -> list[Path]:
    """Write a table (a :class:`~sclero_analysis.tables.Table` or a DataFrame) in one or several formats.

    Parameters
    ----------
    table : Table or pandas.DataFrame
        A ``Table`` writes its own formats; a DataFrame is written with its index (a
        MultiIndex keeps its first level as rows, the others become the first columns).
    path : str or Path
        A file whose extension names the format (``table1.docx``), or a path without
        extension (``tables/table1``) written once per format of ``formats``.
    formats : sequence of {"csv", "md", "html", "tex", "docx", "xlsx"}, optional
        For a path without extension (default ``("csv", "md")``).

    Returns
    -------
    list of Path
        The files written.

    Notes
    -----
    Word (``.docx``) and Excel (``.xlsx``) files are in journal layout: the title as caption,
    a three-line table (rules above and below the header and under the last row, bold
    header), the notes as footnotes (:mod:`sclero_analysis.report.office`).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> t = Table(pd.DataFrame({"n": ["3"]}, index=["lines"]), title="Demo")
    >>> [p.name for p in save_table(t, folder + "/table1.docx")]
    ['table1.docx']
    >>> [p.name for p in save_table(t, folder + "/table1", formats=("csv", "xlsx"))]
    ['table1.csv', 'table1.xlsx']
    """
    paths = _table_paths(Path(path), formats)
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    if isinstance(table, pd.DataFrame):
        if isinstance(table.index, pd.MultiIndex):  # the inner levels become leading columns
            table = table.reset_index(level=list(range(1, table.index.nlevels)))
        table = Table(table)
    texts = {"csv": table.to_csv, "md": table.to_markdown, "html": table.to_html, "tex": table.to_latex}
    files = {"docx": write_docx, "xlsx": write_xlsx}
    for file in paths:
        fmt = file.suffix.lstrip(".").lower()
        if fmt in files:
            files[fmt](table, file)
        else:
            file.write_text(texts[fmt](), encoding="utf-8")
    return paths

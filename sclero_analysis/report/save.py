"""Save a figure in every format a journal or a report needs, and tables beside it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sclero_analysis.tables import Table

FIGURE_FORMATS = ("pdf", "svg", "png", "tiff", "eps")
TABLE_FORMATS = ("csv", "md", "html", "tex")


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
        for fmt in formats:
            path = stem.parent / f"{stem.name}.{fmt}"
            fig.savefig(path, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.02,
                        metadata=_metadata(fmt))
            written.append(path)
    return written


def _metadata(fmt: str) -> dict | None:
    """Reproducible files: no creation date in PDF/SVG (same figure, same bytes)."""
    if fmt == "pdf":
        return {"CreationDate": None}
    if fmt == "svg":
        return {"Date": None}
    return None


def save_table(table, path_stem: str | Path, formats: Sequence[str] = ("csv", "md")) -> list[Path]:
    """Write a table (a :class:`~sclero_analysis.tables.Table` or a DataFrame) in several formats.

    Parameters
    ----------
    table : Table or pandas.DataFrame
        A ``Table`` writes its own formats; a DataFrame is written with its index (a
        MultiIndex keeps its first level as rows, the others become the first columns).
    path_stem : str or Path
        Path without extension.
    formats : sequence of {"csv", "md", "html", "tex"}

    Returns
    -------
    list of Path
    """
    stem = Path(path_stem)
    unknown = [f for f in formats if f not in TABLE_FORMATS]
    if unknown:
        raise ValueError(f"unknown table format {unknown[0]!r}; choose from {TABLE_FORMATS}")
    stem.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(table, pd.DataFrame):
        if isinstance(table.index, pd.MultiIndex):  # the inner levels become leading columns
            table = table.reset_index(level=list(range(1, table.index.nlevels)))
        table = Table(table)
    writers = {"csv": table.to_csv, "md": table.to_markdown, "html": table.to_html, "tex": table.to_latex}
    written = []
    for fmt in formats:
        path = stem.parent / f"{stem.name}.{fmt}"
        text = writers[fmt]()
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written

"""``reports/index.html``: data check, one section per notebook (status, finding, outputs), provenance.

Each notebook's section says how it ran: complete; complete with sections skipped (each
section and its reason, from the notebook's manifest); or failed (the cell and the error, with
links to the executed notebook that shows the traceback). It then gives the notebook's finding
and methods paragraph, links to its pages (to read, with code, executed notebook), its key
tables inline (Table 1, the hazard ratios: :data:`INLINE_TABLES`), every table's files, and its
figures at the page's width (a click opens the full-size image).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

from sclero_analysis.report.datacheck import DataCheck
from sclero_analysis.report.literature_input import LiteratureCheck
from sclero_analysis.report.pages import code_page
from sclero_analysis.report.runs import COMPLETE, FAILED, SKIPPED, NotebookRun

esc = html.escape

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 60rem; color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 1.4rem 0 0.3rem; }
.finding { background: #f3f7fb; border-left: 4px solid #0072B2; padding: 0.5rem 0.8rem; }
.methods { font-size: 0.95rem; color: #333; }
.links a, .tables a { margin-right: 0.9rem; }
.tables span { margin-right: 1.2rem; }
.figures figure { margin: 1.2rem 0; }
.figures img { max-width: 100%; height: auto; border: 1px solid #eee; }
.figures figcaption { font-size: 0.85rem; color: #555; }
.inline-table { overflow-x: auto; font-size: 0.85rem; margin: 0.4rem 0 1rem; }
.inline-table table { border-collapse: collapse; }
.inline-table th, .inline-table td { padding: 0.15rem 0.7rem; }
.inline-table thead th { border-top: 2px solid #222; border-bottom: 1px solid #222; }
.inline-table tbody tr:last-child td { border-bottom: 2px solid #222; }
.inline-table p { margin: 0.3rem 0; }
table.provenance td { padding: 0.1rem 0.8rem 0.1rem 0; vertical-align: top; font-size: 0.9rem; }
table.counts td, table.counts th { padding: 0.1rem 0.8rem; text-align: right; font-size: 0.9rem; }
.status { padding: 0.3rem 0.8rem; border-left: 4px solid; }
.status.complete { border-color: #009E73; background: #eef8f3; }
.status.skipped { border-color: #E69F00; background: #fdf6e6; }
.status.failed { border-color: #D55E00; background: #fcefe8; }
.alert { padding: 0.5rem 0.8rem; border-left: 4px solid #D55E00; background: #fcefe8; font-weight: 600; }
.tag { font-size: 0.8rem; color: #555; }
"""
#: CSS class of each status.
STATUS_CLASS = {COMPLETE: "complete", SKIPPED: "skipped", FAILED: "failed"}
#: Tables shown inline, by what they are: the first of the file stems that a notebook's manifest
#: lists (so a notebook may rename its table: add the new stem here); none found, none shown.
INLINE_TABLES = {
    "Table 1: characteristics by tier": ("01_table1_by_tier", "01_table1"),
    "Hazard ratios of relapse (Cox models)": ("02_cox_models", "02_hazard_ratios"),
}
#: Table files linked from a notebook's section, when present.
TABLE_FILES = {"csv": "CSV", "md": "Markdown", "html": "HTML", "tex": "LaTeX", "docx": "Word",
               "xlsx": "Excel"}


def _title(folder: Path, name: str) -> str:
    """Return the notebook's first Markdown heading (its name when it has none)."""
    try:
        cells = json.loads((folder / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return name
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return name


def _manifest(folder: Path, name: str) -> dict:
    path = folder / "manifest" / f"{name}.json"
    if not path.exists():
        return {"finding": "", "figures": [], "tables": [], "methods": ""}
    return json.loads(path.read_text())


def _run_of(folder: Path, name: str, runs: Sequence[NotebookRun] | None) -> NotebookRun:
    """Return the notebook's run; without runs, a complete one with its manifest's skipped sections."""
    for run in runs or ():
        if run.name == name:
            return run
    skipped = _manifest(folder, name).get("skipped", [])
    return NotebookRun(name, 0.0, tuple((e["section"], e["reason"]) for e in skipped))


def _status(run: NotebookRun) -> str:
    """Render the status: failed with cell, error and links; skipped sections with reasons."""
    css = STATUS_CLASS[run.status]
    if run.status == FAILED:
        where = esc((run.failure or "").removesuffix(run.error or ""))
        return (f'<div class="status {css}"><p><strong>Failed</strong>: {where}'
                f"<code>{esc(run.error or '')}</code>. The traceback is in the executed notebook: "
                f'<a href="{esc(code_page(run.name))}">HTML with code</a> '
                f'<a href="{esc(run.name)}.ipynb">.ipynb</a>.</p></div>')
    if run.status == SKIPPED:
        items = "".join(f"<li><strong>{esc(section)}</strong>: {esc(reason)}</li>"
                        for section, reason in run.skipped)
        return (f'<div class="status {css}"><p><strong>Complete, sections skipped</strong> '
                f"({len(run.skipped)}):</p><ul>{items}</ul></div>")
    return f'<div class="status {css}"><p><strong>Complete</strong></p></div>'


def _markdown_table(text: str) -> str:
    """Render a saved Markdown table (title, pipe table, notes) as HTML, its text escaped."""
    import mistune

    render = mistune.create_markdown(escape=True, plugins=["table"])
    return render(text).replace("&amp;emsp;", "&emsp;")  # the indent of level rows


def _inline_table(folder: Path, stem: str) -> str:
    """Return a saved table's HTML: its ``.html`` file, else its ``.md`` rendered; "" if neither."""
    tables = folder / "tables"
    if (tables / f"{stem}.html").is_file():
        return (tables / f"{stem}.html").read_text(encoding="utf-8")
    if (tables / f"{stem}.md").is_file():
        return _markdown_table((tables / f"{stem}.md").read_text(encoding="utf-8"))
    return ""


def _inline_tables(folder: Path, manifest: dict) -> str:
    shown = []
    listed = manifest.get("tables", [])
    for label, stems in INLINE_TABLES.items():
        for stem in (s for s in stems if s in listed):
            body = _inline_table(folder, stem)
            if body:
                shown.append(f'<h3>{esc(label)}</h3><div class="inline-table" id="table-{esc(stem)}">'
                             f"{body}</div>")
                break
    return "".join(shown)


def _table_links(folder: Path, manifest: dict) -> str:
    spans = []
    for stem in manifest.get("tables", []):
        present = [ext for ext in TABLE_FILES if (folder / "tables" / f"{stem}.{ext}").is_file()]
        files = " ".join(f'<a href="tables/{esc(stem)}.{ext}">{TABLE_FILES[ext]}</a>' for ext in present)
        spans.append(f"<span>{esc(stem)}: {files}</span>" if files else "")
    shown = " ".join(s for s in spans if s)
    return f'<p class="tables">Tables: {shown}</p>' if shown else ""


def _shown_width(png: Path) -> str:
    """Return the ``width`` style of a figure: half its pixels (its print size at 150 dpi).

    Figures are saved at 300 dpi, so half their pixel width shows their text at about the
    size of the page's own; a double-column figure fills the page's width, a single-column
    one about half of it. An unreadable file fills the width.
    """
    try:
        with png.open("rb") as file:
            head = file.read(24)
    except OSError:
        return "width:100%"
    if head[:8] != b"\x89PNG\r\n\x1a\n" or len(head) < 24:
        return "width:100%"
    return f"width:{int.from_bytes(head[16:20], 'big') // 2}px"


def _figures(folder: Path, manifest: dict) -> str:
    figures = "".join(
        f'<figure><a href="figures/{esc(stem)}.png" title="full size"><img src="figures/{esc(stem)}.png" '
        f'alt="{esc(stem)}" style="{_shown_width(folder / "figures" / f"{stem}.png")}">/a>'
        f'<figcaption>{esc(stem)} (<a href="figures/{esc(stem)}.pdf">PDF</a>, '
        f'<a href="figures/{esc(stem)}.png">PNG</a>, full size)</figcaption></figure>'
        for stem in manifest.get("figures", []))
    return f'<div class="figures">{figures}</div>' if figures else ""


def _section(folder: Path, name: str, run: NotebookRun) -> str:
    manifest = _manifest(folder, name)
    finding = manifest.get("finding") or "(this notebook recorded no finding)"
    shown = "" if run.status == FAILED and not manifest.get("finding") else \
        f'<p class="finding">{esc(finding)}</p>'
    methods = manifest.get("methods") or ""
    return (
        f'<section id="{esc(name)}"><h2>{esc(_title(folder, name))}</h2>'
        + _status(run)
        + shown
        + (f'<p class="methods"><strong>Methods.</strong> {esc(methods)}</p>' if methods else "")
        + _links(folder, name)
        + _inline_tables(folder, manifest)
        + _table_links(folder, manifest)
        + _figures(folder, manifest)
        + "</section>"
    )


def _links(folder: Path, name: str) -> str:
    links = [(f"{name}.html", "Notebook (to read)"), (code_page(name), "Notebook with code"),
             (f"{name}.ipynb", "Executed notebook (.ipynb)")]
    shown = "".join(f'<a href="{esc(href)}">{text}</a>' for href, text in links
                    if (folder / href).exists())
    return f'<p class="links">{shown}</p>' if shown else ""


def _counts_table(counts) -> str:
    """Rows read, accepted and rejected per table (a data or literature check's ``counts``)."""
    head = "<tr><th></th>" + "".join(f"<th>{esc(str(c))}</th>" for c in counts.columns) + "</tr>"
    rows = "".join(f"<tr><td>{esc(str(t))}</td>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
                   for t, row in counts.iterrows())
    return f'<table class="counts">{head}{rows}</table>'


def _data_section(data: DataCheck | None) -> str:
    """Rows accepted and rejected per table, rejected rows by rule, and the alerts."""
    if data is None:
        return ""
    rules = "".join(f"<li>{esc(str(r.table))}: {esc(str(r.rule))} ({r.rows} rows)</li>"
                    for r in data.rejected_by_rule.itertuples(index=False))
    alerts = "".join(f'<p class="alert">{esc(a)}</p>' for a in data.alerts())
    return (f'<h2 id="data">Data</h2><p>{esc(data.source)} (dates: {esc(data.dates)}). Rows '
            "with errors are left out of every analysis; rows with warnings are kept.</p>"
            f"{alerts}{_counts_table(data.counts)}"
            + (f"<p>Rejected rows by rule broken:</p><ul>{rules}</ul>" if rules else "")
            + f"<p>Every problem and its cell: <code>{esc(data.validate)}</code></p>")


def _literature_section(literature: LiteratureCheck | None) -> str:
    """Show the literature the notebooks pooled: rows accepted and rejected per table."""
    if literature is None:
        return ""
    problems = (f"<p>{literature.n_errors} errors, {literature.n_warnings} warnings: "
                f"<code>sclero-analysis validate {esc(literature.source)}</code></p>"
                if literature.n_errors or literature.n_warnings else "")
    return (f'<h2 id="literature">Literature</h2><p>{esc(literature.source)}, pooled in notebooks 04 and '
            "07. Rows with errors are left out of the pooling.</p>"
            f"{_counts_table(literature.counts)}{problems}")


def _contents(folder: Path, notebooks: list[str], runs: Sequence[NotebookRun] | None) -> str:
    items = "".join(
        f'<li><a href="#{esc(n)}">{esc(_title(folder, n))}</a> '
        f'<span class="tag">({esc(_run_of(folder, n, runs).describe())})</span></li>'
        for n in notebooks)
    failed = [n for n in notebooks if _run_of(folder, n, runs).status == FAILED]
    banner = (f'<p class="alert">{len(failed)} of {len(notebooks)} notebooks failed: '
              f"{esc(', '.join(failed))}. Their sections below name the cell and the error.</p>"
              if failed else "")
    return f"{banner}<ol>{items}</ol>"


def write_index(folder: str | Path, notebooks: list[str], provenance: dict,
                runs: Sequence[NotebookRun] | None = None, data: DataCheck | None = None,
                literature: LiteratureCheck | None = None) -> Path:
    """Write ``index.html`` linking every notebook's outputs, with the report's provenance.

    Parameters
    ----------
    folder : str or Path
        The report folder (holding the executed notebooks, ``figures/``, ``tables/`` and
        ``manifest/``).
    notebooks : list of str
        Notebook names in report order.
    provenance : dict
        Shown as a table (package version, data hash, seed, date …).
    runs : sequence of NotebookRun, optional
        How each notebook ran (status, skipped sections, failing cell and error); without
        them every notebook is shown complete, with the skipped sections of its manifest.
    data : DataCheck, optional
        The data check, shown before the notebooks (counts, rejected rows by rule, alerts).
    literature : LiteratureCheck, optional
        The check of the literature the notebooks pooled, shown after the data's.

    Returns
    -------
    Path
        The index file.

    Examples
    --------
    >>> import tempfile
    >>> path = write_index(tempfile.mkdtemp(), [], {"seed": 1})
    >>> path.name
    'index.html'
    """
    folder = Path(folder)
    rows = "".join(f"<tr><td>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>"
                   for k, v in provenance.items())
    page = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>sclero_analysis report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>Scleromyxedema: comparative outcome report</h1>"
        "<p>Time to relapse across therapy tiers, confounding by indication, publication bias, "
        "registry planning, small samples and the pooled literature. Every number below comes from "
        "the executed notebooks linked in each section.</p>"
        + _contents(folder, notebooks, runs)
        + _data_section(data)
        + _literature_section(literature)
        + "".join(_section(folder, name, _run_of(folder, name, runs)) for name in notebooks)
        + f'<h2>Provenance</h2><table class="provenance">{rows}</table>'
        "</body></html>"
    )
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path

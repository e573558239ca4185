"""``reports/index.html``: one section per notebook (question, finding, figures, tables) and provenance."""

from __future__ import annotations

import html
import json
from pathlib import Path

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 60rem; color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.finding { background: #f3f7fb; border-left: 4px solid #0072B2; padding: 0.5rem 0.8rem; }
.links a, .tables a { margin-right: 0.9rem; }
.figures { display: flex; flex-wrap: wrap; gap: 0.8rem; margin-top: 0.6rem; }
.figures figure { margin: 0; width: 18rem; }
.figures img { width: 100%; border: 1px solid #eee; }
.figures figcaption { font-size: 0.8rem; color: #555; }
table.provenance td { padding: 0.1rem 0.8rem 0.1rem 0; vertical-align: top; font-size: 0.9rem; }
"""


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
        return {"finding": "", "figures": [], "tables": []}
    return json.loads(path.read_text())


def _section(folder: Path, name: str) -> str:
    manifest = _manifest(folder, name)
    esc = html.escape
    finding = manifest.get("finding") or "(this notebook recorded no finding)"
    figures = "".join(
        f'<figure><a href="figures/{esc(stem)}.pdf"><img src="figures/{esc(stem)}.png" '
        f'alt="{esc(stem)}"></a><figcaption>{esc(stem)} '
        f'(<a href="figures/{esc(stem)}.pdf">PDF</a>, <a href="figures/{esc(stem)}.png">PNG</a>)'
        f"</figcaption></figure>"
        for stem in manifest.get("figures", []))
    tables = " ".join(
        f'<span>{esc(stem)}: <a href="tables/{esc(stem)}.csv">CSV</a> '
        f'<a href="tables/{esc(stem)}.md">Markdown</a></span>'
        for stem in manifest.get("tables", []))
    return (
        f'<section id="{esc(name)}"><h2>{esc(_title(folder, name))}</h2>'
        f'<p class="finding">{esc(finding)}</p>'
        f'<p class="links"><a href="{esc(name)}.html">Notebook (HTML)</a>'
        f'<a href="{esc(name)}.ipynb">Executed notebook (.ipynb)</a></p>'
        + (f'<p class="tables">Tables: {tables}</p>' if tables else "")
        + (f'<div class="figures">{figures}</div>' if figures else "")
        + "</section>"
    )


def write_index(folder: str | Path, notebooks: list[str], provenance: dict) -> Path:
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
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in provenance.items())
    contents = "".join(f'<li><a href="#{html.escape(n)}">{html.escape(_title(folder, n))}</a></li>'
                       for n in notebooks)
    page = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>sclero_analysis report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>Scleromyxedema: comparative outcome report</h1>"
        "<p>Time to relapse across therapy tiers, confounding by indication, publication bias, "
        "registry planning and small samples. Every number below comes from the executed "
        "notebooks linked in each section.</p>"
        f"<ol>{contents}</ol>"
        + "".join(_section(folder, name) for name in notebooks)
        + f'<h2>Provenance</h2><table class="provenance">{rows}</table>'
        "</body></html>"
    )
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path

"""The HTML pages of an executed notebook: one to read, without code, and one with the code.

The reader page (``NN_name.html``) shows the notebook's text, tables, figures and errors; the
code of every cell and the parameters cells are left out. The code page (``NN_name.code.html``)
shows every cell. Neither shows what the kernel wrote to stderr (warnings, progress bars: the
executed ``.ipynb`` keeps them), and neither names an absolute path of the machine that built
the report: the report folder, the staging folder it was built in and the data are written by
their names (:func:`path_replacements`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

#: Suffix of the page with the code (``02_time_to_relapse_by_tier.code.html``).
CODE_SUFFIX = ".code.html"
#: Tags of the cells that hold the parameters (papermill's defaults and the injected values).
PARAMETER_TAGS = frozenset({"parameters", "injected-parameters"})
#: The reader page's template: JupyterLab's, with Markdown cells outside any input area and a
#: narrower column.
READER_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block markdowncell scoped %}
<div class="jp-Cell jp-MarkdownCell jp-Notebook-cell">
<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput" data-mime-type="text/markdown">
{%- if resources.should_sanitize_html %}
{{ cell.source | markdown2html | strip_files_prefix | clean_html }}
{%- else %}
{{ cell.source | markdown2html | strip_files_prefix }}
{%- endif %}
</div>
</div>
{%- endblock markdowncell %}
{% block extra_css %}
<style>
main { max-width: 62rem; margin: 0 auto; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
</style>
{% endblock extra_css %}
"""
_READER_NAME = "sclero_reader.html.j2"

Replacements = Sequence[tuple[str, str]]


def code_page(name: str) -> str:
    """Return the file name of a notebook's page with code.

    Examples
    --------
    >>> code_page("02_time_to_relapse_by_tier")
    '02_time_to_relapse_by_tier.code.html'
    """
    return f"{name}{CODE_SUFFIX}"


def path_replacements(stage: Path, final: Path, data: str | Path | None = None,
                      literature: str | Path | None = None) -> list[tuple[str, str]]:
    """Return ``(absolute, shown)`` pairs that take the build's absolute paths out of a page.

    Parameters
    ----------
    stage : Path
        The staging folder the notebooks wrote into.
    final : Path
        The report folder: shown by its name (``reports``).
    data : str or Path, optional
        The data: shown by its name (``registry.xlsx``); other paths in its folder relative to
        that folder.
    literature : str or Path, optional
        The literature (``--literature``): shown by its name, as the data.

    Returns
    -------
    list of (str, str)
        Longest first, so that a folder's files are rewritten before the folder itself.

    Examples
    --------
    >>> pairs = path_replacements(Path("/tmp/.r.building-1"), Path("/tmp/r"), "/data/x/registry.xlsx")
    >>> dict(pairs)["/tmp/r"], dict(pairs)["/data/x/registry.xlsx"]
    ('r', 'registry.xlsx')
    """
    pairs = {str(stage): final.name, str(final): final.name}
    for given in (data, literature):
        if given is not None and str(given):
            source = Path(given).resolve()
            pairs[str(source)] = source.name
            if len(source.parent.parts) > 1:  # never the root: it would take every slash out
                pairs[str(source.parent) + "/"] = ""
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


def _relative(text: str, replacements: Replacements) -> str:
    for absolute, shown in replacements:
        text = text.replace(absolute, shown)
    return text


def _without_stderr(book) -> None:
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]


def _navigation(book, name: str, reader: bool):
    """Prepend a line of links: the report's index, the other page, the executed notebook."""
    import nbformat

    other = f"[the same page with the code]({code_page(name)})" if reader else \
        f"[the same page without code]({name}.html)"
    text = f"[Report index](index.html) · {other} · [executed notebook]({name}.ipynb)"
    book.cells.insert(0, nbformat.v4.new_markdown_cell(text))
    return book


def _reader_book(book, name: str):
    reader = copy.deepcopy(book)
    reader.cells = [c for c in reader.cells
                    if not PARAMETER_TAGS & set(c.get("metadata", {}).get("tags", []))]
    return _navigation(reader, name, reader=True)


def _exporter(reader: bool):
    from nbconvert import HTMLExporter

    if not reader:
        return HTMLExporter(template_name="lab")
    import jinja2

    return HTMLExporter(template_name="lab", template_file=_READER_NAME,
                        extra_loaders=[jinja2.DictLoader({_READER_NAME: READER_TEMPLATE})],
                        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)


def write_pages(executed: Path, replacements: Replacements = ()) -> tuple[Path, Path]:
    """Write the reader page and the code page of an executed notebook beside it.

    Parameters
    ----------
    executed : Path
        The executed notebook (``reports/02_time_to_relapse_by_tier.ipynb``).
    replacements : sequence of (str, str)
        Text replaced in both pages (:func:`path_replacements`).

    Returns
    -------
    tuple of Path
        ``(NN_name.html, NN_name.code.html)``.
    """
    import nbformat

    book = nbformat.read(executed, as_version=4)
    _without_stderr(book)
    name = executed.stem
    pages = []
    for reader, path in ((True, executed.with_suffix(".html")), (False, executed.parent / code_page(name))):
        shown = _reader_book(book, name) if reader else _navigation(copy.deepcopy(book), name, reader=False)
        body, _ = _exporter(reader).from_notebook_node(shown)
        path.write_text(_relative(body, replacements), encoding="utf-8")
        pages.append(path)
    return pages[0], pages[1]

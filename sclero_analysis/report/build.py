"""``build_report``: execute the numbered notebooks into ``reports/`` and write its index.

Each notebook runs top to bottom in a fresh kernel (papermill, which fills the cell tagged
``parameters``) and is saved executed (``.ipynb``) and as HTML (nbconvert); the notebooks write
their figures, tables and one-line finding through
:class:`~sclero_analysis.report.notebook.NotebookOutputs`. A notebook that fails stops the
report with the failing cell's error; the notebooks before it keep their outputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sclero_analysis.report.index import write_index
from sclero_analysis.synthetic.examples import DATA_DIR

#: The seed every notebook's random draws start from unless another is given.
DEFAULT_SEED = 20261125
#: Horizon of restricted mean survival times (months).
DEFAULT_TAU = 36.0
KERNEL = "python3"


class ReportError(RuntimeError):
    """A notebook failed: names the notebook, the cell and the error it raised."""


@dataclass(frozen=True)
class Report:
    """The outputs of one report build.

    Attributes
    ----------
    folder : Path
        The report folder; ``index`` is ``folder / "index.html"``.
    notebooks : list of str
        The notebooks executed, in order.
    seconds : dict
        Wall time per notebook.
    provenance : dict
        Package version, data path and hash, seed, date, Python version.
    """

    folder: Path
    notebooks: list[str]
    seconds: dict[str, float]
    provenance: dict

    @property
    def index(self) -> Path:
        """The report's entry page."""
        return self.folder / "index.html"


def default_notebooks_dir() -> Path:
    """Return the notebooks shipped with the package (``sclero_analysis/notebooks/``)."""
    return Path(__file__).resolve().parents[1] / "notebooks"


def data_hash(path: str | Path | None) -> str:
    """SHA-256 of a data set: every file's relative name and bytes, in sorted order.

    Parameters
    ----------
    path : str or Path, optional
        A directory or one file (a workbook); None: the shipped synthetic registry.

    Returns
    -------
    str
        Hex digest; the same files give the same hash wherever they sit.

    Examples
    --------
    >>> len(data_hash(None))
    64
    """
    root = Path(path) if path else DATA_DIR / "registry"
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    digest = hashlib.sha256()
    for file in files:
        name = file.relative_to(root).as_posix() if root.is_dir() else file.name
        digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _version() -> str:
    try:
        return metadata.version("sclero_analysis")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def provenance(data: str | Path | None, seed: int, fast: bool) -> dict:
    """Return what the report was made from: version, data, seed, date (UTC), Python, mode."""
    return {
        "package_version": _version(),
        "data": str(Path(data).resolve()) if data else "shipped synthetic registry (data/synthetic/registry)",
        "data_sha256": data_hash(data),
        "seed": int(seed),
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "mode": "fast (CI check, small simulations)" if fast else "full",
    }


def _cell_error(exc: Exception) -> str:
    """Describe the failing cell and its error, from papermill's exception."""
    count = getattr(exc, "exec_count", None)
    name, value = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
    where = f"cell [{count}]" if count is not None else "a cell"
    return f"{where} raised {name}: {value}"


def _execute(notebook: Path, output: Path, parameters: dict, cwd: Path) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(str(notebook), str(output), parameters=parameters, cwd=str(cwd),
                                   kernel_name=KERNEL, progress_bar=False, log_output=False)
    except PapermillExecutionError as exc:
        raise ReportError(f"{notebook.name}: {_cell_error(exc)} (executed notebook with the "
                          f"error: {output})") from None


def _to_html(executed: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def build_report(
    data: str | Path | None = None,
    out: str | Path = "reports",
    notebooks: Sequence[str] | None = None,
    notebooks_dir: str | Path | None = None,
    seed: int = DEFAULT_SEED,
    tau: float = DEFAULT_TAU,
    fast: bool = False,
    progress: Callable[[str], None] | None = print,
) -> Report:
    """Execute the notebooks into ``out`` and write ``out/index.html``.

    Parameters
    ----------
    data : str or Path, optional
        The case series to analyse (a directory or an .xlsx workbook); None: the shipped
        synthetic registry.
    out : str or Path
        Report folder: executed ``<notebook>.ipynb`` and ``.html``, ``figures/*.pdf|png``,
        ``tables/*.csv|md``, ``manifest/``, ``provenance.json``, ``index.html``.
    notebooks : sequence of str, optional
        Names (without ``.ipynb``) to run; default every numbered notebook in order.
    notebooks_dir : str or Path, optional
        Where the notebooks are (default :func:`default_notebooks_dir`).
    seed : int
        Seed of every notebook's random draws.
    tau : float
        RMST horizon (months).
    fast : bool
        Small simulations and bootstraps (for tests); the report says so.
    progress : callable, optional
        Called with one line per notebook started and finished (default ``print``).

    Returns
    -------
    Report

    Raises
    ------
    ReportError
        A notebook failed: the message names it, the failing cell and the error.
    FileNotFoundError
        No notebooks, or the data path does not exist.
    """
    folder = Path(out).resolve()
    source = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    if data is not None and not Path(data).exists():
        raise FileNotFoundError(f"--data {data}: no such file or directory")
    names = list(notebooks) if notebooks is not None else sorted(
        p.stem for p in source.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        raise FileNotFoundError(f"no numbered notebooks (NN_name.ipynb) in {source}")
    unknown = [n for n in names if not (source / f"{n}.ipynb").is_file()]
    if unknown:
        raise FileNotFoundError(f"no notebook {unknown[0]}.ipynb in {source}")
    folder.mkdir(parents=True, exist_ok=True)
    record = provenance(data, seed, fast)
    (folder / "provenance.json").write_text(json.dumps(record, indent=1))
    parameters = {"data_path": str(Path(data).resolve()) if data is not None else None, "seed": int(seed),
                  "tau": float(tau), "out_dir": str(folder), "fast": bool(fast)}
    say = progress or (lambda _line: None)
    seconds = {}
    for i, name in enumerate(names, 1):
        say(f"[{i}/{len(names)}] {name} …")
        start = time.perf_counter()
        executed = folder / f"{name}.ipynb"
        _execute(source / f"{name}.ipynb", executed, parameters, source)
        _to_html(executed)
        seconds[name] = time.perf_counter() - start
        say(f"[{i}/{len(names)}] {name} done in {seconds[name]:.1f} s")
    write_index(folder, names, record)
    say(f"report: {folder / 'index.html'}")
    return Report(folder, names, seconds, record)


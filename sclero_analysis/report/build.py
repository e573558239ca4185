"""``build_report``: validate the data, execute the numbered notebooks and write the report.

The data are validated first, as the notebooks will read them
(:func:`~sclero_analysis.report.datacheck.check_data`); unreadable data, or data leaving no
patient or line to analyse, stop here with :class:`~sclero_analysis.exceptions.ReportError` and
nothing written. Each notebook then runs top to bottom in a fresh kernel (papermill fills the
cell tagged ``parameters``) and is saved executed (``.ipynb``) and as HTML; the notebooks write
their figures, tables, finding and skipped sections through
:class:`~sclero_analysis.report.notebook.NotebookOutputs`. A notebook that fails does not stop
the report: ``index.html`` shows it as failed, with the cell and the error. The report is built
in a staging folder and replaces the previous one only when complete
(:mod:`~sclero_analysis.report.staging`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import platform
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

from sclero_analysis._compiled import KERNEL_MODULES, ready_kernels
from sclero_analysis._compiled import _cores as cores  # the cores this process may use
from sclero_analysis.exceptions import ReportError
from sclero_analysis.report.datacheck import DataCheck, check_data, date_order
from sclero_analysis.report.index import write_index
from sclero_analysis.report.literature_input import (
    SHIPPED_NAME,
    LiteratureCheck,
    check_literature,
    literature_path,
)
from sclero_analysis.report.runs import FAILED, NotebookRun, interrupt_running, run_notebook
from sclero_analysis.report.staging import check_replaceable, staged
from sclero_analysis.synthetic.examples import DATA_DIR

__all__ = ["DEFAULT_SEED", "DEFAULT_TAU", "Report", "ReportError", "build_report", "data_hash",
           "default_jobs", "default_notebooks_dir", "provenance"]

#: The seed every notebook's random draws start from unless another is given.
DEFAULT_SEED = 20261125
#: Horizon of restricted mean survival times (months).
DEFAULT_TAU = 36.0
#: Most notebooks run at once by default (each in its own kernel process).
MAX_DEFAULT_JOBS = 4
#: Seconds a running notebook has to stop on Ctrl-C before its kernel is ended.
STOP_SECONDS = 3.0


@dataclass(frozen=True, eq=False)
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
        Package version, data path and hash, how dates were read, seed, date, Python version.
    runs : tuple of NotebookRun
        Per notebook: status (complete, complete with sections skipped, failed), the skipped
        sections with their reasons, the failing cell and error.
    data : DataCheck, optional
        What validation accepted and rejected in the data, by table and rule.
    elapsed : float, optional
        Wall-clock seconds from the first notebook's start to the last one's end.
    jobs : int
        Notebooks executed at once.
    literature : LiteratureCheck, optional
        What validation accepted and rejected in the literature the notebooks pooled (None:
        no literature).
    """

    folder: Path
    notebooks: list[str]
    seconds: dict[str, float]
    provenance: dict
    runs: tuple[NotebookRun, ...] = ()
    data: DataCheck | None = None
    literature: LiteratureCheck | None = None
    elapsed: float | None = None  # wall-clock seconds of the notebooks (several may run at once)
    jobs: int = 1

    @property
    def index(self) -> Path:
        """The report's entry page."""
        return self.folder / "index.html"

    @property
    def failed(self) -> list[NotebookRun]:
        """The runs of the notebooks that failed (empty when every notebook ran)."""
        return [run for run in self.runs if run.status == FAILED]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per notebook: ``notebook, status, seconds, skipped, cell, error``."""
        return pd.DataFrame(
            [(r.name, r.status, r.seconds, len(r.skipped), r.cell, r.error) for r in self.runs],
            columns=["notebook", "status", "seconds", "skipped", "cell", "error"],
        )


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


def provenance(data: str | Path | None, seed: int, fast: bool, dayfirst: bool | None = None,
               sheets: Mapping[str, str] | None = None, literature: str | Path | None = None) -> dict:
    """Return what the report was made from: version, data, literature, dates, seed, date (UTC), Python, mode.

    ``literature`` is the literature the notebooks pool (:func:`literature_path`); its path and
    SHA-256 are recorded when there is one.
    """
    record = {
        "package_version": _version(),
        "data": str(Path(data).resolve()) if data else "shipped synthetic registry (data/synthetic/registry)",
        "data_sha256": data_hash(data),
        "dates": date_order(dayfirst),
        "seed": int(seed),
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "mode": "fast (CI check, small simulations)" if fast else "full",
    }
    if literature is not None:
        shipped = Path(literature) == literature_path(None, None)
        record["literature"] = SHIPPED_NAME if shipped else str(Path(literature).resolve())
        record["literature_sha256"] = data_hash(literature)
    if sheets:
        record["sheets"] = ", ".join(f"{table}={sheet}" for table, sheet in sheets.items())
    return record


def _notebook_names(source: Path, notebooks: Sequence[str] | None) -> list[str]:
    names = list(notebooks) if notebooks is not None else sorted(
        p.stem for p in source.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        raise FileNotFoundError(f"no numbered notebooks (NN_name.ipynb) in {source}")
    unknown = [n for n in names if not (source / f"{n}.ipynb").is_file()]
    if unknown:
        raise FileNotFoundError(f"no notebook {unknown[0]}.ipynb in {source}")
    return names


def default_jobs() -> int:
    """Notebooks run at once by default: one per core, at most :data:`MAX_DEFAULT_JOBS`.

    Examples
    --------
    >>> 1 <= default_jobs() <= MAX_DEFAULT_JOBS
    True
    """
    return max(1, min(cores(), MAX_DEFAULT_JOBS))


@contextlib.contextmanager
def _event_loop(worker: bool):
    """In a worker thread, close the event loop Jupyter's client made for it once the notebook ends."""
    try:
        yield
    finally:
        if worker:
            from jupyter_core.utils import ensure_event_loop

            ensure_event_loop().close()  # the thread's own loop (made by the first call)
            asyncio.set_event_loop(None)


def _run_all(source: Path, names: list[str], stage: Path, final: Path, parameters: dict,
             say: Callable[[str], None], jobs: int = 1) -> tuple[NotebookRun, ...]:
    """Run the notebooks, ``jobs`` at a time, started in order; return their runs in order.

    Each notebook runs in its own kernel (a process), so a thread per running notebook only
    waits on it. Once one raises (Ctrl-C reaching its kernel, a bug in the builder) or Ctrl-C
    reaches this thread, no further notebook starts, those running are interrupted, and the
    exception is raised. A notebook whose cell fails does not raise: its run says so.
    """
    stop, lock = threading.Event(), threading.Lock()

    def tell(line: str) -> None:
        with lock:  # one line at a time from the threads
            say(line)

    def one(i: int, name: str) -> NotebookRun | None:
        if stop.is_set():
            return None
        tell(f"[{i}/{len(names)}] {name} …")
        try:
            with _event_loop(threading.current_thread() is not threading.main_thread()):
                run = run_notebook(source / f"{name}.ipynb", stage, parameters, final)
        except BaseException:
            stop.set()  # before this thread takes the next notebook
            raise
        tell(f"[{i}/{len(names)}] {name}: {run.describe()} ({run.seconds:.1f} s)")
        return run

    if jobs <= 1:
        return tuple(one(i, name) for i, name in enumerate(names, 1))
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook")
    futures = [pool.submit(one, i, name) for i, name in enumerate(names, 1)]
    try:
        wait(futures, return_when=FIRST_EXCEPTION)  # at once, whichever notebook raises
        raised = [f.exception() for f in futures if f.done() and not f.cancelled() and f.exception()]
        if raised:
            raise raised[0]
        runs = tuple(f.result() for f in futures)
    except BaseException:  # a notebook raised, or Ctrl-C reached this thread: start no other
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        # and stop those running (their kernels did not see the Ctrl-C): Ctrl-C, then, for a
        # kernel it did not stop within a few seconds (one caught between two cells, or hung
        # by an interrupt in its own message handling), the end of its process
        interrupt_running()
        wait(futures, timeout=STOP_SECONDS)
        while not all(f.done() for f in futures):
            interrupt_running(getattr(signal, "SIGKILL", signal.SIGTERM))
            wait(futures, timeout=0.5)
        raise
    pool.shutdown()
    return runs


def build_report(
    data: str | Path | None = None,
    out: str | Path = "reports",
    notebooks: Sequence[str] | None = None,
    notebooks_dir: str | Path | None = None,
    seed: int = DEFAULT_SEED,
    tau: float = DEFAULT_TAU,
    fast: bool = False,
    progress: Callable[[str], None] | None = print,
    dayfirst: bool | None = None,
    sheets: Mapping[str, str] | None = None,
    literature: str | Path | None = None,
    jobs: int | None = None,
) -> Report:
    """Validate the data, execute the notebooks and replace ``out`` with the new report.

    Parameters
    ----------
    data : str or Path, optional
        The case series to analyse (a directory or an .xlsx workbook); None: the shipped
        synthetic registry. Data with errors are reported from their accepted rows.
    out : str or Path
        Report folder: executed ``<notebook>.ipynb`` and ``.html``, ``figures/*.pdf|png``,
        ``tables/*.csv|md``, ``manifest/``, ``provenance.json``, ``index.html``. It must be
        absent, empty or a previous report: it is replaced whole when the build completes.
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
        Called first with the data check (counts, rejected rows by rule, warnings), then with
        one line per notebook started and finished (default ``print``).
    dayfirst : bool, optional
        True reads dd/mm/yyyy dates, False mm/dd/yyyy (``--dayfirst/--monthfirst``); None
        accepts only ISO or unambiguous dates.
    sheets : mapping, optional
        ``{table: sheet}`` for a workbook whose sheets are not named after the tables
        (``--sheet TABLE=SHEET``).
    literature : str or Path, optional
        Published evidence for notebook 07 to pool (``--literature``: a folder or an extraction
        workbook, :func:`~sclero_analysis.read_literature`); None: the shipped synthetic
        literature when ``data`` is None, else no literature (notebook 07 then pools nothing
        and says how to give one). It is checked with the data and recorded in the provenance.
    jobs : int, optional
        Notebooks executed at once, each in its own kernel (``--jobs``; default
        :func:`default_jobs`: one per core, at most 4; 1 runs them one after the other; -1 one
        per core). They start in order and the outputs do not depend on it.

    Returns
    -------
    Report
        With every notebook's status; ``report.failed`` lists the notebooks that raised.

    Raises
    ------
    ReportError
        The data cannot be read or leave no patient or line to analyse, the literature cannot
        be read or has no valid source, or ``out`` holds files that are not a report: nothing
        is written.
    FileNotFoundError
        No notebooks, or the data or literature path does not exist: nothing is written.
    KeyboardInterrupt
        Passed on after removing the staging folder: the previous report is untouched.
    """
    if jobs is not None and not (int(jobs) >= 1 or int(jobs) == -1):
        raise ValueError(f"jobs must be a number of notebooks (1 or more) or -1 (one per core), not {jobs}")
    folder = Path(out).resolve()
    source = Path(notebooks_dir).resolve() if notebooks_dir is not None else default_notebooks_dir()
    if data is not None and not Path(data).exists():
        raise FileNotFoundError(f"--data {data}: no such file or directory")
    if literature is not None and not Path(literature).exists():
        raise FileNotFoundError(f"--literature {literature}: no such file or directory")
    names = _notebook_names(source, notebooks)
    check_replaceable(folder, keep=[source] + [Path(p) for p in (data, literature) if p is not None])
    say = progress or (lambda _line: None)
    check = check_data(data, dayfirst, dict(sheets) if sheets else None)
    say(check.to_text())
    pooled = literature_path(data, literature)
    literature_check = None if pooled is None else check_literature(literature, dayfirst)
    if literature_check is not None:
        say(literature_check.to_text())
    record = provenance(data, seed, fast, dayfirst, sheets, pooled)
    # loaded (the cache, else the shipped kernels) or, where neither fits, compiled here on every
    # core (also the Cox fit beyond 4 covariates, which a registry study's adjusted model calls):
    # notebooks load them
    ready_kernels(KERNEL_MODULES, on_demand=True)
    with staged(folder) as stage:
        (stage / "provenance.json").write_text(json.dumps(record, indent=1))
        parameters = {"data_path": str(Path(data).resolve()) if data is not None else None,
                      "seed": int(seed), "tau": float(tau), "out_dir": str(stage), "fast": bool(fast),
                      "dayfirst": dayfirst, "sheets": dict(sheets) if sheets else None,
                      "literature_path": str(pooled) if literature is not None else None}
        jobs = default_jobs() if jobs is None else int(jobs) if jobs != -1 else cores()
        started = time.perf_counter()
        runs = _run_all(source, names, stage, folder, parameters, say, jobs)
        elapsed = time.perf_counter() - started
        write_index(stage, names, record, runs=runs, data=check, literature=literature_check)
    return Report(folder, names, {r.name: r.seconds for r in runs}, record, runs, check, literature_check,
                  elapsed, min(jobs, len(names)))

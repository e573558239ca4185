"""One notebook's run in a report: execute it, save its HTML pages, and say how it went.

A notebook that raises does not stop the report: its run is ``failed`` with the failing cell's
number (as the executed notebook shows it, ``In [n]``) and the error; the executed notebook,
error included, is saved beside the others. A notebook that left sections out
(:meth:`~sclero_analysis.report.notebook.NotebookOutputs.skip`) is complete, with those sections
and their reasons listed.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sclero_analysis.report.pages import path_replacements, write_pages

#: Jupyter kernel the notebooks run in.
KERNEL = "python3"
#: Statuses of a run.
COMPLETE, SKIPPED, FAILED = "complete", "complete, sections skipped", "failed"
#: Longest error message kept (the executed notebook holds the whole traceback).
MAX_ERROR = 600
#: Parameters given only to the notebooks whose parameters cell declares them (07 pools a
#: literature; the others have no use for it).
OPTIONAL_PARAMETERS = frozenset({"literature_path"})


@dataclass(frozen=True)
class NotebookRun:
    """How one notebook of a report ran.

    Attributes
    ----------
    name : str
        The notebook's name without ``.ipynb``.
    seconds : float
        Wall time (execution and HTML).
    skipped : tuple of (str, str)
        ``(section, reason)`` for every section the notebook left out, from its manifest.
    error : str, optional
        ``"ZeroDivisionError: division by zero"`` when the notebook failed.
    cell : int, optional
        Execution count of the failing cell (``In [cell]`` in the executed notebook); None
        when the notebook failed outside a cell (the kernel died).
    """

    name: str
    seconds: float
    skipped: tuple[tuple[str, str], ...] = ()
    error: str | None = None
    cell: int | None = None

    @property
    def status(self) -> str:
        """``complete``, ``complete, sections skipped`` or ``failed``."""
        if self.error is not None:
            return FAILED
        return SKIPPED if self.skipped else COMPLETE

    @property
    def failure(self) -> str | None:
        """Where the notebook failed and the error (``cell [7] raised ZeroDivisionError: …``)."""
        if self.error is None:
            return None
        where = f"cell [{self.cell}]" if self.cell is not None else "the kernel"
        return f"{where} raised {self.error}"

    def describe(self) -> str:
        """One line: the status, and the failing cell and error or the number of skipped sections.

        Examples
        --------
        >>> NotebookRun("02_km", 3.0, error="ZeroDivisionError: division by zero", cell=7).describe()
        'failed: cell [7] raised ZeroDivisionError: division by zero'
        >>> NotebookRun("02_km", 3.0, skipped=(("IPTW curves", "2 lines on cytoreduction"),)).describe()
        'complete, 1 section skipped'
        """
        if self.error is not None:
            return f"{FAILED}: {self.failure}"
        if self.skipped:
            n = len(self.skipped)
            return f"complete, {n} section{'s' if n > 1 else ''} skipped"
        return COMPLETE


_running: set = set()  # the kernel managers of the notebooks running now
_running_lock = threading.Lock()


@functools.cache
def _kernel_manager_class() -> type:
    """Jupyter's kernel manager, keeping a set of the running kernels (:func:`interrupt_running`).

    Made on first use: importing the report layer (every notebook does) does not import Jupyter's client.
    """
    from jupyter_client.manager import AsyncKernelManager

    class TrackedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kwargs) -> None:
            await super().start_kernel(**kwargs)
            with _running_lock:
                _running.add(self)

        async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
            with _running_lock:
                _running.discard(self)
            await super().shutdown_kernel(now=now, restart=restart)

    return TrackedKernelManager


def interrupt_running(signum: int = signal.SIGINT) -> int:
    """Send Ctrl-C (or ``signum``) to the kernel of every notebook running now; return how many.

    A kernel runs in its own session, so a Ctrl-C at the terminal reaches only the report's
    process; with notebooks running in other threads, this passes it on (the running cell
    raises ``KeyboardInterrupt``, and :func:`run_notebook` with it). ``signal.SIGKILL`` ends
    a kernel that did not stop (its run is then failed: a dead kernel).
    """
    with _running_lock:
        kernels = list(_running)
    for km in kernels:
        provisioner = km.provisioner
        group, pid = getattr(provisioner, "pgid", None), getattr(provisioner, "pid", None)
        try:
            if group and hasattr(os, "killpg"):
                os.killpg(group, signum)
            elif pid:
                os.kill(pid, signum)
        except OSError:  # it has just ended
            pass
    return len(kernels)


def _skipped(folder: Path, name: str) -> tuple[tuple[str, str], ...]:
    path = folder / "manifest" / f"{name}.json"
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("skipped", [])
    except (OSError, ValueError):
        return ()
    return tuple((str(e.get("section", "")), str(e.get("reason", ""))) for e in entries)


def _failure(exc: Exception) -> tuple[str, int | None]:
    """Return the error (``Name: message``) and the failing cell's execution count."""
    name = getattr(exc, "ename", None) or type(exc).__name__
    value = str(getattr(exc, "evalue", None) or exc).strip()
    text = f"{name}: {value}" if value else name
    if len(text) > MAX_ERROR:
        text = text[:MAX_ERROR] + " …"
    return text, getattr(exc, "exec_count", None)


def _show_folder(executed: Path, staged: str, final: str) -> None:
    """Make the executed notebook's parameters name the report folder, not the staging one."""
    import nbformat

    book = nbformat.read(executed, as_version=4)
    for cell in book.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = cell.source.replace(staged, final)
    nbformat.write(book, executed)


def declared(notebook: Path, parameters: dict) -> dict:
    """Drop the :data:`OPTIONAL_PARAMETERS` that the notebook's ``parameters`` cell does not assign.

    Examples
    --------
    >>> import nbformat, tempfile
    >>> book = nbformat.v4.new_notebook()
    >>> book.cells = [nbformat.v4.new_code_cell("seed = 1", metadata={"tags": ["parameters"]})]
    >>> path = Path(tempfile.mkdtemp()) / "01_x.ipynb"
    >>> nbformat.write(book, path)
    >>> declared(path, {"seed": 2, "literature_path": "lit/"})
    {'seed': 2}
    """
    import nbformat

    book = nbformat.read(notebook, as_version=4)
    cells = [c.source for c in book.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    names = {line.split("=", 1)[0].strip() for source in cells for line in source.splitlines() if "=" in line}
    return {k: v for k, v in parameters.items() if k not in OPTIONAL_PARAMETERS or k in names}


def run_notebook(notebook: Path, folder: Path, parameters: dict, final: Path | None = None) -> NotebookRun:
    """Execute ``notebook`` into ``folder`` (``<name>.ipynb``, ``.html``, ``.code.html``); return its run.

    Parameters
    ----------
    notebook : Path
        The notebook to execute; it runs with its own folder as working directory.
    folder : Path
        Where the executed notebook and its HTML go (the report's staging folder).
    parameters : dict
        Papermill parameters (the cell tagged ``parameters`` is overridden with them).
    final : Path, optional
        The folder the report will be moved to: the executed notebook's parameters name it
        instead of ``folder``.

    Returns
    -------
    NotebookRun
        Failed, with the cell and error, when the notebook raised or its kernel died.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, whether the builder or the notebook's kernel received it.
    """
    import papermill

    start = time.perf_counter()
    executed = folder / f"{notebook.stem}.ipynb"
    error, cell = None, None
    try:
        papermill.execute_notebook(str(notebook), str(executed), parameters=declared(notebook, parameters),
                                   # the kernel starts in the notebook's folder; papermill's own
                                   # cwd= would change this process's folder, which notebooks
                                   # running at once in other threads share
                                   resources={"metadata": {"path": str(notebook.parent)}},
                                   kernel_name=KERNEL,
                                   progress_bar=False, log_output=False,
                                   # saved once, when it ends (even on an error or a dead
                                   # kernel), not after every cell: 2-3 s less per notebook
                                   request_save_on_cell_execute=False,
                                   kernel_manager_class=_kernel_manager_class(),
                                   # the kernel's own log (e.g. "running over TCP without
                                   # encryption", or "KeyboardInterrupt caught" when Jupyter
                                   # interrupts an idle kernel before shutting it down) is not
                                   # the user's business; cell errors still are
                                   extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except Exception as exc:  # a cell's error or a dead kernel: the notebook's status, not ours
        if getattr(exc, "ename", None) == "KeyboardInterrupt":  # Ctrl-C reached the kernel first
            raise KeyboardInterrupt from exc
        error, cell = _failure(exc)
    if executed.exists():
        if final is not None:
            _show_folder(executed, str(folder), str(final))
        write_pages(executed, path_replacements(folder, final or folder, parameters.get("data_path"),
                                                       parameters.get("literature_path")))
    return NotebookRun(notebook.stem, time.perf_counter() - start, _skipped(folder, notebook.stem),
                       error, cell)

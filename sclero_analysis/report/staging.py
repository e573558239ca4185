"""Replace a report folder whole, or not at all.

A report is built in a staging folder beside its destination (``.reports.building-XXXX`` next
to ``reports/``, on the same file system) and moved into place only when the build completes.
An interruption (Ctrl-C) or an error of the builder removes the staging folder and leaves the
previous report as it was: never a new ``provenance.json`` beside old figures. A build that was
killed (no chance to clean up) leaves its staging folder behind; the next build deletes the
staging folders of builds whose process is gone.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sclero_analysis.exceptions import ReportError

#: A folder holding this file was written by the report builder and may be replaced.
MARKER = "provenance.json"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_replaceable(folder: Path, keep: Iterable[Path] = ()) -> None:
    """Refuse a destination the report would destroy something in.

    Parameters
    ----------
    folder : Path
        The report folder (absolute): absent, empty, or a previous report (holds
        ``provenance.json``).
    keep : iterable of Path
        Paths that must survive (the data, the notebooks): none may lie inside ``folder``.

    Raises
    ------
    ReportError
        ``folder`` is a file, holds files that are not a report, or holds a path of ``keep``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> check_replaceable(Path(tempfile.mkdtemp()) / "reports")  # absent: fine
    """
    for path in keep:
        if _inside(Path(path).resolve(), folder):
            raise ReportError(f"--out {folder} holds {path}: the report replaces its folder "
                              "whole; write it elsewhere")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ReportError(f"--out {folder} is a file, not a folder")
    if any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise ReportError(f"--out {folder} holds files but no {MARKER}, so it is not a previous "
                          "report; the report replaces its folder whole: choose a new or empty folder")


def _replace(stage: Path, folder: Path) -> None:
    """Move ``stage`` to ``folder``, the previous ``folder`` out of the way and then deleted."""
    if not folder.exists():
        stage.rename(folder)
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.previous-", dir=folder.parent))
    folder.rename(trash / folder.name)
    try:
        stage.rename(folder)
    except BaseException:
        (trash / folder.name).rename(folder)  # put the previous report back
        trash.rmdir()
        raise
    shutil.rmtree(trash, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_abandoned(folder: Path) -> list[Path]:
    """Delete the staging folders of ``folder`` left by killed builds; return them.

    A staging folder is named after its build's process (``.reports.building-PID-XXXX``): it is
    abandoned when that process no longer runs (a build still running keeps its own). Only on
    POSIX systems, where a process can be asked whether it exists.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> remove_abandoned(Path(tempfile.mkdtemp()) / "reports")
    []
    """
    if os.name != "posix":
        return []
    removed = []
    for stale in folder.parent.glob(glob.escape(f".{folder.name}.building-") + "*"):
        pid = stale.name.rsplit(".building-", 1)[1].split("-", 1)[0]
        if stale.is_dir() and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(stale)
    return removed


@contextmanager
def staged(folder: Path) -> Iterator[Path]:
    """Yield a staging folder next to ``folder``; on a normal exit it becomes ``folder``.

    Parameters
    ----------
    folder : Path
        The destination (absolute). Check it first with :func:`check_replaceable`.

    Yields
    ------
    Path
        An empty folder on the same file system as ``folder``. If the ``with`` block raises
        (KeyboardInterrupt included), it is deleted and ``folder`` is untouched.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> out = Path(tempfile.mkdtemp()) / "reports"
    >>> with staged(out) as stage:
    ...     _ = (stage / "index.html").write_text("done")
    >>> (out / "index.html").read_text()
    'done'
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(folder)
    stage = folder.parent / f".{folder.name}.building-{os.getpid()}-{secrets.token_hex(4)}"
    stage.mkdir()  # not mkdtemp: the report keeps the user's usual permissions (umask), not 0700
    try:
        yield stage
        _replace(stage, folder)
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # gone already after a successful replace

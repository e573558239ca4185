"""Where compiled kernels are cached on disk, and when a cached kernel is out of date.

The cache folder of a kernel's source file is the first writable one of:

1. ``NUMBA_CACHE_DIR``, read when the kernel is first needed (so it also works when set in
   ``os.environ`` after Numba itself was imported);
2. the ``__pycache__`` folder beside the kernel's module (a source checkout);
3. the user's cache folder, ``platformdirs.user_cache_dir("sclero_analysis")/numba`` (e.g. a
   read-only site-packages);
4. none: the kernels are compiled again in every process.

A kernel's cache is invalidated when its file, or the file of a compiled function it calls,
changes (Numba's own cache looks at the kernel's file only).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FunctionType

import platformdirs
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    _CacheLocator,
    _SourceFileBackedLocatorMixin,
)
from numba.core.dispatcher import Dispatcher

#: Stamped into every kernel's cache: the module of ``fill`` and ``copy_into`` (Numba overloads).
ALWAYS_STAMPED = Path(__file__).with_name("_compiled.py")


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists or can be made, and a file can be written in it (as Numba checks)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _candidates(source: Path) -> list[Path]:
    subpath = _CacheLocator.get_suitable_cache_subpath(str(source))  # <folder>_<hash of its path>
    folders = []
    if os.environ.get("NUMBA_CACHE_DIR"):
        folders.append(Path(os.environ["NUMBA_CACHE_DIR"]) / subpath)
    folders.append(source.parent / "__pycache__")
    folders.append(Path(platformdirs.user_cache_dir("sclero_analysis", appauthor=False)) / "numba" / subpath)
    return folders


@functools.cache
def _first_writable(candidates: tuple[Path, ...]) -> Path | None:
    return next((folder for folder in candidates if _writable(folder)), None)


def cache_folder(source: str | os.PathLike) -> Path | None:
    """Return the folder where the kernels defined in ``source`` are cached.

    Parameters
    ----------
    source : str or path-like
        The Python file defining the kernels.

    Returns
    -------
    pathlib.Path or None
        The first writable of ``NUMBA_CACHE_DIR`` (a subfolder per source folder), the
        ``__pycache__`` beside ``source``, the user's cache folder; None when none is writable
        or ``source`` is no file.

    Examples
    --------
    >>> import sclero_analysis.studies.cox_kernel as module
    >>> cache_folder(module.__file__).is_dir()
    True
    """
    source = Path(source)
    if not source.is_file():  # e.g. "<doctest ...>" or "<ipython-...>": no file to stamp the cache by
        return None
    return _first_writable(tuple(_candidates(source.resolve())))


def called_functions(function: Callable) -> list[Callable]:
    """Return ``function`` and the Python functions of every compiled function it calls, transitively.

    Also the Python functions of its package it calls: in compiled code, those Numba compiles
    through an overload (e.g. a choice between compiled functions).

    Examples
    --------
    >>> from sclero_analysis.studies.batched_logit import fit_kernel
    >>> "_newton_direction" in [f.__name__ for f in called_functions(fit_kernel.py_func)]
    True
    """
    seen, todo = [], [function]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        for name in current.__code__.co_names:
            value = current.__globals__.get(name)
            if isinstance(value, Dispatcher):
                todo.append(value.py_func)
            elif isinstance(value, FunctionType) and _package(value) == _package(current):
                todo.append(value)
    return seen


def _package(function: Callable) -> str:
    return (function.__module__ or "").partition(".")[0]


def _called_files(function: Callable) -> set[str]:
    """Return the source files of ``function``, of the compiled functions it calls and ``_compiled.py``."""
    return {inspect.getfile(f) for f in called_functions(function)} | {str(ALWAYS_STAMPED)}


class _Locator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """Numba's cache locator for a kernel: :func:`cache_folder`, stamped by the files it compiles."""

    def __init__(self, py_func, py_file, folder: Path):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._files = sorted(_called_files(py_func))
        self._cache_path = str(folder)

    def get_cache_path(self) -> str:
        return self._cache_path

    def get_source_stamp(self) -> str:
        digest = hashlib.sha256()
        for file in self._files:
            digest.update(Path(file).read_bytes())
        return digest.hexdigest()

    @classmethod
    def from_function(cls, py_func, py_file):
        folder = cache_folder(py_file)
        return None if folder is None else cls(py_func, py_file, folder)


class _CacheImpl(CompileResultCacheImpl):
    _locator_classes = [_Locator]


class KernelCache(FunctionCache):
    """Numba's function cache with :class:`_Locator`: set as a dispatcher's ``_cache``."""

    _impl_class = _CacheImpl

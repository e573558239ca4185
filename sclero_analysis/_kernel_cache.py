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

The package also ships its kernels compiled for any CPU of an architecture (``SHIPPED``: Numba's
cache files made with ``NUMBA_CPU_NAME=generic`` by :func:`~sclero_analysis._compiled.ship_kernels`,
``make kernels``). A kernel missing from the cache folder is loaded from there when they were
made from the same source files, by the same Numba and Python versions, for the same platform
(the target triple, e.g. x86_64 Linux); else it is compiled on this machine as before.
``SCLERO_ANALYSIS_SHIPPED_KERNELS=0`` ignores them.
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

import numba
import platformdirs
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    _CacheLocator,
    _SourceFileBackedLocatorMixin,
)
from numba.core.dispatcher import Dispatcher

#: The kernels shipped with the package, compiled for any CPU of their platform (see above).
SHIPPED = Path(__file__).with_name("_shipped_kernels")
#: Set to 0 to ignore the shipped kernels (every kernel missing from the cache is compiled here).
SHIPPED_FLAG = "SCLERO_ANALYSIS_SHIPPED_KERNELS"
#: The CPU name and features the shipped kernels are compiled for (``NUMBA_CPU_NAME=generic``).
PORTABLE_CPU = ("generic", "")
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


class _ShippedLocator(_Locator):
    """The locator of a shipped kernel: the folder ``SHIPPED``, stamped as :class:`_Locator` stamps."""

    def __init__(self, py_func, py_file):
        super().__init__(py_func, py_file, SHIPPED)

    @classmethod
    def from_function(cls, py_func, py_file):
        return cls(py_func, py_file)


class _ShippedCacheImpl(CompileResultCacheImpl):
    _locator_classes = [_ShippedLocator]


class ShippedKernelCache(KernelCache):
    """Numba's function cache in ``SHIPPED``, for code compiled for any CPU of the platform.

    Its index keys name ``PORTABLE_CPU`` instead of this machine's CPU, so the portable code
    is found on any CPU of the platform (the target triple stays in the key). Written only by
    :func:`~sclero_analysis._compiled.ship_kernels`, in a process whose CPU is the portable one.
    """

    _impl_class = _ShippedCacheImpl

    def _index_key(self, sig, codegen):
        signature, (triple, *_), hashes = super()._index_key(sig, codegen)
        return signature, (triple, *PORTABLE_CPU), hashes

    def _save_overload(self, sig, data):
        if data.codegen.magic_tuple()[1:] != PORTABLE_CPU:
            raise RuntimeError(f"the shipped kernels are compiled with NUMBA_CPU_NAME={PORTABLE_CPU[0]}, "
                               f"not for this machine's CPU ({data.codegen.magic_tuple()[1]})")
        super()._save_overload(sig, data)


def shipped_cache(py_func: Callable) -> ShippedKernelCache | None:
    """Return the shipped cache of a kernel's function; None when none is shipped or they are ignored.

    Parameters
    ----------
    py_func : callable
        The kernel's Python function.

    Returns
    -------
    ShippedKernelCache or None
        None with ``SCLERO_ANALYSIS_SHIPPED_KERNELS=0``, for a function outside the package,
        or when no shipped kernel of this function exists for this Python version. A cache
        that exists may still hold nothing for this machine (another platform or Numba
        version, other sources): its ``load_overload`` then returns None.

    Examples
    --------
    >>> from sclero_analysis.studies.cox_kernel import robust_kernel
    >>> cache = shipped_cache(robust_kernel.py_func)
    >>> cache is None or cache.cache_path == str(SHIPPED)
    True
    """
    if os.environ.get(SHIPPED_FLAG, "1") == "0" or numba.config.DISABLE_JIT:
        return None
    source = Path(inspect.getfile(py_func))
    if not (source.is_file() and source.resolve().is_relative_to(SHIPPED.parent.resolve())):
        return None  # a kernel of another package, or typed at a prompt
    cache = ShippedKernelCache(py_func)
    if not (SHIPPED / f"{cache._impl.filename_base}.nbi").is_file():
        return None
    return cache

"""Compiled kernels (Numba): one signature each, compiled once per machine, cached on disk.

A kernel is compiled for exactly one signature (C-contiguous arrays of one dtype each, plain
scalars), when its module is imported; further compilation is disabled, so a call with other
types is a ``TypeError`` instead of a silent second compilation. The machine code is cached:
a fresh install compiles once (one line on stderr says so) and every later process, a
notebook's kernel or a joblib/Dask worker on the same machine, loads it from disk.

The cache folder is the first writable one of:

1. ``NUMBA_CACHE_DIR``, read when the kernel's module is imported (so it also works when set
   in ``os.environ`` after Numba itself was imported);
2. the ``__pycache__`` folder beside the kernel's module (a source checkout);
3. the user's cache folder, ``platformdirs.user_cache_dir("sclero_analysis")/numba`` (e.g. a
   read-only site-packages);
4. none: the kernels are compiled again in every process, and the message says so.

A kernel's cache is invalidated when its file, or the file of a compiled function it calls,
changes. ``NUMBA_DISABLE_JIT=1`` leaves every kernel a plain Python function.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numba
import platformdirs
from numba import njit, types
from numba.core import event
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    _CacheLocator,
    _SourceFileBackedLocatorMixin,
)
from numba.core.dispatcher import Dispatcher
from numba.extending import overload

#: Options of every compiled function: no GIL held, NumPy's rules for division by zero, no C
#: callback wrapper (nothing takes their address; one wrapper less to compile).
OPTIONS = {"nogil": True, "error_model": "numpy", "no_cfunc_wrapper": True}
#: Scalar types of kernel signatures.
F8, I8, B1 = types.float64, types.int64, types.boolean
#: Seconds a fresh install spends compiling every kernel, about (benchmarks/bench_first_use.py).
FIRST_COMPILE_SECONDS = 12

_announced = threading.Event()


# ----------------------------------------------------------------------------- where

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


def _called_files(function: Callable) -> set[str]:
    """Return the source files of ``function``, of the compiled functions it calls and this one's."""
    seen, todo = set(), [function]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in current.__code__.co_names:
            value = current.__globals__.get(name)
            if isinstance(value, Dispatcher):
                todo.append(value.py_func)
    return {inspect.getfile(f) for f in seen} | {__file__}  # and fill, copy_into (overloads)


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


class _Cache(FunctionCache):
    _impl_class = _CacheImpl


# ----------------------------------------------------------------------------- the message

def _announce(folder: Path | None) -> None:
    """Say once per process, on stderr, that kernels are being compiled and where they are kept."""
    if _announced.is_set():
        return
    _announced.set()
    if folder is None:
        where = "no writable cache folder, so again in every new process: set NUMBA_CACHE_DIR"
    elif folder.name == "__pycache__":
        where = "kept in the package's __pycache__ folders"
    else:  # one subfolder per package folder
        where = f"kept in {folder.parent}"
    sys.stderr.write(f"compiling sclero_analysis kernels for this machine, once (~{FIRST_COMPILE_SECONDS} s; "
                     f"{where})...\n")
    sys.stderr.flush()


class _OnCompile(event.Listener):
    """Announce a compilation (Numba reports only real ones: a cache hit is no event)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def on_start(self, event) -> None:
        _announce(self.folder)

    def on_end(self, event) -> None:
        pass


# ----------------------------------------------------------------------------- kernels

def read(dtype, ndim: int) -> types.Array:
    """Return the type of a C-contiguous input array (read-only: writable arrays match too).

    Examples
    --------
    >>> str(read(types.float64, 2))
    'readonly array(float64, 2d, C)'
    """
    return types.Array(dtype, ndim, "C", readonly=True)


def write(dtype, ndim: int) -> types.Array:
    """Return the type of a C-contiguous array the kernel writes to.

    Examples
    --------
    >>> str(write(types.int64, 1))
    'array(int64, 1d, C)'
    """
    return types.Array(dtype, ndim, "C")


def _compile(dispatcher: Dispatcher, signature) -> None:
    source = inspect.getfile(dispatcher.py_func)
    folder = cache_folder(source)
    if folder is not None:
        dispatcher._cache = _Cache(dispatcher.py_func)  # Numba's own enable_caching(), our locator
    if Path(source).is_file():  # a kernel of the package (not one typed at a prompt): say it
        with event.install_listener("numba:compile", _OnCompile(folder)):
            dispatcher.compile(signature)
    else:
        dispatcher.compile(signature)
    dispatcher.disable_compile()


def kernel(signature) -> Callable:
    """Decorate a function as a compiled kernel of one signature, cached in :func:`cache_folder`.

    Parameters
    ----------
    signature : numba signature
        E.g. ``types.void(read(types.float64, 2), write(types.float64, 1))``; callers pass
        exactly these dtypes, C-contiguous. Compiled (or loaded from the cache) when the module
        is imported, so a worker process loads what its parent compiled.

    Returns
    -------
    callable
        A decorator returning the compiled function.

    Examples
    --------
    >>> import numpy as np
    >>> @kernel(types.float64(read(types.float64, 1)))
    ... def total(values):
    ...     out = 0.0
    ...     for v in values:
    ...         out += v
    ...     return out
    >>> total(np.arange(4.0))
    6.0
    """

    def decorate(function: Callable):
        if numba.config.DISABLE_JIT:
            return function
        dispatcher = njit(**OPTIONS)(function)
        _compile(dispatcher, signature)
        return dispatcher

    return decorate


def helper(function: Callable) -> Callable:
    """Compile a function called only from kernels (typed and compiled with its caller, not cached alone).

    Examples
    --------
    >>> @helper
    ... def twice(x):
    ...     return 2 * x
    >>> twice(2.0)
    4.0
    """
    return njit(**OPTIONS)(function)


def fill(a, value) -> None:
    """Set every element of an array to ``value``: ``a[...] = value``, as loops in a kernel.

    In compiled code, loops per dimension compile several times faster than Numba's slice
    assignment and run as fast.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.ones((2, 2)); fill(a, 0.5); a.tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    a[...] = value


def copy_into(source, target) -> None:
    """Copy ``source`` into ``target`` of the same shape: ``target[...] = source``, as loops in a kernel.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros(3); copy_into(np.arange(3.0), a); a.tolist()
    [0.0, 1.0, 2.0]
    """
    target[...] = source


@overload(fill, jit_options=OPTIONS)
def _fill_loops(a, value):
    if a.ndim == 1:
        def fill_1d(a, value):
            for i in range(a.shape[0]):
                a[i] = value
        return fill_1d
    if a.ndim == 2:
        def fill_2d(a, value):
            for i in range(a.shape[0]):
                for j in range(a.shape[1]):
                    a[i, j] = value
        return fill_2d
    return None


@overload(copy_into, jit_options=OPTIONS)
def _copy_loops(source, target):
    if source.ndim == 1:
        def copy_1d(source, target):
            for i in range(source.shape[0]):
                target[i] = source[i]
        return copy_1d
    if source.ndim == 2:
        def copy_2d(source, target):
            for i in range(source.shape[0]):
                for j in range(source.shape[1]):
                    target[i, j] = source[i, j]
        return copy_2d
    return None

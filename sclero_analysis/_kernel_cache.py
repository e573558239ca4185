"""Where compiled kernels are cached on disk, and when a cached kernel is out of date.

The cache folder of a kernel's source file is the first writable one of:

1. ``NUMBA_CACHE_DIR``, read when the kernel is first needed (so it also works when set in
   ``os.environ`` after Numba itself was imported);
2. the ``__pycache__`` folder beside the kernel's module (a source checkout);
3. the user's cache folder, ``platformdirs.user_cache_dir("sclero_analysis")/numba`` (e.g. a
   read-only site-packages);
4. none: the kernels are compiled again in every process.

A kernel's cache is invalidated when its file, the file of a compiled function it calls, or
the file of a module of the package these import (constants are frozen into the machine code)
changes (Numba's own cache looks at the kernel's file only).

The package also ships its kernels compiled for any CPU of an architecture (``SHIPPED``: Numba's
cache files made with ``NUMBA_CPU_NAME=generic`` by :func:`~sclero_analysis._compiled.ship_kernels`,
``make kernels``). A kernel missing from the cache folder is loaded from there when they were
made from the same source files, by the same Numba and Python versions, for the same platform
(the target triple, e.g. x86_64 Linux); else it is compiled on this machine as before.
``SCLERO_ANALYSIS_SHIPPED_KERNELS=0`` ignores them.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import inspect
import os
import pickle
import sys
import tempfile
import warnings
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
from numba.core.compiler import CompileResult
from numba.core.dispatcher import Dispatcher
from numba.core.registry import cpu_target

#: The kernels shipped with the package, compiled for any CPU of their platform (see above).
SHIPPED = Path(__file__).with_name("_shipped_kernels")
#: Set to 0 to ignore the shipped kernels (every kernel missing from the cache is compiled here).
SHIPPED_FLAG = "SCLERO_ANALYSIS_SHIPPED_KERNELS"
#: The CPU name and features the shipped kernels are compiled for (``NUMBA_CPU_NAME=generic``).
PORTABLE_CPU = ("generic", "")
#: This Python's part of a cache file's name (``.py311`` in ``….py311.nbi`` and ``….py311.1.nbc``).
PYTHON_TAG = f".py{sys.version_info[0]}{sys.version_info[1]}{getattr(sys, 'abiflags', '')}"
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
    """Return the files a kernel's machine code depends on.

    The source files of ``function`` and of the compiled functions it calls, the files of the
    modules of their package these import, transitively (Numba freezes the values of global
    constants, e.g. ``DAYS_PER_MONTH``, into the machine code), and ``_compiled.py``.
    """
    files = {inspect.getfile(f) for f in called_functions(function)} | {str(ALWAYS_STAMPED)}
    todo = [(file, _package(function)) for file in files]
    while todo:
        file, package = todo.pop()
        for imported in _imported_files(file, package):
            if imported not in files:
                files.add(imported)
                todo.append((imported, package))
    return files


def _imported_files(file: str, package: str) -> tuple[str, ...]:
    """Return the files of the modules of ``package`` that the Python file ``file`` imports."""
    try:
        stat = os.stat(file)
    except OSError:
        return ()
    return _parsed_imports(file, package, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _parsed_imports(file: str, package: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """:func:`_imported_files`, remembered while the file is unchanged (its time and size)."""
    try:
        tree = ast.parse(Path(file).read_text())
    except (OSError, SyntaxError, ValueError):
        return ()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [_module_file(alias.name, package) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # a submodule's file, else (a name defined in the module) the module's own
            submodules = [_module_file(f"{node.module}.{alias.name}", package) for alias in node.names]
            found += submodules if all(submodules) else [*submodules, _module_file(node.module, package)]
    return tuple(file for file in found if file)


def _module_file(name: str, package: str) -> str | None:
    """Return the source file of the module ``name`` when it is one of ``package``, else None."""
    if name.partition(".")[0] != package:
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):  # the name of something in a module, not of a module
        return None
    return spec.origin if spec is not None and spec.origin and spec.origin.endswith(".py") else None


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


def load_shipped(py_func: Callable, signature, context) -> CompileResult | None:
    """Load a kernel's shipped machine code for ``signature``; None when there is none for this machine.

    A shipped file that cannot be read (damaged) is a ``RuntimeWarning`` and None: the kernel
    is compiled here instead.

    Parameters
    ----------
    py_func : callable
        The kernel's Python function.
    signature : numba signature
        The kernel's one signature.
    context : numba target context
        The dispatcher's (``dispatcher.targetctx``).

    Returns
    -------
    numba.core.compiler.CompileResult or None
    """
    cache = shipped_cache(py_func)
    if cache is None:
        return None
    try:
        return cache.load_overload(signature, context)
    except Exception as error:  # noqa: BLE001 (whatever the damage, compiling here is the remedy)
        warnings.warn(f"the shipped kernel {py_func.__module__}.{py_func.__qualname__} could not be read "
                      f"({error!r}): it is compiled on this machine instead", RuntimeWarning, stacklevel=2)
        return None


def shipped_note(py_func: Callable) -> str:
    """Say why a kernel of the package is compiled rather than loaded from the shipped ones, for the message.

    Parameters
    ----------
    py_func : callable
        The kernel's Python function; '' for one outside the package, or when none are shipped.

    Returns
    -------
    str
        They are ignored (``SCLERO_ANALYSIS_SHIPPED_KERNELS=0``), or for other Python versions,
        another Numba, another platform, else for other sources (this kernel's, or a file
        it depends on, were changed since).

    Examples
    --------
    >>> shipped_note(len)  # no kernel of the package
    ''
    """
    if not _in_package(py_func):
        return ""
    if os.environ.get(SHIPPED_FLAG, "1") == "0":
        return f"the shipped ones ignored: {SHIPPED_FLAG}=0"
    indexes = sorted(SHIPPED.glob("*.nbi"))
    if not indexes:
        return ""
    pythons = sorted({_python_of(path.name) for path in indexes})
    version, _, overloads = read_index(indexes[0])
    triple = next(iter(overloads))[1][0]
    if _python_of(f"{PYTHON_TAG}.nbi") not in pythons:
        return f"the shipped ones are for CPython {', '.join(pythons)}"
    if version != numba.__version__:
        return f"the shipped ones are for Numba {version}"
    if triple != cpu_target.target_context.codegen().magic_tuple()[0]:
        return f"the shipped ones are for {triple}"
    return "the shipped ones were compiled from other sources"


def _python_of(name: str) -> str:
    """Return the CPython version of a cache index's file name ("3.11" for ``….py311.nbi``)."""
    digits = name.rsplit(".py", 1)[1].removesuffix(".nbi")
    return f"{digits[0]}.{digits[1:]}"


def read_index(path: str | os.PathLike) -> tuple[str, object, dict]:
    """Read a Numba cache index: the Numba version, the source stamp and the overloads (key: data file).

    Parameters
    ----------
    path : str or path-like
        A ``.nbi`` file.

    Returns
    -------
    tuple
        ``(numba version, stamp, {(signature, (triple, cpu, features), hashes): data file name})``.
    """
    with open(path, "rb") as f:
        version = pickle.load(f)
        stamp, overloads = pickle.loads(f.read())
    return version, stamp, overloads


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
    if not _in_package(py_func):
        return None  # a kernel of another package, or typed at a prompt
    cache = ShippedKernelCache(py_func)
    if not (SHIPPED / f"{cache._impl.filename_base}.nbi").is_file():
        return None
    return cache


def _in_package(py_func: Callable) -> bool:
    """Whether a function is defined in a file of this package."""
    try:
        source = Path(inspect.getfile(py_func))
    except TypeError:  # a built-in
        return False
    return source.is_file() and source.resolve().is_relative_to(Path(__file__).resolve().parent)

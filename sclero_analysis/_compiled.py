"""Compiled kernels (Numba): one signature each, compiled once per machine, cached on disk.

A kernel is compiled for exactly one signature (C-contiguous arrays of one dtype each, plain
scalars); further compilation is disabled, so a call with other types is a ``TypeError``
instead of a silent second compilation. Importing a kernel's module compiles nothing: its first
call loads the machine code from the cache (:mod:`~sclero_analysis._kernel_cache`), else from
the kernels shipped with the package for any CPU of its platform (:func:`ship_kernels`, when
they fit this platform, Python, Numba and the sources), and otherwise compiles it, with every
other kernel of the imported modules missing from both (except those compiled on demand, which
wait for their own first call), at once: this process and one helper process per further core
go down the list, the longest first, each taking the next kernel no other has taken; this
process then loads the helpers' kernels from the cache. One line on stderr says so. Every later
process, a notebook's kernel or a joblib/Dask worker on the same machine, loads the kernels
from disk. With no writable cache folder, everything is compiled in this process (and again in
every new one), and the message says so. The functions kernels call (:func:`helper`) are
compiled into them without the wrapper that makes compiled code callable from Python.
``NUMBA_DISABLE_JIT=1`` leaves every kernel a plain Python function.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import types as pytypes
from collections.abc import Callable, Iterable
from pathlib import Path

import numba
from numba import njit, types
from numba.core import event
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher
from numba.core.registry import CPUDispatcher
from numba.extending import overload

from sclero_analysis import _kernel_cache
from sclero_analysis._kernel_cache import (
    PORTABLE_CPU,
    PYTHON_TAG,
    SHIPPED,
    KernelCache,
    ShippedKernelCache,
    cache_folder,
    called_functions,
    load_shipped,
    shipped_note,
)

__all__ = ["B1", "F8", "I8", "INNER_OPTIONS", "KERNEL_MODULES", "OPTIONS", "Kernel", "cache_folder",
           "compile_kernels", "copy_into", "fill", "helper", "kernel", "read", "ready_kernels",
           "ship_kernels", "write"]

#: Options of every compiled function: no GIL held, NumPy's rules for division by zero, no C
#: callback wrapper (nothing takes their address; one wrapper less to compile).
OPTIONS = {"nogil": True, "error_model": "numpy", "no_cfunc_wrapper": True}
#: Options of the functions compiled only into kernels (helpers, overloads): nor a Python wrapper.
INNER_OPTIONS = {**OPTIONS, "no_cpython_wrapper": True}
#: Scalar types of kernel signatures.
F8, I8, B1 = types.float64, types.int64, types.boolean
#: CPU seconds a fresh install spends compiling every kernel, about (benchmarks/bench_first_use.py):
#: shared between the processes compiling them, it estimates the wait.
FIRST_COMPILE_CPU_SECONDS = 15
#: Set in the helper processes compiling kernels for another one (they compile, quietly, what they are told).
CHILD_FLAG = "SCLERO_ANALYSIS_COMPILING_FOR"

#: The package's modules defining kernels.
KERNEL_MODULES = ("sclero_analysis.synthetic.line_kernel", "sclero_analysis.studies.cox_kernel",
                  "sclero_analysis.studies.batched_logit")

_announced = threading.Event()
_kernels: list[Kernel] = []  # every kernel defined so far, in order
_lock = threading.RLock()  # one thread makes kernels ready at a time


# ----------------------------------------------------------------------------- the message

def _announce(folder: Path | None, processes: int, py_func: Callable) -> None:
    """Say once per process, on stderr, that kernels are being compiled and where they are kept."""
    if _announced.is_set() or os.environ.get(CHILD_FLAG):
        return
    _announced.set()
    if folder is None:
        where = "no writable cache folder, so again in every new process: set NUMBA_CACHE_DIR"
    elif folder.name == "__pycache__":
        where = "kept in the package's __pycache__ folders"
    else:  # one subfolder per package folder
        where = f"kept in {folder.parent}"
    spread = f" in {processes} processes" if processes > 1 else ""
    note = shipped_note(py_func)  # why the kernel compiled first was not loaded from those shipped
    sys.stderr.write(f"compiling sclero_analysis kernels for this machine{spread}, once "
                     f"(~{math.ceil(FIRST_COMPILE_CPU_SECONDS / processes)} s; {where}"
                     f"{'; ' + note if note else ''})...\n")
    sys.stderr.flush()


class _OnCompile(event.Listener):
    """Announce a compilation (Numba reports only real ones: a cache hit is no event)."""

    def __init__(self, folder: Path | None, processes: int, py_func: Callable) -> None:
        self.folder, self.processes, self.py_func = folder, processes, py_func

    def on_start(self, event) -> None:
        _announce(self.folder, self.processes, self.py_func)

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


class Kernel:
    """A compiled function of one signature, loaded from the cache or compiled on its first call.

    Made by :func:`kernel`: ``py_func`` is the Python function, ``signature`` its one
    signature, ``dispatcher`` Numba's compiled function once ready, ``on_demand`` whether it
    is left out when other kernels are compiled (:func:`kernel`). Calling the kernel calls the
    compiled function (a ``TypeError`` for other argument types).
    """

    def __init__(self, function: Callable, signature, on_demand: bool = False) -> None:
        functools.update_wrapper(self, function)
        self.py_func, self.signature, self.on_demand = function, signature, on_demand
        self.dispatcher: Dispatcher | None = None
        self._candidate: Dispatcher | None = None
        _kernels.append(self)

    def __call__(self, *args, **kwargs):
        return (self.dispatcher or self.ready())(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<compiled kernel {self.name}>"

    @property
    def name(self) -> str:
        """``module:function``, the name a helper process imports the kernel by."""
        return f"{self.py_func.__module__}:{self.py_func.__qualname__}"

    @property
    def signatures(self) -> list:
        """The compiled signatures (one), as Numba lists them."""
        return self.ready().signatures

    @property
    def source(self) -> Path:
        return Path(inspect.getfile(self.py_func))

    @property
    def folder(self) -> Path | None:
        """The cache folder (:func:`~sclero_analysis._kernel_cache.cache_folder`), None when none."""
        return cache_folder(self.source)

    @property
    def cost(self) -> int:
        """Bytes of Python bytecode compiled with the kernel: roughly how long compiling it takes."""
        return sum(len(f.__code__.co_code) for f in called_functions(self.py_func))

    def ready(self) -> Dispatcher:
        """Return the compiled function: from the cache, else compiled with every kernel missing there."""
        with _lock:
            if self.dispatcher is None and not self.load():
                _compile_missing(self, [k for k in _kernels if k.dispatcher is None and k is not self
                                        and not k.on_demand])
        return self.dispatcher

    def load(self) -> bool:
        """Load the machine code from the cache, else the shipped kernels; return success.

        As ``Dispatcher.compile`` does first, then from the kernels shipped with the package
        (:func:`~sclero_analysis._kernel_cache.shipped_cache`), when they fit this machine.
        """
        dispatcher = self._new_dispatcher()
        with global_compiler_lock:
            result = dispatcher._cache.load_overload(self.signature, dispatcher.targetctx)
            if result is None:
                result = load_shipped(self.py_func, self.signature, dispatcher.targetctx)
            if result is None:
                return False
            dispatcher._cache_hits[self.signature] += 1
            dispatcher.targetctx.insert_user_function(result.entry_point, result.fndesc, [result.library])
            dispatcher.add_overload(result)
        self._finish(dispatcher)
        return True

    def compile(self, processes: int = 1) -> None:
        """Load from the cache or the shipped kernels, else compile (and cache); refuse other types then."""
        if self.dispatcher is not None or self.load():  # ready already, or now
            return
        dispatcher = self._new_dispatcher()
        if self.source.is_file():  # a kernel of a module (not one typed at a prompt): say it
            with event.install_listener("numba:compile", _OnCompile(self.folder, processes, self.py_func)):
                dispatcher.compile(self.signature)
        else:
            dispatcher.compile(self.signature)
        self._finish(dispatcher)

    def _new_dispatcher(self) -> Dispatcher:
        if self._candidate is None:
            self._candidate = njit(**OPTIONS)(self.py_func)
            if self.folder is not None:
                self._candidate._cache = KernelCache(self.py_func)  # Numba's enable_caching(), our locator
        return self._candidate

    def _finish(self, dispatcher: Dispatcher) -> None:
        dispatcher.disable_compile()
        self.dispatcher = dispatcher


def _compile_missing(first: Kernel, others: list[Kernel]) -> None:
    """Compile ``first`` and the ``others`` missing from the cache, spread over the machine's cores.

    This process and one helper process per further core go down the same list, the longest
    first, each compiling the next kernel no other has claimed (so the work balances itself
    whatever each kernel costs); this process then loads the helpers' kernels from the cache
    (compiling here whatever a helper could not).
    """
    missing = [first, *(k for k in others if not k.load())]
    movable = sorted((k for k in missing if _movable(k)), key=lambda k: k.cost, reverse=True)
    count = 1 if os.environ.get(CHILD_FLAG) else min(_cores(), len(movable))
    if count < 2:
        for k in missing:
            k.compile()
        return
    with tempfile.TemporaryDirectory(prefix="sclero-analysis-compiling-") as claims:
        helpers = [_start_helper(movable, claims) for _ in range(count - 1)]
        try:
            _compile_claimed(movable, claims, count)
            for k in missing:
                if not _movable(k):
                    k.compile(count)
        except BaseException:
            for process in helpers:
                process.kill()
            raise
        for process in helpers:
            process.wait()
    for k in movable:
        k.compile(count)


def _compile_claimed(kernels: list[Kernel], claims: str | os.PathLike | None, processes: int = 1) -> None:
    """Compile, in order, the ``kernels`` this process claims first in the folder ``claims`` (all without)."""
    for k in kernels:
        if claims is None or _claim(claims, k):
            k.compile(processes)


def _claim(claims: str | os.PathLike, k: Kernel) -> bool:
    """Claim ``k`` for this process in the folder ``claims``: True unless another process did first."""
    try:
        os.close(os.open(Path(claims) / k.name.replace(":", "-"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _movable(k: Kernel) -> bool:
    """Whether a helper process can compile ``k`` for this one (it imports it, and caches it)."""
    return bool(sys.executable) and k.py_func.__module__ != "__main__" and k.source.is_file() \
        and k.folder is not None


def _import_root(k: Kernel) -> str:
    """Return the folder to put on ``sys.path`` to import the kernel's module."""
    depth = k.py_func.__module__.count(".") + (k.source.name == "__init__.py")
    return str(k.source.resolve().parents[depth])


def _start_helper(kernels: list[Kernel], claims: str) -> subprocess.Popen:
    """Start a process compiling into the cache the ``kernels`` it claims first.

    Quietly: this process checks the cache afterwards.
    """
    roots = dict.fromkeys([str(Path(__file__).resolve().parents[1]), *map(_import_root, kernels)])
    path = os.pathsep.join([*roots, *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, CHILD_FLAG: str(os.getpid()), "PYTHONPATH": path}
    code = ("import sys; from sclero_analysis._compiled import compile_kernels; "
            "compile_kernels(sys.argv[2:], claims=sys.argv[1])")
    return subprocess.Popen([sys.executable, "-c", code, claims, *(k.name for k in kernels)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def compile_kernels(names: Iterable[str], claims: str | os.PathLike | None = None) -> None:
    """Compile the named kernels in this process (loading those in the cache or shipped).

    What the helper processes of a first call run; also a way to fill the cache ahead of use.

    Parameters
    ----------
    names : iterable of str
        ``module:function`` of each kernel (:attr:`Kernel.name`).
    claims : str or path-like, optional
        A folder shared by processes compiling the same kernels: only those this process
        claims there first (others are compiled by the process that claimed them).

    Examples
    --------
    >>> compile_kernels(["sclero_analysis.synthetic.line_kernel:days_array"])
    """
    kernels = []
    for name in names:
        module, _, qualname = name.partition(":")
        kernels.append(getattr(importlib.import_module(module), qualname))
    _compile_claimed(kernels, claims)


def ship_kernels() -> list[Path]:
    """Compile every kernel for any CPU of this platform into the package's shipped kernels.

    What ``make kernels`` runs after a kernel's source changes (once per Python version shipped,
    e.g. ``make kernels PYTHON=python3.12 VENV=.venv-3.12``): a new process with
    ``NUMBA_CPU_NAME=generic`` and no other ``NUMBA_*`` setting compiles every kernel of
    ``KERNEL_MODULES`` of this checkout in Numba's cache format into a temporary folder
    (:class:`~sclero_analysis._kernel_cache.ShippedKernelCache`); when every kernel is there,
    they replace those of this Python version in ``SHIPPED``.

    Returns
    -------
    list of pathlib.Path
        The files of this Python version in ``SHIPPED``, sorted.

    Raises
    ------
    RuntimeError
        With ``NUMBA_DISABLE_JIT`` (nothing to compile), or when a kernel was not compiled
        (``SHIPPED`` is then left as it was).
    """
    if numba.config.DISABLE_JIT:
        raise RuntimeError("NUMBA_DISABLE_JIT is set: no kernel can be compiled to ship")
    tag = f"{PYTHON_TAG}."
    root = str(Path(__file__).resolve().parents[1])
    env = {key: value for key, value in os.environ.items() if not key.startswith("NUMBA_")}
    env.update(NUMBA_CPU_NAME=PORTABLE_CPU[0],
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory(prefix="sclero-analysis-shipping-") as folder:
        code = "import sys; from sclero_analysis._compiled import _ship_into; _ship_into(sys.argv[1])"
        subprocess.run([sys.executable, "-c", code, folder], env=env, check=True)
        SHIPPED.mkdir(exist_ok=True)
        for stale in SHIPPED.iterdir():
            if tag in stale.name:
                stale.unlink()
        for built in Path(folder).iterdir():
            shutil.move(built, SHIPPED / built.name)
    return sorted(p for p in SHIPPED.iterdir() if tag in p.name)


def _ship_into(folder: str) -> None:
    """Compile the kernels of ``KERNEL_MODULES`` for the portable CPU into ``folder`` (ship_kernels)."""
    if (numba.config.CPU_NAME, numba.config.CPU_FEATURES or "") != PORTABLE_CPU:
        raise RuntimeError(f"run with NUMBA_CPU_NAME={PORTABLE_CPU[0]} and no NUMBA_CPU_FEATURES")
    _kernel_cache.SHIPPED = Path(folder)  # where ShippedKernelCache writes, in this process only
    for module in KERNEL_MODULES:
        importlib.import_module(module)
    for k in _kernels:
        dispatcher = njit(**OPTIONS)(k.py_func)
        dispatcher._cache = ShippedKernelCache(k.py_func)
        dispatcher.compile(k.signature)
        if not Path(folder, f"{dispatcher._cache._impl.filename_base}.nbi").is_file():
            raise RuntimeError(f"{k.name} was compiled but not saved (it cannot be cached)")


def ready_kernels(modules: Iterable[str] = (), on_demand: bool = False) -> None:
    """Make every kernel defined so far ready: loaded from the cache, else compiled, all at once.

    Call before starting processes on this machine that use them (workers, notebooks): they
    then load what this process compiled instead of each compiling it again.

    Parameters
    ----------
    modules : iterable of str
        Modules to import first, e.g. :data:`KERNEL_MODULES` (every kernel of the package).
    on_demand : bool
        Also the kernels compiled on demand (:func:`kernel`); else they wait for their first
        call, wherever it is.

    Examples
    --------
    >>> ready_kernels(["sclero_analysis.synthetic.line_kernel"])
    """
    for module in modules:
        importlib.import_module(module)
    with _lock:
        missing = [k for k in list(_kernels) if k.dispatcher is None and (on_demand or not k.on_demand)
                   and not k.load()]
        if missing:
            _compile_missing(missing[0], missing[1:])


def kernel(signature, on_demand: bool = False, name: str | None = None) -> Callable:
    """Decorate a function as a compiled kernel of one signature, cached in its cache folder.

    Parameters
    ----------
    signature : numba signature
        E.g. ``types.void(read(types.float64, 2), write(types.float64, 1))``; callers pass
        exactly these dtypes, C-contiguous. Loaded from the cache, or compiled, on the first
        call (see the module's description), so importing the module compiles nothing and a
        worker process loads what its parent compiled.
    on_demand : bool
        Compiled only when itself is first called or made ready with ``on_demand``
        (:func:`ready_kernels`), not with the other kernels missing from the cache when one of
        them is first called: for a kernel most work never calls.
    name : str, optional
        Compile a copy of the function (same code) named ``name``, the module's name for the
        kernel: one Python function can so be several kernels, of different signatures.

    Returns
    -------
    callable
        A decorator returning a :class:`Kernel` (the function itself with ``NUMBA_DISABLE_JIT``).

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
        return Kernel(function if name is None else _renamed(function, name), signature, on_demand)

    return decorate


class _Helper(CPUDispatcher):
    """A function compiled only into kernels: without the wrapper that lets Python call compiled code.

    Kernels call it as any compiled function. A call from Python (a test, a prompt) goes to a
    second compilation of the same function with that wrapper, made on the first such call:
    Numba's own call of a function compiled without its wrapper would crash the interpreter.
    """

    def __init__(self, function: Callable) -> None:
        super().__init__(function, locals={},
                         targetoptions={"nopython": True, **INNER_OPTIONS})
        self._from_python: Dispatcher | None = None

    def __call__(self, *args, **kwargs):
        if self._from_python is None:
            self._from_python = njit(**OPTIONS)(self.py_func)
        return self._from_python(*args, **kwargs)


def _renamed(function: Callable, name: str) -> Callable:
    """Return a copy of a module-level function under another name (its code, globals and defaults)."""
    copy = pytypes.FunctionType(function.__code__, function.__globals__, name, function.__defaults__,
                                function.__closure__)
    copy.__qualname__, copy.__doc__, copy.__module__ = name, function.__doc__, function.__module__
    return copy


def helper(function: Callable) -> Callable:
    """Compile a function called only from kernels (typed and compiled with its caller, not cached alone).

    Without the wrapper that makes compiled code callable from Python (a fresh install compiles
    about a tenth less): a call from Python compiles the function again, with it.

    Examples
    --------
    >>> @helper
    ... def twice(x):
    ...     return 2 * x
    >>> twice(2.0)
    4.0
    """
    if numba.config.DISABLE_JIT:
        return function
    return _Helper(function)


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


@overload(fill, jit_options=INNER_OPTIONS)
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


@overload(copy_into, jit_options=INNER_OPTIONS)
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

"""Package names imported on first use (PEP 562): importing a package loads only what is used.

A worker process that runs one registry-study chunk then imports the simulator and the batched
fits, not the plotting, reporting and validation stacks; ``import sclero_analysis`` itself
defines names and nothing else.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable, Callable]:
    """Return a package's ``__getattr__`` and ``__dir__`` for names defined in its modules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping of str to str
        Each public name and the module (relative to ``package``) that defines it; a submodule
        exported under its own name maps to ``""``.

    Returns
    -------
    tuple of callables
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``.

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("sclero_analysis", {"TIERS": "therapy"})
    >>> getattr_("TIERS")[0]
    'ivig'
    """

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = exports[name]
        if not module:
            return importlib.import_module(f"{package}.{name}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # later look-ups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__

"""The kernels shipped with the package: current, loaded without compiling, the same digits."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numba
import pytest
from numba.core.registry import cpu_target

from sclero_analysis import _compiled, _kernel_cache
from sclero_analysis._kernel_cache import (
    PORTABLE_CPU,
    SHIPPED,
    SHIPPED_FLAG,
    ShippedKernelCache,
    load_shipped,
    read_index,
    shipped_cache,
)

PACKAGE = Path(__file__).parents[1] / "sclero_analysis"
PYTHON_TAG = _kernel_cache.PYTHON_TAG.removeprefix(".")

# A registry study (simulation, naive and IPTW Cox, propensity, robust variance) and a weighted
# Cox fit with tied times and 6 covariates (the kernel compiled on demand): the digits of each.
DIGITS = """
import hashlib, numpy as np, sclero_analysis as sa
from sclero_analysis import _compiled
from sclero_analysis.studies import StudyDesign, fit_cox_batched, run_study
res = run_study(StudyDesign(sa.RegistryDesign(n_patients=60), n_reps=4, chunk_size=4, truth_patients=200),
                progress=False)
rng = np.random.default_rng(3)
fit = fit_cox_batched(np.round(rng.exponential(10.0, (3, 50))), rng.random((3, 50)) < 0.7,
                      rng.normal(size=(3, 50, 6)), weight=rng.uniform(0.5, 2.0, (3, 50)), robust=True)
assert fit.converged.all()
digits = res.replicates.to_csv().encode() + fit.coef.tobytes() + fit.se.tobytes() + fit.loglik.tobytes()
print(hashlib.sha256(digits).hexdigest())
print(sorted(k.name for k in _compiled._kernels if k.dispatcher is not None))
"""


def _kernels() -> list[_compiled.Kernel]:
    for module in _compiled.KERNEL_MODULES:
        importlib.import_module(module)
    return [k for k in _compiled._kernels if k.source.is_relative_to(PACKAGE)]


def _shipped_here() -> bool:
    """Whether kernels are shipped for this Python and Numba version and this platform."""
    files = sorted(SHIPPED.glob(f"*.{PYTHON_TAG}.nbi"))
    if not files:
        return False
    version, _, overloads = read_index(files[0])
    triple = cpu_target.target_context.codegen().magic_tuple()[0]
    return version == numba.__version__ and all(key[1][0] == triple for key in overloads)


needs_shipped = pytest.mark.skipif(not _shipped_here(), reason=f"no kernels shipped for Python "
                                   f"{PYTHON_TAG} and Numba {numba.__version__} here")


def _run(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", SHIPPED_FLAG)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=cwd, env={**base, "PYTHONWARNINGS": "error", **env})


def test_every_kernel_is_shipped_compiled_from_the_current_sources_for_any_cpu():
    kernels = _kernels()
    versions = {re.search(r"\.(py\d+)\.nbi$", path.name).group(1) for path in SHIPPED.glob("*.nbi")}
    assert versions, f"no kernels in {SHIPPED}: run `make kernels`"
    numba_versions = set()
    for k in kernels:
        current = ShippedKernelCache(k.py_func)
        for version in sorted(versions):
            name = current._impl.filename_base.replace(f".{PYTHON_TAG}", f".{version}") + ".nbi"
            assert (SHIPPED / name).is_file(), f"{k.name} is not shipped for {version}: run `make kernels`"
            numba_version, stamp, overloads = read_index(SHIPPED / name)
            numba_versions.add(numba_version)
            assert stamp == current._cache_file._source_stamp, (
                f"{name} was compiled from other sources: run `make kernels` (for each Python version)")
            ((signature, (_, *cpu), _), data), = overloads.items()  # one compiled signature, one data file
            assert signature == k.signature and tuple(cpu) == PORTABLE_CPU
            assert (SHIPPED / data).is_file()
    assert len(numba_versions) == 1  # all compiled by one Numba
    data_files = {p.name for p in SHIPPED.glob("*.nbc")}
    indexed = {data for p in SHIPPED.glob("*.nbi") for data in read_index(p)[2].values()}
    assert data_files == indexed  # no stale data left beside the indexes


@needs_shipped
def test_a_shipped_kernel_loads_only_for_its_sources_numba_and_platform(monkeypatch):
    from sclero_analysis.studies.cox_kernel import robust_kernel

    context = cpu_target.target_context
    assert shipped_cache(robust_kernel.py_func).load_overload(robust_kernel.signature, context) is not None
    key = shipped_cache(robust_kernel.py_func)._index_key(robust_kernel.signature, context.codegen())
    assert key[1] == (context.codegen().magic_tuple()[0], "generic", "")  # any CPU of this platform
    for attribute, other in (("_source_stamp", "edited sources"), ("_version", "0.0.0")):
        cache = shipped_cache(robust_kernel.py_func)
        setattr(cache._cache_file, attribute, other)
        assert cache.load_overload(robust_kernel.signature, context) is None, attribute
    foreign = shipped_cache(robust_kernel.py_func)
    monkeypatch.setattr(foreign, "_index_key", lambda sig, codegen: (sig, ("aarch64-unknown-linux-gnu",
                                                                           *PORTABLE_CPU), key[2]))
    assert foreign.load_overload(robust_kernel.signature, context) is None  # another platform
    monkeypatch.setenv(SHIPPED_FLAG, "0")
    assert shipped_cache(robust_kernel.py_func) is None  # ignored on request


def test_a_function_of_another_package_named_as_a_shipped_kernel_gets_nothing_shipped(tmp_path):
    from sclero_analysis.studies.cox_kernel import robust_kernel

    if shipped_cache(robust_kernel.py_func) is None:
        pytest.skip(f"no kernels shipped for Python {PYTHON_TAG}")
    line = robust_kernel.py_func.__code__.co_firstlineno  # the same module, function and line
    (tmp_path / "cox_kernel.py").write_text("\n" * (line - 1) + "def robust_kernel():\n    pass\n")
    spec = importlib.util.spec_from_file_location("cox_kernel", tmp_path / "cox_kernel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert ShippedKernelCache(module.robust_kernel)._impl.filename_base == \
        ShippedKernelCache(robust_kernel.py_func)._impl.filename_base
    assert shipped_cache(module.robust_kernel) is None


@needs_shipped
def test_a_damaged_shipped_file_is_a_warning_and_the_kernel_is_compiled_instead(tmp_path, monkeypatch):
    from sclero_analysis.studies.cox_kernel import robust_kernel

    copy = tmp_path / "shipped"
    shutil.copytree(SHIPPED, copy)
    monkeypatch.setattr(_kernel_cache, "SHIPPED", copy)
    context = cpu_target.target_context
    assert load_shipped(robust_kernel.py_func, robust_kernel.signature, context) is not None
    index = copy / f"{ShippedKernelCache(robust_kernel.py_func)._impl.filename_base}.nbi"
    (data,) = read_index(index)[2].values()
    (copy / data).write_bytes((copy / data).read_bytes()[:100])  # truncated
    with pytest.warns(RuntimeWarning, match="could not be read.*compiled on this machine instead"):
        assert load_shipped(robust_kernel.py_func, robust_kernel.signature, context) is None


def test_shipping_needs_compiled_code(monkeypatch):
    before = sorted(SHIPPED.iterdir())
    monkeypatch.setattr(numba.config, "DISABLE_JIT", True)
    with pytest.raises(RuntimeError, match="NUMBA_DISABLE_JIT"):
        _compiled.ship_kernels()
    assert sorted(SHIPPED.iterdir()) == before  # nothing deleted


@needs_shipped
def test_a_kernel_whose_sources_or_their_constants_changed_is_compiled_not_loaded(tmp_path):
    code = """
        import numpy as np
        from sclero_analysis.synthetic.line_kernel import days_array
        print(days_array(np.array([1.0, 2.5])).tolist())
    """
    results = {}
    for edited in (False, True):
        install = tmp_path / f"edited-{edited}"
        shutil.copytree(PACKAGE, install / "sclero_analysis", ignore=shutil.ignore_patterns("__pycache__"))
        conventions = install / "sclero_analysis" / "conventions.py"
        if edited:  # a constant the kernel reads, in a module it imports: frozen into the machine code
            text = conventions.read_text()
            assert re.search(r"^DAYS_PER_MONTH = .*$", text, re.M)
            conventions.write_text(re.sub(r"^DAYS_PER_MONTH = .*$", "DAYS_PER_MONTH = 31.0", text,
                                          flags=re.M))
        results[edited] = _run(code, tmp_path, PYTHONPATH=str(install),
                               NUMBA_CACHE_DIR=str(tmp_path / f"cache-{edited}"))
        assert results[edited].returncode == 0, results[edited].stderr
    assert results[False].stderr == "" and results[False].stdout.strip() == "[31.0, 77.0]"  # shipped
    assert "the shipped ones were compiled from other sources" in results[True].stderr
    assert results[True].stdout.strip() == "[31.0, 78.0]"  # 2.5 months of 31 days: compiled anew


def test_a_shipped_cache_is_written_only_with_code_for_any_cpu(tmp_path, monkeypatch):
    from sclero_analysis.studies.cox_kernel import robust_kernel

    monkeypatch.setattr(_kernel_cache, "SHIPPED", tmp_path)
    cache = ShippedKernelCache(robust_kernel.py_func)
    assert cache.cache_path == str(tmp_path)
    if cpu_target.target_context.codegen().magic_tuple()[1:] == PORTABLE_CPU:
        pytest.skip("this process compiles for any CPU already (NUMBA_CPU_NAME=generic)")
    # compiled, cached or shipped, its codegen is this process's: for this machine's CPU
    compiled = robust_kernel.ready().overloads[robust_kernel.signature.args]
    with pytest.raises(RuntimeError, match="NUMBA_CPU_NAME=generic"):
        cache.save_overload(robust_kernel.signature, compiled)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
@needs_shipped
def test_a_read_only_install_loads_the_shipped_kernels_with_the_digits_of_kernels_compiled_here(tmp_path):
    # a fresh read-only install (no __pycache__ can be made, no writable home), shipped kernels included
    install = tmp_path / "site-packages"
    shutil.copytree(PACKAGE, install / "sclero_analysis", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in [install / "sclero_analysis", *(install / "sclero_analysis").rglob("*/")]:
        if folder.is_dir():
            (folder / "__pycache__").write_text("")
    home = tmp_path / "home-file"
    home.write_text("")
    shipped = _run(DIGITS, tmp_path, PYTHONPATH=str(install), HOME=str(home / "home"),
                   XDG_CACHE_HOME=str(home / "cache"), PYTHONDONTWRITEBYTECODE="1",
                   MPLCONFIGDIR=str(tmp_path / "matplotlib"))  # (matplotlib's own folder, else it warns)
    assert shipped.returncode == 0, shipped.stderr
    assert shipped.stderr == ""  # no compile message, nothing compiled
    digest, loaded = shipped.stdout.splitlines()
    assert "sclero_analysis.studies.cox_kernel:fit_kernel" in loaded
    # the same computation with every kernel compiled on this machine, in a fresh cache
    cache = tmp_path / "numba-cache"
    here = _run(DIGITS, tmp_path, PYTHONPATH=str(PACKAGE.parent), NUMBA_CACHE_DIR=str(cache),
                **{SHIPPED_FLAG: "0"})
    assert here.returncode == 0, here.stderr
    assert here.stderr.startswith("compiling sclero_analysis kernels") and list(cache.rglob("*.nbi"))
    assert f"the shipped ones ignored: {SHIPPED_FLAG}=0" in here.stderr
    assert here.stdout.splitlines() == [digest, loaded]  # the same digits from the same kernels

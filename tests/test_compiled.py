"""Compiled kernels: where their cache lives, one signature each, compiled once (``_compiled.py``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sclero_analysis import _compiled, _kernel_cache
from sclero_analysis._kernel_cache import cache_folder

PACKAGE = Path(__file__).parents[1] / "sclero_analysis"

# A module with one tiny kernel: compiling it takes a fraction of a second.
TINY = """
from numba import types
from sclero_analysis._compiled import kernel, read

@kernel(types.float64(read(types.float64, 1)))
def total(values):
    out = 0.0
    for v in values:
        out += v
    return out
"""


@pytest.fixture
def clean_cache_env(monkeypatch):
    """No NUMBA_CACHE_DIR, and folder decisions made afresh (they are remembered per process)."""
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    _kernel_cache._first_writable.cache_clear()
    yield monkeypatch
    _kernel_cache._first_writable.cache_clear()


def _tiny_module(folder: Path) -> Path:
    folder.mkdir(parents=True)
    source = folder / "tiny_kernels.py"
    source.write_text(TINY)
    return source


def _unwritable(path: Path) -> Path:
    """A folder nobody can create, root included: its parent is a regular file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.joinpath("file").write_text("")
    return path.parent / "file" / path.name


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    return {**env, "PYTHONWARNINGS": "error", **extra}


def test_the_cache_is_beside_the_module_when_its_folder_is_writable(tmp_path, clean_cache_env):
    source = _tiny_module(tmp_path / "pkg")
    assert cache_folder(source) == source.parent.resolve() / "__pycache__"


def test_the_cache_falls_back_to_the_user_folder_when_the_package_folder_is_read_only(tmp_path,
                                                                                      clean_cache_env):
    source = _tiny_module(tmp_path / "pkg")
    (source.parent / "__pycache__").write_text("")  # a file: no folder can be made there (even as root)
    clean_cache_env.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    folder = cache_folder(source)
    assert folder.is_relative_to(tmp_path / "user-cache" / "sclero_analysis" / "numba")
    assert folder.is_dir()


def test_no_writable_folder_means_no_cache_rather_than_an_error(tmp_path, clean_cache_env):
    source = _tiny_module(tmp_path / "pkg")
    (source.parent / "__pycache__").write_text("")
    clean_cache_env.setenv("XDG_CACHE_HOME", str(_unwritable(tmp_path / "cache")))
    assert cache_folder(source) is None
    assert cache_folder("<ipython-input-1>") is None  # no file to stamp a cache by


def test_numba_cache_dir_is_respected_even_when_set_after_numba_was_imported(tmp_path, clean_cache_env):
    import numba  # noqa: F401  (numba reads NUMBA_CACHE_DIR at its import; the kernels read it later)

    source = _tiny_module(tmp_path / "pkg")
    clean_cache_env.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))
    assert cache_folder(source).is_relative_to(tmp_path / "numba-cache")
    clean_cache_env.setenv("NUMBA_CACHE_DIR", str(_unwritable(tmp_path / "nowhere")))
    assert cache_folder(source) == source.parent.resolve() / "__pycache__"  # unusable: the next one


def test_a_kernel_is_compiled_once_then_loaded_by_every_new_process(tmp_path):
    source = _tiny_module(tmp_path / "pkg")
    cache = tmp_path / "numba-cache"
    code = "import tiny_kernels, numpy as np; print(tiny_kernels.total(np.arange(4.0)))"
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=source.parent, env=_env(NUMBA_CACHE_DIR=str(cache))) for _ in range(2)]
    assert [r.stdout.strip() for r in runs] == ["6.0", "6.0"], runs[0].stderr
    assert runs[0].stderr.startswith("compiling sclero_analysis kernels") and str(cache) in runs[0].stderr
    assert runs[1].stderr == ""  # loaded from the cache: no compilation, no message
    assert list(cache.rglob("tiny_kernels.total-*.nbi")) and list(cache.rglob("tiny_kernels.total-*.nbc"))



# Two tiny kernels, and a first call of one of them in a fresh process on 2 cores (as if).
TWO = TINY + """

@kernel(types.float64(read(types.float64, 1)))
def largest(values):
    out = -1e300
    for v in values:
        out = max(out, v)
    return out
"""
FIRST_CALL = """
import subprocess, sys, time, numpy as np
from sclero_analysis import _compiled
import tiny_kernels
_compiled._cores = lambda: 2
if sys.argv[1] == "failing-helper":  # a helper process that compiles nothing
    _compiled._start_helper = lambda *args: subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
else:  # this process slow to compile its first kernel: the helper claims the other
    compile_here = _compiled.Kernel.compile
    def slow(k, processes=1):
        if k.dispatcher is None and not k.load():
            time.sleep(3)
        compile_here(k, processes)
    _compiled.Kernel.compile = slow
assert tiny_kernels.total.dispatcher is None and tiny_kernels.largest.dispatcher is None  # import: nothing
print(tiny_kernels.total(np.arange(4.0)))
kernels = (tiny_kernels.total, tiny_kernels.largest)
print([k.dispatcher is not None for k in kernels])
print([sum(k.dispatcher._cache_hits.values()) if k.dispatcher else None for k in kernels])
"""


def test_importing_a_kernel_module_compiles_nothing_until_a_kernel_is_called(tmp_path):
    source = _tiny_module(tmp_path / "pkg")
    cache = tmp_path / "numba-cache"
    code = "import tiny_kernels; print(tiny_kernels.total.dispatcher)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=source.parent,
                         env=_env(NUMBA_CACHE_DIR=str(cache)))
    assert (out.stdout.strip(), out.stderr) == ("None", "")  # no compilation, no message
    assert not list(cache.rglob("*.nbi"))


@pytest.mark.parametrize("helper", ["helper", "failing-helper"])
def test_a_cold_first_call_compiles_the_other_missing_kernels_in_a_helper_process(tmp_path, helper):
    source = _tiny_module(tmp_path / "pkg")
    source.write_text(TWO)
    cache = tmp_path / "numba-cache"
    out = subprocess.run([sys.executable, "-c", FIRST_CALL, helper], capture_output=True, text=True,
                         cwd=source.parent, env=_env(NUMBA_CACHE_DIR=str(cache)))
    assert out.returncode == 0, out.stderr
    assert out.stderr.startswith("compiling sclero_analysis kernels for this machine in 2 processes")
    result, ready, cache_hits = out.stdout.splitlines()
    assert result == "6.0" and ready == "[True, True]"  # both ready after the first call
    # one compiled here (the longer), the other loaded from what the helper put in the cache, else
    # (the helper failed) compiled here too
    assert cache_hits in (("[0, 1]", "[1, 0]") if helper == "helper" else ("[0, 0]",))
    assert len(list(cache.rglob("tiny_kernels.*.nbi"))) == 2
    again = subprocess.run([sys.executable, "-c", FIRST_CALL, helper], capture_output=True, text=True,
                           cwd=source.parent, env=_env(NUMBA_CACHE_DIR=str(cache)))
    # warm: the kernel called is loaded, the other waits for its own first call
    assert again.stderr == "" and again.stdout.splitlines()[1:] == ["[True, False]", "[1, None]"]

# One Python function compiled as two kernels (as the Cox fits are), one of them on demand.
TWINS = TINY + """

def _scaled(factor, values):
    out = 0.0
    for v in values:
        out += factor * v
    return out

scaled = kernel(types.float64(types.float64, read(types.float64, 1)), name="scaled")(_scaled)
scaled_int = kernel(types.float64(types.int64, read(types.float64, 1)), name="scaled_int",
                    on_demand=True)(_scaled)
"""
TWINS_CALL = """
import sys, numpy as np
from sclero_analysis import _compiled
import tiny_kernels
kernels = (tiny_kernels.total, tiny_kernels.scaled, tiny_kernels.scaled_int)
if sys.argv[1] == "ready":
    _compiled.ready_kernels(on_demand=True)
elif sys.argv[1] == "ready-for-workers":
    _compiled.ready_kernels()
else:
    print(tiny_kernels.total(np.arange(4.0)))
print([k.dispatcher is not None for k in kernels])
print(tiny_kernels.scaled(2.0, np.arange(4.0)), tiny_kernels.scaled_int(3, np.arange(4.0)))
"""


def test_an_on_demand_kernel_waits_for_its_own_first_call_and_one_function_makes_two_kernels(tmp_path):
    source = _tiny_module(tmp_path / "pkg")
    source.write_text(TWINS)
    cache = tmp_path / "numba-cache"

    def run(how: str, folder: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", TWINS_CALL, how], capture_output=True, text=True,
                              cwd=source.parent, env=_env(NUMBA_CACHE_DIR=str(folder)))

    first = run("call", cache)
    assert first.returncode == 0, first.stderr
    # the first call compiles the kernels missing from the cache except the one on demand
    assert first.stdout.splitlines() == ["6.0", "[True, True, False]", "12.0 18.0"]
    for name in ("total", "scaled", "scaled_int"):  # a cache of its own each
        assert len(list(cache.rglob(f"tiny_kernels.{name}-*.nbi"))) == 1, name
    again = run("call", cache)  # a new process loads each on its first call, compiles nothing
    assert again.stdout.splitlines() == ["6.0", "[True, False, False]", "12.0 18.0"] and again.stderr == ""
    ready = run("ready", tmp_path / "fresh-cache")  # made ready with on_demand (a report): all three
    assert ready.stdout.splitlines() == ["[True, True, True]", "12.0 18.0"], ready.stderr
    workers = run("ready-for-workers", tmp_path / "other-cache")  # without: the one on demand waits
    assert workers.stdout.splitlines() == ["[True, True, False]", "12.0 18.0"], workers.stderr


def test_a_helper_is_compiled_into_kernels_without_a_python_wrapper_and_still_callable_from_python():
    from numba import types

    @_compiled.helper
    def twice(x):
        return 2.0 * x

    @_compiled.kernel(types.float64(types.float64))
    def four_times(x):
        return twice(twice(x))

    assert four_times(1.5) == 6.0
    assert twice.targetoptions["no_cpython_wrapper"] and twice._from_python is None
    assert twice(2.0) == 4.0  # from Python: a second compilation, with the wrapper
    assert twice._from_python is not None


def test_a_kernel_is_claimed_by_one_process_only(tmp_path):
    from sclero_analysis.synthetic.line_kernel import days_array

    assert _compiled._claim(tmp_path, days_array)
    assert not _compiled._claim(tmp_path, days_array)


@pytest.mark.slow
def test_the_study_and_simulation_modules_import_and_run_from_an_unwritable_install(tmp_path):
    # a read-only site-packages and no writable home: Numba's own cache=True failed at import; the
    # shipped kernels ignored (as on a platform they are not shipped for): compiled in the process
    install = tmp_path / "site-packages"
    shutil.copytree(PACKAGE, install / "sclero_analysis", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in [install / "sclero_analysis", *(install / "sclero_analysis").rglob("*/")]:
        if folder.is_dir():
            (folder / "__pycache__").write_text("")  # no __pycache__ can be made in the install
    code = textwrap.dedent(f"""
        import numpy as np, sclero_analysis as sa
        from sclero_analysis.studies import StudyDesign, fit_cox_batched, run_study
        assert sa.__file__.startswith({str(install)!r})
        res = run_study(StudyDesign(sa.RegistryDesign(n_patients=60), n_reps=2, chunk_size=2,
                                    truth_patients=200), progress=False)
        print(res.replicates.shape[0])
    """)
    home = _unwritable(tmp_path / "home")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env=_env(PYTHONPATH=str(install), HOME=str(home),
                                  XDG_CACHE_HOME=str(home / ".cache"), PYTHONDONTWRITEBYTECODE="1",
                                  PYTHONWARNINGS="default", SCLERO_ANALYSIS_SHIPPED_KERNELS="0"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "4"
    assert "no writable cache folder" in out.stderr


def test_a_kernel_has_one_signature_and_refuses_other_types():
    from sclero_analysis.synthetic.line_kernel import days_array

    assert len(days_array.signatures) == 1
    np.testing.assert_array_equal(days_array(np.array([1.0, 2.5])), [31.0, 77.0])
    read_only = np.array([1.0, 2.5])
    read_only.setflags(write=False)
    np.testing.assert_array_equal(days_array(read_only), [31.0, 77.0])  # inputs may be read-only
    with pytest.raises(TypeError, match="No matching definition"):
        days_array(np.array([1.0, 2.5], np.float32))  # would have compiled a second version
    assert len(days_array.signatures) == 1


def test_a_kernels_cache_is_stamped_by_the_files_of_every_compiled_function_it_calls():
    from sclero_analysis.studies import batched_logit

    files = {Path(f).name for f in _kernel_cache._called_files(batched_logit.fit_kernel.py_func)}
    # _newton_direction, fill, and the modules of the package these files import
    assert files == {"batched_logit.py", "cox_kernel.py", "_compiled.py", "_kernel_cache.py"}
    from sclero_analysis.synthetic import line_kernel

    files = {Path(f).name for f in _kernel_cache._called_files(line_kernel.days_array.py_func)}
    assert "conventions.py" in files  # DAYS_PER_MONTH: its value is frozen into the machine code


def test_the_least_squares_step_is_lapacks_minimum_norm_solution():
    from numba import njit

    from sclero_analysis.studies.batched_logit import _least_squares

    @njit
    def solve(a, b):
        _least_squares(a, b)

    rng = np.random.default_rng(4)
    for size, rank in ((3, 2), (6, 4), (9, 1)):
        half = rng.normal(size=(rank, rank + 2))
        a = np.zeros((size, size))
        a[:rank, :rank] = half @ half.T  # an information matrix with all-zero covariates: singular
        b = rng.normal(size=size)
        x = b.copy()
        solve(a, x)
        expected = np.linalg.lstsq(a, b, rcond=-1)[0]
        np.testing.assert_allclose(x, expected, rtol=1e-9, atol=1e-12)  # two LAPACK builds: rounding


def test_singular_replicates_keep_every_replicates_digits():
    from sclero_analysis.studies.batched_logit import fit_multinomial_batched

    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 40, 2))
    x[1, :, 1] = 0.0  # replicate 1 only: a singular information, the least-squares step
    y = rng.integers(0, 3, (3, 40))
    mask = np.ones((3, 40), bool)
    together, ok_together = fit_multinomial_batched(x, y, 3, mask)
    for b in range(3):
        alone, ok_alone = fit_multinomial_batched(x[b:b + 1], y[b:b + 1], 3, mask[b:b + 1])
        np.testing.assert_array_equal(alone[0], together[b])
        assert ok_alone[0] == ok_together[b]
    without, _ = fit_multinomial_batched(x[1:2, :, :1], y[1:2], 3, mask[1:2])  # the model without it
    np.testing.assert_allclose(together[1], without[0], rtol=1e-9)


def test_kernel_modules_lists_every_module_of_the_package_that_defines_kernels():
    defining = {".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
                for path in PACKAGE.rglob("*.py") if "\n@kernel(" in path.read_text()}
    assert defining == set(_compiled.KERNEL_MODULES)

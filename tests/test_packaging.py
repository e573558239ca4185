"""Packaging: the wheel carries what a non-editable install needs; dependencies are what runs.

A user who runs ``pip install sclero_analysis`` (no clone) still needs the report's notebooks,
the shipped example data and the therapy vocabulary: they are package data, checked here in a
wheel built from a copy of the sources, offline (``--no-build-isolation`` with the setuptools
and wheel of the dev environment). The runtime dependencies are checked against the imports
of the package and of its notebooks.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "sclero_analysis"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: Runtime dependencies that no module imports by name, and why they are needed.
INDIRECT = {
    "pyarrow": "pandas reads and writes Parquet case series with it",
    "ipykernel": "the kernel that executes the report's notebooks",
    "ipywidgets": "tqdm's progress bars inside the notebooks",
}


def _name(requirement: str) -> str:
    """Distribution name of a requirement, normalised (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()


def _package_imports() -> dict[str, bool]:
    """Top-level third-party module names imported by the package -> imported at module level."""
    found: dict[str, bool] = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        at_top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                found[top] = found.get(top, False) or id(node) in at_top
    return found


def _notebook_imports() -> set[str]:
    found = set()
    for path in (PACKAGE / "notebooks").glob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                found |= set(re.findall(r"^\s*(?:import|from)\s+(\w+)", "".join(cell["source"]), re.M))
    return found


def _distributions(modules: set[str]) -> dict[str, str]:
    """Module -> normalised distribution name, for the third-party modules among ``modules``."""
    known = importlib.metadata.packages_distributions()
    third_party = modules - set(sys.stdlib_module_names) - {"sclero_analysis", "__future__"}
    missing = sorted(m for m in third_party if m not in known)
    assert not missing, f"imported but not installed: {missing}"
    return {m: _name(known[m][0]) for m in third_party}


def test_runtime_dependencies_are_exactly_what_the_package_and_its_notebooks_import():
    required = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = {_name(r) for rs in PYPROJECT["project"]["optional-dependencies"].values() for r in rs}
    imports = _package_imports()
    at_import = {m for m, top in imports.items() if top} | _notebook_imports()
    needed = _distributions(at_import)
    missing = {m: d for m, d in needed.items() if d not in required}
    assert not missing, f"runtime imports missing from dependencies: {missing}"
    lazy = _distributions(set(imports) - at_import)  # imported inside a function: a dependency or an extra
    nowhere = {m: d for m, d in lazy.items() if d not in required | extras}
    assert not nowhere, f"imports inside functions that no dependency or extra provides: {nowhere}"
    unused = required - set(needed.values()) - set(lazy.values()) - set(INDIRECT)
    assert not unused, f"dependencies that nothing imports (move them to an extra): {sorted(unused)}"
    assert "lifelines" not in required and "lifelines" in extras  # benchmarks only


def _wheel(tmp_path: Path) -> zipfile.ZipFile:
    pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools (the dev extra)")
    pytest.importorskip("wheel", reason="building the wheel offline needs wheel (the dev extra)")
    source = tmp_path / "source"  # a copy: the build writes build/ and *.egg-info beside the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(PACKAGE, source / "sclero_analysis", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-c", "import sys, setuptools.build_meta as b; print(b.build_wheel(sys.argv[1]))",
         str(out)], cwd=source, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    return zipfile.ZipFile(out / build.stdout.strip().splitlines()[-1])


def test_the_wheel_holds_the_notebooks_the_example_data_the_vocabulary_and_the_shipped_kernels(tmp_path):
    wheel = _wheel(tmp_path)
    names = set(wheel.namelist())
    needed = {p.relative_to(ROOT).as_posix() for p in [
        *PACKAGE.rglob("*.py"), *(PACKAGE / "notebooks").glob("*.ipynb"),
        *(PACKAGE / "data" / "synthetic").glob("*/*"), PACKAGE / "therapies.toml",
        *(PACKAGE / "_shipped_kernels").iterdir()]
        if "__pycache__" not in p.parts}
    assert len([n for n in needed if n.endswith(".ipynb")]) >= 7  # 01-07 at least
    assert len([n for n in needed if n.endswith(".nbi")]) >= 8  # every kernel, for one Python at least
    assert not needed - names, sorted(needed - names)
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "notebooks/", "data/"))]
    info = next(n for n in names if n.endswith(".dist-info/METADATA"))
    metadata = wheel.read(info).decode()
    assert "Requires-Dist: lifelines" in metadata and 'extra == "bench"' in metadata
    assert not re.search(r"^Requires-Dist: lifelines[^;]*$", metadata, re.M)  # never unconditional
    entry_points = wheel.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "sclero-analysis = sclero_analysis.cli:main" in entry_points

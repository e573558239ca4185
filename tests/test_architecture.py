"""Layering (docs/data_contract.md §5) and import hygiene."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "sclero_analysis"

# Data flows one way: a module may import only modules of its own layer or lower ones.
LAYERS = {
    "exceptions": 0,
    "_lazy": 0,  # package names imported on first use (PEP 562)
    "_compiled": 0,  # Numba kernels: one signature each, compiled on first call, over the cores
    "_kernel_cache": 0,  # where the kernels' machine code is cached, and when it is out of date
    "conventions": 0,  # the time unit and event codes of the analysis frames
    "therapy": 1,
    "formatting": 1,  # how numbers are printed (p-values, ratios), shared by figures and tables
    "labels": 1,  # display names of columns, levels and analyses, shared by figures and tables
    "caseseries": 2,
    "cohort": 3,
    "survival": 4,
    "synthetic": 5,  # its truth is computed with the survival estimators
    "causal": 6,
    "evidence": 6,  # literature: pooled proportions (reads like caseseries, models like causal)
    "strategies": 6,  # target-trial emulation of management strategies (cohort-level data, own curves)
    "studies": 7,
    "selection": 7,  # publication of responders: literature (evidence) against a registry
    "figures": 3,  # drawing: may shape data (cohort) but never imports an estimator (survival, causal)
    "tables": 8,
    "literature": 8,  # what a published subset shows (publication filter + estimators)
    "small_samples": 8,  # ordinary vs Firth Cox in drawn small series
    "report": 9,
    "cli": 10,
    "__init__": 11,
}


def top_module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_modules(path: Path) -> set[str]:
    """Top-level sclero_analysis modules that ``path`` imports (absolute or relative)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package_parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package_parts[: len(package_parts) - node.level + 1] if node.level else []
            module = base + (node.module.split(".") if node.module else [])
            modules = [module + [alias.name] for alias in node.names]
        else:
            continue
        found |= {parts[1] for parts in modules if parts[0] == "sclero_analysis" and len(parts) > 1}
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    missing = {top_module(p) for p in MODULES} - set(LAYERS)
    assert not missing, f"assign these modules a layer in LAYERS: {missing}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    own = LAYERS[top_module(path)]
    upward = {m for m in imported_modules(path) if LAYERS.get(m, -1) > own}
    assert not upward, f"{path.name} imports higher layers {upward}"


def test_the_layer_checker_catches_an_upward_import(tmp_path, monkeypatch):
    fake = PACKAGE / "therapy.py"
    source = "from sclero_analysis.cli import main\nfrom . import caseseries\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert imported_modules(fake) == {"cli", "caseseries"}


def test_import_has_no_side_effects():
    code = (
        "import sys, warnings\n"
        "import numpy, pandas, pandera.pandas, patsy  # these install filters of their own\n"
        "import scipy.linalg, scipy.optimize, scipy.special, scipy.stats\n"
        "import statsmodels.discrete.discrete_model  # statsmodels too\n"
        "before = list(warnings.filters)\n"
        "import sclero_analysis\n"
        "for name in sclero_analysis.__all__:  # the names are imported on first use: use them all\n"
        "    getattr(sclero_analysis, name)\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported at import time'\n"
        "assert list(warnings.filters) == before, 'warning filters changed at import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


LAZY_PACKAGES = ["sclero_analysis", "sclero_analysis.synthetic", "sclero_analysis.studies"]


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_lazy_packages_export_exactly_their_all(name):
    import importlib

    package = importlib.import_module(name)
    assert sorted(package._EXPORTS) == sorted(package.__all__)
    for attribute in package.__all__:
        assert getattr(package, attribute) is not None
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        package.not_a_name  # noqa: B018


def test_a_study_worker_imports_only_the_simulator_and_the_batched_fits():
    # a worker process unpickles studies.chunk.run_task: its start-up is part of every study's wait
    code = (
        "import sys\n"
        "from sclero_analysis.studies.chunk import run_task\n"
        "heavy = [m for m in ('matplotlib', 'scipy.stats', 'statsmodels', 'lifelines', 'pandera',"
        " 'sclero_analysis.survival', 'sclero_analysis.causal', 'sclero_analysis.figures',"
        " 'sclero_analysis.report') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_citation_of_a_document_outside_the_repository():
    """Docstrings, comments and tests cite docs/ in this repository, never design notes elsewhere."""
    outside = re.compile(r"\b(?:DESIGN|METHODS)(?:\.md)? §|\bdomain\.md\b|\bshared/\w+\.md\b")
    root = PACKAGE.parent
    files = [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.toml"), *PACKAGE.rglob("*.ipynb"),
             *PACKAGE.rglob("README.md"), *(root / "tests").rglob("*.py"), *(root / "tests").rglob("*.R")]
    cited = [f"{path.relative_to(root)}:{n}" for path in files
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if outside.search(line) and path.name != "test_architecture.py"]
    assert not cited, f"cite docs/ instead: {cited[:10]}"
    for doc in ("methods.md", "data_contract.md", "synthetic.md"):
        assert (root / "docs" / doc).is_file()

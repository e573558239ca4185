"""The README runs: every ```python block, in order, in one namespace, on the shipped data.

Users copy these blocks, so they must run as written and stay cheap. Each block is compiled with
the README's own line numbers, so a failure points at the README line. The blocks run in a
temporary folder (nothing is written into the repository) where the shipped registry has been
written as ``my_registry/``, the folder name the README uses for a user's own data.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from sclero_analysis.exceptions import ScleroWarning  # noqa: E402
from sclero_analysis.figures import table_axes  # noqa: E402
from sclero_analysis.studies import ANALYSES  # noqa: E402
from sclero_analysis.synthetic.examples import DATA_DIR  # noqa: E402

README = Path(__file__).parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
#: Blocks shown but not run, found by a piece of their text, with the reason.
NOT_RUN = {'Client("tcp://scheduler-host:8786")': "needs a running Dask scheduler"}


def fenced_blocks() -> list[tuple[str, int, str]]:
    """(language, first line number of the code, code) of every fenced block, in order."""
    text = README.read_text(encoding="utf-8")
    return [(m.group(1), text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in FENCE.finditer(text)]


def python_blocks() -> list[tuple[int, str]]:
    return [(line, code) for language, line, code in fenced_blocks() if language == "python"]


def test_the_first_block_shows_make_report_and_make_test():
    language, _, code = fenced_blocks()[0]
    commands = [line.split("#")[0].strip() for line in code.splitlines()]
    assert language == "bash" and commands == ["make report", "make test"]


def test_every_block_left_out_is_one_block_and_says_why():
    for piece in NOT_RUN:
        assert sum(piece in code for _, code in python_blocks()) == 1, piece


@pytest.fixture()
def in_a_user_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(DATA_DIR / "registry", tmp_path / "my_registry")
    analyses = set(ANALYSES)
    yield tmp_path
    plt.close("all")
    for name in set(ANALYSES) - analyses:  # the README registers an analysis of its own
        del ANALYSES[name]


@pytest.mark.slow  # about 40 s: the README's bootstrap and study blocks, as users run them
def test_every_python_block_runs_in_order(in_a_user_folder):
    namespace: dict = {"__name__": "__readme__"}
    ran = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # users see warnings; the named caveats are expected
        for line, code in python_blocks():
            if any(piece in code for piece in NOT_RUN):
                continue
            exec(compile("\n" * (line - 1) + code, str(README), "exec"), namespace)  # noqa: S102
            ran += 1
    assert ran == len(python_blocks()) - len(NOT_RUN)
    others = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
              if not issubclass(w.category, ScleroWarning)]
    assert not others, others
    km = namespace["ax"]  # the figure the README saves holds the KM curves and their risk table only
    tables = table_axes(km)
    assert km.figure.axes == [km, *tables] and len(tables) == 1
    labels = {line.get_label() for line in km.get_lines() if not line.get_label().startswith("_")}
    assert labels == {"IVIG", "Immunosuppression", "Cytoreduction", "Other"}
    assert km.get_xlabel() == "Months since start of line"
    assert km.get_ylabel().replace("\n", " ") == "Probability of remaining relapse-free (death censored)"
    assert len(km.texts) <= 1  # the p-value, in a free corner (or else in the legend)
    assert sorted(p.name for p in (in_a_user_folder / "figures").iterdir()) == \
        ["km_by_tier.pdf", "km_by_tier.png", "km_by_tier.svg"]

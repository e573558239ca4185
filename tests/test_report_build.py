"""The report builder (issue 15): never aborts on a notebook, replaces its folder atomically,
reads the data as ``validate`` does and says so first.

The notebooks here are tiny (a few cells each) so that the kernels start and finish quickly;
``tests/test_report.py`` builds the real report once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import sclero_analysis.report.build as build
from sclero_analysis.cli import main
from sclero_analysis.report import ReportError, build_report
from sclero_analysis.report.runs import run_notebook
from tests.userdata import user_tables, write_user_registry

ROOT = Path(__file__).parents[1]
BAD = ROOT / "tests" / "data" / "bad"
PARAMETERS = ("data_path = None\nseed = 1\ntau = 36.0\nout_dir = '.'\nfast = False\n"
              "dayfirst = None\nsheets = None")
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
COUNTS = ("import sclero_analysis as sa\n"
          "cs = sa.load_data(data_path, dayfirst=dayfirst, sheets=sheets)\n"
          "out = sa.report.notebook_outputs(out_dir, '01_counts')\n"
          "out.table(cs.counts.reset_index(), 'counts')\n"
          "out.finding(f'{len(cs.patients)} patients accepted')")
#: A cell of code, a warning, stderr and absolute paths: what the reader page must not show.
PAGE = ("import sys, warnings\n"
        "warnings.warn('a warning the reader never sees')\n"
        "print('stderr the reader never sees', file=sys.stderr)\n"
        "code_marker = 'code the reader never sees'\n"
        "print('output the reader sees; data at', data_path, 'written to', out_dir)\n"
        "out.table(sa.table_one(cs, categorical=['sex']), 'table1_by_tier')\n"
        "out.methods('Rows   counted per table after validation.')")
SKIPS = ("import sclero_analysis as sa\n"
         "out = sa.report.notebook_outputs(out_dir, '03_after')\n"
         "out.finding('ran after the failure')\n"
         "out.skip('IPTW curves', '2 lines on cytoreduction, 6 needed per tier')")


def write_notebook(folder: Path, name: str, *cells: str) -> None:
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_markdown_cell(f"# {name}"),
                  nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
                  *(nbformat.v4.new_code_cell(code) for code in cells)]
    book.metadata["kernelspec"] = KERNELSPEC
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(book, folder / f"{name}.ipynb")


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the hash of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def previous_report(folder: Path) -> dict[str, str]:
    """A report folder as a previous run left it; returns its tree."""
    (folder / "figures").mkdir(parents=True)
    (folder / "provenance.json").write_text(json.dumps({"data_sha256": "old"}))
    (folder / "index.html").write_text("<html>previous report</html>")
    (folder / "figures" / "02_km_by_tier.png").write_bytes(b"\x89PNG old figure")
    return tree(folder)


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["report", *args])
    return code, out.getvalue(), err.getvalue()


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".building-" in p.name or ".previous-" in p.name]


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    """One CLI run: dd/mm data read without --dayfirst, a notebook that fails between two good ones."""
    root = tmp_path_factory.mktemp("failing")
    books = root / "notebooks"
    write_notebook(books, "01_counts", COUNTS, PAGE)
    write_notebook(books, "02_broken", "x = 1", "x / 0")
    write_notebook(books, "03_after", SKIPS)
    data = write_user_registry(root / "ddmm", 20, seed=5, dayfirst=True)
    out = root / "reports"
    before = previous_report(out)
    code, stdout, stderr = run_cli("--data", str(data), "--out", str(out), "--notebooks", str(books))
    return {"root": root, "out": out, "code": code, "stdout": stdout, "stderr": stderr,
            "before": before}


def test_a_failing_notebook_does_not_stop_the_report(failing_run):
    out = failing_run["out"]
    assert failing_run["code"] == 1, failing_run["stderr"]
    for name in ("01_counts", "02_broken", "03_after"):  # the one after the failure ran too
        assert (out / f"{name}.ipynb").exists() and (out / f"{name}.html").exists()
    assert json.loads((out / "manifest" / "03_after.json").read_text())["finding"]
    page = (out / "index.html").read_text()
    broken = page[page.index('<section id="02_broken">'):page.index('<section id="03_after">')]
    assert re.search(r"Failed</strong>: cell \[\d+\] raised <code>ZeroDivisionError: division by zero",
                     broken)
    assert 'href="02_broken.html"' in broken and 'href="02_broken.ipynb"' in broken
    assert "1 of 3 notebooks failed: 02_broken" in page
    assert re.search(r"^FAILED 02_broken: cell \[\d+\] raised ZeroDivisionError", failing_run["stdout"], re.M)
    assert "3 notebooks in " in failing_run["stdout"]


def test_the_failing_cell_number_is_the_one_the_executed_notebook_shows(failing_run):
    book = nbformat.read(failing_run["out"] / "02_broken.ipynb", as_version=4)
    raised = [c for c in book.cells if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert len(raised) == 1 and raised[0].source == "x / 0"
    page = (failing_run["out"] / "index.html").read_text()
    assert f"cell [{raised[0].execution_count}] raised" in page


def test_skipped_sections_are_listed_with_their_reasons(failing_run):
    page = (failing_run["out"] / "index.html").read_text()
    after = page[page.index('<section id="03_after">'):]
    assert "Complete, sections skipped" in after
    assert "<strong>IPTW curves</strong>: 2 lines on cytoreduction, 6 needed per tier" in after
    counts = page[page.index('<section id="01_counts">'):page.index('<section id="02_broken">')]
    assert '<div class="status complete"><p><strong>Complete</strong>' in counts


def test_terminal_starts_with_the_validation_summary_and_warns_above_ten_percent(failing_run):
    stdout = failing_run["stdout"]
    lines = stdout.splitlines()
    assert lines[0].startswith("Data: ") and "dates: ISO or unambiguous only" in lines[0]
    assert re.match(r"\s*read\s+accepted\s+rejected", lines[1])
    assert stdout.index("Rejected rows by rule:") < stdout.index("[1/3] 01_counts")
    warning = re.search(r"WARNING: (\d+) of (\d+) lines of therapy \((\d+)%\) rejected", stdout)
    assert warning and int(warning[1]) / int(warning[2]) > 0.10
    assert "ambiguous_date" in stdout and "--dayfirst or --monthfirst" in stdout
    assert warning[0] in stdout[stdout.index("FAILED 02_broken"):]  # repeated at the end
    assert "rejected for errors" in (failing_run["out"] / "index.html").read_text()


def test_a_completed_run_replaces_the_previous_report_whole(failing_run):
    out = failing_run["out"]
    assert not (out / "figures" / "02_km_by_tier.png").exists()  # the old run's figure is gone
    record = json.loads((out / "provenance.json").read_text())
    assert record["data_sha256"] != "old" and record["dates"] == "ISO or unambiguous only"
    assert leftovers(failing_run["root"]) == []
    book = nbformat.read(out / "01_counts.ipynb", as_version=4)
    injected = next(c for c in book.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'out_dir = "{out}"' in injected.source  # the report's folder, not the staging one


def test_reader_pages_hide_code_parameters_and_stderr(failing_run):
    out = failing_run["out"]
    reader = (out / "01_counts.html").read_text()
    code = (out / "01_counts.code.html").read_text()
    assert "output the reader sees" in reader and "never sees" not in reader  # no code, no stderr
    assert '<div class="jp-InputArea' not in reader and "hl-ipython3" not in reader
    assert "data_path = " not in reader and "out_dir = " not in reader  # no parameters cell
    assert "code the reader never sees" in code and '<div class="jp-InputArea' in code
    assert 'out_dir = "reports"' in re.sub(r"<[^>]+>", "", code)  # injected: the folder's name
    for page in (reader, code):
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page  # no stderr output
        assert "UserWarning" not in page
        assert 'href="index.html"' in page
    assert 'href="01_counts.code.html"' in reader and 'href="01_counts.html"' in code
    book = nbformat.read(out / "01_counts.ipynb", as_version=4)  # the executed notebook keeps all
    streams = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert any(o.get("name") == "stderr" and "stderr the reader never sees" in o.text for o in streams)


def test_no_page_names_an_absolute_path(failing_run):
    out, data = failing_run["out"], failing_run["root"] / "ddmm"
    pages = {p.name: p.read_text() for p in out.glob("*.html")}
    assert {"01_counts.html", "01_counts.code.html", "02_broken.code.html", "index.html"} <= set(pages)
    for name, page in pages.items():
        for absolute in (str(out), str(data), str(failing_run["root"]), ".building-"):
            if name == "index.html" and absolute in (str(data), str(failing_run["root"])):
                continue  # the index's provenance and validate command name the data on purpose
            assert absolute not in page, f"{name} shows {absolute}"
    assert "data at ddmm written to reports" in pages["01_counts.html"]


def test_index_shows_table_one_inline_and_the_methods(failing_run):
    page = (failing_run["out"] / "index.html").read_text()
    counts = page[page.index('<section id="01_counts">'):page.index('<section id="02_broken">')]
    inline = counts[counts.index('<div class="inline-table" id="table-01_table1_by_tier">'):]
    assert "<h3>Table 1: characteristics by tier</h3>" in counts
    assert "<table" in inline and "&emsp;F" in inline and "Unit: patients" in inline
    methods = "Rows counted per table after validation."  # spaces collapsed
    assert f'<p class="methods"><strong>Methods.</strong> {methods}</p>' in counts
    assert 'href="01_counts.code.html"' in counts
    assert "inline-table" not in page[page.index('<section id="03_after">'):]  # nothing to show
    broken = page[page.index('<section id="02_broken">'):page.index('<section id="03_after">')]
    assert "Methods." not in broken and 'href="02_broken.code.html">HTML with code' in broken


def test_dayfirst_and_sheets_reach_the_notebooks(tmp_path):
    tables = user_tables(20, seed=5, dayfirst=True)
    workbook = tmp_path / "registry.xlsx"
    sheets = {"patients": "Pts", "lines": "Therapy lines", "events": "Relapses"}
    with pd.ExcelWriter(workbook) as writer:
        for table, sheet in sheets.items():
            tables[table].to_excel(writer, sheet_name=sheet, index=False)
    books = tmp_path / "notebooks"
    write_notebook(books, "01_counts", COUNTS)
    flags = ["--dayfirst"] + [f"--sheet={t}={s}" for t, s in sheets.items()]
    code, stdout, stderr = run_cli("--data", str(workbook), "--out", str(tmp_path / "r"),
                                   "--notebooks", str(books), *flags)
    assert code == 0, stderr
    counts = pd.read_csv(tmp_path / "r" / "tables" / "01_counts.csv").set_index("table")
    assert counts["rejected"].sum() == 0 and counts.loc["lines", "accepted"] == len(tables["lines"])
    assert "dates: day-first" in stdout.splitlines()[0] and "WARNING" not in stdout
    assert "No rows rejected." in stdout


def test_unreadable_data_leaves_the_previous_report_untouched(tmp_path):
    out = tmp_path / "reports"
    before = previous_report(out)
    broken = tmp_path / "registry.xlsx"
    broken.write_bytes(b"this is not a workbook")
    code, stdout, stderr = run_cli("--data", str(broken), "--out", str(out))
    assert code == 2 and "cannot read" in stderr and "Nothing was written" in stderr
    assert tree(out) == before and leftovers(tmp_path) == []


def test_data_without_valid_patients_is_refused_before_anything_is_written(tmp_path):
    data = write_user_registry(tmp_path / "registry", 10, seed=2)
    patients = pd.read_csv(data / "patients.csv", dtype=str, keep_default_na=False)
    patients["sex"] = "unknown"
    patients.to_csv(data / "patients.csv", index=False)
    code, _, stderr = run_cli("--data", str(data), "--out", str(tmp_path / "r"))
    assert code == 2 and "no patients accepted" in stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("failure", [RuntimeError("a bug in the builder"), KeyboardInterrupt()],
                         ids=["exception", "ctrl-c"])
def test_an_interrupted_build_leaves_the_previous_report_untouched(tmp_path, monkeypatch, failure, jobs):
    out = tmp_path / "reports"
    before = previous_report(out)
    books = tmp_path / "notebooks"
    write_notebook(books, "01_first")
    write_notebook(books, "02_second")
    started = []

    def run(notebook, folder, parameters, final):
        started.append(notebook.stem)
        (folder / f"{notebook.stem}.ipynb").write_text("{}")  # half a report in the staging folder
        if len(started) == 2:
            raise failure
        return build.NotebookRun(notebook.stem, 0.1)

    monkeypatch.setattr(build, "run_notebook", run)
    if isinstance(failure, KeyboardInterrupt):
        code, _, stderr = run_cli("--out", str(out), "--notebooks", str(books), "--jobs", jobs)
        assert code == 130 and "left as it was" in stderr
    else:
        with pytest.raises(RuntimeError, match="a bug in the builder"):
            build_report(out=out, notebooks_dir=books, progress=None, jobs=int(jobs))
    # one after the other, in order; two at a time, both started at once
    assert (started if jobs == "1" else sorted(started)) == ["01_first", "02_second"]
    assert tree(out) == before and leftovers(tmp_path) == []


def _marker(name: str) -> str:
    return f"import pathlib; pathlib.Path({name!r}).touch()"


def _wait_for(name: str) -> str:
    return (f"import pathlib, time\nfor _ in range(600):\n    if pathlib.Path({name!r}).exists():\n"
            "        break\n    time.sleep(0.1)")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_received_by_a_notebook_interrupts_the_report(tmp_path, jobs):
    # two at a time, the second notebook is running when the first is interrupted: it is
    # interrupted too (not waited for), and the third never starts
    out = tmp_path / "reports"
    before = previous_report(out)
    books = tmp_path / "notebooks"
    write_notebook(books, "01_interrupted", _marker("interrupted"), "raise KeyboardInterrupt")
    if jobs == "2":
        write_notebook(books, "02_running", _wait_for("interrupted"), "import time; time.sleep(300)")
    write_notebook(books, "03_never", _marker("ran"))
    started = time.perf_counter()
    code, _, stderr = run_cli("--out", str(out), "--notebooks", str(books), "--jobs", jobs)
    assert code == 130 and "left as it was" in stderr and time.perf_counter() - started < 120
    assert tree(out) == before and leftovers(tmp_path) == [] and not (books / "ran").exists()


@pytest.mark.parametrize(("jobs", "deaf"), [("1", False), ("2", False), ("2", True)],
                         ids=["one at a time", "two at a time", "a kernel ignoring Ctrl-C"])
def test_ctrl_c_at_the_terminal_stops_the_running_notebooks_at_once(tmp_path, jobs, deaf):
    # the kernels run in their own sessions, so Ctrl-C at the terminal reaches only the report's
    # process: it interrupts every running kernel, ends one that does not stop (an interrupt
    # between two cells, or one that hung the kernel), and starts no other notebook
    out = tmp_path / "reports"
    before = previous_report(out)
    books = tmp_path / "notebooks"
    for i in range(1, int(jobs) + 1):
        ignore = "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\n" if deaf and i == 2 else ""
        write_notebook(books, f"0{i}_long", _marker(f"started_{i}"), ignore + "import time; time.sleep(300)")
    write_notebook(books, "09_never", _marker("ran"))
    # Ctrl-C handled as at a terminal: a test run started in the background ignores SIGINT, and
    # its children would inherit that
    cli = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
           "from sclero_analysis.cli import main; sys.exit(main(sys.argv[1:]))")
    command = [sys.executable, "-c", cli, "report", "--out", str(out), "--notebooks", str(books),
               "--jobs", jobs]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(1200):
            if all((books / f"started_{i}").exists() for i in range(1, int(jobs) + 1)):
                break
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        started = time.perf_counter()
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()  # closes its pipes
    assert process.returncode == 130 and "left as it was" in stderr, stderr
    assert time.perf_counter() - started < 30  # not the notebooks' 300 s
    assert tree(out) == before and leftovers(tmp_path) == [] and not (books / "ran").exists()


def test_notebooks_run_at_once_each_in_its_folder_and_leave_this_process_where_it_was(tmp_path):
    # the working folder is the process's: a notebook run must not change it (papermill's cwd=
    # does, and two threads restoring it in turn left it in a notebook's folder)
    books = tmp_path / "notebooks"
    for name, seconds in (("01_a", 1), ("02_b", 3)):  # the second ends last
        write_notebook(books, name, f"import os, pathlib, time; time.sleep({seconds})\n"
                                    "pathlib.Path(f'cwd_{os.getpid()}').write_text(os.getcwd())")
    here = Path.cwd()
    report = build_report(out=tmp_path / "r", notebooks_dir=books, progress=None, jobs=2)
    assert Path.cwd() == here and not report.failed and report.jobs == 2
    seen = [p.read_text() for p in books.glob("cwd_*")]
    assert len(seen) == 2 and set(seen) == {str(books)}


def test_a_running_notebook_never_moves_this_process_to_another_folder(tmp_path):
    books = tmp_path / "notebooks"
    write_notebook(books, "01_a", "import time; time.sleep(2)")
    here, seen = os.getcwd(), set()

    def run():
        with build._event_loop(True):
            run_notebook(books / "01_a.ipynb", tmp_path, {})

    thread = threading.Thread(target=run)
    thread.start()
    while thread.is_alive():
        seen.add(os.getcwd())
        time.sleep(0.02)
    assert seen == {here} and (tmp_path / "01_a.html").exists()


def test_notebooks_show_missing_cells_in_words_not_nan(tmp_path):
    books = tmp_path / "notebooks"
    write_notebook(books, "01_frames", "import pandas as pd\nimport sclero_analysis as sa\n"
                   "out = sa.report.notebook_outputs(out_dir, '01_frames')\n"
                   "display(pd.DataFrame({'median': [12.5, None], 'upper': [20.0, None],\n"
                   "                      'se': [None, 1.0]}))")
    with build._event_loop(False):
        run_notebook(books / "01_frames.ipynb", tmp_path, {"out_dir": str(tmp_path)})
    book = nbformat.read(tmp_path / "01_frames.ipynb", as_version=4)
    shown = book.cells[-1].outputs[0]["data"]["text/html"]
    assert "not reached" in shown and "–" in shown and "NaN" not in shown


def test_named_warnings_are_notes_in_the_output_not_error_output(tmp_path):
    # a Kaplan-Meier with a group without events warns (SmallSampleWarning): in a report it is a
    # note the reader sees, not stderr (hidden from the reader pages, error output in the
    # notebook); other warnings stay as Python shows them
    books = tmp_path / "notebooks"
    write_notebook(books, "01_notes", "import warnings\nimport pandas as pd\nimport sclero_analysis as sa\n"
                   "out = sa.report.notebook_outputs(out_dir, '01_notes')\n"
                   "df = pd.DataFrame({'time_months': [1.0, 2, 3, 4], 'event': [1, 0, 0, 0],\n"
                   "                   'tier': ['ivig', 'ivig', 'other', 'other']})\n"
                   "km = sa.kaplan_meier(df)\n"
                   "warnings.warn('not a named warning')")
    with build._event_loop(False):
        run_notebook(books / "01_notes.ipynb", tmp_path, {"out_dir": str(tmp_path)})
    outputs = nbformat.read(tmp_path / "01_notes.ipynb", as_version=4).cells[-1].outputs
    shown = {o["name"]: o["text"] for o in outputs if o["output_type"] == "stream"}
    assert "Note: group 'other' has no events" in shown["stdout"]
    assert "other" not in shown["stderr"] and "not a named warning" in shown["stderr"]


def test_jobs_say_how_many_notebooks_run_at_once(tmp_path, monkeypatch):
    books = tmp_path / "notebooks"
    for name in ("01_a", "02_b", "03_c"):
        write_notebook(books, name)
    monkeypatch.setattr(build, "run_notebook", lambda notebook, *_: build.NotebookRun(notebook.stem, 0.1))
    for jobs, expected in ((1, 1), (2, 2), (9, 3), (-1, min(build.cores(), 3)),
                           (None, min(build.default_jobs(), 3))):
        report = build_report(out=tmp_path / "r", notebooks_dir=books, progress=None, jobs=jobs)
        assert report.jobs == expected and [r.name for r in report.runs] == ["01_a", "02_b", "03_c"]
    with pytest.raises(ValueError, match="jobs must be"):
        build_report(out=tmp_path / "r", notebooks_dir=books, progress=None, jobs=0)
    for bad in ("0", "-2", "two"):
        with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:
            main(["report", "--jobs", bad])
        assert "--jobs" in err.getvalue() and "-1 (one per core)" in err.getvalue()


def test_a_folder_that_is_not_a_report_is_never_replaced(tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.docx").write_bytes(b"months of work")
    with pytest.raises(ReportError, match="not a previous report"):
        build_report(out=out, progress=None)
    data = write_user_registry(tmp_path / "reports" / "registry", 8)
    (tmp_path / "reports" / "provenance.json").write_text("{}")
    with pytest.raises(ReportError, match="replaces its folder whole"):
        build_report(data=data, out=tmp_path / "reports", progress=None)
    assert (out / "chapter1.docx").read_bytes() == b"months of work" and data.exists()


def test_a_killed_build_leaves_nothing_behind_the_next_build():
    import tempfile

    from sclero_analysis.report.staging import staged

    # a build killed (SIGKILL, power cut) leaves its staging folder; the next build deletes it,
    # and never the folder of a build still running (here: this process)
    out = Path(tempfile.mkdtemp()) / "reports"
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    killed = out.parent / f".reports.building-{ended.pid}-0badcafe"
    running = out.parent / f".reports.building-{os.getpid()}-00c0ffee"
    other = out.parent / f".other.building-{ended.pid}-0badcafe"  # another report's: not ours
    for folder in (killed, running, other):
        (folder / "figures").mkdir(parents=True)
    with staged(out) as stage:
        (stage / "index.html").write_text("done")
    assert not killed.exists() and running.exists() and other.exists()
    assert (out / "index.html").read_text() == "done"


def test_validate_names_the_command_line_flags(capsys):
    assert main(["validate", str(BAD / "ambiguous_date")]) == 1
    assert "--dayfirst/--monthfirst" in capsys.readouterr().out
    assert main(["validate", str(BAD / "xlsx_wrong_sheet_names" / "registry.xlsx")]) == 2
    assert "--sheet patients=SHEET" in capsys.readouterr().err


# --- make report changes no tracked file --------------------------------------------------------

def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)


needs_git = pytest.mark.skipif(shutil.which("git") is None or git("rev-parse").returncode != 0,
                               reason="not a git work tree")


@needs_git
@pytest.mark.parametrize("path", ["reports/index.html", "reports/figures/02_km_by_tier.png",
                                  "reports/manifest/01_case_series_overview.json",
                                  ".reports.building-12-ab34cd56/index.html",
                                  ".reports.previous-x1y2/reports/index.html"])
def test_everything_make_report_writes_is_ignored(path):
    assert git("check-ignore", "--no-index", "-q", path).returncode == 0, f"{path} is not ignored"


@needs_git
def test_no_tracked_file_lives_where_make_report_writes():
    assert git("ls-files", "reports").stdout == ""


def test_make_report_writes_only_reports_and_readme_figure_is_separate():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^report: .*\n((?:\t.*\n)+)", makefile, re.M)[1]
    assert "--out reports" in recipe and "docs/" not in recipe and "$(ARGS)" in recipe
    figure = re.search(r"^readme-figure: .*\n((?:\t.*\n)+)", makefile, re.M)[1]
    assert "docs/figures/km_by_tier.png" in figure and "--out reports" not in figure
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert "docs/figures/km_by_tier.png" in images and not any(i.startswith("reports/") for i in images)
    assert (ROOT / "docs" / "figures" / "km_by_tier.png").stat().st_size > 10_000
    block = re.search(r"## Two commands\n\n```bash\n(.*?)```", readme, re.S)[1]
    assert [line.split("#")[0].strip() for line in block.splitlines()] == ["make report", "make test"]


def test_the_warning_starts_above_ten_percent_of_a_table():
    from sclero_analysis.report.datacheck import DataCheck, date_order

    counts = pd.DataFrame({"read": [10, 10, 0], "accepted": [9, 9, 0], "rejected": [1, 1, 0]},
                          index=pd.Index(["patients", "lines", "events"], name="table"))
    rules = pd.DataFrame(columns=["table", "rule", "rows"])
    at_limit = DataCheck("x", date_order(None), counts, rules, rules)
    assert at_limit.heavy == [] and at_limit.alerts() == []  # 10% exactly: no warning
    counts.loc["lines", ["accepted", "rejected"]] = [8, 2]
    above = DataCheck("x", date_order(None), counts, rules, rules)
    assert above.heavy == ["lines"] and above.alerts()[0].startswith("WARNING: 2 of 10 lines of therapy")

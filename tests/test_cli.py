"""`sclero-analysis validate` through the console-script entry point."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from sclero_analysis.cli import main

from .test_bad_inputs import BAD


def run(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "sclero-analysis"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sclero_analysis.cli"]
    return subprocess.run(command + list(args), capture_output=True, text=True, check=False)


def test_good_directory_exits_0(good_dir):
    result = run("validate", str(good_dir))
    assert result.returncode == 0, result.stderr
    assert "patients" in result.stdout and "No problems found." in result.stdout


def test_bad_directory_exits_1_and_groups_by_rule(tmp_path):
    report = tmp_path / "problems.csv"
    result = run("validate", str(BAD / "duplicate_patient_id"), "--report", str(report))
    assert result.returncode == 1
    assert "error duplicate_id (2)" in result.stdout
    assert "row 3, column patient_id" in result.stdout
    written = pd.read_csv(report)
    assert list(written.columns) == ["file", "table", "row", "column", "value", "severity", "rule", "message"]
    assert (written["rule"] == "duplicate_id").sum() == 2


def test_warnings_only_exit_0():
    result = run("validate", str(BAD / "unknown_agent"))
    assert result.returncode == 0
    assert "warning unknown_agent (1)" in result.stdout


def test_unreadable_input_exits_2(tmp_path):
    for path in (BAD / "empty_file", BAD / "missing_file", tmp_path / "nothing-here"):
        result = run("validate", str(path))
        assert result.returncode == 2
        assert "cannot read" in result.stderr


def test_dayfirst_flag_and_sheet_option(tmp_path, capsys):
    assert main(["validate", str(BAD / "ambiguous_date")]) == 1
    assert main(["validate", str(BAD / "ambiguous_date"), "--dayfirst"]) == 0
    workbook = tmp_path / "w"
    shutil.copytree(BAD / "xlsx_wrong_sheet_names", workbook)
    sheets = ["--sheet", "patients=Sheet1", "--sheet", "lines=Sheet2", "--sheet", "events=Sheet3"]
    assert main(["validate", str(workbook), *sheets]) == 0
    assert main(["validate", str(workbook), "--sheet", "patient=Sheet1"]) == 2
    assert "sheet_names keys" in capsys.readouterr().err


def test_study_command_writes_results_and_resumes(tmp_path):
    design = tmp_path / "design.toml"
    design.write_text('[registry]\nn_patients = 100\n[vary]\nlog_hr_cytoreduction = [0.0, -0.7]\n'
                      '[study]\nanalyses = ["naive_cox", "iptw_cox"]\nn_reps = 6\nchunk_size = 3\n'
                      'truth_patients = 300\n')
    out = tmp_path / "results"
    assert main(["study", str(design), "--out", str(out), "--no-progress"]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 and set(summary["analysis"]) == {"naive_cox", "iptw_cox"}
    assert (out / "study.png").stat().st_size and len(list((out / "chunks").glob("*.parquet"))) == 4
    replicates = pd.read_parquet(out / "replicates.parquet")
    assert main(["study", str(design), "--out", str(out), "--no-progress"]) == 0  # resumes: no work
    pd.testing.assert_frame_equal(pd.read_parquet(out / "replicates.parquet"), replicates)
    bad = tmp_path / "bad.toml"
    bad.write_text("[vary]\nlog_hr_surgery = [0.0]\n")
    result = run("study", str(bad), "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "log_hr_surgery" in result.stderr


def test_literature_template_and_validate(tmp_path, capsys):
    workbook = tmp_path / "extraction.xlsx"
    assert main(["template", "literature", str(workbook)]) == 0
    assert main(["template", "literature", str(workbook)]) == 2  # never over a filled workbook
    assert main(["validate", str(workbook)]) == 0  # empty: read as a literature, nothing wrong
    shipped = Path(__file__).parents[1] / "sclero_analysis" / "data" / "synthetic" / "literature"
    copy = tmp_path / "literature"
    shutil.copytree(shipped, copy)
    capsys.readouterr()
    assert main(["validate", str(copy)]) == 0
    assert "sources" in capsys.readouterr().out  # the literature's tables, not a registry's
    sources = pd.read_csv(copy / "sources.csv")
    sources.loc[0, "design"] = "anecdote"
    sources.to_csv(copy / "sources.csv", index=False)
    assert main(["validate", str(copy)]) == 1
    assert "design" in capsys.readouterr().out

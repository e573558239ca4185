"""`sclero-analysis validate` on files that cannot be read: a message and exit code 2, never a traceback."""

from __future__ import annotations

import sclero_analysis.cli as cli
from sclero_analysis.cli import main

from .test_bad_inputs import BAD


def test_a_refusal_names_its_rule(capsys):
    assert main(["validate", str(BAD / "unbalanced_quote")]) == 2
    err = capsys.readouterr().err
    assert "never closed" in err and "[unbalanced_quote]" in err and "Traceback" not in err


def test_an_unexpected_failure_is_a_message_not_a_traceback(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "read_case_series", broken)
    assert main(["validate", str(BAD / "ragged_row")]) == 2
    err = capsys.readouterr().err
    assert "unexpected RuntimeError (boom)" in err and "bug" in err


def test_sentinel_dates_give_a_report_not_a_crash(capsys):
    assert main(["validate", str(BAD / "sentinel_dates")]) == 1
    out = capsys.readouterr().out
    assert "error sentinel_date (2)" in out

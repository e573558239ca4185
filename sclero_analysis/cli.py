"""Command line: ``validate PATH``, ``simulate --out DIR``, ``study DESIGN.toml --out DIR``, ``report``.

``template registry OUT.xlsx`` writes an empty data-entry workbook.

Exit codes of ``validate``: 0 when the series has no errors (warnings allowed), 1 when some rows
were rejected for errors, 2 when the input cannot be read at all.

Exit codes of ``report``: 0 when every notebook ran (some may have skipped sections, and data
with errors are reported from their accepted rows), 1 when a notebook failed (the report is
written and shows which cell raised what), 2 when nothing was built (unreadable data, no valid
patient or line, an unknown notebook, an output folder that is not a report), 130 when
interrupted (the previous report is left as it was).

Exit codes of ``template``: 0 when the workbook was written, 2 when the file exists (without
``--force``) or the name does not end in ``.xlsx``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sclero_analysis import __version__
from sclero_analysis.caseseries import CaseSeries, read_case_series
from sclero_analysis.caseseries.spreadsheet import spreadsheet_safe
from sclero_analysis.caseseries.template import TEMPLATES, write_template
from sclero_analysis.exceptions import CaseSeriesError
from sclero_analysis.figures import journal_style
from sclero_analysis.report import Report, ReportError, build_report, save_figure, save_table
from sclero_analysis.report.build import DEFAULT_SEED, DEFAULT_TAU
from sclero_analysis.report.runs import COMPLETE, FAILED, SKIPPED
from sclero_analysis.studies import StudyDesign, StudyDesignError, run_study
from sclero_analysis.synthetic import RegistryDesign
from sclero_analysis.synthetic.examples import EXAMPLE_SEED, write_example

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Locations listed per rule before "… and N more".
SHOWN_PER_RULE = 5


def _sheet(text: str) -> tuple[str, str]:
    table, _, sheet = text.partition("=")
    if not sheet:
        raise argparse.ArgumentTypeError(f"expected TABLE=SHEET, got {text!r}")
    return table.strip(), sheet.strip()


def _reading_options(command: argparse.ArgumentParser) -> None:
    """``--dayfirst/--monthfirst`` and ``--sheet TABLE=SHEET``: how ``validate`` and ``report`` read data."""
    dates = command.add_mutually_exclusive_group()
    dates.add_argument("--dayfirst", action="store_const", const=True, dest="dayfirst",
                       help="read dd/mm/yyyy dates")
    dates.add_argument("--monthfirst", action="store_const", const=False, dest="dayfirst",
                       help="read mm/dd/yyyy dates")
    command.add_argument("--sheet", action="append", type=_sheet, default=[],
                         metavar="TABLE=SHEET", help="sheet holding a table in a workbook")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``sclero-analysis``."""
    parser = argparse.ArgumentParser(
        prog="sclero-analysis",
        description="Comparative outcome research in scleromyxedema.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser(
        "validate", help="check a case series against the data contract",
        description="Read a directory of patients/lines/events files (CSV or Parquet) or an "
                    ".xlsx workbook, print row counts and every problem grouped by rule.",
    )
    validate.add_argument("path", help="directory or .xlsx workbook")
    validate.add_argument("--report", metavar="CSV", help="write every problem to this CSV file")
    _reading_options(validate)
    simulate = commands.add_parser(
        "simulate", help="write a synthetic registry with its truth",
        description="Simulate a scleromyxedema registry (and optionally the cases the "
                    "literature would publish) and write CSVs, truth.json and a dataset card.",
    )
    simulate.add_argument("--patients", type=int, help="number of patients (default 400)")
    simulate.add_argument("--sites", type=int, help="number of sites (default 12)")
    simulate.add_argument("--seed", type=int, default=EXAMPLE_SEED, help="random seed")
    simulate.add_argument("--out", required=True, help="directory for the registry")
    simulate.add_argument("--literature", metavar="DIR", help="directory for the published cases")
    simulate.add_argument("--design", metavar="TOML", help="RegistryDesign fields to change")
    study = commands.add_parser(
        "study", help="run a Monte Carlo registry study",
        description="Run the scenarios x analyses x replicates of a study design (TOML with "
                    "[registry], [vary] and [study] sections) and write replicates.parquet, "
                    "summary.csv, summary.md and study.png; the folder doubles as checkpoint.",
    )
    study.add_argument("design", help="study design TOML")
    study.add_argument("--out", required=True, help="results folder (resumes if it holds chunks)")
    study.add_argument("--jobs", type=int, default=1,
                       help="local processes computing chunks, this one included (-1: all cores)")
    study.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (tcp://host:8786)")
    study.add_argument("--no-progress", action="store_true", help="no progress bar")
    report = commands.add_parser(
        "report", help="execute the notebooks into a report folder",
        description="Validate the data, execute every numbered notebook (notebooks/NN_*.ipynb) on "
                    "it and write executed notebooks, HTML, figures, tables and index.html; the "
                    "folder is replaced only when the run completes. Exit code 0: every notebook "
                    "ran; 1: a notebook failed (shown in index.html); 2: nothing built.",
    )
    report.add_argument("--data", help="case series directory or .xlsx workbook "
                                       "(default: the shipped synthetic registry)")
    _reading_options(report)
    report.add_argument("--literature", metavar="PATH",
                        help="published evidence for notebook 07 to pool: a literature folder or "
                             "extraction workbook (sclero-analysis template literature); default: "
                             "the shipped synthetic literature with the shipped registry, else none")
    report.add_argument("--out", default="reports", help="report folder (default: reports/)")
    report.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of every random draw")
    report.add_argument("--tau", type=float, default=DEFAULT_TAU, help="RMST horizon in months")
    report.add_argument("--notebooks", help="folder of the notebooks (default: the package's own)")
    report.add_argument("--only", action="append", metavar="NAME", help="run only this notebook")
    report.add_argument("--fast", action="store_true", help="small simulations (a quick check)")
    report.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                        help="notebooks executed at once, each in its own kernel (default: one per "
                             "core, at most 4; 1: one after the other; -1: one per core)")
    _template_command(commands)
    return parser


def _jobs(text: str) -> int:
    """``--jobs``: 1 or more notebooks at once, or -1 (one per core)."""
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1 and jobs != -1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, or -1 (one per core), not {text!r}")
    return jobs


def _template_command(commands) -> None:
    template = commands.add_parser(
        "template", help="write an empty data-entry workbook",
        description="Write an empty Excel workbook to collect data in: one sheet per table with "
                    "the contract's headers (units and rules in the header comments), drop-down "
                    "lists, date formats and an instructions sheet. A filled workbook is read by "
                    "validate and report as it is.",
    )
    template.add_argument("kind", choices=sorted({*TEMPLATES, "literature"}),
                          help="registry: the case series (patients, lines of therapy, events); "
                               "literature: an extraction workbook for published sources")
    template.add_argument("out", help="the workbook to write (.xlsx)")
    template.add_argument("--force", action="store_true", help="replace an existing file")


def _write_template(out: str, kind: str, overwrite: bool) -> Path:
    if kind != "literature":
        return write_template(out, kind=kind, overwrite=overwrite)
    from sclero_analysis.evidence import write_literature_template  # the literature layer, on demand

    if Path(out).exists() and not overwrite:
        raise FileExistsError(out)
    return write_literature_template(out)


def _template(args: argparse.Namespace) -> int:
    try:
        path = _write_template(args.out, args.kind, args.force)
    except FileExistsError:
        print(f"sclero-analysis template: {args.out} exists (a filled workbook?); nothing was "
              "written. Choose another name, or --force to replace it.", file=sys.stderr)
        return EXIT_UNREADABLE
    except ValueError as error:
        print(f"sclero-analysis template: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(f"wrote {path}: fill its data sheets (instructions in the first sheet), then check it: "
          f"sclero-analysis validate {path}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    try:
        result = build_report(data=args.data, out=args.out, notebooks=args.only,
                              notebooks_dir=args.notebooks, seed=args.seed, tau=args.tau,
                              fast=args.fast, progress=_say, dayfirst=args.dayfirst,
                              sheets=dict(args.sheet), literature=args.literature,
                              jobs=args.jobs)
    except (ReportError, FileNotFoundError) as error:
        print(f"sclero-analysis report: {error}\nNothing was written.", file=sys.stderr)
        return EXIT_UNREADABLE
    except KeyboardInterrupt:
        print(f"sclero-analysis report: interrupted; {args.out} is left as it was.", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(report_summary(result))
    return EXIT_ERRORS if result.failed else EXIT_OK


def _say(line: str) -> None:
    print(line, flush=True)


def report_summary(result: Report) -> str:
    """Return the last lines of ``report``: notebooks by status, the data alerts again, the index."""
    counts = result.summary["status"].value_counts()
    total = result.elapsed if result.elapsed is not None else sum(result.seconds.values())
    parts = [f"{counts[status]} {status}" for status in (COMPLETE, SKIPPED, FAILED) if status in counts]
    n = len(result.notebooks)
    at_once = f", {result.jobs} at a time" if result.jobs > 1 else ""
    lines = [f"{n} notebook{'s' if n != 1 else ''} in {total:.0f} s{at_once}: {'; '.join(parts)}."]
    lines += [f"FAILED {run.name}: {run.failure}" for run in result.failed]
    lines += result.data.alerts() if result.data is not None else []
    lines.append(f"Open {result.index}")
    return "\n".join(lines)


def _study(args: argparse.Namespace) -> int:
    try:
        design = StudyDesign.from_toml(args.design)
    except (StudyDesignError, ValueError, OSError) as error:
        print(f"sclero-analysis: {args.design}: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    out = Path(args.out)
    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
    try:
        result = run_study(design, n_jobs=args.jobs, client=client, progress=not args.no_progress,
                           checkpoint=out / "chunks")
    finally:
        if client is not None:
            client.close()
    result.replicates.to_parquet(out / "replicates.parquet", index=False)
    summary = result.summary
    save_table(summary.set_index("analysis"), out / "summary", formats=("csv", "md"))
    with journal_style("double"):
        axes = result.plot()
        save_figure(axes[0].figure, out / "study", formats=("png", "pdf"))
    print(summary.to_string(index=False, max_cols=12))
    print(f"wrote {out}")
    return EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    design = RegistryDesign.from_toml(args.design) if args.design else RegistryDesign()
    changes = {k: v for k, v in (("n_patients", args.patients), ("n_sites", args.sites)) if v}
    out = write_example(args.out, design.replace(**changes), args.seed, args.literature)
    print(f"wrote {out}" + (f" and {args.literature}" if args.literature else ""))
    return EXIT_OK


def format_summary(cs: CaseSeries) -> str:
    """Render row counts per table and the problems grouped by rule, as plain text."""
    lines = [cs.counts.to_string(), ""]
    report = cs.report
    if report.empty:
        lines.append("No problems found.")
        return "\n".join(lines)
    lines.append(f"{len(cs.errors)} errors, {len(cs.warnings)} warnings, by rule:")
    groups = report.groupby(["severity", "rule"], observed=True, sort=True)
    for (severity, rule), group in groups:
        lines.append(f"  {severity} {rule} ({len(group)})")
        for problem in group.head(SHOWN_PER_RULE).itertuples(index=False):
            lines.append(f"    {_where(problem)}: {problem.message}")
        if len(group) > SHOWN_PER_RULE:
            lines.append(f"    … and {len(group) - SHOWN_PER_RULE} more")
    return "\n".join(lines)


def _where(problem) -> str:
    parts = [str(problem.file)]
    if not pd.isna(problem.row):
        parts.append(f"row {problem.row}")
    if not pd.isna(problem.column):
        parts.append(f"column {problem.column}")
    return ", ".join(parts)


def _read_for_validation(args: argparse.Namespace):
    """Read a case series, or a literature when the folder or workbook holds a ``sources`` table."""
    from sclero_analysis.evidence import is_literature, read_literature

    if is_literature(args.path):
        return read_literature(args.path, dayfirst=args.dayfirst, sheet_names=dict(args.sheet))
    return read_case_series(args.path, dayfirst=args.dayfirst, sheet_names=dict(args.sheet))


def _validate(args: argparse.Namespace) -> int:
    try:
        cs = _read_for_validation(args)
    except CaseSeriesError as error:
        rule = f" [{error.rule}]" if error.rule else ""
        print(f"sclero-analysis: cannot read {args.path}: {error}{rule}", file=sys.stderr)
        return EXIT_UNREADABLE
    except ValueError as error:
        print(f"sclero-analysis: cannot read {args.path}: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    except Exception as error:  # a message and exit code, never a traceback, even for a bug
        print(f"sclero-analysis: cannot read {args.path}: unexpected {type(error).__name__} "
              f"({error}). This is a bug in sclero_analysis: please report it, with the file's "
              "layout but not its data", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.report:
        # problems.csv is opened in spreadsheets: no cell may run as a formula
        spreadsheet_safe(cs.report).to_csv(args.report, index=False)
    try:
        print(format_summary(cs))
        if args.report:
            print(f"\nReport written to {args.report}")
    except BrokenPipeError:  # the reader stopped early (`| head`): not a failure of the data
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_ERRORS if len(cs.errors) else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code (see the module docstring).
    """
    args = build_parser().parse_args(argv)
    commands = {"validate": _validate, "simulate": _simulate, "study": _study, "report": _report,
                "template": _template}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

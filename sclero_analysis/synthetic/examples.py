"""The shipped synthetic data (package data ``sclero_analysis/data/synthetic/``): writing and loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from sclero_analysis.caseseries import CaseSeries, read_case_series
from sclero_analysis.synthetic.design import RegistryDesign
from sclero_analysis.synthetic.papers import literature_tables
from sclero_analysis.synthetic.publication import publish_case_reports
from sclero_analysis.synthetic.simulate import simulate_registry

#: Settings of the shipped registry (``sclero-analysis simulate`` reproduces it byte for byte).
EXAMPLE_SEED = 20261125
EXAMPLE_DESIGN = RegistryDesign(n_patients=400, n_sites=12)
DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "synthetic"

CARD = """# Synthetic scleromyxedema {kind}

{what}

- Made by: `{command}` (sclero_analysis, `sclero_analysis/synthetic/`).
- Design: {n_patients} patients, {n_sites} sites, seed {seed}; every parameter and its source
  (docs/synthetic.md) is in `truth.json` under `design`, and in `RegistryDesign`'s source code.
- Tables: {counts}.
- What is true (`truth.json`): the conditional log hazard ratios of relapse on a line
  (`conditional_log_hr`: tier vs IVIG, age per year, mRSS per point, neuro, cardiac){marginal}.
- These are simulated patients. No real person is described; identifiers are synthetic.
"""


def _json(value):
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):  # 10 significant digits: the same bytes on any platform
        return float(f"{value:.10g}")
    return value


def _write(cs: CaseSeries, out: Path, kind: str, what: str, command: str, marginal: str,
           extra: dict[str, pd.DataFrame] | None = None) -> Path:
    cs.to_dir(out)
    extra = extra or {}
    for name, frame in extra.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    (out / "truth.json").write_text(json.dumps(_json(cs.truth), indent=2, sort_keys=True) + "\n")
    counts = ", ".join(f"{name} {len(frame)} rows" for name, frame in
                       [*extra.items(), *((n, cs.table(n)) for n in ("patients", "lines", "events"))])
    design = cs.truth["design"]
    (out / "README.md").write_text(CARD.format(
        kind=kind, what=what, command=command, n_patients=design["n_patients"],
        n_sites=design["n_sites"],
        seed=cs.truth.get("seed"), counts=counts, marginal=marginal))
    return out


def write_example(
    out: str | Path,
    design: RegistryDesign = EXAMPLE_DESIGN,
    seed: int = EXAMPLE_SEED,
    literature: str | Path | None = None,
) -> Path:
    """Simulate a registry (and optionally its published subset) and write it with its truth.

    Parameters
    ----------
    out : str or Path
        Directory for ``patients.csv``, ``lines.csv``, ``events.csv``, ``truth.json`` and a
        ``README.md`` dataset card.
    design : RegistryDesign
        Generator parameters (default: the shipped example's).
    seed : int
        Seed (default: the shipped example's).
    literature : str or Path, optional
        Directory for the literature that would have been published: ``sources.csv``,
        ``series.csv`` (aggregate rows of the larger series) and the per-patient cases
        (``patients.csv``, ``lines.csv``, ``events.csv``), with ``truth.json`` and a card.

    Returns
    -------
    Path
        ``out``.
    """
    registry = simulate_registry(design, seed=seed)
    command = (f"sclero-analysis simulate --patients {design.n_patients} --sites {design.n_sites} "
               f"--seed {seed} --out DIR")
    _write(registry, Path(out), "registry", "A registry as a consortium would collect it: every "
           "patient, every line of therapy, relapses and deaths.", command,
           "; the marginal hazard ratios, cumulative incidence at 12/24/36 months and RMST at "
           "36 months per tier from counterfactual simulation (`marginal_log_hr`, `cif`, `rmst_36`); "
           "relapse-free survival at 12/24/36 months under each default management strategy, the "
           "patients forced to follow it (`strategies`)")
    if literature is not None:
        _write_literature(registry, Path(literature), design, seed, command + " --literature DIR2")
    return Path(out)


def _write_literature(registry: CaseSeries, out: Path, design: RegistryDesign, seed: int,
                      command: str) -> Path:
    """Write the published literature: sources, aggregate series rows and per-patient cases."""
    published = publish_case_reports(registry, seed=seed)
    tables = literature_tables(published, published.truth["publication_design"]["aggregate_from"])
    cases = CaseSeries(tables["patients"], tables["lines"], tables["events"],
                       truth=dict(published.truth, design=design.as_dict()))
    _write(cases, out, "literature (published case reports and series)",
           "The cases of the registry above that the literature would have published: selected "
           "for response and dramatic therapies, follow-up cut when the report was written. "
           "Each reference is a row of `sources.csv` (design `case report` or `series`, response "
           "counted as CR or PR); references of at least "
           f"{published.truth['publication_design']['aggregate_from']} patients print aggregate "
           "rows per treatment (`series.csv`), smaller ones each case (`patients.csv`, "
           "`lines.csv`, `events.csv`, whose `site` is the `source_id`). Read it with "
           "`sa.read_literature`.", command,
           "; `publication_design` holds the selection parameters",
           extra={name: tables[name] for name in ("sources", "series")})
    return out


def load_example(name: Literal["registry", "literature"] = "registry") -> CaseSeries:
    """Load the shipped synthetic registry or its published subset.

    Parameters
    ----------
    name : {"registry", "literature"}
        The full registry (400 patients, 12 sites) or the per-patient cases the literature
        shows (case reports and small series; read the whole literature, sources and
        aggregate series included, with ``sa.read_literature(DATA_DIR / "literature")``).

    Returns
    -------
    CaseSeries
        Read and validated from ``data/synthetic/<name>/`` (no network); ``truth`` holds the
        contents of its ``truth.json``.

    Examples
    --------
    >>> cs = load_example()
    >>> len(cs.patients), cs.report.empty
    (400, True)
    """
    if name not in ("registry", "literature"):
        raise ValueError(f"name must be 'registry' or 'literature', not {name!r}")
    directory = DATA_DIR / name
    if not directory.is_dir():
        raise FileNotFoundError(
            f"{directory} is missing: the example data ship with the repository "
            "(regenerate with `sclero-analysis simulate --literature`)")
    cs = read_case_series(directory)
    truth = json.loads((directory / "truth.json").read_text())
    return CaseSeries(cs.patients, cs.lines, cs.events, cs.report, cs.rejected, cs.n_read,
                      cs.source, truth)

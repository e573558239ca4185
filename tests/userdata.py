"""User-like registries for the report tests: what a researcher brings, not what we ship.

A registry here has no ``truth.json``; it may be small (8-40 patients), come as a folder of CSV
files or one .xlsx workbook, carry dd/mm/yyyy dates, and have a centre that never records mRSS.
The patients are simulated (``simulate_registry``) and then written the way a user would.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import sclero_analysis as sa

DATE_COLUMNS = {
    "patients": ["diagnosis_date", "last_followup_date", "death_date"],
    "lines": ["start_date", "end_date", "response_date"],
    "events": ["date"],
}
#: Derived columns a user never types (the loader derives them from ``agents``).
DERIVED = {"lines": ["tier", "adjunct_ecp"]}


def user_tables(n_patients: int, seed: int = 1, n_sites: int = 3, mrss_missing_site: bool = True,
                dayfirst: bool = False) -> dict[str, pd.DataFrame]:
    """Simulate a registry and return its three tables as text, as a user's files hold them.

    Parameters
    ----------
    n_patients : int
        Patients in the registry.
    seed : int
        Simulation seed.
    n_sites : int
        Centres.
    mrss_missing_site : bool
        The first centre never records mRSS (empty cells).
    dayfirst : bool
        Dates written dd/mm/yyyy instead of ISO.
    """
    design = sa.RegistryDesign(n_patients=n_patients, n_sites=n_sites)
    cs = sa.simulate_registry(design, seed=seed)
    tables = {}
    for name in ("patients", "lines", "events"):
        frame = cs.table(name).drop(columns=DERIVED.get(name, []), errors="ignore").copy()
        for column in DATE_COLUMNS[name]:
            dates = pd.to_datetime(frame[column])
            frame[column] = dates.dt.strftime("%d/%m/%Y" if dayfirst else "%Y-%m-%d").where(dates.notna(), "")
        tables[name] = frame.astype(object).where(frame.notna(), "")
    if mrss_missing_site:
        patients = tables["patients"]
        first_site = sorted(patients["site"].unique())[0]
        patients.loc[patients["site"] == first_site, "mrss"] = ""
    return tables


def write_user_registry(path: Path, n_patients: int, seed: int = 1, fmt: str = "csv",
                        dayfirst: bool = False, **kwargs) -> Path:
    """Write a user-like registry (no truth) as a CSV folder or one .xlsx workbook.

    Returns the folder (``fmt="csv"``) or the workbook's path (``fmt="xlsx"``).
    """
    tables = user_tables(n_patients, seed=seed, dayfirst=dayfirst, **kwargs)
    path = Path(path)
    if fmt == "csv":
        path.mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            frame.to_csv(path / f"{name}.csv", index=False)
        return path
    if fmt == "xlsx":
        workbook = path if path.suffix == ".xlsx" else path.with_suffix(".xlsx")
        workbook.parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(workbook) as writer:
            for name, frame in tables.items():
                frame.to_excel(writer, sheet_name=name, index=False)
        return workbook
    raise ValueError(f"fmt must be 'csv' or 'xlsx', not {fmt!r}")

"""A small published literature for the evidence tests, written as a user's files would be.

Sources: two series with per-patient tables (Smith 2020: P001-P002, Lee 2021: P003-P004), two
case reports (Kim 2019: P005, Doe 2017: P006), an aggregate series (Roe 2015, CR+PR) and one
counting complete responses only (Moe 2018). The cases are ``tests/data/good`` with each
patient's ``site`` set to its publication.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

GOOD = Path(__file__).parent / "data" / "good"
SITES = {"Genoa": "Smith 2020", "Paris": "Lee 2021", "Basel": "Kim 2019",
         "J Am Acad Dermatol 2013;69:66": "Doe 2017"}


def literature_tables() -> dict[str, pd.DataFrame]:
    """The tables as text, one frame per table."""
    sources = pd.DataFrame({
        "source_id": ["Smith 2020", "Lee 2021", "Kim 2019", "Doe 2017", "Roe 2015", "Moe 2018"],
        "citation": ["Smith A, et al. J Dermatol 2020;1:1", "Lee B, et al. Br J Dermatol 2021;2:2",
                     "Kim C. Case Rep Dermatol 2019;3:3", "Doe D. JAAD Case Rep 2017;4:4",
                     "Roe E, et al. Arch Dermatol 2015;5:5", "Moe F, et al. Dermatology 2018;6:6"],
        "doi": ["10.1000/smith.2020", "", "", "10.1000/doe", "", ""],
        "pmid": ["31234567", "", "", "", "25012345", ""],
        "year": ["2020", "2021", "2019", "2017", "2015", "2018"],
        "design": ["series", "case series", "case report", "case report", "retrospective cohort",
                   "series"],
        "country": ["Italy", "France", "Switzerland", "USA", "Germany", "Japan"],
        "response_definition": ["CR+PR", "ORR", "CR+PR", "CR+PR", "CR+PR", "CR"],
        "notes": ["", "", "", "", "", ""],
    })
    series = pd.DataFrame({
        "source_id": ["Roe 2015", "Roe 2015", "Roe 2015", "Moe 2018"],
        "agents": ["IVIG", "IVIg + lenalidomide", "melphalan; ASCT", "IVIG"],
        "n": ["10", "5", "3", "6"],
        "responders": ["7", "4", "3", "2"],
        "relapsed": ["3", "1", "0", ""],
        "died": ["1", "0", "1", "0"],
        "median_followup_months": ["24.5", "18", "30", ""],
        "severity": ["", "", "", ""],
        "response_definition": ["", "", "", "CR"],
        "notes": ["", "", "", ""],
    })
    scores = pd.DataFrame({
        "source_id": ["Roe 2015"], "agents": ["IVIG"], "score": ["mRSS"], "n": ["10"],
        "mean_before": ["20"], "sd_before": ["5"], "mean_after": ["12"], "sd_after": ["6"],
        "followup_months": ["12"], "notes": [""],
    })
    tables = {"sources": sources, "series": series, "scores": scores}
    for name in ("patients", "lines", "events"):
        tables[name] = pd.read_csv(GOOD / f"{name}.csv", dtype=str, keep_default_na=False)
    tables["patients"]["site"] = tables["patients"]["site"].map(SITES)
    return tables


def write_literature(path: Path, tables: dict[str, pd.DataFrame] | None = None,
                     fmt: str = "csv") -> Path:
    """Write the tables as a folder of CSV files or one workbook; return what to read."""
    tables = literature_tables() if tables is None else tables
    path.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        for name, frame in tables.items():
            frame.to_csv(path / f"{name}.csv", index=False)
        return path
    book = path / "literature.xlsx"
    with pd.ExcelWriter(book) as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return book

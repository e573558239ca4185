"""Word and Excel outputs (issue 22): tables in journal layout, the registry data-entry template."""

from __future__ import annotations

import datetime as dt

import docx
import openpyxl
import pandas as pd
import pytest
from docx.oxml.ns import qn

import sclero_analysis as sa
from sclero_analysis.caseseries.schema import column_specs
from sclero_analysis.cli import main
from sclero_analysis.report import save_table
from sclero_analysis.report.office import RULES_DOCX
from sclero_analysis.tables import Table
from sclero_analysis.therapy import load_vocabulary


@pytest.fixture(scope="module")
def table1() -> Table:
    df = sa.relapse_frame(sa.load_example())
    return sa.table_one(df, by="tier", continuous=["age_at_diagnosis_years", "mrss"],
                        categorical=["sex", "paraprotein"], nonnormal=["mrss"], min_cell=5)


def body_cells(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def borders(cell) -> dict[str, str]:
    """Edge -> ``single:<size>`` or ``nil`` from a cell's own ``w:tcBorders``."""
    found = cell._tc.tcPr.find(qn("w:tcBorders"))
    if found is None:
        return {}
    return {child.tag.split("}")[1]: (child.get(qn("w:val")) if child.get(qn("w:val")) == "nil"
                                       else f"single:{child.get(qn('w:sz'))}") for child in found}


# --- .docx -----------------------------------------------------------------------------------------

def test_docx_holds_the_tables_cells_title_and_notes(table1, tmp_path):
    [path] = save_table(table1, tmp_path / "table1.docx")
    assert path == tmp_path / "table1.docx"
    document = docx.Document(path)
    [grid] = document.tables
    cells = body_cells(grid)
    assert cells[0] == [""] + list(table1.summary.columns)
    expected = [[str(label).strip()] + [str(v) for v in row]
                for label, row in zip(table1.summary.index, table1.summary.to_numpy(), strict=True)]
    assert cells[1:] == expected
    assert "*" in {c for row in cells for c in row} and "<5" in {c for row in cells for c in row}
    caption = document.paragraphs[0]
    assert caption.style.name == "Caption" and caption.text == table1.title
    notes = [p.text for p in document.paragraphs[1:] if p.text]
    assert notes == list(table1.notes)
    assert any("suppressed" in n for n in notes) and any(n.startswith("SMD:") for n in notes)
    header_runs = [run for cell in grid.rows[0].cells for p in cell.paragraphs for run in p.runs]
    assert header_runs and all(run.bold for run in header_runs)


def test_docx_is_a_three_line_table(table1, tmp_path):
    [path] = save_table(table1, tmp_path / "t.docx")
    grid = docx.Document(path).tables[0]
    table_borders = grid._tbl.tblPr.find(qn("w:tblBorders"))
    assert {child.get(qn("w:val")) for child in table_borders} == {"nil"}  # no grid of its own
    top, mid, bottom = (f"single:{RULES_DOCX[k]}" for k in ("top", "mid", "bottom"))
    for cell in grid.rows[0].cells:
        edges = borders(cell)
        assert edges["top"] == top and edges["bottom"] == mid
        assert edges["left"] == edges["right"] == "nil"
    for cell in grid.rows[-1].cells:
        edges = borders(cell)
        assert edges["bottom"] == bottom and "single" not in (edges["top"], edges["left"], edges["right"])
    for row in grid.rows[1:-1]:  # no other line anywhere
        for cell in row.cells:
            assert "single" not in "".join(borders(cell).values())
    indented = [row.cells[0] for row, label in zip(grid.rows[1:], table1.summary.index, strict=True)
                if str(label).startswith("    ")]
    assert indented and all(c.paragraphs[0].paragraph_format.left_indent > 0 for c in indented)


def test_a_dataframe_and_a_wide_table_go_to_word(tmp_path):
    frame = pd.DataFrame({f"column {i}": [i, float("nan")] for i in range(8)}, index=["a", "b"])
    [path] = save_table(frame, tmp_path / "wide.docx")
    document = docx.Document(path)
    assert body_cells(document.tables[0])[2][1:3] == ["", ""]  # missing is empty, not "nan"
    section = document.sections[0]
    assert section.page_width > section.page_height  # 9 columns: landscape


# --- .xlsx -----------------------------------------------------------------------------------------

def test_xlsx_reads_back_with_openpyxl(table1, tmp_path):
    [path] = save_table(table1, tmp_path / "table1.xlsx")
    sheet = openpyxl.load_workbook(path).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == table1.title
    assert rows[1] == [None] + list(table1.summary.columns)
    n = len(table1.summary)
    body = rows[2:2 + n]
    assert [r[0] for r in body] == [str(i).strip() for i in table1.summary.index]
    overall = table1.summary.columns.get_loc("Overall") + 1
    assert body[0][overall] == int(table1.summary.iloc[0]["Overall"])  # n is a number, not text
    assert [r[overall] for r in body[1:]] == [int(v) if v.isdigit() else v or None  # "" is an empty cell
                                               for v in table1.summary["Overall"].iloc[1:]]
    notes = [r[0] for r in rows[2 + n:] if r[0]]
    assert notes == list(table1.notes)
    header, last = sheet.cell(row=2, column=2), sheet.cell(row=2 + n, column=2)
    assert header.font.bold and header.border.top.style == "medium" and header.border.bottom.style == "thin"
    assert last.border.bottom.style == "medium"
    assert not getattr(sheet.cell(row=3, column=2).border.bottom, "style", None)  # no line inside


def test_a_path_with_an_extension_writes_that_format_only(table1, tmp_path):
    assert save_table(table1, tmp_path / "a.xlsx") == [tmp_path / "a.xlsx"]
    assert [p.name for p in save_table(table1, tmp_path / "b", formats=("docx", "xlsx", "md"))] == \
        ["b.docx", "b.xlsx", "b.md"]
    assert [p.name for p in save_table(table1, tmp_path / "c")] == ["c.csv", "c.md"]
    with pytest.raises(ValueError, match="names its format"):
        save_table(table1, tmp_path / "d.docx", formats=("csv",))


# --- the registry template -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return sa.write_template(tmp_path_factory.mktemp("template") / "registry.xlsx")


def validations(sheet) -> dict[str, object]:
    """Header name -> the data validation covering its column (row 2)."""
    found = {}
    for check in sheet.data_validations.dataValidation:
        for cell_range in check.sqref.ranges:
            name = sheet.cell(row=1, column=cell_range.min_col).value
            assert cell_range.min_row == 2 and cell_range.max_row >= 1001, name
            found[name] = check
    return found


def list_values(book, check) -> list[str]:
    sheet_name, cells = check.formula1.split("!")
    return [c.value for row in book[sheet_name][cells.replace("$", "")] for c in row if c.value]


def test_template_sheets_and_headers_are_the_contracts(template):
    book = openpyxl.load_workbook(template)
    assert book.sheetnames == ["instructions", "patients", "lines", "events", "lists"]
    for table in ("patients", "lines", "events"):
        headers = [c.value for c in book[table][1]]
        expected = [n for n, spec in column_specs(table).items() if not spec.derived]
        assert headers == expected
        for cell in book[table][1]:
            assert cell.comment is not None and cell.font.bold
    assert "0 to 51" in book["patients"]["M1"].comment.text  # mrss: the contract's bounds
    assert "tier" not in [c.value for c in book["lines"][1]]  # derived, never typed
    text = " ".join(str(c.value) for row in book["instructions"].iter_rows() for c in row if c.value)
    assert "sclero-analysis validate" in text and "age_at_diagnosis_years" in text


def test_template_drop_downs_and_date_formats(template):
    book = openpyxl.load_workbook(template)
    patients, lines, events = (validations(book[t]) for t in ("patients", "lines", "events"))
    assert list_values(book, patients["sex"]) == ["F", "M"]
    assert list_values(book, patients["vital_status"]) == ["alive", "dead"]
    for name in ("death_cause", "paraprotein"):
        assert list_values(book, patients[name]) == list(column_specs("patients")[name].categories)
    for flag in ("neuro", "cardiac", "pulmonary", "renal", "musculoskeletal", "gastrointestinal"):
        assert list_values(book, patients[flag]) == ["yes", "no"]
    assert list_values(book, lines["best_response"]) == ["CR", "PR", "SD", "PD", "NE"]
    assert list_values(book, events["kind"]) == ["relapse", "progression"]
    agents = lines["agents"]
    assert list_values(book, agents) == list(load_vocabulary().agents)
    assert agents.errorStyle == "information"  # combinations are typed: "IVIG; lenalidomide"
    assert patients["sex"].errorStyle in (None, "stop")
    assert lines["patient_id"].formula1.startswith("patients!$A$2")
    assert patients["age_at_diagnosis_years"].type == "decimal" and patients["diagnosis_date"].type == "date"
    for table in ("patients", "lines", "events"):
        typed = [spec for spec in column_specs(table).values() if not spec.derived]
        for j, spec in enumerate(typed, 1):
            if spec.kind == "date":
                letter = openpyxl.utils.get_column_letter(j)
                assert book[table].column_dimensions[letter].number_format == "yyyy-mm-dd", spec.name


def fill(book, table: str, rows: list[list]) -> None:
    for i, row in enumerate(rows, 2):
        for j, value in enumerate(row, 1):
            book[table].cell(row=i, column=j, value=value)


def test_a_filled_template_loads_with_no_rejected_row(template, tmp_path):
    book = openpyxl.load_workbook(template)
    d = dt.date
    fill(book, "patients", [
        ["P01", "Centre A", "F", 54.5, d(2015, 3, 2), "IgG-lambda", "no", "yes", "no", "no", "no", "no",
         22, d(2022, 1, 5), "alive", None, None],
        ["P02", "Centre B", "M", 61, d(2016, 6, 20), "none", "no", "no", "no", "no", "no", "no",
         None, d(2020, 2, 1), "dead", d(2020, 2, 1), "disease"],
    ])
    fill(book, "lines", [
        ["P01", 1, d(2015, 4, 1), d(2016, 1, 1), "IVIG", "CR", d(2015, 8, 1)],
        ["P01", 2, d(2017, 2, 1), None, "IVIG; lenalidomide", "PR", d(2017, 6, 1)],
        ["P02", 1, d(2016, 7, 1), None, "bortezomib; dexamethasone; ECP", "SD", None],
    ])
    fill(book, "events", [["P01", d(2016, 12, 1), "relapse"]])
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    cs = sa.read_case_series(filled)
    assert cs.counts["rejected"].sum() == 0 and cs.counts["accepted"].tolist() == [2, 3, 1]
    assert cs.report.empty, cs.report.to_string()
    assert cs.lines["tier"].astype(str).tolist() == ["ivig", "immunosuppression", "cytoreduction"]
    assert cs.lines["adjunct_ecp"].tolist() == [False, False, True]
    assert cs.patients["mrss"].isna().tolist() == [False, True]


def test_template_refuses_to_overwrite_and_unknown_kinds(template, tmp_path):
    with pytest.raises(FileExistsError):
        sa.write_template(template)
    with pytest.raises(ValueError, match="unknown template 'literature'"):
        sa.write_template(tmp_path / "lit.xlsx", kind="literature")
    with pytest.raises(ValueError, match="xlsx"):
        sa.write_template(tmp_path / "registry.csv")


def test_template_command(tmp_path, capsys):
    out = tmp_path / "new" / "registry.xlsx"
    assert main(["template", "registry", str(out)]) == 0
    assert "sclero-analysis validate" in capsys.readouterr().out
    before = out.read_bytes()
    assert main(["template", "registry", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == before
    assert main(["template", "registry", str(out), "--force"]) == 0
    assert openpyxl.load_workbook(out).sheetnames[1:4] == ["patients", "lines", "events"]

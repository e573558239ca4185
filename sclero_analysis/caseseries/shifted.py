"""Rows with more fields than their header: a delimiter inside an unquoted value shifted them.

An unquoted ``Rossi, Mario`` makes two fields of one, and every later value of the row moves
one column to the right: a phone number lands under ``patient_id``, a site under ``sex``. Such a
row is reported by position and count, never by value, and its cells are withheld from the
report and the rejected rows (only a ``patient_id`` in the first column, which no shift can
move, is kept):

* a row whose extra fields hold values is shifted: it is rejected at once;
* a row whose extra fields are empty may only end with a stray delimiter: it is read as the
  header says when every cell is valid (with a warning); when a cell is not, it is taken as
  shifted, and its findings, which would repeat its misplaced values, are replaced by one
  ``extra_fields`` error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sclero_analysis.caseseries.problems import ERROR, WARNING, Problem


def extra_fields(table: str, row: int, width: int, fields: Sequence[int] = (), count: int = 0
                 ) -> Problem:
    """Return the error of a shifted row: where its extra fields are, never what they hold.

    Parameters
    ----------
    table : str
    row : int
        The row as a spreadsheet shows it.
    width : int
        Fields of the header.
    fields : sequence of int
        Positions (1-based) of the extra fields that hold values.
    count : int
        Fields of the row, when its extra fields are empty.

    Returns
    -------
    Problem

    Examples
    --------
    >>> extra_fields("patients", 4, 17, [18, 19]).message[:52]
    'row 4 has values in 2 field(s) beyond the 17 of the '
    """
    if fields:
        where = f"field {fields[0]}" if len(fields) == 1 else f"fields {fields[0]}-{fields[-1]}"
        what = f"has values in {len(fields)} field(s) beyond the {width} of the header ({where})"
    else:
        what = f"has {count} fields, the header {width}, and values that do not fit their columns"
    return Problem(table, row, None, None, ERROR, "extra_fields",
                   f"row {row} {what}: a delimiter inside an unquoted value (such as 'Surname, "
                   "Given') shifted the row. Its values are not shown and it was rejected; quote "
                   "the value or remove the delimiter.")


def settle_overlong(
    problems: list[Problem], overlong: Mapping[str, Mapping[int, int]], widths: Mapping[str, int]
) -> tuple[list[Problem], dict[str, set[int]]]:
    """Decide each row that only has extra empty fields: stray delimiter, or shifted.

    Parameters
    ----------
    problems : list of Problem
        Everything found so far.
    overlong : Mapping[str, Mapping[int, int]]
        Per table, rows with more fields than the header, the extra ones empty, and their
        number of fields.
    widths : Mapping[str, int]
        Per table, the header's number of fields.

    Returns
    -------
    problems : list of Problem
        With the findings of shifted rows replaced by one ``extra_fields`` error each, and a
        warning for each row read as the header says.
    shifted : dict of str to set of int
        Per table, the rows taken as shifted (their cells are to be withheld).
    """
    shifted = {table: {p.row for p in problems if p.table == table and p.severity == ERROR
                       and p.row in set(rows)} for table, rows in overlong.items()}
    kept = [p for p in problems if p.row not in shifted.get(p.table, ())]
    for table, rows in overlong.items():
        for row, count in rows.items():
            if row in shifted[table]:
                kept.append(extra_fields(table, row, widths[table], count=count))
            else:
                kept.append(Problem(
                    table, row, None, None, WARNING, "extra_empty_fields",
                    f"row {row} has {count} fields, the header {widths[table]}, the extra ones "
                    "empty (a stray delimiter at its end?); it was read as the header says"))
    return kept, shifted

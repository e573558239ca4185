"""Small-cell suppression of a block of counts: primary and complementary, checked by linear algebra.

A block is the counts of one characteristic: levels (rows) × columns (the Overall column, when
shown, and one column per group). Its margins are known to a reader: each column's total (the
group's number of non-missing values, which the percentages and the ``n`` row give away) and,
when the Overall column is shown, each row's total. Counts from 1 to ``min_cell − 1`` are
suppressed (primary); a suppressed count that the margins and the shown counts still determine
(alone in its row or column, or by any combination of sums and differences) forces the next
smallest count there to be suppressed too (complementary), until none is determined.
"""

from __future__ import annotations

import numpy as np

SHOWN, PRIMARY, COMPLEMENTARY, HIDDEN, KNOWN = 0, 1, 2, 3, 4


def block_equations(shape: tuple[int, int], overall: int | None, column_totals: bool = True) -> np.ndarray:
    """Return the linear equations whose sums a reader knows: one row per equation.

    Parameters
    ----------
    shape : (int, int)
        Levels × columns of the block.
    overall : int or None
        The Overall column's index (its cells are the sums of the other columns' cells in the
        same row), or None when it is not shown.
    column_totals : bool
        Each column's total is known (False for the ``n`` row, which has no total below it).

    Returns
    -------
    numpy.ndarray
        (equations, cells) coefficients over the cells in row-major order.

    Examples
    --------
    >>> block_equations((1, 3), overall=0, column_totals=False).tolist()   # n = n1 + n2
    [[1.0, -1.0, -1.0]]
    """
    rows, cols = shape
    equations = []
    if column_totals:
        for c in range(cols):
            equation = np.zeros(shape)
            equation[:, c] = 1.0
            equations.append(equation.ravel())
    if overall is not None:
        for r in range(rows):
            equation = np.zeros(shape)
            equation[r, :] = -1.0
            equation[r, overall] = 1.0
            equations.append(equation.ravel())
    return np.array(equations).reshape(len(equations), rows * cols)


def determined(equations: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Return which unknown cells the equations determine (a unit vector in their row space).

    A cell is determined when no change of the unknown cells that keeps every equation's sum
    changes it: its entry is zero in every null-space vector of the equations restricted to
    the unknown cells.

    Examples
    --------
    >>> eq = block_equations((2, 2), overall=None)        # column totals only
    >>> determined(eq, np.array([True, False, False, False])).tolist()   # alone in its column
    [True, False, False, False]
    >>> determined(eq, np.array([True, False, True, False])).tolist()
    [False, False, False, False]
    """
    out = np.zeros(unknown.shape, bool)
    where = np.flatnonzero(unknown)
    if len(where) == 0:
        return out
    a = equations[:, where]
    if not a.any():
        return out
    _, sv, vt = np.linalg.svd(a)
    rank = int(np.sum(sv > 1e-9 * max(sv[0], 1.0)))
    null = vt[rank:].T  # (unknowns, nullity)
    out[where] = np.linalg.norm(null, axis=1) < 1e-9 if null.size else True
    return out


def _complement(counts: np.ndarray, status: np.ndarray, cell: int, equations: np.ndarray) -> int | None:
    """Return the shown cell to suppress with ``cell``: smallest positive count first, zero last.

    Where ``cell`` is the only unknown of an equation (alone in its row or column), the
    candidates are that equation's cells; otherwise every equation's through ``cell``.
    """
    flat_status = status.ravel()
    unknown = ~np.isin(flat_status, (SHOWN, KNOWN))
    through = equations[equations[:, cell] != 0]
    alone = through[(through[:, unknown] != 0).sum(axis=1) == 1]
    lines = alone if len(alone) else through
    candidates = np.flatnonzero((lines != 0).any(axis=0) & (flat_status == SHOWN))
    if len(candidates) == 0:
        return None
    flat = counts.ravel()[candidates]
    order = np.lexsort((candidates, flat, flat == 0))  # positive before zero, then smallest, then first
    return int(candidates[order[0]])


def suppress(counts: np.ndarray, min_cell: int, overall: int | None = None, hidden: np.ndarray | None = None,
             column_totals: bool = True, known: np.ndarray | None = None) -> np.ndarray:
    """Primary and complementary suppression of a block of counts.

    Parameters
    ----------
    counts : ndarray of int (levels, columns)
    min_cell : int
        Counts from 1 to ``min_cell − 1`` are suppressed (0 is shown).
    overall : int, optional
        Index of the Overall column (a margin: its cells are the row sums).
    hidden : ndarray of bool, optional
        Cells never shown (e.g. the "no" row of a yes/no characteristic): unknown to a reader,
        never suppressed.
    column_totals : bool
        Each column's total is known to a reader.
    known : ndarray of bool, optional
        Cells a reader knows whatever is shown here (e.g. a total printed in the notes):
        never suppressed.

    Returns
    -------
    numpy.ndarray of int
        Per cell ``SHOWN`` (0), ``PRIMARY`` (1), ``COMPLEMENTARY`` (2), ``HIDDEN`` (3) or
        ``KNOWN`` (4). No
        suppressed cell is determined by the known margins and the shown cells, unless even
        suppressing every shown cell of its equations would not hide it (a characteristic
        with a single level, whose count is its column's total).

    Examples
    --------
    >>> counts = np.array([[12, 9, 3], [30, 20, 10]])     # Overall, group A, group B
    >>> suppress(counts, 5, overall=0).tolist()            # 3 alone in its row and its column
    [[0, 2, 1], [0, 2, 2]]
    """
    counts = np.asarray(counts)
    hidden = np.zeros(counts.shape, bool) if hidden is None else np.asarray(hidden, bool)
    small = (counts > 0) & (counts < min_cell)
    if known is not None:
        small &= ~np.asarray(known, bool).reshape(counts.shape)
    status = np.where(hidden, HIDDEN, np.where(small, PRIMARY, SHOWN))
    if known is not None:
        status = np.where(np.asarray(known, bool).reshape(counts.shape), KNOWN, status)
    equations = block_equations(counts.shape, overall, column_totals)
    if len(equations) == 0:
        return status
    hopeless: set[int] = set()
    while True:
        unknown = ~np.isin(status.ravel(), (SHOWN, KNOWN))
        found = determined(equations, unknown)
        open_cells = [i for i in np.flatnonzero(found & np.isin(status.ravel(), (PRIMARY, COMPLEMENTARY)))
                      if i not in hopeless]
        if not open_cells:
            return status
        alone = ((equations[:, unknown] != 0).sum(axis=1) == 1)[:, None] & (equations != 0)
        cell = min(open_cells, key=lambda i: (not alone[:, i].any(), i))  # alone in a row or column first
        partner = _complement(counts, status, cell, equations)
        if partner is None:
            hopeless.add(cell)
        else:
            status.ravel()[partner] = COMPLEMENTARY

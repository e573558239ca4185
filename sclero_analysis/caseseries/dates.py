"""Read one date cell, and keep dates inside the window a scleromyxedema record can hold.

Dates are ISO 8601 (``2020-03-04``); day-first or month-first dates (``04/03/2020``) are read
only as the caller says (``dayfirst=``). Without that, a date that reads two ways is an error
naming the cell, and one that reads only one way is accepted with a warning. Excel serial
numbers (``43894``) are converted with a warning, in the workbook's date system (1900, or 1904
for workbooks made on old Macs).

The plausible window, and why:

* **before 1950** is an error (``implausible_date``): scleromyxedema was first described in
  the 1950s and every date of the data contract (diagnosis, therapy, relapse, follow-up) is a
  clinical observation since then, so an earlier date is a typing error or a placeholder;
* **placeholders** such as ``1900-01-01`` (Excel's day 1) or ``9999-12-31`` ("no end") are
  errors (``sentinel_date``) that say so: leave the cell empty when a date is unknown;
  ``1970-01-01`` (the Unix epoch) is a warning, being a possible but unlikely real date;
* **after today** is an error (``future_date``): a diagnosis, a response, a relapse, a death
  or a last follow-up cannot lie in the future. The end of a therapy line is the exception (a
  warning): a planned end date is common, and the analysis never uses it (a line's window ends
  at the next line or the last follow-up).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import numpy as np

from sclero_analysis.caseseries.cells import Cell
from sclero_analysis.caseseries.problems import ERROR, WARNING

#: Day 0 of Excel's default (1900) date system, and of the 1904 system of old Mac workbooks.
EXCEL_EPOCH = datetime(1899, 12, 30)
EXCEL_EPOCH_1904 = datetime(1904, 1, 1)
#: Earliest plausible date of the data contract (see the module notes).
EARLIEST = date(1950, 1, 1)
#: Columns whose dates may lie in the future with only a warning (planned ends).
FUTURE_ALLOWED = frozenset({"end_date"})
_SENTINELS = frozenset({
    date(1899, 12, 30), date(1899, 12, 31), date(1900, 1, 1),
    date(1901, 1, 1), date(1800, 1, 1), date(1, 1, 1), date(2099, 12, 31), date(2100, 1, 1),
    date(2999, 12, 31), date(3000, 1, 1), date(9999, 1, 1), date(9999, 12, 31),
})
_EPOCH_PLACEHOLDER = date(1970, 1, 1)
_EXCEL_SERIALS = (10_000, 80_000)  # 1927 .. 2119 (1900 system): numbers that can be dates
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})"
                  r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_YMD = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_PARTIAL = re.compile(r"^(?:(?:19|20)\d{2}(?:[-/.](?:0?[1-9]|1[0-2]))?|(?:0?[1-9]|1[0-2])[-/.](?:19|20)\d{2}"
                      r"|[A-Za-z]{3,9}\.? (?:19|20)\d{2})$")
_TEXT_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%d-%b-%Y", "%d %b. %Y")


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _from_excel_serial(number: float, epoch: datetime) -> Cell:
    if not _EXCEL_SERIALS[0] <= number <= _EXCEL_SERIALS[1]:  # a fraction is a time of day
        return Cell(None, ERROR, "invalid_date", f"{number!r} is not a date")
    converted = (epoch + timedelta(days=int(number))).date()
    system = "1904" if epoch == EXCEL_EPOCH_1904 else "1900"
    return Cell(converted, WARNING, "excel_serial_date",
                f"Excel serial number {number:g} read as {converted.isoformat()} (the "
                f"workbook's {system} date system); format the column as dates in the export")


def _day_month(text: str, match: re.Match, dayfirst: bool | None) -> Cell:
    first, second, year_text = int(match[1]), int(match[2]), match[3]
    if len(year_text) == 2:
        return Cell(None, ERROR, "two_digit_year",
                    f"'{text}' has a two-digit year; write the year in full (ISO 8601)")
    year = int(year_text)
    as_dmy, as_mdy = _make_date(year, second, first), _make_date(year, first, second)
    if dayfirst is not None:
        value = as_dmy if dayfirst else as_mdy
        order = "day-first" if dayfirst else "month-first"
        if value is None:
            return Cell(None, ERROR, "invalid_date", f"'{text}' is not a valid {order} date")
        return Cell(value)
    if as_dmy is not None and as_mdy is not None and as_dmy != as_mdy:
        return Cell(None, ERROR, "ambiguous_date",
                    f"'{text}' reads as {as_dmy.isoformat()} (day-first) or "
                    f"{as_mdy.isoformat()} (month-first); use ISO dates or pass dayfirst= "
                    "(--dayfirst/--monthfirst on the command line)")
    value = as_dmy or as_mdy
    if value is None:
        return Cell(None, ERROR, "invalid_date", f"'{text}' is not a valid date")
    return Cell(value, WARNING, "non_iso_date",
                f"'{text}' read as {value.isoformat()}, the only valid reading; prefer ISO dates")


def _date_from_text(text: str, dayfirst: bool | None, epoch: datetime) -> Cell:
    for pattern in (_ISO, _YMD):
        if match := pattern.match(text):
            value = _make_date(int(match[1]), int(match[2]), int(match[3]))
            if value is None:
                return Cell(None, ERROR, "invalid_date", f"'{text}' is not a valid date")
            return Cell(value)
    if match := _DMY.match(text):
        return _day_month(text, match, dayfirst)
    if _PARTIAL.match(text):
        return Cell(None, ERROR, "partial_date",
                    f"'{text}' is not a whole date (no day, or no month): give the full date, "
                    "the 1st or 15th of the month when only the month is known, and say so")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _from_excel_serial(float(text), epoch)
    for pattern in _TEXT_FORMATS:
        try:
            return Cell(datetime.strptime(text.replace(",", ""), pattern).date())
        except ValueError:
            continue
    return Cell(None, ERROR, "invalid_date", f"'{text}' is not a date (use YYYY-MM-DD)")


def _read(value: object, dayfirst: bool | None, epoch: datetime) -> Cell:
    if isinstance(value, datetime):
        return Cell(value.date())
    if isinstance(value, date):
        return Cell(value)
    if isinstance(value, bool | np.bool_):
        return Cell(None, ERROR, "invalid_date", f"{value!r} is not a date")
    if isinstance(value, int | float | np.integer | np.floating):
        return _from_excel_serial(float(value), epoch)
    return _date_from_text(str(value).strip(), dayfirst, epoch)


def check_window(parsed: Cell, column: str, today: date) -> Cell:
    """Apply the plausible window (see the module notes) to a parsed date.

    Parameters
    ----------
    parsed : Cell
        A cell read by :func:`parse_date` before the window.
    column : str
        The contract column (``end_date`` may lie in the future with a warning).
    today : datetime.date
        The latest plausible date.

    Returns
    -------
    Cell
        ``parsed`` itself, or an error (value None) or warning naming the rule.

    Examples
    --------
    >>> check_window(Cell(date(9999, 12, 31)), "death_date", date(2024, 1, 1)).rule
    'sentinel_date'
    """
    value = parsed.value
    if value is None:
        return parsed
    shown = value.isoformat()
    if value in _SENTINELS:
        return Cell(None, ERROR, "sentinel_date",
                    f"{shown} is a placeholder, not a date (spreadsheets use it for 'unknown' "
                    "or 'none'); leave the cell empty when the date is unknown")
    if value < EARLIEST:
        return Cell(None, ERROR, "implausible_date",
                    f"{shown} is before {EARLIEST.year}: no scleromyxedema record is that old "
                    "(a typing error or a placeholder?)")
    if value > today:
        if column in FUTURE_ALLOWED:
            return Cell(value, WARNING, "future_date",
                        f"{shown} is after today ({today.isoformat()}): a planned end? The line "
                        "counts as ongoing until the next line or the last follow-up")
        return Cell(None, ERROR, "future_date",
                    f"{shown} is after today ({today.isoformat()}): a {column.replace('_', ' ')}"
                    " cannot lie in the future (a typing error or a placeholder?)")
    if value == _EPOCH_PLACEHOLDER:
        return Cell(value, WARNING, "possible_sentinel_date",
                    f"{shown} is often a placeholder (the Unix epoch); check it is a real date")
    return parsed


def parse_date(
    value: object,
    dayfirst: bool | None = None,
    *,
    epoch: datetime = EXCEL_EPOCH,
    column: str = "date",
    today: date | None = None,
) -> Cell:
    """Read one date cell (text, Excel/Parquet datetime or Excel serial number).

    Parameters
    ----------
    value : object
        The cell as read.
    dayfirst : bool, optional
        How to read ``dd/mm/yyyy``-like dates; None accepts only unambiguous ones.
    epoch : datetime.datetime
        Day 0 of the workbook's date system, for serial numbers (:data:`EXCEL_EPOCH` or
        :data:`EXCEL_EPOCH_1904`).
    column : str
        The contract column, for the window's rules.
    today : datetime.date, optional
        The latest plausible date (default: today).

    Returns
    -------
    Cell
        The date (``datetime.date``) or None, with a finding when there is one.

    Examples
    --------
    >>> parse_date("2020-03-04").value
    datetime.date(2020, 3, 4)
    >>> parse_date("1900-01-01").rule
    'sentinel_date'
    >>> parse_date(40982, epoch=EXCEL_EPOCH_1904).value
    datetime.date(2016, 3, 15)
    """
    return check_window(_read(value, dayfirst, epoch), column, today or date.today())

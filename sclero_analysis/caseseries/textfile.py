"""Read a delimited text file (CSV, TSV, Excel's "Unicode text") into a :class:`.Grid`.

Encodings: UTF-8 (with or without byte-order mark), UTF-16 and UTF-32 (with a byte-order mark,
or UTF-16 without one, recognised by its zero bytes), and Windows-1252/Latin-1 for what is not
UTF-8, line by line (a file mixing both is read and reported). The delimiter (``,``, ``;``,
tab, ``|``) is guessed from the first lines. Cells are split by pandas' compiled reader: rows
are numbered as a spreadsheet shows them (a quoted cell spanning several lines is one row).

What cannot be read is refused with a :class:`~sclero_analysis.exceptions.CaseSeriesError`
that names the cause and where it is: a binary file or a workbook under a text name, a NUL byte
(byte, line and field), an undecodable UTF-16 file, and an unbalanced quote (the row where it
opens), which would otherwise swallow the rest of the file into one cell.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from sclero_analysis.caseseries.grid import Grid
from sclero_analysis.caseseries.problems import WARNING, Problem
from sclero_analysis.exceptions import CaseSeriesError

DELIMITERS = (",", ";", "\t", "|")
#: Bytes read to guess the delimiter and count the fields of the first rows.
HEAD_BYTES = 1 << 18
_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (an .xlsx or .ods workbook under a text name?); give the "
                    "workbook itself, or save each sheet as CSV"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook; save it as .xlsx or CSV"),
    (b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"{\\rtf", "a Rich Text document; save the table as CSV"),
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_BLANK = re.compile(rb"(?:\s|\xef\xbb\xbf)*")
_SEP_LINE = re.compile(r"^sep=([,;\t|])\r?(?:\n|$)")
_FIELDS = re.compile(r"Expected (\d+) fields in line \d+, saw (\d+)")
_RUNAWAY = re.compile(r"EOF inside string starting at row (\d+)")


def _refuse(path: Path, table: str, rule: str, message: str) -> CaseSeriesError:
    return CaseSeriesError(f"{path}: {message}", file=str(path), table=table, rule=rule)


def read_text_grid(path: Path, table: str) -> Grid:
    """Read a delimited text file into a grid of text cells, or refuse it naming why.

    Parameters
    ----------
    path : Path
        The file.
    table : str
        The table it holds (for messages).

    Returns
    -------
    Grid
        Text cells (empty string for an empty or absent field), the encoding finding if any.

    Raises
    ------
    CaseSeriesError
        ``empty_file``, ``not_a_table`` (binary), ``nul_byte``, ``encoding``,
        ``unbalanced_quote``.
    """
    data = path.read_bytes()
    if _BLANK.fullmatch(data):  # (not data.strip(): that would copy a large file)
        raise _refuse(path, table, "empty_file", "the file is empty")
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise _refuse(path, table, "not_a_table", f"this is {what}, not a text table")
    wide = _wide_encoding(data)
    if wide is None:
        _refuse_binary(data, path, table)
        _refuse_nul(data, path, table)
        text, problems = _as_utf8(data, path, table)
    else:
        text, problems = _decode_wide(data, wide, path, table).encode("utf-8"), []
        _refuse_nul(text, path, table, wide=True)
    utf8 = data if text is None else text
    if _BLANK.fullmatch(utf8):
        raise _refuse(path, table, "empty_file", "the file holds no text")
    head = utf8[:HEAD_BYTES].decode("utf-8", errors="ignore").removeprefix("\ufeff")
    directive = _SEP_LINE.match(head)  # Excel's "sep=;" first line names the delimiter
    delimiter = directive[1] if directive else guess_delimiter(head)
    skip = 1 if directive else 0  # and spreadsheets hide it: rows are numbered from the next
    lines = max(utf8.count(b"\n"), utf8.count(b"\r")) + (not utf8.endswith((b"\n", b"\r")))
    quoted = b'"' in utf8
    del data, utf8  # a UTF-8 file is read by pandas from disk: its bytes need not stay in memory
    cells, uniform = _parse(path if text is None else io.BytesIO(text), delimiter, path, table,
                            skip)
    if quoted and lines > len(cells):
        _refuse_swallowed_rows(cells, head, delimiter, path, table)
    fields = None  # every row has at most the first row's fields: those of the header, as a rule
    if not uniform or not len(cells) or (cells.iloc[0] != "").sum() < 2:  # longer rows, a title
        fields = field_counts(path.read_bytes() if text is None else text, delimiter)
        fields = fields[skip:] if fields is not None else None
        if fields is None or len(fields) != len(cells):  # a quote inside an unquoted value?
            filled = cells.to_numpy(dtype=object) != ""  # count up to the last filled field
            fields = (filled.shape[1] - np.argmax(filled[:, ::-1], axis=1)) * filled.any(axis=1)
    return Grid(str(path), cells, fields=fields, problems=problems)


# --- encodings ---------------------------------------------------------------------------------
def _wide_encoding(data: bytes) -> str | None:
    """UTF-16/32 codec of the file (by byte-order mark or zero-byte pattern), or None."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return None if codec == "utf-8-sig" else codec
    sample = data[:4096]
    if len(sample) >= 4 and b"\x00" in sample:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be"
    return None


def _decode_wide(data: bytes, codec: str, path: Path, table: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        raise _refuse(path, table, "encoding",
                      f"the file looks like {codec.upper()} (Excel's 'Unicode text') but byte "
                      f"{error.start} cannot be decoded ({error.reason}); save it again as CSV "
                      "UTF-8") from error


def _as_utf8(data: bytes, path: Path, table: str) -> tuple[bytes | None, list[Problem]]:
    """Return None if the file is UTF-8 already, else its text re-encoded as UTF-8.

    Lines that are not UTF-8 are read as Windows-1252 (or Latin-1), and reported.
    """
    if data.isascii():
        return None, []
    try:
        data.decode("utf-8")  # a byte-order mark decodes too; pandas skips it
        return None, []
    except UnicodeDecodeError:
        pass
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    lines, latin, utf8 = [], [], False
    for number, line in enumerate(data.splitlines(keepends=True), 1):
        try:
            lines.append(line.decode("utf-8"))
            utf8 = utf8 or not line.isascii()
        except UnicodeDecodeError:
            latin.append(number)
            try:
                lines.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                lines.append(line.decode("latin-1"))
    shown = ", ".join(map(str, latin[:5])) + (f" and {len(latin) - 5} more" if len(latin) > 5 else "")
    if utf8:
        note = Problem(table, None, None, None, WARNING, "mixed_encoding",
                       f"{path.name} mixes encodings: line(s) {shown} are not UTF-8 and were read "
                       "as Windows-1252 (Latin-1), the rest as UTF-8. Check accented text there.")
    else:
        note = Problem(table, None, None, None, WARNING, "encoding_latin1",
                       f"{path.name} is not UTF-8; read as Windows-1252 (Latin-1), first on line "
                       f"{latin[0]}. Check accented text (site names).")
    return "".join(lines).encode("utf-8"), [note]


_CONTROL = bytes(c for c in range(32) if c not in b"\t\n\r\f") + b"\x7f"


def _refuse_binary(data: bytes, path: Path, table: str) -> None:
    """Refuse a file whose first bytes are mostly not text (control characters)."""
    head = data[:4096]
    control = len(head) - len(head.translate(None, _CONTROL))
    if control > 0.05 * len(head):
        raise _refuse(path, table, "not_a_table",
                      f"{control} of its first {len(head)} bytes are control characters: a binary "
                      "file, not a text table")


def _refuse_nul(data: bytes, path: Path, table: str, *, wide: bool = False) -> None:
    """Refuse a file holding a NUL byte, naming where it is."""
    at = data.find(b"\x00")
    if at < 0:
        return
    count = data.count(b"\x00")
    if count > 0.1 * len(data):
        raise _refuse(path, table, "not_a_table",
                      f"{count:,} of its {len(data):,} bytes are NUL (zero): a binary file, not "
                      "a text table")
    line_start = data.rfind(b"\n", 0, at) + 1
    line = data.count(b"\n", 0, at) + 1
    head = data[line_start:at].decode("utf-8", errors="replace")
    delimiter = guess_delimiter(data[:HEAD_BYTES].replace(b"\x00", b"").decode("utf-8", "replace"))
    where = f"character {at}" if wide else f"byte {at}"
    raise _refuse(path, table, "nul_byte",
                  f"a NUL byte (zero, \\x00) at {where} (line {line}, field "
                  f"{head.count(delimiter) + 1}): a text table never holds one, so the file was "
                  f"damaged or padded ({count} NUL byte(s) in all). Remove them or export the "
                  "table again")


# --- delimiter and fields ----------------------------------------------------------------------
def guess_delimiter(head: str) -> str:
    r"""Return the delimiter that splits the first lines into the most fields.

    Examples
    --------
    >>> guess_delimiter("a;b;c\n1;2,5;3\n")
    ';'
    """
    sample = head.splitlines()[:25]

    def width(delimiter: str) -> int:
        try:
            counts = [len(r) for r in csv.reader(sample, delimiter=delimiter) if len(r) > 1]
        except csv.Error:
            return 1
        return max(counts, default=1)

    return max(DELIMITERS, key=width)


def field_counts(data: bytes, delimiter: str) -> np.ndarray | None:
    r"""Return the number of fields of each row of UTF-8 text (trailing empty fields count).

    Rows end at line breaks outside quotes; delimiters inside quotes do not count. Returns
    None for a file whose rows end in carriage returns and line feeds alike, or are too many.

    Examples
    --------
    >>> field_counts(b'a,b,c\n1,"2,5",3,\n\n4\n', ",").tolist()
    [3, 4, 1, 1]
    """
    text = np.frombuffer(data, dtype=np.uint8)
    newline = ord("\n") if b"\n" in data else ord("\r")
    ends = np.flatnonzero(text == newline)
    splits = np.flatnonzero(text == ord(delimiter))
    quotes = np.flatnonzero(text == ord('"'))
    if len(quotes):  # an odd number of quotes before a position: inside a quoted value
        ends = ends[np.searchsorted(quotes, ends) % 2 == 0]
        splits = splits[np.searchsorted(quotes, splits) % 2 == 0]
    rows = len(ends) + (len(data) > 0 and data[-1] != newline)
    if rows >= np.iinfo(np.int32).max:
        return None
    return (np.bincount(np.searchsorted(ends, splits), minlength=rows)[:rows] + 1).astype(np.int32)


def _parse(source: Path | io.BytesIO, delimiter: str, path: Path, table: str, skip: int = 0
           ) -> tuple[pd.DataFrame, bool]:
    """Split UTF-8 text into cells; rows longer than the first get enough columns.

    Also tells whether every row had at most the first row's fields.
    """
    names = None
    while True:
        if isinstance(source, io.BytesIO):
            source.seek(0)
        try:
            cells = pd.read_csv(
                source, sep=delimiter, header=None, names=names, dtype=object, na_filter=False,
                skip_blank_lines=False, index_col=False, engine="c", encoding="utf-8", skiprows=skip,
                quotechar='"', doublequote=True,
            )
        except pd.errors.EmptyDataError as error:
            raise _refuse(path, table, "empty_file", "the file holds no rows") from error
        except pd.errors.ParserError as error:
            if fields := _FIELDS.search(str(error)):
                names = list(range(max(int(fields[1]), int(fields[2]))))
                continue
            if runaway := _RUNAWAY.search(str(error)):
                raise _unbalanced(path, table, int(runaway[1]) + 1, source, delimiter) from error
            raise _refuse(path, table, "not_a_table", f"not a readable text table ({error})") from error
        cells.index = pd.RangeIndex(1, len(cells) + 1, name="row")
        cells.columns = range(cells.shape[1])
        return cells, names is None


def _unbalanced(path: Path, table: str, row: int, source: Path | io.BytesIO, delimiter: str
                ) -> CaseSeriesError:
    data = source.getvalue() if isinstance(source, io.BytesIO) else source.read_bytes()
    line = _line_of_row(data, delimiter, row)
    where = f"row {row}" + (f" (line {line} of the file)" if line else "")
    return _refuse(path, table, "unbalanced_quote",
                   f'a quote (") opens a value on {where} and is never closed, so the rest of '
                   "the file would be read as one cell. Remove the stray quote or close it (a "
                   'quote inside a quoted value is written twice: "")')


def _line_of_row(data: bytes, delimiter: str, row: int) -> int | None:
    """Physical line where spreadsheet row ``row`` starts, if the csv module can tell."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for _ in range(row - 1):
            next(reader)
    except (csv.Error, StopIteration):
        return None
    return reader.line_num + 1


def _refuse_swallowed_rows(cells: pd.DataFrame, head: str, delimiter: str, path: Path,
                           table: str) -> None:
    """Refuse a file where a stray quote made several rows into one cell.

    A quoted cell may span lines; but when one of its lines holds as many delimiters as a row
    of the file, the quote was a stray one and the rows in between were swallowed.
    """
    counts = [line.count(delimiter) for line in head.splitlines()[:25] if line.strip()]
    threshold = max(2, Counter(counts).most_common(1)[0][0] - 1) if counts else 2
    for position in cells.columns:
        column = cells[position]
        spanning = column[column.str.contains("\n|\r", regex=True, na=False)]
        for row, value in spanning.items():
            if any(part.count(delimiter) >= threshold for part in value.splitlines()[1:]):
                raise _refuse(
                    path, table, "unbalanced_quote",
                    f'a quote (") opens a value on row {row} and closes only '
                    f"{len(value.splitlines()) - 1} line(s) later: the rows in between were read "
                    "as one cell. Remove the stray quote or close it where the value ends")

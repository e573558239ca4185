"""Unicode clean-up of identifiers and free text, so that equal-looking values are equal.

Spreadsheets and word processors slip characters into cells that look like nothing or like
something else: a zero-width space after a pasted id, a non-breaking space or hyphen
(``P‑001``), a decomposed accent written by macOS (``Zu\u0308rich``), a Cyrillic letter that
looks Latin. Identifiers and text are brought to Unicode NFC, invisible characters are removed,
non-breaking spaces become spaces and dash look-alikes become ``-``; every change is reported
by name, so the report says what was changed and why two ids did not match. Free text keeps
its dashes.
"""

from __future__ import annotations

import unicodedata

#: Invisible characters removed from ids and text.
INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2066\u2067\u2068\u2069"
)
#: Space look-alikes read as a space.
SPACES = frozenset("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                   "\u202f\u205f\u3000")
#: Dash look-alikes read as ``-``.
DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_TRANSLATION = str.maketrans(
    {**dict.fromkeys(INVISIBLE, None), **dict.fromkeys(SPACES, " "), **dict.fromkeys(DASHES, "-")}
)
_TEXT_TRANSLATION = str.maketrans({**dict.fromkeys(INVISIBLE, None), **dict.fromkeys(SPACES, " ")})
#: Latin letters that Cyrillic and Greek capitals and small letters look like.
_LOOK_ALIKES = str.maketrans({
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o",
})


def character_name(char: str) -> str:
    """Name a character for a message: ``zero width space (U+200B)``.

    Examples
    --------
    >>> character_name("\u2011")
    'non-breaking hyphen (U+2011)'
    """
    return f"{unicodedata.name(char, 'unnamed character').lower()} (U+{ord(char):04X})"


def visible(text: str) -> str:
    """Show ``text`` with its invisible and look-alike characters spelled out as ``<U+200B>``.

    Examples
    --------
    >>> visible("P001\u200b")
    'P001<U+200B>'
    """
    return "".join(c if _plain(c) else f"<U+{ord(c):04X}>" for c in text)


def _plain(char: str) -> bool:
    """Tell whether a character shows as itself (accented letters do, look-alikes do not)."""
    if char.isascii():
        return char.isprintable()
    if char in INVISIBLE or char in SPACES or char in DASHES or not char.isprintable():
        return False
    return char.translate(_LOOK_ALIKES) == char


def normalise(text: str, dashes: bool = True) -> tuple[str, tuple[str, ...]]:
    """Bring ``text`` to NFC without invisible characters; name what was changed.

    Parameters
    ----------
    text : str
        A cell's text (surrounding whitespace is kept: callers strip it).
    dashes : bool
        Also read dash look-alikes as ``-`` (for identifiers; free text keeps its dashes).

    Returns
    -------
    clean : str
        The normalised text.
    changes : tuple of str
        What was changed, in words (empty when nothing was).

    Examples
    --------
    >>> normalise("P\u2011001\u200b")
    ('P-001', ('non-breaking hyphen (U+2011) read as -', 'zero width space (U+200B) removed'))
    >>> normalise("P001")
    ('P001', ())
    """
    if text.isascii():
        return text, ()
    changes = []
    composed = unicodedata.normalize("NFC", text)
    if composed != text:
        changes.append("decomposed accents (Unicode NFD) composed (NFC)")
    for char in dict.fromkeys(composed):
        if char in INVISIBLE:
            changes.append(f"{character_name(char)} removed")
        elif char in SPACES:
            changes.append(f"{character_name(char)} read as a space")
        elif char in DASHES and dashes:
            changes.append(f"{character_name(char)} read as -")
    return composed.translate(_TRANSLATION if dashes else _TEXT_TRANSLATION), tuple(changes)


def look_alike(text: str) -> str:
    """Return ``text`` with Cyrillic and Greek look-alike letters replaced by Latin ones.

    Examples
    --------
    >>> look_alike("Р001")  # a Cyrillic Er
    'P001'
    """
    return text.translate(_LOOK_ALIKES)


def foreign_letters(text: str) -> tuple[str, ...]:
    """Name the characters of ``text`` that look like Latin letters but are not.

    Examples
    --------
    >>> foreign_letters("Р001")
    ('cyrillic capital letter er (U+0420)',)
    """
    return tuple(character_name(c) for c in dict.fromkeys(text) if c.translate(_LOOK_ALIKES) != c)

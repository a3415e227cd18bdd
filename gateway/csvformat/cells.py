"""One cell's text: numbers and dates as a layout spells them, and the leading apostrophe that
keeps a spreadsheet from taking a text cell for a formula (OWASP's advice on CSV injection)."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may take as the start of a formula: a text cell starting so is written
behind an apostrophe."""

_NUMBERS = {
    ".": re.compile(r"[0-9]+(?:\.[0-9]+)?"),
    ",": re.compile(r"[0-9]+(?:,[0-9]+)?"),
}


def _formula_like(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_STARTS)


def escape(text: str) -> str:
    """`text` as a cell we write: behind one more apostrophe when, apostrophes aside, it could
    be taken for a formula (so that `unescape` gives back exactly `text`)."""
    return "'" + text if _formula_like(text) else text


def unescape(cell: str) -> str:
    """A cell as read: the apostrophe `escape` puts before a formula-like text taken off (the
    text stays data: nothing of a cell is ever evaluated)."""
    return cell[1:] if cell.startswith("'") and _formula_like(cell) else cell


def parse_decimal(cell: str, separator: str) -> Decimal:
    """The number in `cell` (digits, with `separator` before any decimals; no sign, no thousands
    separator), or ValueError saying what a number looks like."""
    if not _NUMBERS[separator].fullmatch(cell):
        raise ValueError(f"not a number (digits, with {separator!r} before any decimals)")
    return Decimal(cell.replace(",", "."))


def format_decimal(value: Decimal, separator: str) -> str:
    text = format(value, "f")
    return text.replace(".", separator) if separator != "." else text


def parse_date(cell: str, date_format: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(cell, date_format).date()
    except ValueError:
        raise ValueError(f"not a date as {date_format!r}") from None


def format_date(value: datetime.date, date_format: str) -> str:
    return value.strftime(date_format)

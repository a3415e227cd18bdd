"""A submitted form read into the order desk's arguments.

Each reader takes the form's fields (`Fields`: name -> every value given) and returns plain
values or raises `FormRefused` naming the field, so the page can show the message beside it. The
rules of the order (how much may be fulfilled, cancelled, refunded...) are not checked here:
the desk's rules decide and say why; only what is not a value at all is refused here (a
quantity that is no number, a date that is no day, a tracking link that is no web address).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from gateway.domain.values import Address, LineQuantity, Party
from gateway.errors import FormRefused
from gateway.mapping.outbound import Decision, LineDecision

Fields = Mapping[str, Sequence[str]]
"""A form's fields: each name with every value sent under it."""

MAX_TEXT = 2000
"""The longest free text (a note, a reason) a form takes."""
_DAY_DIGITS = re.compile(r"\d{8}")


def text(fields: Fields, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    """A field's text, stripped; '' when absent."""
    values = fields.get(name) or [""]
    value = values[0].strip()
    if required and not value:
        raise FormRefused(name, f"{name.replace('_', ' ')} is required")
    if len(value) > limit:
        raise FormRefused(name, f"{name.replace('_', ' ')} is longer than {limit} characters")
    return value


def one_of(field: str, value: str, allowed: Sequence[str]) -> str | None:
    """A filter's value if it is one of `allowed`, None if empty; an unknown one is the user's
    mistake, said as such (as the command line makes it a usage error)."""
    if not value:
        return None
    if value not in allowed:
        raise FormRefused(field, f"{field} {value!r} is not one of {', '.join(allowed)}")
    return value


def page_number(value: str) -> int:
    """A page of a list, counted from 1."""
    if not value.isdigit() or int(value) < 1:
        raise FormRefused("page", f"page {value!r} is not a number from 1")
    return int(value)


def day(fields: Fields, name: str, *, required: bool = False) -> dt.date | None:
    """A date as a date input sends it (YYYY-MM-DD) or as X12 writes it (CCYYMMDD)."""
    value = text(fields, name, required=required, limit=10)
    if not value:
        return None
    try:
        if _DAY_DIGITS.fullmatch(value):
            return dt.datetime.strptime(value, "%Y%m%d").date()
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FormRefused(name, f"{value!r} is not a day (YYYY-MM-DD)") from None


def amount(fields: Fields, name: str, *, required: bool = False) -> Decimal | None:
    """A sum of money: a decimal number above 0 with at most two decimals."""
    value = text(fields, name, required=required, limit=20)
    if not value:
        return None
    number = _decimal(name, value)
    if number <= 0 or number != number.quantize(Decimal("0.01")):
        raise FormRefused(name, f"{value!r} is not an amount above 0 with at most two decimals")
    return number


def _decimal(name: str, value: str) -> Decimal:
    try:
        number = Decimal(value.replace(",", ""))
    except InvalidOperation:
        raise FormRefused(name, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise FormRefused(name, f"{value!r} is not a number")
    return number


def line_quantities(fields: Fields, prefix: str = "qty-") -> list[LineQuantity]:
    """The lines given a quantity: fields `qty-LINE` (the order page's table of lines), blank
    or 0 for a line left out."""
    chosen = []
    for name, values in fields.items():
        if not name.startswith(prefix):
            continue
        value = values[0].strip() if values else ""
        if not value:
            continue
        quantity = _decimal(name, value)
        if quantity < 0:
            raise FormRefused(name, f"{value!r} is below 0")
        if quantity:
            chosen.append(LineQuantity(name.removeprefix(prefix), quantity))
    return chosen


def tracking_numbers(fields: Fields, name: str = "tracking_numbers") -> list[str]:
    """Tracking numbers, one per line or separated by commas or spaces."""
    value = text(fields, name)
    return [number for number in re.split(r"[\s,;]+", value) if number]


def web_address(fields: Fields, name: str) -> str:
    """An http or https address, or ''. Anything else (javascript:, data:...) is refused, so a
    link drawn from it can only lead to a web page."""
    value = text(fields, name, limit=1000)
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise FormRefused(name, f"{value!r} is not a web address (http:// or https://)")
    return value


def party(fields: Fields, prefix: str, code: str) -> Party:
    """A party (ship-to, bill-to) from fields `PREFIX-name`, `-street`, `-city`, `-state`,
    `-postal_code`, `-country`."""
    name = text(fields, f"{prefix}-name", required=True, limit=60)
    streets = tuple(
        line.strip() for line in text(fields, f"{prefix}-street").splitlines() if line.strip()
    )
    address = Address(
        streets,
        text(fields, f"{prefix}-city", limit=30),
        text(fields, f"{prefix}-state", limit=2),
        text(fields, f"{prefix}-postal_code", limit=15),
        text(fields, f"{prefix}-country", limit=3) or "US",
    )
    return Party(code, name, address=address)


DECISION_WORDS = ("accept", "reject", "change", "backorder")
"""What the acknowledgement form offers for each line."""


def decision(fields: Fields) -> Decision:
    """The seller's decision from the acknowledgement form: `whole` accept / reject / lines;
    for lines, `answer-LINE` (one of DECISION_WORDS), `answer_qty-LINE` for a changed
    quantity, `answer_date-LINE` for a backordered line's date; lines left on accept are
    accepted as ordered."""
    ship_date = day(fields, "ship_date")
    whole = text(fields, "whole") or "accept"
    if whole == "reject":
        return Decision.reject_all()
    if whole == "accept":
        return Decision.accept_all(ship_date=ship_date)
    if whole != "lines":
        raise FormRefused("whole", f"{whole!r} is not accept, reject or lines")
    answers = []
    for name in fields:
        if not name.startswith("answer-"):
            continue
        line = name.removeprefix("answer-")
        word = text(fields, name)
        if word not in DECISION_WORDS:
            raise FormRefused(name, f"{word!r} is not one of {', '.join(DECISION_WORDS)}")
        if word == "accept":
            continue
        written = f"{line}={word}"
        if word == "change":
            quantity = text(fields, f"answer_qty-{line}", required=True, limit=20)
            written += f":{_decimal(f'answer_qty-{line}', quantity)}"
        when = day(fields, f"answer_date-{line}")
        if when is not None:
            written += f"@{when:%Y%m%d}"
        try:
            answers.append(LineDecision.parse(written))
        except ValueError as exc:
            raise FormRefused(name, str(exc)) from None
    if not answers:
        return Decision.accept_all(ship_date=ship_date)
    return Decision.with_changes(*answers, ship_date=ship_date)

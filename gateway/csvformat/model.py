"""Plain values of the CSV codec: the records a file is read into or written from, and the
problems of the rows that could not be read.

The ship-notice and cancellation rows are the same type for reading and for writing, so that
what the writer writes reads back equal.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one row (the file's line it ends on, counted from 1) could not be taken: `column`
    names the column (its header name, or 'column N'), `po_number` the order it refuses ("" when
    the row gives none)."""

    row: int
    column: str
    message: str
    po_number: str

    def __str__(self) -> str:
        order = f"order {self.po_number}, " if self.po_number else ""
        return f"{order}row {self.row}, {self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class ShipTo:
    name: str = ""
    street: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class CsvOrderLine:
    line_number: str
    vendor_part: str
    quantity: Decimal
    buyer_part: str = ""
    description: str = ""
    unit: str = ""
    unit_price: Decimal | None = None
    requested_ship_date: datetime.date | None = None


@dataclass(frozen=True, slots=True)
class CsvOrder:
    """One purchase order of an orders file: the fields repeated on each of its rows, then its
    lines in file order."""

    po_number: str
    order_date: datetime.date
    partner_reference: str = ""
    ship_to: ShipTo = ShipTo()
    lines: tuple[CsvOrderLine, ...] = ()


@dataclass(frozen=True, slots=True)
class OrdersRead:
    """What an orders file gave: the orders read whole, and the problems of the orders left out."""

    orders: list[CsvOrder] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ShipNoticeRow:
    """One order line shipped (a line shipped in two parcels is two rows)."""

    po_number: str
    line_number: str
    quantity: Decimal
    ship_date: datetime.date
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""


@dataclass(frozen=True, slots=True)
class ShipNoticesRead:
    notices: list[ShipNoticeRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CancellationRow:
    """A cancellation of one line (`line_number` "" cancels the whole order); `quantity` None
    cancels all that is left of the line."""

    po_number: str
    line_number: str = ""
    quantity: Decimal | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CancellationsRead:
    cancellations: list[CancellationRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AcknowledgementRow:
    """Our answer to one order line: `status` as the partner's layout spells it (accepted,
    rejected, changed...), with the quantity, price and ship date we confirm."""

    po_number: str
    line_number: str
    status: str
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    ship_date: datetime.date | None = None
    note: str = ""

"""Reading CSV files: bytes in, records out, laid out as the partner's `CsvLayout` says.

A file that cannot be read at all (bytes not in the layout's encoding, broken quoting, a header
row without a required column) is a `CsvError`. Otherwise every row is read; a row that cannot
be taken (an empty required cell, a quantity or a date that does not parse, an order field that
disagrees with the order's first row, a line given twice) is a `RowProblem`, and it refuses its
whole order: the order is left out, every problem of it listed, and the other orders kept.
A row without a PO number refuses no order; it is left out with its problem.

Cells are data and nothing else: one starting with `=`, `+`, `-` or `@` is kept as text, and a
formula where a number belongs is simply not a number. Empty lines are skipped. Rows are
numbered by the file's line they end on, counted from 1.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, TypeVar

from gateway.csvformat.cells import parse_date, parse_decimal, unescape
from gateway.csvformat.layout import ORDER_HEADER_FIELDS, REQUIRED, CsvLayout
from gateway.csvformat.model import (
    CancellationRow,
    CancellationsRead,
    CsvOrder,
    CsvOrderLine,
    OrdersRead,
    RowProblem,
    ShipNoticeRow,
    ShipNoticesRead,
    ShipTo,
)
from gateway.errors import CsvError, shown

T = TypeVar("T")


def read_orders(data: bytes, layout: CsvLayout) -> OrdersRead:
    """The orders of an orders file, one row per line, the order's fields on each row."""
    _expect(layout, "orders")
    group: _Groups[_OrderRows] = _Groups()
    for row in _rows(data, layout):
        po = row.required("po_number")
        order_date = row.date("order_date", required=True)
        quantity = row.decimal("quantity", required=True, positive=True)
        line_number = row.required("line_number")
        vendor_part = row.required("vendor_part")
        unit_price = row.decimal("unit_price", required=False, positive=False)
        requested_ship_date = row.date("requested_ship_date", required=False)
        if not po:
            group.problems.extend(row.problems)
            continue
        if po not in group.groups:
            group.groups[po] = _OrderRows(row.number, order_date, row.cells)
        found = group.groups[po]
        if found.first_row != row.number:
            for name in ORDER_HEADER_FIELDS:
                here = row.cells.get(name, "").strip()
                there = found.cells.get(name, "").strip()
                if here != there:
                    row.problem(
                        name,
                        f"{shown(here)} differs from {shown(there)} on row {found.first_row}"
                        " of the same order",
                    )
        if line_number in found.line_rows:
            row.problem(
                "line_number",
                f"line {shown(line_number)} given twice (first on row"
                f" {found.line_rows[line_number]})",
            )
        elif line_number:
            found.line_rows[line_number] = row.number
        if quantity is not None:
            found.lines.append(
                CsvOrderLine(
                    line_number=line_number,
                    vendor_part=vendor_part,
                    quantity=quantity,
                    buyer_part=row.text("buyer_part"),
                    description=row.text("description"),
                    unit=row.text("unit").strip(),
                    unit_price=unit_price,
                    requested_ship_date=requested_ship_date,
                )
            )
        group.take(po, row.problems)
    orders = [
        CsvOrder(
            po_number=po,
            order_date=rows.order_date,
            partner_reference=rows.cells.get("partner_reference", "").strip(),
            ship_to=ShipTo(
                name=rows.cells.get("ship_to_name", "").strip(),
                street=rows.cells.get("ship_to_street", "").strip(),
                city=rows.cells.get("ship_to_city", "").strip(),
                state=rows.cells.get("ship_to_state", "").strip(),
                postal_code=rows.cells.get("ship_to_postal_code", "").strip(),
                country=rows.cells.get("ship_to_country", "").strip(),
            ),
            lines=tuple(rows.lines),
        )
        for po, rows in group.kept()
        if rows.order_date is not None  # always, in an order kept: its first row had a date
    ]
    return OrdersRead(orders=orders, problems=group.problems)


def read_ship_notices(data: bytes, layout: CsvLayout) -> ShipNoticesRead:
    """The lines shipped, one row each (a line shipped in two parcels is two rows); a bad row
    refuses every row of its order."""
    _expect(layout, "ship_notices")
    group: _Groups[list[ShipNoticeRow]] = _Groups()
    for row in _rows(data, layout):
        po = row.required("po_number")
        line_number = row.required("line_number")
        quantity = row.decimal("quantity_shipped", required=True, positive=True)
        ship_date = row.date("ship_date", required=True)
        if not po:
            group.problems.extend(row.problems)
            continue
        found = group.get(po, list)
        if quantity is not None and ship_date is not None:
            found.append(
                ShipNoticeRow(
                    po_number=po,
                    line_number=line_number,
                    quantity=quantity,
                    ship_date=ship_date,
                    carrier=row.text("carrier"),
                    tracking_number=row.text("tracking_number"),
                    tracking_url=row.text("tracking_url"),
                )
            )
        group.take(po, row.problems)
    return ShipNoticesRead(
        notices=[notice for _, rows in group.kept() for notice in rows], problems=group.problems
    )


def read_cancellations(data: bytes, layout: CsvLayout) -> CancellationsRead:
    """The cancellations asked: of a whole order (no line number), of a line (no quantity), or of
    a quantity of a line; an order or a line cancelled twice in one file is a problem."""
    _expect(layout, "cancellations")
    group: _Groups[dict[str, tuple[int, CancellationRow]]] = _Groups()
    for row in _rows(data, layout):
        po = row.required("po_number")
        line_number = row.cells.get("line_number", "").strip()
        quantity = row.decimal("quantity", required=False, positive=True)
        if quantity is not None and not line_number:
            row.problem("quantity", "a quantity cancels part of a line: the line is not given")
        if not po:
            group.problems.extend(row.problems)
            continue
        found = group.get(po, dict)
        if line_number in found:
            what = f"line {shown(line_number)}" if line_number else "the whole order"
            row.problem(
                "line_number",
                f"{what} cancelled twice (first on row {found[line_number][0]})",
            )
        else:
            cancellation = CancellationRow(po, line_number, quantity, row.text("reason"))
            found[line_number] = (row.number, cancellation)
        group.take(po, row.problems)
    return CancellationsRead(
        cancellations=[c for _, rows in group.kept() for _, c in rows.values()],
        problems=group.problems,
    )


HEADER_BYTES = 65536
"""The bytes read for a file's header row when choosing its layout."""


def header_matches(data: bytes, layout: CsvLayout) -> int:
    """How many of the layout's columns the first row of `data` names, 0 when a required one
    is missing (or the layout has no header row): of two layouts that fit, the one naming
    more columns is the file's."""
    if not layout.header:
        return 0
    text = data[:HEADER_BYTES].decode(layout.encoding, errors="replace").removeprefix("\ufeff")
    rows = csv.reader(
        io.StringIO(text, newline=""), delimiter=layout.delimiter, quotechar=layout.quote
    )
    try:
        first = next((cells for cells in rows if any(cell.strip() for cell in cells)), [])
    except csv.Error:
        return 0
    names = {cell.strip().casefold() for cell in first}

    def named(field: str) -> bool:
        return str(layout.column(field)).strip().casefold() in names

    if not all(named(field) for field in REQUIRED[layout.kind]):
        return 0
    return sum(1 for field in layout.fields if named(field))


def _expect(layout: CsvLayout, kind: str) -> None:
    if layout.kind != kind:
        raise ValueError(f"a layout of {layout.kind} files cannot read {kind}")


@dataclass
class _OrderRows:
    first_row: int
    order_date: datetime.date | None
    cells: dict[str, str]
    lines: list[CsvOrderLine] = field(default_factory=list)
    line_rows: dict[str, int] = field(default_factory=dict)


class _Groups(Generic[T]):
    """The rows of each order in file order, which orders are refused, and every problem."""

    def __init__(self) -> None:
        self.groups: dict[str, T] = {}
        self.refused: set[str] = set()
        self.problems: list[RowProblem] = []

    def get(self, po: str, new: Callable[[], T]) -> T:
        if po not in self.groups:
            self.groups[po] = new()
        return self.groups[po]

    def take(self, po: str, problems: list[RowProblem]) -> None:
        if problems:
            self.refused.add(po)
            self.problems.extend(problems)

    def kept(self) -> list[tuple[str, T]]:
        return [(po, rows) for po, rows in self.groups.items() if po not in self.refused]


class _Row:
    """One row's cells by field, and the problems found reading them."""

    def __init__(self, number: int, cells: dict[str, str], layout: CsvLayout):
        self.number = number
        self.cells = cells
        self.layout = layout
        self.problems: list[RowProblem] = []

    def problem(self, name: str, message: str) -> None:
        po = self.cells.get("po_number", "").strip()
        self.problems.append(RowProblem(self.number, self.layout.label(name), message, po))

    def text(self, name: str) -> str:
        return self.cells.get(name, "")

    def required(self, name: str) -> str:
        value = self.cells.get(name, "").strip()
        if not value:
            self.problem(name, "empty, and a value is required")
        return value

    def decimal(self, name: str, *, required: bool, positive: bool) -> Decimal | None:
        value = self.required(name) if required else self.cells.get(name, "").strip()
        if not value:
            return None
        try:
            number = parse_decimal(value, self.layout.decimal_separator)
        except ValueError as exc:
            self.problem(name, f"{shown(value)} is {exc}")
            return None
        if positive and number <= 0:
            self.problem(name, f"{shown(value)} is not above zero")
            return None
        return number

    def date(self, name: str, *, required: bool) -> datetime.date | None:
        value = self.required(name) if required else self.cells.get(name, "").strip()
        if not value:
            return None
        try:
            day = parse_date(value, self.layout.date_format)
        except ValueError as exc:
            self.problem(name, f"{shown(value)} is {exc}")
            return None
        return day


def _rows(data: bytes, layout: CsvLayout) -> Iterator[_Row]:
    """Each non-empty row after the header row (when there is one), its cells by field."""
    text = _decode(data, layout)
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=layout.delimiter,
        quotechar=layout.quote,
        strict=True,
    )
    index: dict[str, int] | None = (
        None if layout.header else {name: int(column) - 1 for name, column in layout.columns}
    )
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if index is None:
                index = _header(cells, layout, reader.line_num)
                continue
            found = {name: unescape(cells[at]) for name, at in index.items() if at < len(cells)}
            yield _Row(reader.line_num, found, layout)
    except csv.Error as exc:
        line = max(reader.line_num, 1)
        raise CsvError(f"line {line}: not readable as CSV: {exc}", line=line) from None


def _header(cells: list[str], layout: CsvLayout, line: int) -> dict[str, int]:
    """Where each field of the layout is, from the header row's names (any order, any case)."""
    named = {cell.strip().casefold(): at for at, cell in enumerate(cells)}
    index: dict[str, int] = {}
    for name, column in layout.columns:
        at = named.get(str(column).strip().casefold())
        if at is not None:
            index[name] = at
        elif name in REQUIRED[layout.kind]:
            raise CsvError(
                f"line {line}: the header row has no column {shown(str(column))} (the {name})",
                line=line,
            )
    return index


def _decode(data: bytes, layout: CsvLayout) -> str:
    """The file's text; a UTF-8 byte order mark is taken off, any byte not in the encoding is a
    CsvError naming its offset."""
    start = len(codecs.BOM_UTF8) if layout.is_utf8 and data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode(layout.encoding)
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        line = data.count(b"\n", 0, offset) + 1
        raise CsvError(
            f"byte {offset} (0x{data[offset]:02x}, line {line}) is not {layout.encoding}:"
            f" {exc.reason}",
            offset=offset,
            line=line,
        ) from None

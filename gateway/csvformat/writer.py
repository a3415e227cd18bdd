"""Writing CSV files: records in, bytes out, laid out as the partner's `CsvLayout` says.

Only the fields the layout gives a column to are written, in its order (with a header row of the
column names when the layout has one; by position otherwise, the columns between left empty).
A text cell that a spreadsheet could take for a formula (starting with `=`, `+`, `-`, `@`, a tab
or a carriage return) is written behind an apostrophe, as OWASP advises against CSV injection;
the reader takes that apostrophe off again, so what is written reads back equal. Numbers carry
the layout's decimal separator, dates its date format; the text is encoded in its encoding (UTF-8
without a byte order mark). Data that cannot be written so (a negative number, a character the
encoding lacks) is a `SerializationError`: ours to fix, never sent.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Mapping
from decimal import Decimal

from gateway.csvformat.cells import escape, format_date, format_decimal
from gateway.csvformat.layout import CsvLayout
from gateway.csvformat.model import AcknowledgementRow, CancellationRow, CsvOrder, ShipNoticeRow
from gateway.errors import SerializationError, shown

Cell = str | Decimal | datetime.date | None


def write_acknowledgements(rows: Iterable[AcknowledgementRow], layout: CsvLayout) -> bytes:
    """Our answer to each order line, one row each."""
    return _write(
        "acknowledgements",
        (
            {
                "po_number": row.po_number,
                "line_number": row.line_number,
                "status": row.status,
                "quantity": row.quantity,
                "unit_price": row.unit_price,
                "ship_date": row.ship_date,
                "note": row.note,
            }
            for row in rows
        ),
        layout,
    )


def write_ship_notices(rows: Iterable[ShipNoticeRow], layout: CsvLayout) -> bytes:
    """One row per line shipped, with its carrier, tracking number and tracking URL."""
    return _write(
        "ship_notices",
        (
            {
                "po_number": row.po_number,
                "line_number": row.line_number,
                "quantity_shipped": row.quantity,
                "carrier": row.carrier,
                "tracking_number": row.tracking_number,
                "tracking_url": row.tracking_url,
                "ship_date": row.ship_date,
            }
            for row in rows
        ),
        layout,
    )


def write_orders(orders: Iterable[CsvOrder], layout: CsvLayout) -> bytes:
    """One row per order line, the order's fields repeated on each: what `read_orders` reads."""
    return _write(
        "orders",
        (
            {
                "po_number": order.po_number,
                "order_date": order.order_date,
                "partner_reference": order.partner_reference,
                "ship_to_name": order.ship_to.name,
                "ship_to_street": order.ship_to.street,
                "ship_to_city": order.ship_to.city,
                "ship_to_state": order.ship_to.state,
                "ship_to_postal_code": order.ship_to.postal_code,
                "ship_to_country": order.ship_to.country,
                "line_number": line.line_number,
                "vendor_part": line.vendor_part,
                "buyer_part": line.buyer_part,
                "description": line.description,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": line.unit_price,
                "requested_ship_date": line.requested_ship_date,
            }
            for order in orders
            for line in order.lines
        ),
        layout,
    )


def write_cancellations(rows: Iterable[CancellationRow], layout: CsvLayout) -> bytes:
    """One row per cancellation: of an order (no line), of a line, or of part of a line."""
    return _write(
        "cancellations",
        (
            {
                "po_number": row.po_number,
                "line_number": row.line_number,
                "quantity": row.quantity,
                "reason": row.reason,
            }
            for row in rows
        ),
        layout,
    )


def _write(kind: str, records: Iterable[Mapping[str, Cell]], layout: CsvLayout) -> bytes:
    if layout.kind != kind:
        raise ValueError(f"a layout of {layout.kind} files cannot write {kind}")
    if layout.header:
        places = {name: at for at, name in enumerate(layout.fields)}
        width = len(places)
    else:
        places = {name: int(column) - 1 for name, column in layout.columns}
        width = max(places.values()) + 1
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer,
        delimiter=layout.delimiter,
        quotechar=layout.quote,
        quoting=csv.QUOTE_MINIMAL,
        lineterminator="\r\n",
    )
    if layout.header:
        writer.writerow([str(column) for _, column in layout.columns])
    for number, record in enumerate(records, start=1):
        cells = [""] * width
        for name, at in places.items():
            cells[at] = _cell(record[name], layout, number, name)
        writer.writerow(cells)
    text = buffer.getvalue()
    try:
        return text.encode(layout.encoding)
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise SerializationError(
            f"line {line}: {shown(exc.object[exc.start : exc.end])} cannot be written in"
            f" {layout.encoding}"
        ) from None


def _cell(value: Cell, layout: CsvLayout, number: int, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        if not value.is_finite() or value < 0:
            raise SerializationError(f"record {number}, {name}: {value} is not a number to write")
        return format_decimal(value, layout.decimal_separator)
    if isinstance(value, datetime.date):
        return format_date(value, layout.date_format)
    return escape(value)

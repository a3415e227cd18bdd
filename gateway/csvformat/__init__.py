"""The CSV codec, for partners who exchange spreadsheets instead of X12: bytes in and records
out, records in and bytes out, each kind of file laid out as the partner's `CsvLayout` says. It
imports the standard library's `csv` and `gateway.errors`, nothing else: never a file, a socket
or the order model.

    from gateway import csvformat

    layout = csvformat.CsvLayout.from_table(table, "partners/vendor.toml [csv.orders]")
    read = csvformat.read_orders(data, layout)     # read.orders, read.problems
    csvformat.write_ship_notices(rows, ship_notice_layout)  # bytes
"""

from __future__ import annotations

from gateway.csvformat.layout import CsvLayout
from gateway.csvformat.model import (
    AcknowledgementRow,
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
from gateway.csvformat.reader import (
    header_matches,
    read_cancellations,
    read_orders,
    read_ship_notices,
)
from gateway.csvformat.writer import (
    write_acknowledgements,
    write_cancellations,
    write_orders,
    write_ship_notices,
)

__all__ = [
    "AcknowledgementRow",
    "CancellationRow",
    "CancellationsRead",
    "CsvLayout",
    "CsvOrder",
    "CsvOrderLine",
    "OrdersRead",
    "RowProblem",
    "ShipNoticeRow",
    "ShipNoticesRead",
    "ShipTo",
    "header_matches",
    "read_cancellations",
    "read_orders",
    "read_ship_notices",
    "write_acknowledgements",
    "write_cancellations",
    "write_orders",
    "write_ship_notices",
]

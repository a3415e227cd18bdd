"""A CSV cancellations file, in both directions: a partner's rows cancel the order they name
(the whole order, or some open quantity of some lines) on whichever side we are; ours tell a CSV
vendor what we cancelled of an order we placed, as our 860 would (each file the cancellations
not sent before)."""

from __future__ import annotations

from typing import Any

from gateway.csvformat import CancellationRow, write_cancellations
from gateway.domain.values import DocumentKind, Role, Side
from gateway.errors import ExportRefused
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Writes
from gateway.mapping.csv_orders import CsvCancellation
from gateway.mapping.engine import SetMapping
from gateway.mapping.inbound import Context
from gateway.mapping.outbound_settings import CsvFileSettings


def read(
    found: tuple[str, tuple[CancellationRow, ...]], mapping: SetMapping, context: Context
) -> Any:
    po_number, rows = found
    side = Side.BUYER if context.our_role is Role.SELLER else Side.SELLER
    return CsvCancellation(context, po_number, rows, side)


def build(request: BuildRequest) -> Built:
    order = request.order
    waiting = order.cancellations[request.sent_before :]
    if not waiting:
        raise ExportRefused(
            "change-needs-cancellations",
            "no cancellation of the order is waiting to be sent",
            po_number=order.po_number,
        )
    rows = [
        CancellationRow(order.po_number, entry.line_number, entry.quantity, c.reason)
        for c in waiting
        for entry in c.lines
    ]
    return Built([], content=write_cancellations(rows, request.settings.layout))


KIND = Kind(
    "csv-cancellations",
    "CSV cancellations",
    reads=Reads("csv-cancellations-in", Role.SELLER, read, "CSV cancellation", either_side=True),
    writes=Writes("csv-cancellations-out", Role.BUYER, CsvFileSettings, DocumentKind.CHANGE, build),
    format="csv",
    stands_for="860",
    extension="csv",
)

"""A CSV orders file, one row per line with the order's fields repeated: a buyer's orders open
orders we sell, as an 850 would (a bad row refuses its whole order, row and column named; the
file's good orders still go through); ours to a CSV vendor place an order with them, as our 850
would (the vendor's part numbers, the quantities still ordered)."""

from __future__ import annotations

from gateway.csvformat import write_orders
from gateway.domain.values import DocumentKind, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Writes
from gateway.mapping.csv_orders import order_of, purchase_order
from gateway.mapping.outbound_settings import CsvFileSettings


def build(request: BuildRequest) -> Built:
    return Built([], content=write_orders([order_of(request.order)], request.settings.layout))


KIND = Kind(
    "csv-orders",
    "CSV orders",
    reads=Reads("csv-orders-in", Role.SELLER, purchase_order, "CSV order", opens_orders=True),
    writes=Writes("csv-orders-out", Role.BUYER, CsvFileSettings, DocumentKind.ORDER, build),
    format="csv",
    stands_for="850",
    extension="csv",
)

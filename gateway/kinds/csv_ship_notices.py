"""A CSV ship notices file, one row per order line shipped (carrier, tracking number and URL):
a vendor's rows record the fulfilment of an order we placed, as their 856 would; ours tell a CSV
buyer of a fulfilment of an order we sell (passed on once it reaches them)."""

from __future__ import annotations

from gateway.csvformat import write_ship_notices
from gateway.domain.values import DocumentKind, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Writes
from gateway.kinds.x12_856 import carried
from gateway.mapping.csv_orders import ship_notice, ship_notice_rows
from gateway.mapping.outbound_settings import CsvFileSettings


def build(request: BuildRequest) -> Built:
    fulfilments = carried(request.order, request.fulfilment_ids)
    rows = [row for f in fulfilments for row in ship_notice_rows(request.order, f)]
    content = write_ship_notices(rows, request.settings.layout)
    return Built([], fulfilment_ids=tuple(f.id for f in fulfilments), content=content)


KIND = Kind(
    "csv-ship-notices",
    "CSV ship notices",
    reads=Reads("csv-ship-notices-in", Role.BUYER, ship_notice, "CSV ship notice"),
    writes=Writes(
        "csv-ship-notices-out",
        Role.SELLER,
        CsvFileSettings,
        DocumentKind.SHIP_NOTICE,
        build,
        options={"fulfilment_ids": "fulfilments"},
    ),
    format="csv",
    stands_for="856",
    extension="csv",
)

"""A CSV acknowledgements file: the seller's decision on a CSV buyer's order, one row per answer
to each line (accepted, rejected, changed, backordered), as our 855 to an X12 buyer; sending it
records the same on the order, cancellations of ours included."""

from __future__ import annotations

from gateway.csvformat import write_acknowledgements
from gateway.domain.values import DocumentKind, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Writes
from gateway.kinds.x12_855 import acknowledged
from gateway.mapping.csv_orders import acknowledgement_rows
from gateway.mapping.outbound_settings import CsvFileSettings


def build(request: BuildRequest) -> Built:
    order, decision = request.order, request.decision
    assert decision is not None  # required
    content = write_acknowledgements(acknowledgement_rows(order, decision), request.settings.layout)
    return Built(
        [], acknowledged(order, decision, request.now, "CSV acknowledgement"), content=content
    )


KIND = Kind(
    "csv-acknowledgements",
    "CSV acknowledgements",
    writes=Writes(
        "csv-acknowledgements-out",
        Role.SELLER,
        CsvFileSettings,
        DocumentKind.ACKNOWLEDGEMENT,
        build,
        options={"decision": "seller's decision"},
        required={"decision": "an acknowledgement needs the seller's decision"},
    ),
    format="csv",
    stands_for="855",
    extension="csv",
)

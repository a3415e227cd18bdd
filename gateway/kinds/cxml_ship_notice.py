"""The cXML ShipNoticeRequest: a shipment of a cXML buyer's order, as our 856 to an X12 buyer
(carrier, tracking number and URL, lines and quantities). One fulfilment per document: the
order follows its delivery (the fulfilment is passed on once it reaches the buyer)."""

from __future__ import annotations

import dataclasses

from gateway.cxml.writer import ship_notice_request
from gateway.domain.values import DocumentKind, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Writes
from gateway.kinds.references import mode, reference
from gateway.kinds.x12_856 import carried
from gateway.mapping.cxml_orders import ship_notice
from gateway.mapping.outbound_settings import CxmlShipNoticeSettings


def build(request: BuildRequest) -> Built:
    fulfilment = carried(request.order, request.fulfilment_ids)[0]  # the others: next time
    notice = ship_notice(request.order, fulfilment, reference(request), request.now)
    if not request.settings.tracking_url:
        notice = dataclasses.replace(notice, tracking_url="")
    content = ship_notice_request(request.header, notice, mode=mode(request))
    return Built([], fulfilment_ids=(fulfilment.id,), content=content)


KIND = Kind(
    "ShipNoticeRequest",
    "cXML ship notice",
    writes=Writes(
        "cxml-ship-notice-out",
        Role.SELLER,
        CxmlShipNoticeSettings,
        DocumentKind.SHIP_NOTICE,
        build,
        options={"fulfilment_ids": "fulfilments"},
    ),
    format="cxml",
    stands_for="856",
    extension="xml",
)

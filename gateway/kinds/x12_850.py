"""The purchase order (850): a buyer's order we take in (it opens, replaces or cancels an order
we sell) and the order we send a seller when we buy."""

from __future__ import annotations

from gateway.domain.values import DocumentKind, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Writes
from gateway.mapping.inbound import purchase_order as read_purchase_order
from gateway.mapping.outbound import purchase_order
from gateway.mapping.outbound_settings import PurchaseOrderSettings


def build(request: BuildRequest) -> Built:
    return Built([purchase_order(request.order, request.settings)])


KIND = Kind(
    "850",
    "purchase order",
    reads=Reads(
        "850-in", Role.SELLER, read_purchase_order, "purchase order (850)", opens_orders=True
    ),
    writes=Writes("850-out", Role.BUYER, PurchaseOrderSettings, DocumentKind.ORDER, build),
)

"""The purchase order change (860): what changed on an order we placed, sent to the seller, and a
buyer's change to an order we sell, taken in."""

from __future__ import annotations

from gateway.domain.values import DocumentKind, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Writes
from gateway.mapping.inbound import order_change
from gateway.mapping.outbound import change_order
from gateway.mapping.outbound_settings import ChangeOrderSettings


def build(request: BuildRequest) -> Built:
    return Built([change_order(request.order, request.settings, request.sent_before + 1)])


KIND = Kind(
    "860",
    "purchase order change",
    reads=Reads("860-in", Role.SELLER, order_change, "change order (860)"),
    writes=Writes("860-out", Role.BUYER, ChangeOrderSettings, DocumentKind.CHANGE, build),
)

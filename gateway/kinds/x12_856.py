"""The ship notice (856): one per fulfilment, in the hierarchy the partner's mapping asks for. We
send it for an order we sell (the order follows its delivery: the fulfilment is passed on once it
reaches the partner) and take it in for an order we placed (it records the fulfilment)."""

from __future__ import annotations

import dataclasses

from gateway.domain.model import Fulfilment, Order
from gateway.domain.rules import carrying_notice
from gateway.domain.values import DocumentKind, Role, ShipmentStatus
from gateway.errors import ExportRefused
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Writes
from gateway.mapping.inbound import ship_notice as read_ship_notice
from gateway.mapping.outbound import ship_notice
from gateway.mapping.outbound_settings import ShipNoticeSettings

NOT_SHIPPED = frozenset({ShipmentStatus.AWAITING_SHIPMENT, ShipmentStatus.CANCELLED})


def build(request: BuildRequest) -> Built:
    settings = request.settings
    if request.structure is not None:
        settings = dataclasses.replace(settings, structure=request.structure)
    fulfilments = carried(request.order, request.fulfilment_ids)
    bodies = [ship_notice(request.order, f, settings, request.now) for f in fulfilments]
    return Built(bodies, fulfilment_ids=tuple(f.id for f in fulfilments))


def carried(order: Order, fulfilment_ids: tuple[str, ...]) -> list[Fulfilment]:
    """The fulfilments the 856s pass on: those named, or every shipped one not passed on yet."""
    if not fulfilment_ids:
        waiting = [
            f
            for f in order.fulfilments
            if not f.passed_on
            and carrying_notice(order, f.id) is None
            and f.status not in NOT_SHIPPED
        ]
        if not waiting:
            raise ExportRefused(
                "ship-notice-needs-fulfilment",
                "no shipped fulfilment is waiting to be passed on",
                po_number=order.po_number,
            )
        return waiting
    chosen = []
    for fulfilment_id in dict.fromkeys(fulfilment_ids):
        found = order.fulfilment(fulfilment_id)
        carrier = carrying_notice(order, fulfilment_id)
        if found is None:
            what = "no such fulfilment"
        elif found.status in NOT_SHIPPED:
            what = f"it is {found.status.value}"
        elif found.passed_on:
            what = "it was passed on already"
        elif carrier is not None:
            what = f"an 856 of ours carries it already ({carrier}): resend that one if lost"
        else:
            chosen.append(found)
            continue
        raise ExportRefused(
            "ship-notice-needs-fulfilment",
            f"cannot send fulfilment {fulfilment_id!r}: {what}",
            po_number=order.po_number,
        )
    return chosen


KIND = Kind(
    "856",
    "ship notice",
    reads=Reads("856-in", Role.BUYER, read_ship_notice, "ship notice (856)"),
    writes=Writes(
        "856-out",
        Role.SELLER,
        ShipNoticeSettings,
        DocumentKind.SHIP_NOTICE,
        build,
        options={"fulfilment_ids": "fulfilments", "structure": "hierarchical structure"},
    ),
)

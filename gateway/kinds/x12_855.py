"""The purchase order acknowledgement (855): the seller's answer to an order, line by line. We
send it for an order we sell (it confirms the order and cancels what it withdraws) and take it in
for an order we placed."""

from __future__ import annotations

import datetime as dt

from gateway.domain import commands
from gateway.domain.commands import Command
from gateway.domain.model import Order
from gateway.domain.values import ConfirmationMethod, DocumentKind, Role, Side
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Recorder, Writes
from gateway.mapping.inbound import order_acknowledgement
from gateway.mapping.outbound import Decision, DecisionKind, acknowledgement
from gateway.mapping.outbound_settings import AcknowledgementSettings


def build(request: BuildRequest) -> Built:
    order, decision, now = request.order, request.decision, request.now
    assert decision is not None  # required
    body = acknowledgement(order, decision, request.settings, now.date())
    return Built([body], acknowledged(order, decision, now, "855"))


def acknowledged(order: Order, decision: Decision, now: dt.datetime, what: str) -> Recorder:
    """What sending the seller's decision records on the order, whatever the document carrying
    it (an 855, a cXML ConfirmationRequest, a CSV acknowledgement): the order confirmed line by
    line, and what the decision withdraws cancelled by the seller."""
    withdrawn = decision.withdrawn(order)

    def acknowledged(source: str, record: str) -> list[Command]:
        found: list[Command] = [
            commands.ConfirmOrder(
                partner=order.partner,
                po_number=order.po_number,
                at=now,
                source=source,
                how=ConfirmationMethod.ACKNOWLEDGEMENT_SENT,
                lines=decision.recorded(order),
                restates=decision.kind is DecisionKind.AS_IT_STANDS,
            )
        ]
        if decision.kind is DecisionKind.REJECT_ALL and withdrawn:
            found.append(
                commands.CancelOrder(
                    partner=order.partner,
                    po_number=order.po_number,
                    at=now,
                    source=source,
                    cancellation_id=record,
                    requested_by=Side.SELLER,
                    reason=f"order rejected in our {what}",
                )
            )
        elif withdrawn:
            found.append(
                commands.CancelLines(
                    partner=order.partner,
                    po_number=order.po_number,
                    at=now,
                    source=source,
                    cancellation_id=record,
                    lines=withdrawn,
                    requested_by=Side.SELLER,
                    reason=f"withdrawn in our {what} (rejected or cut)",
                )
            )
        return found

    return acknowledged


KIND = Kind(
    "855",
    "purchase order acknowledgement",
    reads=Reads("855-in", Role.BUYER, order_acknowledgement, "acknowledgement (855)"),
    writes=Writes(
        "855-out",
        Role.SELLER,
        AcknowledgementSettings,
        DocumentKind.ACKNOWLEDGEMENT,
        build,
        options={"decision": "seller's decision"},
        required={"decision": "an 855 needs the seller's decision"},
    ),
)

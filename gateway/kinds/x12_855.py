"""The purchase order acknowledgement (855): the seller's answer to an order, line by line. We
send it for an order we sell (it confirms the order and cancels what it withdraws) and take it in
for an order we placed."""

from __future__ import annotations

from gateway.domain import commands
from gateway.domain.commands import Command
from gateway.domain.values import ConfirmationMethod, DocumentKind, Role, Side
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Writes
from gateway.mapping.inbound import order_acknowledgement
from gateway.mapping.outbound import DecisionKind, acknowledgement
from gateway.mapping.outbound_settings import AcknowledgementSettings


def build(request: BuildRequest) -> Built:
    order, decision, now = request.order, request.decision, request.now
    assert decision is not None  # required
    body = acknowledgement(order, decision, request.settings, now.date())
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
                    reason="order rejected in our 855",
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
                    reason="withdrawn in our 855 (rejected or cut)",
                )
            )
        return found

    return Built([body], acknowledged)


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

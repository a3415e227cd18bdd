"""The invoice (810): what shipped and is not invoiced yet. We send it for an order we sell (it
records the invoice) and take it in for an order we placed."""

from __future__ import annotations

from gateway.domain import commands
from gateway.domain.commands import Command
from gateway.domain.values import DocumentKind, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Writes
from gateway.mapping.inbound import invoice as read_invoice
from gateway.mapping.outbound import invoice
from gateway.mapping.outbound_settings import InvoiceSettings


def build(request: BuildRequest) -> Built:
    order, now = request.order, request.now
    number = request.invoice_number or f"{order.po_number}-{len(order.invoices) + 1}"
    draft = invoice(order, number, request.settings, now.date())

    def invoiced(source: str, record: str) -> list[Command]:
        return [
            commands.RecordInvoice(
                partner=order.partner,
                po_number=order.po_number,
                at=now,
                source=source,
                invoice_number=draft.number,
                amount=draft.amount,
                lines=draft.lines,
            )
        ]

    return Built([draft.segments], invoiced)


KIND = Kind(
    "810",
    "invoice",
    reads=Reads("810-in", Role.BUYER, read_invoice, "invoice (810)"),
    writes=Writes(
        "810-out",
        Role.SELLER,
        InvoiceSettings,
        DocumentKind.INVOICE,
        build,
        options={"invoice_number": "invoice number"},
    ),
)

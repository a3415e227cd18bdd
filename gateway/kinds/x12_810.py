"""The invoice (810): what shipped and is not invoiced yet. We send it for an order we sell (it
records the invoice) and take it in for an order we placed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gateway.domain import commands
from gateway.domain.commands import Command
from gateway.domain.model import Order
from gateway.domain.values import DocumentKind, LineQuantity, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Recorder, Writes
from gateway.mapping.inbound import invoice as read_invoice
from gateway.mapping.outbound import invoice
from gateway.mapping.outbound_settings import InvoiceSettings


def build(request: BuildRequest) -> Built:
    order, now = request.order, request.now
    number = invoice_number(request)
    draft = invoice(order, number, request.settings, now.date())
    return Built([draft.segments], invoiced(order, draft.number, draft.amount, draft.lines, now))


def invoice_number(request: BuildRequest) -> str:
    """The invoice's number: the one given, else PO-n, n counting the order's invoices."""
    order = request.order
    return request.invoice_number or f"{order.po_number}-{len(order.invoices) + 1}"


def invoiced(
    order: Order, number: str, amount: Decimal, lines: tuple[LineQuantity, ...], now: dt.datetime
) -> Recorder:
    """What sending an invoice records on the order, whatever the document carrying it."""

    def recorded(source: str, record: str) -> list[Command]:
        return [
            commands.RecordInvoice(
                partner=order.partner,
                po_number=order.po_number,
                at=now,
                source=source,
                invoice_number=number,
                amount=amount,
                lines=lines,
            )
        ]

    return recorded


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

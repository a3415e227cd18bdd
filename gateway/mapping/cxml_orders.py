"""cXML documents and the order model: a buyer's `OrderRequest` read into the purchase order an
850 would make (new, update and delete become an original, a replacement and a cancellation),
and the records of our `ConfirmationRequest`, `ShipNoticeRequest` and `InvoiceDetailRequest`
made from the order, the seller's decision, a fulfilment or what is invoiceable.

The choices a partner may want otherwise are the `[settings]` of `mappings/cxml-*.toml`
(which product ids are kept under which qualifier, how units of measure are spelled, whether the
buyer's comments and extrinsics are kept as a note), overridable per partner like the X12 ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gateway.cxml import model as cxml
from gateway.cxml.model import OrderReference
from gateway.domain import carriers
from gateway.domain.model import Fulfilment, Order
from gateway.domain.values import (
    Address,
    Contact,
    LineAnswerStatus,
    LineQuantity,
    Party,
    PurchaseOrderLine,
    PurposeCode,
)
from gateway.errors import ConfigurationError, ExportRefused, MappingError
from gateway.mapping.engine import SetMapping
from gateway.mapping.inbound import Context, PurchaseOrder
from gateway.mapping.outbound import Decision, invoiceable
from gateway.mapping.units import to_cxml, to_x12

LineStatus = LineAnswerStatus

PURPOSES = {
    "new": PurposeCode.ORIGINAL,
    "update": PurposeCode.REPLACE,
    "delete": PurposeCode.CANCELLATION,
}
"""An OrderRequest's type, as the purpose code of the purchase order it makes (BEG01)."""

LINE_STATUSES: dict[LineAnswerStatus, cxml.LineStatus] = {
    LineStatus.ACCEPTED: "accept",
    LineStatus.REJECTED: "reject",
    LineStatus.BACKORDERED: "backordered",
    LineStatus.QUANTITY_CHANGED: "detail",  # raised above what was ordered
}
"""A line's answer in a ConfirmationItem's ConfirmationStatus type."""


class OrderSettings:
    """`cxml-order-in`: how an OrderRequest's fields land on the order."""

    def __init__(self, mapping: SetMapping):
        table: Mapping[str, Any] = mapping.settings
        where = f"mappings/{mapping.name}.toml [settings]"
        known = {"product_ids", "units", "ship_to_code", "bill_to_code", "keep_notes", "totals"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigurationError(
                f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(known))}"
            )
        self.product_ids = _strings(table.get("product_ids", {}), f"{where}.product_ids")
        self.units = _strings(table.get("units", {}), f"{where}.units")
        self.ship_to_code = str(table.get("ship_to_code", "ST"))
        self.bill_to_code = str(table.get("bill_to_code", "BT"))
        self.keep_notes = bool(table.get("keep_notes", True))
        self.totals = bool(table.get("totals", True))


def _strings(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigurationError(f"{where}: expected a table of names to strings, found {value!r}")
    return {str(k): v for k, v in value.items()}


def order_request(
    request: cxml.OrderRequest, mapping: SetMapping, context: Context
) -> PurchaseOrder:
    """The purchase order an OrderRequest makes: `new` an original, `update` a replacement of
    the order held (its lines as they now stand), `delete` the order's cancellation."""
    settings = OrderSettings(mapping)
    header = request.header
    lines = tuple(_line(line, settings) for line in request.lines)
    currencies = {line.unit_price.currency for line in request.lines}
    if header.total is not None:
        currencies.add(header.total.currency)
    if len(currencies) > 1:
        raise MappingError(
            f"the order mixes currencies ({', '.join(sorted(currencies))})",
            rule="values-readable",
        )
    if settings.totals and header.total is not None and request.lines:
        summed = sum((line.quantity * line.unit_price.amount for line in request.lines), Decimal(0))
        if summed != header.total.amount:
            raise MappingError(
                f"the Total {header.total.amount} is not the sum of the lines ({summed})",
                rule="totals-agree",
            )
    parties = tuple(
        party
        for party in (
            _party(settings.ship_to_code, header.ship_to),
            _party(settings.bill_to_code, header.bill_to),
        )
        if party is not None
    )
    dates = [line.requested_delivery_date for line in request.lines if line.requested_delivery_date]
    return PurchaseOrder(
        context=context,
        purpose_code=str(PURPOSES[header.order_type]),
        po_number=header.order_id,
        order_date=header.order_date.date(),
        currency=next(iter(currencies), "USD"),
        parties=parties,
        terms=None,
        carrier_routing=None,
        requested_ship_date=None,
        requested_delivery_date=min(dates) if dates else None,
        cancel_after_date=None,
        lines=lines,
        notes=_notes(header) if settings.keep_notes else (),
        cancel_reason="order deleted by the buyer (cXML OrderRequest type delete)",
    )


def _line(line: cxml.OrderLine, settings: OrderSettings) -> PurchaseOrderLine:
    given = {
        "supplier_part_id": line.supplier_part_id,
        "supplier_part_aux_id": line.supplier_part_aux_id,
        "buyer_part_id": line.buyer_part_id,
    }
    ids = tuple(
        (qualifier, given[name])
        for name, qualifier in settings.product_ids.items()
        if qualifier and given.get(name)
    )
    return PurchaseOrderLine(
        line_number=str(line.line_number),
        ordered=line.quantity,
        unit_of_measure=to_x12(line.unit_of_measure, settings.units) or "EA",
        unit_price=line.unit_price.amount,
        product_ids=ids,
        description=line.description,
    )


def _party(code: str, address: cxml.Address | None) -> Party | None:
    if address is None or not code:
        return None
    return Party(
        entity_code=code,
        name=address.name,
        id_qualifier="92" if address.address_id else "",  # assigned by the buyer
        id=address.address_id,
        address=Address(
            lines=address.street,
            city=address.city,
            state=address.state,
            postal_code=address.postal_code,
            country=address.country,
        ),
        contacts=tuple(Contact(name=name) for name in address.deliver_to[:1]),
    )


def _notes(header: cxml.OrderHeader) -> tuple[str, ...]:
    """The buyer's comments and extrinsics, each kept as a note on the order."""
    found = []
    if header.comments:
        found.append(f"Buyer's comments: {header.comments}")
    if header.extrinsics:
        found.append(
            "Buyer's extrinsics: " + "; ".join(f"{k} = {v}" for k, v in header.extrinsics.items())
        )
    return tuple(found)


# -- what we send: the records the cXML writer takes --


def confirmation(
    order: Order,
    decision: Decision,
    reference: OrderReference,
    confirm_id: str,
    now: dt.datetime,
    *,
    whole_order: bool = True,
) -> cxml.Confirmation:
    """The ConfirmationRequest of the seller's decision: `accept` or `reject` whole when every
    line is answered so (and `whole_order`), else `detail` with one ConfirmationItem per
    answer."""
    answers = decision.answers(order)
    statuses = {answer.status for _, given in answers for answer in given}
    whole = (
        whole_order and not decision.changes_anything(order) and statuses == {LineStatus.ACCEPTED}
    )
    rejected = whole_order and statuses == {LineStatus.REJECTED}
    kind: cxml.ConfirmationType = "accept" if whole else "reject" if rejected else "detail"
    lines: list[cxml.ConfirmationLine] = []
    for line, given in answers if kind == "detail" else ():
        number = _line_number(line.line_number, order)
        unit = to_cxml(line.unit_of_measure)
        for answer in given:
            quantity = answer.quantity or line.ordered
            parts: list[tuple[cxml.LineStatus, Decimal]] = [
                (LINE_STATUSES[answer.status], quantity)
            ]
            if answer.status is LineStatus.QUANTITY_CHANGED and quantity < line.ordered:
                # the item's statuses add up to what was ordered: so much accepted, the rest not
                parts = [("accept", quantity), ("reject", line.ordered - quantity)]
            lines += [
                cxml.ConfirmationLine(number, part, status, unit, answer.ship_date)
                for status, part in parts
            ]
    return cxml.Confirmation(reference, confirm_id, kind, now, tuple(lines))


def ship_notice(
    order: Order, fulfilment: Fulfilment, reference: OrderReference, now: dt.datetime
) -> cxml.ShipNotice:
    """The ShipNoticeRequest of one fulfilment: its carrier, tracking and lines."""
    known = carriers.by_scac(fulfilment.carrier)
    shipped = fulfilment.ship_date or fulfilment.created_at.date()
    return cxml.ShipNotice(
        order=reference,
        shipment_id=fulfilment.id,
        notice_date=now,
        shipment_date=dt.datetime.combine(shipped, dt.time(), tzinfo=dt.UTC),
        carrier_name=known.name if known else fulfilment.carrier or "unknown",
        carrier_scac=known.scac if known else "",
        tracking_number=", ".join(fulfilment.tracking_numbers),
        tracking_url=fulfilment.tracking_url,
        lines=tuple(
            cxml.ShippedLine(
                _line_number(entry.line_number, order),
                entry.quantity,
                to_cxml(_unit(order, entry.line_number)),
            )
            for entry in fulfilment.lines
        ),
    )


def invoice(
    order: Order, invoice_number: str, reference: OrderReference, now: dt.datetime
) -> tuple[cxml.Invoice, Decimal, tuple[LineQuantity, ...]]:
    """The InvoiceDetailRequest of what shipped and is not invoiced yet, with its amount and
    the quantities it invoices."""
    quantities = invoiceable(order)
    if not quantities:
        raise ExportRefused(
            "invoice-needs-shipped-quantity",
            "nothing is shipped and not yet invoiced (fulfilled - returned - invoiced)",
            po_number=order.po_number,
        )
    lines = []
    amount = Decimal(0)
    for entry in quantities:
        line = order.line(entry.line_number)
        assert line is not None
        if line.unit_price is None:
            raise ExportRefused(
                "invoice-needs-prices",
                "the line has no unit price to invoice",
                po_number=order.po_number,
                line=line.line_number,
            )
        amount += entry.quantity * line.unit_price
        lines.append(
            cxml.InvoiceLine(
                line_number=_line_number(line.line_number, order),
                quantity=entry.quantity,
                unit_of_measure=to_cxml(line.unit_of_measure),
                unit_price=line.unit_price,
                supplier_part_id=dict(line.product_ids).get("VP", ""),
                description=line.description,
            )
        )
    return (
        cxml.Invoice(reference, invoice_number, now, order.currency, tuple(lines)),
        amount.quantize(Decimal("0.01")),
        quantities,
    )


def _line_number(number: str, order: Order) -> int:
    """A cXML lineNumber is a number: the order's line number when it is one, else its place."""
    if number.isdigit():
        return int(number)
    return next(i for i, line in enumerate(order.lines, start=1) if line.line_number == number)


def _unit(order: Order, number: str) -> str:
    line = order.line(number)
    return line.unit_of_measure if line is not None else "EA"

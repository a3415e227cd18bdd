"""CSV files and the order model: a buyer's orders read into the purchase orders an 850 would
make, a vendor's ship notice rows into the fulfilment an 856 would record, a partner's
cancellation rows into the cancellations of the order they name; and the rows of our
acknowledgements, ship notices and cancellations made from the order.

Each kind of file is laid out as `mappings/csv-<kind>-in.toml` or `-out.toml` says (its
`[settings]` are a `CsvLayout`: columns, delimiter, quoting, encoding, date format, decimal
separator), overridable per partner like the X12 mappings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.csvformat import (
    AcknowledgementRow,
    CancellationRow,
    CsvLayout,
    CsvOrder,
    CsvOrderLine,
    ShipNoticeRow,
    ShipTo,
)
from gateway.domain import carriers, commands
from gateway.domain.commands import Command
from gateway.domain.model import Fulfilment, Order
from gateway.domain.values import (
    Address,
    LineAnswerStatus,
    LineQuantity,
    Party,
    PurchaseOrderLine,
    PurposeCode,
    Side,
)
from gateway.errors import ConfigurationError, RuleViolation
from gateway.mapping.engine import SetMapping
from gateway.mapping.inbound import (
    Context,
    PurchaseOrder,
    ShipNotice,
    ShippedItem,
    ShippedOrder,
    _common,
    _held,
    _refuse_replay,
)
from gateway.mapping.outbound import Decision

ACKNOWLEDGEMENT_WORDS = {
    LineAnswerStatus.ACCEPTED: "accepted",
    LineAnswerStatus.REJECTED: "rejected",
    LineAnswerStatus.QUANTITY_CHANGED: "changed",
    LineAnswerStatus.BACKORDERED: "backordered",
}
"""How an acknowledgement row spells a line's answer."""


NOT_LAYOUT = ("currency",)
"""Settings of a CSV mapping that are not its layout: the currency of an orders file's prices."""


def layout(mapping: SetMapping) -> CsvLayout:
    """The layout a CSV mapping's settings describe (with the partner's overrides)."""
    where = f"mappings/{mapping.name}.toml [settings]"
    table = {k: v for k, v in mapping.settings.items() if k not in NOT_LAYOUT}
    try:
        return CsvLayout.from_table(table, where)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def currency(mapping: SetMapping) -> str:
    """The currency of the prices of an orders file (three letters, USD unless set)."""
    found = mapping.settings.get("currency", "USD")
    if not isinstance(found, str) or len(found) != 3 or not found.isalpha():
        raise ConfigurationError(
            f"mappings/{mapping.name}.toml [settings]: currency {found!r} is not a 3-letter code"
        )
    return found.upper()


def digest(*parts: object) -> str:
    """A short id made of what a record came from: the same rows sent again give the same id,
    which the order refuses as a record it holds (record-id-unique)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def purchase_order(order: CsvOrder, mapping: SetMapping, context: Context) -> PurchaseOrder:
    """The purchase order of one order of a CSV orders file (always an original: a CSV buyer
    cancels in a cancellations file)."""
    ship_to = order.ship_to
    parties: tuple[Party, ...] = ()
    if any((ship_to.name, ship_to.street, ship_to.city, ship_to.postal_code)):
        parties = (
            Party(
                entity_code="ST",
                name=ship_to.name,
                address=Address(
                    lines=(ship_to.street,) if ship_to.street else (),
                    city=ship_to.city,
                    state=ship_to.state,
                    postal_code=ship_to.postal_code,
                    country=ship_to.country,
                ),
            ),
        )
    dates = [line.requested_ship_date for line in order.lines if line.requested_ship_date]
    return PurchaseOrder(
        context=context,
        purpose_code=PurposeCode.ORIGINAL,
        po_number=order.po_number,
        order_date=order.order_date,
        currency=currency(mapping),
        parties=parties,
        terms=None,
        carrier_routing=None,
        requested_ship_date=min(dates) if dates else None,
        requested_delivery_date=None,
        cancel_after_date=None,
        lines=tuple(
            PurchaseOrderLine(
                line_number=line.line_number,
                ordered=line.quantity,
                unit_of_measure=line.unit or "EA",
                unit_price=line.unit_price,
                product_ids=tuple(
                    (qualifier, value)
                    for qualifier, value in (("VP", line.vendor_part), ("BP", line.buyer_part))
                    if value
                ),
                description=line.description,
            )
            for line in order.lines
        ),
        notes=(f"Buyer's reference: {order.partner_reference}",) if order.partner_reference else (),
    )


def ship_notice(
    found: tuple[str, Sequence[ShipNoticeRow]], mapping: SetMapping, context: Context
) -> ShipNotice:
    """The fulfilment the rows of one order (`found`: its PO number and rows) in a ship
    notices file record: its lines and quantities, the carrier, the tracking numbers (one per
    parcel) and the tracking URL."""
    po_number, rows = found
    named = sorted({row.carrier for row in rows if row.carrier})
    urls = sorted({row.tracking_url for row in rows if row.tracking_url})
    shipped = ShippedOrder(
        po_number=po_number,
        items=tuple(
            ShippedItem(f"row {i}", row.line_number, (), row.quantity)
            for i, row in enumerate(rows, start=1)
        ),
        packs=(),
        tracking_numbers=tuple(dict.fromkeys(r.tracking_number for r in rows if r.tracking_number)),
        carrier=named[0] if named else "",
        ship_date=max(row.ship_date for row in rows),
        tracking_url=urls[0] if len(urls) == 1 else "",
    )
    return ShipNotice(
        context=context,
        purpose_code="00",
        shipment_id=f"CSV-{digest(po_number, rows)}",
        notice_date=context.at.date(),
        orders=(shipped,),
    )


@dataclass(frozen=True, slots=True)
class CsvCancellation:
    """The rows of one order in a cancellations file: the whole order (a row without a line)
    or some lines (a row without a quantity takes all that is open of its line)."""

    context: Context
    po_number: str
    rows: tuple[CancellationRow, ...]
    requested_by: Side

    @property
    def set_id(self) -> str:
        return "csv-cancellations"

    @property
    def po_numbers(self) -> tuple[str, ...]:
        return (self.po_number,)

    @property
    def action(self) -> str:
        return "cancelled"

    @property
    def summary(self) -> str:
        whole = any(not row.line_number for row in self.rows)
        return "the whole order" if whole else f"{len(self.rows)} line(s)"

    @property
    def cancellation_id(self) -> str:
        return f"CSV-{digest(self.po_number, self.rows)}"

    def commands(self, orders: Mapping[str, Order]) -> list[Command]:
        receiver = self.context.our_role
        order = _held(orders, self.po_number, "cancellation", receiver)
        _refuse_replay(order, self.cancellation_id, "cancellation")
        reason = "; ".join(dict.fromkeys(row.reason for row in self.rows if row.reason))
        reason = reason or f"cancelled by the {self.requested_by.value} (CSV cancellations file)"
        if any(not row.line_number for row in self.rows):
            return [
                commands.CancelOrder(
                    **_common(self.context, self.po_number),
                    cancellation_id=self.cancellation_id,
                    requested_by=self.requested_by,
                    reason=reason,
                )
            ]
        lines = []
        for row in self.rows:
            line = order.line(row.line_number)
            if line is None:
                raise RuleViolation(
                    "line-must-exist",
                    "the cancellation names a line the order does not have",
                    po_number=self.po_number,
                    line=row.line_number,
                )
            quantity = line.open if row.quantity is None else row.quantity
            if quantity > 0:
                lines.append(LineQuantity(row.line_number, quantity))
        if not lines:
            return []  # every line named is cancelled or fulfilled already
        return [
            commands.CancelLines(
                **_common(self.context, self.po_number),
                cancellation_id=self.cancellation_id,
                lines=tuple(lines),
                requested_by=self.requested_by,
                reason=reason,
            )
        ]


# -- what we send --


def order_of(order: Order) -> CsvOrder:
    """An order we place with a CSV vendor, as its orders file holds it (the ship-to party's
    address, the vendor's and our part numbers)."""
    ship_to = next((p for p in order.parties if p.entity_code == "ST"), None)
    address = ship_to.address if ship_to is not None else None
    return CsvOrder(
        po_number=order.po_number,
        order_date=order.order_date,
        ship_to=ShipTo(
            name=ship_to.name if ship_to is not None else "",
            street=", ".join(address.lines) if address is not None else "",
            city=address.city if address is not None else "",
            state=address.state if address is not None else "",
            postal_code=address.postal_code if address is not None else "",
            country=address.country if address is not None else "",
        ),
        lines=tuple(
            CsvOrderLine(
                line_number=line.line_number,
                vendor_part=dict(line.product_ids).get("VP", ""),
                quantity=line.ordered - line.cancelled,
                buyer_part=dict(line.product_ids).get("BP", ""),
                description=line.description,
                unit=line.unit_of_measure,
                unit_price=line.unit_price,
                requested_ship_date=order.requested_ship_date,
            )
            for line in order.lines
            if line.ordered > line.cancelled
        ),
    )


def acknowledgement_rows(order: Order, decision: Decision) -> list[AcknowledgementRow]:
    """One row per answer to each line of the order (a line answered 3 accepted, 1
    backordered is two rows)."""
    return [
        AcknowledgementRow(
            po_number=order.po_number,
            line_number=line.line_number,
            status=ACKNOWLEDGEMENT_WORDS[answer.status],
            quantity=answer.quantity,
            unit_price=line.unit_price,
            ship_date=answer.ship_date,
        )
        for line, answers in decision.answers(order)
        for answer in answers
    ]


def ship_notice_rows(order: Order, fulfilment: Fulfilment) -> list[ShipNoticeRow]:
    """One row per line shipped in the fulfilment, with its carrier (by name: UPS, not its
    SCAC), tracking and URL."""
    shipped = fulfilment.ship_date or fulfilment.created_at.date()
    known = carriers.by_scac(fulfilment.carrier)
    carrier = known.name if known is not None else fulfilment.carrier
    return [
        ShipNoticeRow(
            po_number=order.po_number,
            line_number=entry.line_number,
            quantity=entry.quantity,
            ship_date=shipped,
            carrier=carrier,
            tracking_number=", ".join(fulfilment.tracking_numbers),
            tracking_url=fulfilment.tracking_url,
        )
        for entry in fulfilment.lines
    ]

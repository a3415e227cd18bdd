"""Inbound assemblers: the records a mapping reads from a transaction set, turned into domain
values and commands. The mapping says where values are; this module says what they mean (which
purpose code asks for which command, how dates and decimals are written, which totals must agree).

A transaction set whose content cannot become a command (a quantity that is not a number, line
totals that disagree with CTT) raises `MappingError`: the partner's fault, reported on the set.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from gateway.domain import commands
from gateway.domain.values import (
    Address,
    CarrierRouting,
    Contact,
    Party,
    PurchaseOrderLine,
    PurposeCode,
    Role,
    Side,
    Terms,
)
from gateway.errors import PartnerError
from gateway.mapping.engine import SetMapping
from gateway.x12.tree import Loop


class MappingError(PartnerError):
    """A validated transaction set whose content cannot become domain commands."""


@dataclass(frozen=True, slots=True)
class Context:
    """Where a transaction set comes from: the partner, our side, when, and a label for the
    records it creates (kept in the order's source documents)."""

    partner: str
    our_role: Role
    at: dt.datetime
    source: str
    is_test: bool = False


def to_date(value: str, what: str) -> dt.date | None:
    """CCYYMMDD, or YYMMDD (years 00-49 are 20xx) in versions before 004010; '' is None."""
    if not value:
        return None
    try:
        if len(value) == 8:
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        if len(value) == 6:
            year = int(value[:2])
            return dt.date(year + (2000 if year < 50 else 1900), int(value[2:4]), int(value[4:]))
    except ValueError:
        pass
    raise MappingError(f"{what} {value!r} is not a date")


def to_decimal(value: str, what: str) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise MappingError(f"{what} {value!r} is not a number") from None


def to_int(value: str, what: str) -> int | None:
    number = to_decimal(value, what)
    if number is None:
        return None
    if number != number.to_integral():
        raise MappingError(f"{what} {value!r} is not a whole number")
    return int(number)


def _party(record: dict[str, str]) -> Party:
    lines = tuple(v for v in (record.get("address_1", ""), record.get("address_2", "")) if v)
    address = None
    if lines or record.get("city") or record.get("postal_code"):
        address = Address(
            lines=lines,
            city=record.get("city", ""),
            state=record.get("state", ""),
            postal_code=record.get("postal_code", ""),
            country=record.get("country", ""),
        )
    contacts: tuple[Contact, ...] = ()
    if record.get("contact_name") or record.get("contact_phone") or record.get("contact_email"):
        contacts = (
            Contact(
                name=record.get("contact_name", ""),
                phone=record.get("contact_phone", ""),
                email=record.get("contact_email", ""),
            ),
        )
    name = " ".join(v for v in (record.get("name", ""), record.get("extra_name", "")) if v)
    return Party(
        entity_code=record.get("entity_code", ""),
        name=name,
        id_qualifier=record.get("id_qualifier", ""),
        id=record.get("id", ""),
        address=address,
        contacts=contacts,
    )


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """An 850 as the order model understands it, before the store says whether it is new."""

    context: Context
    purpose_code: str
    po_number: str
    order_date: dt.date
    currency: str
    parties: tuple[Party, ...]
    terms: Terms | None
    carrier_routing: CarrierRouting | None
    requested_ship_date: dt.date | None
    requested_delivery_date: dt.date | None
    cancel_after_date: dt.date | None
    lines: tuple[PurchaseOrderLine, ...]

    @property
    def cancels(self) -> bool:
        return self.purpose_code == PurposeCode.CANCELLATION

    @property
    def replaces(self) -> bool:
        return self.purpose_code == PurposeCode.REPLACE

    def _common(self) -> dict[str, object]:
        return {
            "partner": self.context.partner,
            "po_number": self.po_number,
            "at": self.context.at,
            "source": self.context.source,
        }

    def receive(self) -> commands.ReceiveOrder:
        """The order as new (an original, or a replacement or confirmation of one not held)."""
        purpose = PurposeCode(self.purpose_code) if self.purpose_code in _PURPOSES else None
        return commands.ReceiveOrder(
            **self._common(),  # type: ignore[arg-type]
            our_role=self.context.our_role,
            order_date=self.order_date,
            lines=self.lines,
            purpose_code=purpose or PurposeCode.ORIGINAL,
            currency=self.currency,
            parties=self.parties,
            terms=self.terms,
            carrier_routing=self.carrier_routing,
            requested_ship_date=self.requested_ship_date,
            requested_delivery_date=self.requested_delivery_date,
            cancel_after_date=self.cancel_after_date,
            is_test=self.context.is_test,
        )

    def replace(self) -> commands.ReplaceOrder:
        """The order replacing the one held (BEG01 05)."""
        return commands.ReplaceOrder(
            **self._common(),  # type: ignore[arg-type]
            order_date=self.order_date,
            lines=self.lines,
            currency=self.currency,
            parties=self.parties,
            terms=self.terms,
            carrier_routing=self.carrier_routing,
            requested_ship_date=self.requested_ship_date,
            requested_delivery_date=self.requested_delivery_date,
            cancel_after_date=self.cancel_after_date,
        )

    def cancel(self, cancellation_id: str) -> commands.CancelOrder:
        """The whole order cancelled by the buyer (BEG01 01)."""
        return commands.CancelOrder(
            **self._common(),  # type: ignore[arg-type]
            cancellation_id=cancellation_id,
            requested_by=Side.BUYER,
            reason="purchase order cancelled by the buyer (850 BEG01 01)",
        )


_PURPOSES = {code.value for code in PurposeCode}


def purchase_order(root: Loop, mapping: SetMapping, context: Context) -> PurchaseOrder:
    """Read an 850's loop tree through its mapping."""
    header = mapping.read_header(root)
    po_number = header.get("po_number", "")
    if not po_number:
        raise MappingError("the purchase order has no PO number (BEG03)")
    order_date = to_date(header.get("order_date", ""), "BEG05")
    if order_date is None:
        raise MappingError("the purchase order has no date (BEG05)")
    lines = []
    for record in mapping.read_records(root, "lines"):
        number = record.get("line_number", "")
        ordered = to_decimal(record.get("ordered", ""), f"PO102 of line {number or '?'}")
        lines.append(
            PurchaseOrderLine(
                line_number=number,
                ordered=ordered if ordered is not None else Decimal(0),
                unit_of_measure=record.get("unit_of_measure", "") or "EA",
                unit_price=to_decimal(record.get("unit_price", ""), f"PO104 of line {number}"),
                product_ids=tuple(record.get("pairs", ())),
                description=record.get("description", ""),
            )
        )
    unnumbered = [i for i, line in enumerate(lines, start=1) if not line.line_number]
    if unnumbered and len(unnumbered) == len(lines):
        # PO101 is optional: number the lines in order, as most translators do.
        lines = [_renumbered(line, str(i)) for i, line in enumerate(lines, start=1)]
    if mapping.settings.get("check_totals", True):
        _check_totals(header, lines)
    terms = None
    if any(header.get(k) for k in ("terms_type", "terms_description", "terms_net_days")):
        terms = Terms(
            description=header.get("terms_description", ""),
            type_code=header.get("terms_type", ""),
            basis_date_code=header.get("terms_basis_date", ""),
            discount_percent=to_decimal(header.get("terms_discount_percent", ""), "ITD03"),
            discount_due_date=to_date(header.get("terms_discount_due_date", ""), "ITD04"),
            discount_days=to_int(header.get("terms_discount_days", ""), "ITD05"),
            net_due_date=to_date(header.get("terms_net_due_date", ""), "ITD06"),
            net_days=to_int(header.get("terms_net_days", ""), "ITD07"),
        )
    routing = None
    if any(header.get(k) for k in ("carrier_id", "routing", "transportation_method")):
        routing = CarrierRouting(
            id_qualifier=header.get("carrier_id_qualifier", ""),
            carrier_id=header.get("carrier_id", ""),
            transportation_method=header.get("transportation_method", ""),
            routing=header.get("routing", ""),
            service_level=header.get("service_level", ""),
        )
    parties = tuple(_party(r) for r in mapping.read_records(root, "parties"))
    return PurchaseOrder(
        context=context,
        purpose_code=header.get("purpose_code", "00"),
        po_number=po_number,
        order_date=order_date,
        currency=header.get("currency", "") or "USD",
        parties=parties,
        terms=terms,
        carrier_routing=routing,
        requested_ship_date=to_date(header.get("requested_ship_date", ""), "DTM02"),
        requested_delivery_date=to_date(header.get("requested_delivery_date", ""), "DTM02"),
        cancel_after_date=to_date(header.get("cancel_after_date", ""), "DTM02"),
        lines=tuple(lines),
    )


def _renumbered(line: PurchaseOrderLine, number: str) -> PurchaseOrderLine:
    return PurchaseOrderLine(
        line_number=number,
        ordered=line.ordered,
        unit_of_measure=line.unit_of_measure,
        unit_price=line.unit_price,
        product_ids=line.product_ids,
        description=line.description,
    )


def _check_totals(header: dict[str, str], lines: list[PurchaseOrderLine]) -> None:
    count = to_int(header.get("line_count", ""), "CTT01")
    if count is not None and count != len(lines):
        raise MappingError(f"CTT01 says {count} line items, the purchase order has {len(lines)}")
    total = to_decimal(header.get("hash_total", ""), "CTT02")
    if total is not None:
        summed = sum((line.ordered for line in lines), Decimal(0))
        if summed != total:
            raise MappingError(f"CTT02 hash total {total} is not the sum of PO102 ({summed})")

"""Inbound assemblers: the records a mapping reads from a transaction set, turned into domain
values and commands. The mapping says where values are; this module says what they mean (which
purpose code asks for which command, how dates and decimals are written, which totals must agree).

A transaction set whose content cannot become a command (a quantity that is not a number, line
totals that disagree with CTT) raises `MappingError`: the partner's fault, reported on the set.
One that asks what the order model cannot do yet (an 860 adding a line) raises `NotSupported`, a
refusal; and one that the order held refuses (the line it names is not on it) a `RuleViolation`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from gateway.domain import commands, rules
from gateway.domain.commands import (
    CancelLines,
    CancelOrder,
    ChangeDates,
    ChangeLines,
    Command,
    ConfirmOrder,
    CreateFulfilment,
    RecordChangeAnswer,
    RecordInvoice,
)
from gateway.domain.model import LineItem, Order
from gateway.domain.values import (
    Address,
    CarrierRouting,
    ConfirmationMethod,
    Contact,
    LineAnswer,
    LineAnswerStatus,
    LineQuantity,
    Pack,
    Party,
    PurchaseOrderLine,
    PurposeCode,
    Role,
    ShipmentStatus,
    Side,
    Terms,
    merge_quantities,
)
from gateway.errors import MappingError, NotSupported, RuleViolation
from gateway.mapping.engine import SetMapping
from gateway.x12.schema import is_digits
from gateway.x12.tree import Loop, element_value, parse_reference


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
    raise MappingError(f"{what} {value!r} is not a date", rule="values-readable")


def to_decimal(value: str, what: str) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise MappingError(f"{what} {value!r} is not a number", rule="values-readable") from None


def to_int(value: str, what: str) -> int | None:
    number = to_decimal(value, what)
    if number is None:
        return None
    if number != number.to_integral():
        raise MappingError(f"{what} {value!r} is not a whole number", rule="values-readable")
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
    notes: tuple[str, ...] = ()  # what the buyer wrote beside the order, kept as notes on it
    cancel_reason: str = "purchase order cancelled by the buyer (850 BEG01 01)"

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

    def _order_terms(self) -> dict[str, object]:
        """What a received and a replacing 850 both carry, besides the command's own fields."""
        return {
            **self._common(),
            "order_date": self.order_date,
            "lines": self.lines,
            "currency": self.currency,
            "parties": self.parties,
            "terms": self.terms,
            "carrier_routing": self.carrier_routing,
            "requested_ship_date": self.requested_ship_date,
            "requested_delivery_date": self.requested_delivery_date,
            "cancel_after_date": self.cancel_after_date,
        }

    def receive(self) -> commands.ReceiveOrder:
        """The order as new (an original, or a replacement or confirmation of one not held)."""
        purpose = PurposeCode(self.purpose_code) if self.purpose_code in _PURPOSES else None
        return commands.ReceiveOrder(
            **self._order_terms(),  # type: ignore[arg-type]
            our_role=self.context.our_role,
            purpose_code=purpose or PurposeCode.ORIGINAL,
            is_test=self.context.is_test,
        )

    def replace(self) -> commands.ReplaceOrder:
        """The order replacing the one held (BEG01 05)."""
        return commands.ReplaceOrder(**self._order_terms())  # type: ignore[arg-type]

    def cancel(self, cancellation_id: str) -> commands.CancelOrder:
        """The whole order cancelled by the buyer (BEG01 01)."""
        return commands.CancelOrder(
            **self._common(),  # type: ignore[arg-type]
            cancellation_id=cancellation_id,
            requested_by=Side.BUYER,
            reason=self.cancel_reason,
        )


_PURPOSES = {code.value for code in PurposeCode}


def purchase_order(root: Loop, mapping: SetMapping, context: Context) -> PurchaseOrder:
    """Read an 850's loop tree through its mapping."""
    _complete(mapping, root, "purchase order")
    header = mapping.read_header(root)
    po_number = header.get("po_number", "")
    if not po_number:
        raise MappingError("the purchase order has no PO number (BEG03)", rule="names-its-order")
    order_date = to_date(header.get("order_date", ""), "BEG05")
    if order_date is None:
        raise MappingError("the purchase order has no date (BEG05)", rule="order-is-dated")
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
        raise MappingError(
            f"CTT01 says {count} line items, the purchase order has {len(lines)}",
            rule="totals-agree",
        )
    total = to_decimal(header.get("hash_total", ""), "CTT02")
    if total is not None:
        summed = sum((line.ordered for line in lines), Decimal(0))
        if summed != total:
            raise MappingError(
                f"CTT02 hash total {total} is not the sum of PO102 ({summed})", rule="totals-agree"
            )


# -- what the other side sends about an order held: 855, 856, 810 from a seller, 860 from a buyer --
#
# These sets do not open an order: each names orders the gateway holds already, and what it asks
# depends on them (how much of a line is still open, which line a product id is on). So their
# assemblers work in two steps: `order_acknowledgement`, `ship_notice`, `order_change` and
# `invoice` read the set into a plain value, checking everything the set alone can tell (numbers,
# dates, totals); then the value's `commands(orders)` turns it into commands against the orders
# held, which the service applies together in one unit of work. Quantities are worked out from
# the order, so a set asking for what the order already reflects changes nothing; the ids of the
# records a set creates come from the set itself (its shipment id, its invoice number, or a digest
# of its content), so the same set sent again is refused by the rules (record-id-unique).


DEFAULT_MATCH_IDS = ("UP", "VP", "BP", "SK", "IN", "EN")


class OrderDocument(Protocol):
    """A mapped set about orders held: the orders it names, the commands it makes of them."""

    @property
    def set_id(self) -> str: ...

    @property
    def po_numbers(self) -> tuple[str, ...]: ...

    @property
    def action(self) -> str: ...

    @property
    def summary(self) -> str: ...

    def commands(self, orders: Mapping[str, Order]) -> list[Command]: ...


def content_digest(root: Loop) -> str:
    """A short fingerprint of a set's content (ST and SE are not in the tree, so its control
    number is not part of it): the same document in another envelope has the same digest."""
    hasher = hashlib.sha256()
    pending = [root]
    while pending:
        loop = pending.pop(0)
        for segment in loop.segments:
            hasher.update(repr((segment.id, segment.elements)).encode("utf-8"))
        pending[:0] = loop.loops
    return hasher.hexdigest()[:12]


def records_with_loops(
    mapping: SetMapping, root: Loop, name: str
) -> list[tuple[dict[str, Any], Loop]]:
    """The records `name` with the loop each was read from, for records read inside them."""
    rule = mapping.records.get(name)
    if rule is None:
        return []
    found = []
    for loop in root.walk(rule.loop):
        records = rule.read(Loop("", loops=[loop]))
        if records:
            found.append((records[0], loop))
    return found


def every_value(mapping: SetMapping, record: str, name: str, loop: Loop) -> list[str]:
    """Every value a record's field names in `loop` (a field's `read` gives only the first)."""
    rule = mapping.records[record].fields.get(name) if record in mapping.records else None
    if rule is None:
        return []
    segment_id, position, component = parse_reference(rule.ref)
    places = [loop] if rule.loop is None else list(loop.walk(rule.loop))
    values = []
    for place in places:
        for segment in place.find(segment_id, rule.where):
            value = element_value(segment, position, component)
            if value and value not in values:
                values.append(value)
    return values


def _match_ids(mapping: SetMapping) -> tuple[str, ...]:
    configured = mapping.settings.get("match_ids", DEFAULT_MATCH_IDS)
    return tuple(str(q) for q in configured)


def match_line(
    order: Order,
    line_number: str,
    product_ids: Sequence[tuple[str, str]],
    qualifiers: Sequence[str] = DEFAULT_MATCH_IDS,
    *,
    quantity: Decimal | None = None,
    taken: Mapping[str, Decimal] | None = None,
) -> LineItem | None:
    """The order line a partner's line names: by its number ("1" also finds "001") unless the
    product ids it carries say otherwise, else by a product id of one of `qualifiers` (with
    several such lines, the first whose open quantity, less what is `taken` already, covers
    `quantity`). None when nothing fits."""
    ids = [(q, v) for q, v in product_ids if q in qualifiers]
    numbered = _numbered_line(order, line_number)
    if numbered is not None and not any(
        q in numbered.product_ids and numbered.product_ids[q] != v for q, v in ids
    ):
        return numbered
    candidates = [line for line in order.lines if any(line.product_ids.get(q) == v for q, v in ids)]
    if quantity is not None:
        taken = taken or {}
        for line in candidates:
            if line.open - taken.get(line.line_number, Decimal(0)) >= quantity:
                return line
    return candidates[0] if candidates else numbered


def _numbered_line(order: Order, number: str) -> LineItem | None:
    if not number:
        return None
    line = order.line(number)
    if line is None and is_digits(number):
        line = next(
            (
                held
                for held in order.lines
                if is_digits(held.line_number) and int(held.line_number) == int(number)
            ),
            None,
        )
    return line


def _line_of(
    order: Order,
    line_number: str,
    product_ids: Sequence[tuple[str, str]],
    qualifiers: Sequence[str],
    what: str,
    *,
    quantity: Decimal | None = None,
    taken: Mapping[str, Decimal] | None = None,
) -> LineItem:
    """The line `match_line` finds, or the refusal naming what matched nothing."""
    line = match_line(order, line_number, product_ids, qualifiers, quantity=quantity, taken=taken)
    if line is None:
        named = " ".join(f"{q} {v}" for q, v in product_ids) or "no product id"
        raise rules.refusal(
            "line-must-exist",
            f"{what} (line {line_number or 'not numbered'}, {named}) matches no line of the order",
            po_number=order.po_number,
            line=line_number,
        )
    return line


def _held(orders: Mapping[str, Order], po_number: str, set_id: str, receiver: Role) -> Order:
    """The order a set names, if we are on the side that receives that set (`receiver`: our
    role on the orders this set is about, as its document kind says)."""
    order = orders[po_number]
    sender = Role.SELLER if receiver is Role.BUYER else Role.BUYER
    if order.our_role is not receiver:
        raise RuleViolation(
            "set-direction-follows-role",
            f"an {set_id} goes from the {sender.value} to the {receiver.value}; we are the"
            f" {order.our_role.value} of this order",
            po_number=po_number,
        )
    return order


def _refuse_replay(order: Order, cancellation_id: str, set_id: str) -> None:
    if any(c.id == cancellation_id for c in order.cancellations):
        raise rules.refusal(
            "record-id-unique",
            f"the order already holds cancellation {cancellation_id!r}: this {set_id} was"
            " applied before",
            po_number=order.po_number,
        )


def _new_quantity_cut(order: Order, line: LineItem, new_quantity: Decimal, what: str) -> Decimal:
    """What to cancel so that the line's ordered less cancelled quantity becomes `new_quantity`
    (zero when it is there already); a rise is refused, there is no command for it yet."""
    current = line.ordered - line.cancelled
    if new_quantity > current:
        raise NotSupported(
            f"{what} asks for {_plain(new_quantity)}, more than the {_plain(current)} on order;"
            " raising an ordered quantity is not supported yet",
            po_number=order.po_number,
            line=line.line_number,
        )
    return current - new_quantity


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)


def _common(context: Context, po_number: str) -> dict[str, Any]:
    return {
        "partner": context.partner,
        "po_number": po_number,
        "at": context.at,
        "source": context.source,
    }


def _complete(mapping: SetMapping, root: Loop, what: str) -> None:
    """Refuse a set lacking what the partner's mapping requires (its `[required]` section)."""
    missing = mapping.missing(root)
    if missing:
        raise MappingError(
            f"the partner requires what this {what} lacks: {', '.join(missing)}",
            rule="partner-required-fields",
        )


def _product_ids(record: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(record.get("pairs", ()))


# 855 ---------------------------------------------------------------------------------------

REJECTING_ACKNOWLEDGEMENTS = frozenset({"RD", "RF", "RJ", "RN", "RO", "RV"})
"""BAK02 codes that reject the whole order."""

REJECTED_LINE_STATUSES = frozenset({"IR", "ID", *(f"R{n}" for n in range(1, 10))})
"""ACK01 codes that reject or delete the line."""

QUANTITY_CHANGED = "IQ"

RESTATING_ACKNOWLEDGEMENTS = frozenset({"04", "05"})
"""BAK01 of an 855 that changes or replaces an earlier one (the order stated again)."""

CANCELS_ACKNOWLEDGEMENT = "01"
"""BAK01 of an 855 withdrawing an earlier acknowledgement: there is no command to undo one."""

LINE_STATUS_NAMES = {
    "AC": "accepted and shipped",
    "AR": "accepted and released for shipment",
    "BP": "partly shipped, balance backordered",
    "DR": "accepted, date rescheduled",
    "IA": "accepted",
    "IB": "backordered",
    "IC": "accepted, changes made",
    "ID": "deleted",
    "IE": "accepted, price pending",
    "IH": "on hold",
    "IP": "accepted, price changed",
    "IQ": "accepted, quantity changed",
    "IR": "rejected",
    "IS": "accepted, substitution made",
    "SP": "scheduled partial shipment",
}


LINE_ANSWERS = {
    "AC": LineAnswerStatus.ACCEPTED,
    "AR": LineAnswerStatus.ACCEPTED,
    "IA": LineAnswerStatus.ACCEPTED,
    "IC": LineAnswerStatus.ACCEPTED_WITH_CHANGES,
    "SP": LineAnswerStatus.ACCEPTED_WITH_CHANGES,
    "IQ": LineAnswerStatus.QUANTITY_CHANGED,
    "IP": LineAnswerStatus.PRICE_CHANGED,
    "IE": LineAnswerStatus.PRICE_CHANGED,
    "DR": LineAnswerStatus.RESCHEDULED,
    "IS": LineAnswerStatus.SUBSTITUTED,
    "IB": LineAnswerStatus.BACKORDERED,
    "BP": LineAnswerStatus.BACKORDERED,
    "IH": LineAnswerStatus.ON_HOLD,
}
"""ACK01 codes and the answer they record; the rejecting ones are REJECTED, any other code is
recorded as accepted with changes (its code kept beside it)."""


@dataclass(frozen=True, slots=True)
class LineStatus:
    """One ACK of a line: its status code, quantity and date (ACK01, ACK02, ACK05)."""

    code: str
    quantity: Decimal | None = None
    unit_of_measure: str = ""
    date: dt.date | None = None

    @property
    def rejects(self) -> bool:
        return self.code in REJECTED_LINE_STATUSES

    def answer(self, line_number: str) -> LineAnswer:
        """The status as the order records it."""
        status = LineAnswerStatus.REJECTED if self.rejects else LINE_ANSWERS.get(self.code)
        return LineAnswer(
            line_number,
            status or LineAnswerStatus.ACCEPTED_WITH_CHANGES,
            self.quantity,
            self.date,
            self.code,
        )

    def describe(self) -> str:
        """What the status says, as `rejected 1 (IR)` or `quantity changed to 3 (IQ)`."""
        if self.code == QUANTITY_CHANGED and self.quantity is not None:
            return f"quantity changed to {_plain(self.quantity)} ({self.code})"
        name = LINE_STATUS_NAMES.get(self.code, "rejected" if self.rejects else "status")
        quantity = f" {_plain(self.quantity)}" if self.quantity is not None else ""
        return f"{name}{quantity} ({self.code})"


@dataclass(frozen=True, slots=True)
class LineAcknowledgement:
    """A line of an 855 (PO1) or an 865 (POC) with its ACKs. `kept` is the quantity the seller
    keeps on the line when the ACKs say (None: no change); `rejected` when the seller takes the
    whole line off (both read for the 855 only)."""

    line_number: str
    product_ids: tuple[tuple[str, str], ...]
    statuses: tuple[LineStatus, ...]
    kept: Decimal | None = None
    rejected: bool = False

    def describe(self) -> str:
        statuses = ", ".join(status.describe() for status in self.statuses) or "no status"
        return f"line {self.line_number or '?'} {statuses}"

    def answered(
        self, order: Order, match_ids: tuple[str, ...], what: str
    ) -> tuple[LineItem, list[LineAnswer]]:
        """The order line it answers (by number, else by product id) and its ACKs as the order
        records them."""
        line = _line_of(order, self.line_number, self.product_ids, match_ids, what)
        return line, [status.answer(line.line_number) for status in self.statuses]


def _kept_quantity(
    line_number: str, ordered: Decimal | None, statuses: tuple[LineStatus, ...]
) -> tuple[Decimal | None, bool]:
    """(kept quantity or None, whole line rejected) from a line's ACKs."""
    changed = [s for s in statuses if s.code == QUANTITY_CHANGED and s.quantity is not None]
    if changed:
        return sum((s.quantity or Decimal(0) for s in changed), Decimal(0)), False
    rejecting = [s for s in statuses if s.rejects]
    if not rejecting:
        return None, False
    if len(rejecting) == len(statuses):
        return None, True
    kept = [s for s in statuses if not s.rejects]
    if all(s.quantity is not None for s in kept):
        return sum((s.quantity or Decimal(0) for s in kept), Decimal(0)), False
    if ordered is not None and all(s.quantity is not None for s in rejecting):
        return ordered - sum((s.quantity or Decimal(0) for s in rejecting), Decimal(0)), False
    raise MappingError(
        f"line {line_number or '?'} is both accepted and rejected, without the quantities (ACK02)"
        " that say how much of it",
        rule="acknowledgement-unambiguous",
    )


@dataclass(frozen=True, slots=True)
class OrderAcknowledgement:
    """An 855 as the order model understands it: the seller's answer to an order we placed."""

    context: Context
    purpose_code: str
    acknowledgement_type: str
    po_number: str
    order_date: dt.date | None
    seller_order_number: str
    lines: tuple[LineAcknowledgement, ...]
    digest: str
    match_ids: tuple[str, ...] = DEFAULT_MATCH_IDS

    @property
    def set_id(self) -> str:
        return "855"

    @property
    def po_numbers(self) -> tuple[str, ...]:
        return (self.po_number,)

    @property
    def rejects_order(self) -> bool:
        return self.acknowledgement_type in REJECTING_ACKNOWLEDGEMENTS

    @property
    def action(self) -> str:
        return "cancelled" if self.rejects_order else "confirmed"

    @property
    def summary(self) -> str:
        """BAK02 and each line's statuses, as the outcome reports them."""
        lines = "".join(f"; {line.describe()}" for line in self.lines)
        return f"BAK02 {self.acknowledgement_type}{lines}"

    @property
    def cancellation_id(self) -> str:
        return f"855-{self.digest}"

    def commands(self, orders: Mapping[str, Order]) -> list[Command]:
        """ConfirmOrder and the seller's CancelLines for what it rejects or cuts down; or, when
        BAK02 rejects the order, the seller's CancelOrder."""
        order = _held(orders, self.po_number, self.set_id, self.context.our_role)
        _refuse_replay(order, self.cancellation_id, self.set_id)
        if self.purpose_code == CANCELS_ACKNOWLEDGEMENT:
            raise NotSupported(
                "an 855 withdrawing an earlier acknowledgement (BAK01 01) is not supported yet:"
                " a confirmation or cancellation cannot be undone",
                po_number=self.po_number,
            )
        common = _common(self.context, self.po_number)
        if self.rejects_order:
            return [
                CancelOrder(
                    **common,
                    cancellation_id=self.cancellation_id,
                    requested_by=Side.SELLER,
                    reason=f"the seller rejected the order (855 BAK02 {self.acknowledgement_type})",
                )
            ]
        cancelled: list[LineQuantity] = []
        reasons: list[str] = []
        answers: list[LineAnswer] = []
        for acknowledged in self.lines:
            line, said = acknowledged.answered(order, self.match_ids, "the acknowledged line")
            answers.extend(said)
            if acknowledged.rejected:
                quantity = max(line.open, Decimal(0))
            elif acknowledged.kept is not None:
                quantity = _new_quantity_cut(
                    order, line, acknowledged.kept, "the seller's acknowledgement"
                )
            else:
                continue
            if quantity > 0:
                cancelled.append(LineQuantity(line.line_number, quantity))
                reasons.append(acknowledged.describe())
        made: list[Command] = [
            ConfirmOrder(
                **common,
                how=ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED,
                lines=tuple(answers),
                # an 855 replacing or changing theirs (BAK01 05, 04) restates the order: taken
                # even once it is closed, when they had acknowledged it before
                restates=self.purpose_code in RESTATING_ACKNOWLEDGEMENTS,
            )
        ]
        if cancelled:
            made.append(
                CancelLines(
                    **common,
                    cancellation_id=self.cancellation_id,
                    lines=tuple(cancelled),
                    requested_by=Side.SELLER,
                    reason="the seller's acknowledgement (855): " + "; ".join(reasons),
                )
            )
        return made


def _line_statuses(mapping: SetMapping, loop: Loop, number: str) -> tuple[LineStatus, ...]:
    """The ACKs of one line (an 855's PO1 loop, an 865's POC loop)."""
    where = f"of line {number or '?'}"
    return tuple(
        LineStatus(
            code=status.get("status", ""),
            quantity=to_decimal(status.get("quantity", ""), f"ACK02 {where}"),
            unit_of_measure=status.get("unit_of_measure", ""),
            date=to_date(status.get("date", ""), f"ACK05 {where}"),
        )
        for status in mapping.read_records(loop, "statuses")
    )


def order_acknowledgement(
    root: Loop, mapping: SetMapping, context: Context
) -> OrderAcknowledgement:
    """Read an 855's loop tree through its mapping."""
    _complete(mapping, root, "acknowledgement")
    header = mapping.read_header(root)
    po_number = header.get("po_number", "")
    if not po_number:
        raise MappingError(
            "the acknowledgement names no purchase order (BAK03)", rule="names-its-order"
        )
    lines = []
    for record, loop in records_with_loops(mapping, root, "lines"):
        number = record.get("line_number", "")
        ordered = to_decimal(record.get("ordered", ""), f"PO102 of line {number or '?'}")
        statuses = _line_statuses(mapping, loop, number)
        kept, rejected = _kept_quantity(number, ordered, statuses)
        lines.append(LineAcknowledgement(number, _product_ids(record), statuses, kept, rejected))
    return OrderAcknowledgement(
        context=context,
        purpose_code=header.get("purpose_code", ""),
        acknowledgement_type=header.get("acknowledgement_type", ""),
        po_number=po_number,
        order_date=to_date(header.get("order_date", ""), "BAK04"),
        seller_order_number=header.get("seller_order_number", ""),
        lines=tuple(lines),
        digest=content_digest(root),
        match_ids=_match_ids(mapping),
    )


# 856 ---------------------------------------------------------------------------------------

SHIPPING_PURPOSES = frozenset({"00", "06", "07", "14"})
"""BSN01 codes of a notice of goods shipped (original, confirmation, duplicate, advance
notification); a cancelling (01) or replacing (05) notice has no command yet."""

DEFAULT_LEVELS = {"shipment": "S", "order": "O", "tare": "T", "pack": "P", "item": "I"}

MAX_HL_DEPTH = 50
"""The deepest HL hierarchy an 856 may have, its shipment level counted. A real one has five or
six levels (S, O, T, P, I and perhaps a sub-pack); one nested deeper is the partner's error (or
an attack), refused before any walk of the hierarchy."""


@dataclass(frozen=True, slots=True)
class ShippedItem:
    """An item level (HL03 I): the line it names (SN101, else LIN01), its product ids (LIN) and
    the quantity shipped (SN102)."""

    level_id: str
    line_number: str
    product_ids: tuple[tuple[str, str], ...]
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class ShippedPack:
    """A pack (or tare) level: its SSCC-18 (MAN*GM) and how much of which item it holds."""

    level_id: str
    sscc: str | None
    contents: tuple[tuple[str, Decimal], ...]  # (item level id, quantity)


@dataclass(frozen=True, slots=True)
class ShippedOrder:
    """One order (PRF01) of a ship notice, with its items, packs and tracking numbers. `packs`
    is empty unless every item's quantity is placed in packs."""

    po_number: str
    items: tuple[ShippedItem, ...]
    packs: tuple[ShippedPack, ...]
    tracking_numbers: tuple[str, ...]
    carrier: str
    ship_date: dt.date | None
    tracking_url: str = ""


@dataclass(frozen=True, slots=True)
class ShipNotice:
    """An 856 as the order model understands it: goods a seller shipped, order by order."""

    context: Context
    purpose_code: str
    shipment_id: str
    notice_date: dt.date | None
    orders: tuple[ShippedOrder, ...]
    match_ids: tuple[str, ...] = DEFAULT_MATCH_IDS

    @property
    def set_id(self) -> str:
        return "856"

    @property
    def po_numbers(self) -> tuple[str, ...]:
        return tuple(shipped.po_number for shipped in self.orders)

    @property
    def action(self) -> str:
        return "fulfilled"

    @property
    def summary(self) -> str:
        """The shipment, its items and packs, as the outcome reports them."""
        items = sum(len(shipped.items) for shipped in self.orders)
        packs = sum(len(shipped.packs) for shipped in self.orders)
        return f"shipment {self.shipment_id}: {items} item(s), {packs} pack(s)"

    def commands(self, orders: Mapping[str, Order]) -> list[Command]:
        """One CreateFulfilment per order, passed on (it came from the seller), its id the
        shipment id (BSN02)."""
        if self.purpose_code not in SHIPPING_PURPOSES:
            raise NotSupported(
                f"a ship notice with purpose {self.purpose_code} (BSN01) is not supported yet;"
                " only new shipments (00, 06, 07, 14) are",
                po_number=",".join(self.po_numbers),
            )
        return [self.fulfilment(shipped, orders) for shipped in self.orders]

    def fulfilment(self, shipped: ShippedOrder, orders: Mapping[str, Order]) -> CreateFulfilment:
        order = _held(orders, shipped.po_number, self.set_id, self.context.our_role)
        taken: dict[str, Decimal] = {}
        line_of: dict[str, str] = {}
        for item in shipped.items:
            line = _line_of(
                order,
                item.line_number,
                item.product_ids,
                self.match_ids,
                f"the shipped item (HL {item.level_id})",
                quantity=item.quantity,
                taken=taken,
            )
            taken[line.line_number] = taken.get(line.line_number, Decimal(0)) + item.quantity
            line_of[item.level_id] = line.line_number
        lines = merge_quantities(
            LineQuantity(line_of[item.level_id], item.quantity) for item in shipped.items
        )
        packs = tuple(
            Pack(
                lines=merge_quantities(
                    LineQuantity(line_of[level], quantity) for level, quantity in pack.contents
                ),
                sscc=pack.sscc,
            )
            for pack in shipped.packs
        )
        return CreateFulfilment(
            **_common(self.context, shipped.po_number),
            fulfilment_id=self.shipment_id,
            lines=lines,
            carrier=shipped.carrier,
            tracking_numbers=shipped.tracking_numbers,
            tracking_url=shipped.tracking_url,
            ship_date=shipped.ship_date or self.notice_date,
            status=ShipmentStatus.SHIPPED,
            packs=packs,
            passed_on=True,
        )


@dataclass(eq=False, slots=True)
class _Level:
    """One HL level: its record, its loop, the levels whose HL02 names it."""

    record: dict[str, Any]
    loop: Loop
    children: list[_Level] = field(default_factory=list)
    parent: _Level | None = None

    @property
    def id(self) -> str:
        return str(self.record.get("id", ""))

    @property
    def code(self) -> str:
        return str(self.record.get("level", ""))

    def text(self, name: str) -> str:
        return str(self.record.get(name, ""))

    def up(self) -> list[_Level]:
        """This level and those above it, nearest first."""
        chain = [self]
        current = self.parent
        while current is not None:
            chain.append(current)
            current = current.parent
        return chain

    def down(self) -> list[_Level]:
        """Every level below this one, depth first, each level's children in document order
        (an explicit stack: no recursion, however deep the hierarchy)."""
        found: list[_Level] = []
        pending = list(reversed(self.children))
        while pending:
            level = pending.pop()
            found.append(level)
            pending.extend(reversed(level.children))
        return found


def _levels(mapping: SetMapping, root: Loop) -> list[_Level]:
    """The HL levels in document order, linked to their parents (HL02 names an earlier HL01, so
    the parents cannot loop), none nested deeper than `MAX_HL_DEPTH`."""
    levels: dict[str, _Level] = {}
    depths: dict[str, int] = {}
    for record, loop in records_with_loops(mapping, root, "levels"):
        level = _Level(record, loop)
        if not level.id or level.id in levels:
            raise MappingError(
                f"HL01 {level.id!r} is empty or used twice", rule="hierarchy-well-formed"
            )
        depth = 1
        parent_id = level.text("parent")
        if parent_id:
            parent = levels.get(parent_id)
            if parent is None:
                raise MappingError(
                    f"HL {level.id} names parent {parent_id}, not an earlier level",
                    rule="hierarchy-well-formed",
                )
            depth = depths[parent_id] + 1
            if depth > MAX_HL_DEPTH:
                raise MappingError(
                    f"HL {level.id} is nested deeper than {MAX_HL_DEPTH} levels (HL02 parents);"
                    " a ship notice has a handful",
                    rule="hierarchy-well-formed",
                )
            parent.children.append(level)
            level.parent = parent
        levels[level.id] = level
        depths[level.id] = depth
    return list(levels.values())


def _sscc(value: str) -> str:
    """MAN02 of MAN*GM: an SSCC-18, sometimes sent with its application identifier (00)."""
    if len(value) == 20 and value.startswith("00") and is_digits(value):
        return value[2:]
    return value


def ship_notice(root: Loop, mapping: SetMapping, context: Context) -> ShipNotice:
    """Read an 856's loop tree through its mapping, rebuilding the HL hierarchy from HL02."""
    _complete(mapping, root, "ship notice")
    header = mapping.read_header(root)
    shipment_id = header.get("shipment_id", "")
    if not shipment_id:
        raise MappingError("the ship notice has no shipment id (BSN02)", rule="names-its-shipment")
    codes = {**DEFAULT_LEVELS, **mapping.settings.get("levels", {})}
    levels = _levels(mapping, root)
    owners: dict[str, _Level] = {}
    items_of: dict[str, list[_Level]] = {}
    for level in levels:
        if level.code != codes["item"]:
            continue
        owner = next((up for up in level.up() if up.text("po_number")), None)
        if owner is None:
            raise MappingError(
                f"item HL {level.id} belongs to no order (no PRF above it)",
                rule="hierarchy-well-formed",
            )
        owners.setdefault(owner.text("po_number"), owner)
        items_of.setdefault(owner.text("po_number"), []).append(level)
    for level in levels:
        if level.text("po_number") and level.text("po_number") not in owners:
            raise MappingError(
                f"the ship notice lists no items for order {level.text('po_number')}"
                f" (HL {level.id})",
                rule="ship-notice-lists-items",
            )
    if not owners:
        raise MappingError(
            "the ship notice lists no shipped items (no HL item level)",
            rule="ship-notice-lists-items",
        )
    header_ship_date = to_date(header.get("ship_date", ""), "DTM02 (shipped)")
    orders = []
    for po_number, owner in owners.items():
        items = []
        for level in items_of[po_number]:
            quantity = to_decimal(level.text("quantity"), f"SN102 of HL {level.id}")
            if quantity is None:
                raise MappingError(
                    f"item HL {level.id} has no quantity shipped (SN102)",
                    rule="ship-notice-lists-items",
                )
            number = level.text("shipped_line_number") or level.text("line_number")
            items.append(ShippedItem(level.id, number, _product_ids(level.record), quantity))
        around = [*owner.up(), *owner.down()]
        tracking = _unique(
            value
            for level in around
            for name in ("tracking_number", "package_tracking")
            for value in every_value(mapping, "levels", name, level.loop)
        ) or _unique(
            value
            for level in around
            for value in every_value(mapping, "levels", "bill_of_lading", level.loop)
        )
        ship_date = next((up.text("ship_date") for up in owner.up() if up.text("ship_date")), "")
        orders.append(
            ShippedOrder(
                po_number=po_number,
                items=tuple(items),
                packs=_packs(items_of[po_number], items, codes, mapping),
                tracking_numbers=tracking,
                carrier=next((c for c in map(_carrier, around) if c), ""),
                ship_date=to_date(ship_date, "DTM02 (shipped)") or header_ship_date,
            )
        )
    return ShipNotice(
        context=context,
        purpose_code=header.get("purpose_code", ""),
        shipment_id=shipment_id,
        notice_date=to_date(header.get("notice_date", ""), "BSN03"),
        orders=tuple(orders),
        match_ids=_match_ids(mapping),
    )


def _packs(
    levels: list[_Level], items: list[ShippedItem], codes: Mapping[str, str], mapping: SetMapping
) -> tuple[ShippedPack, ...]:
    """The packs holding an order's items: the pack (else the tare) above each item (S-O-P-I,
    S-O-T-P-I), or the packs below it (S-O-I-P), each holding its own SN102 or, alone, the
    whole item. Empty unless every item is wholly placed in packs."""
    contents: dict[str, list[tuple[str, Decimal]]] = {}
    holders: dict[str, _Level] = {}
    for level, item in zip(levels, items, strict=True):
        above = level.up()[1:]
        holder = next((up for up in above if up.code == codes["pack"]), None) or next(
            (up for up in above if up.code == codes["tare"]), None
        )
        if holder is not None:
            holders[holder.id] = holder
            contents.setdefault(holder.id, []).append((item.level_id, item.quantity))
            continue
        inner = [child for child in level.children if child.code in (codes["pack"], codes["tare"])]
        quantities = [
            to_decimal(child.text("quantity"), f"SN102 of HL {child.id}") for child in inner
        ]
        if len(inner) == 1 and quantities[0] is None:
            quantities = [item.quantity]
        known = [q for q in quantities if q is not None]
        if not inner or len(known) != len(inner) or sum(known, Decimal(0)) != item.quantity:
            return ()
        for child, quantity in zip(inner, known, strict=True):
            holders[child.id] = child
            contents.setdefault(child.id, []).append((item.level_id, quantity))
    packs = []
    for level_id, held in contents.items():
        labels = every_value(mapping, "levels", "sscc", holders[level_id].loop)
        packs.append(ShippedPack(level_id, _sscc(labels[0]) if labels else None, tuple(held)))
    return tuple(packs)


def _carrier(level: _Level) -> str:
    """TD503 (the SCAC), else TD505 (the routing, often the carrier's name): the service
    resolves it to a SCAC of the carriers table."""
    return level.text("carrier") or level.text("routing")


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


# 860 ---------------------------------------------------------------------------------------

CANCEL_ORDER = "01"
CHANGE_ORDER = "04"
DELETE_LINE = "DI"
DECREASE_QUANTITY = "QD"
ADD_ITEM = "AI"
INCREASE_QUANTITY = "QI"
PRICE_CHANGE = "PC"
PRICE_AND_QUANTITY = "PQ"
CHANGE_LINE = "CA"
TERMS_CHANGES = frozenset(
    {ADD_ITEM, INCREASE_QUANTITY, PRICE_CHANGE, PRICE_AND_QUANTITY, CHANGE_LINE}
)
"""POC02 codes that give a line new terms (ChangeLines): an added item, a raised quantity, a
new price, or several of these."""
NO_CHANGE = frozenset({"NC"})
"""POC02 codes that ask nothing of the line (a concurrent item sent for reference)."""

CHANGE_NAMES = {
    "AI": "add item",
    "CA": "changes to line items",
    "CT": "change of dates",
    "DI": "delete item",
    "NC": "no change",
    "PC": "price change",
    "PQ": "unit price and quantity change",
    "PR": "unit price and reschedule change",
    "QD": "quantity decrease",
    "QI": "quantity increase",
    "RQ": "reschedule and quantity change",
    "RS": "reschedule",
    "RZ": "replace all values",
}


@dataclass(frozen=True, slots=True)
class LineChange:
    """A POC line: the change asked (POC02), the line's quantity after it (POC03) and the
    quantity left to receive (POC04)."""

    line_number: str
    change_code: str
    quantity: Decimal | None
    left_to_receive: Decimal | None
    unit_price: Decimal | None
    product_ids: tuple[tuple[str, str], ...]
    description: str = ""
    unit_of_measure: str = ""

    def describe(self) -> str:
        name = CHANGE_NAMES.get(self.change_code, "change")
        return f"{self.change_code} ({name}) on line {self.line_number or '?'}"


@dataclass(frozen=True, slots=True)
class OrderChange:
    """An 860 as the order model understands it: a buyer's change to an order we received."""

    context: Context
    purpose_code: str
    po_number: str
    change_sequence: str
    order_date: dt.date | None
    changes: tuple[LineChange, ...]
    digest: str
    match_ids: tuple[str, ...] = DEFAULT_MATCH_IDS
    dates: tuple[tuple[str, dt.date], ...] = ()  # (order field, new date) from the header DTMs

    @property
    def set_id(self) -> str:
        return "860"

    @property
    def po_numbers(self) -> tuple[str, ...]:
        return (self.po_number,)

    @property
    def cancels(self) -> bool:
        return self.purpose_code == CANCEL_ORDER

    @property
    def action(self) -> str:
        return "cancelled" if self.cancels else "changed"

    @property
    def summary(self) -> str:
        """BCH01 and each line's change, as the outcome reports them."""
        changes = "".join(f"; {change.describe()}" for change in self.changes)
        dates = "".join(f"; {_DATE_NAMES[name]} {day.isoformat()}" for name, day in self.dates)
        return f"BCH01 {self.purpose_code}{changes}{dates}"

    @property
    def cancellation_id(self) -> str:
        return f"860-{self.digest}"

    def commands(self, orders: Mapping[str, Order]) -> list[Command]:
        """The buyer's CancelOrder (BCH01 01); or, for a change (04), CancelLines for the lines
        it deletes (DI) or cuts down (QD) and ChangeLines for the lines it adds (AI), raises
        (QI) or reprices (PC, PQ, CA). Any other change (dates, rescheduling, replace-all)
        refuses the whole set."""
        order = _held(orders, self.po_number, self.set_id, self.context.our_role)
        _refuse_replay(order, self.cancellation_id, self.set_id)
        common = _common(self.context, self.po_number)
        sequence = f" #{self.change_sequence}" if self.change_sequence else ""
        if self.cancels:
            return [
                CancelOrder(
                    **common,
                    cancellation_id=self.cancellation_id,
                    requested_by=Side.BUYER,
                    reason=f"the buyer cancelled the order (860{sequence} BCH01 01)",
                )
            ]
        if self.purpose_code != CHANGE_ORDER:
            raise NotSupported(
                f"an 860 with purpose {self.purpose_code} (BCH01) is not supported yet; 01"
                " (cancel) and 04 (change) are",
                po_number=self.po_number,
            )
        unsupported = [
            change.describe()
            for change in self.changes
            if change.change_code
            not in (DELETE_LINE, DECREASE_QUANTITY, *NO_CHANGE, *TERMS_CHANGES)
        ]
        if unsupported:
            raise NotSupported(
                f"860 line changes not supported yet: {', '.join(unsupported)}; the order model"
                " has no command to change dates or reschedule, so none of this change order is"
                " applied",
                po_number=self.po_number,
            )
        cancelled: list[LineQuantity] = []
        changed: list[PurchaseOrderLine] = []
        reasons: list[str] = []
        for change in self.changes:
            if change.change_code in NO_CHANGE:
                continue
            if change.change_code in TERMS_CHANGES:
                terms = self._new_terms(order, change)
                changed.append(terms)
                reasons.append(f"line {terms.line_number} {CHANGE_NAMES[change.change_code]}")
                continue
            line = _line_of(
                order, change.line_number, change.product_ids, self.match_ids, "the changed line"
            )
            if change.change_code == DELETE_LINE:
                quantity = line.open
                if quantity <= 0 and line.fulfilled > 0:
                    quantity = line.ordered - line.cancelled  # shipped: the rules refuse it
                reasons.append(f"line {line.line_number} deleted (DI)")
            else:
                if change.quantity is not None:
                    new_quantity = change.quantity
                elif change.left_to_receive is not None:
                    new_quantity = line.fulfilled + change.left_to_receive
                else:
                    raise MappingError(
                        f"POC QD on line {change.line_number or '?'} gives no quantity"
                        " (POC03, POC04)",
                        rule="change-gives-quantities",
                    )
                quantity = _new_quantity_cut(order, line, new_quantity, "the change (QD)")
                reasons.append(f"line {line.line_number} decreased to {_plain(new_quantity)} (QD)")
            if quantity > 0:
                cancelled.append(LineQuantity(line.line_number, quantity))
        reason = f"the buyer's change order (860{sequence}): " + "; ".join(reasons)
        found: list[Command] = []
        if cancelled:
            found.append(
                CancelLines(
                    **common,
                    cancellation_id=self.cancellation_id,
                    lines=tuple(cancelled),
                    requested_by=Side.BUYER,
                    reason=reason,
                )
            )
        if changed:
            found.append(ChangeLines(**common, lines=tuple(changed), reason=reason))
        moved = {name: day for name, day in self.dates if getattr(order, name) != day}
        if moved:  # first: a cancellation in the same set may close the order
            said = "; ".join(
                f"{_DATE_NAMES[name]} {day.isoformat()}" for name, day in moved.items()
            )
            found.insert(
                0,
                ChangeDates(
                    **common,
                    requested_ship_date=moved.get("requested_ship_date"),
                    requested_delivery_date=moved.get("requested_delivery_date"),
                    cancel_after_date=moved.get("cancel_after_date"),
                    reason=f"the buyer's change order (860{sequence}): {said}",
                ),
            )
        return found

    def _new_terms(self, order: Order, change: LineChange) -> PurchaseOrderLine:
        """The whole terms of a line after an AI, QI, PC, PQ or CA change. POC03 is the
        quantity on order after the change (ordered less cancelled, as for QD)."""
        if change.change_code == ADD_ITEM and order.line(change.line_number) is None:
            if not change.line_number:
                raise MappingError(
                    "an added item (POC02 AI) needs its line number (POC01)",
                    rule="change-gives-quantities",
                )
            if change.quantity is None:
                raise MappingError(
                    f"the added item on line {change.line_number} gives no quantity (POC03)",
                    rule="change-gives-quantities",
                )
            return PurchaseOrderLine(
                line_number=change.line_number,
                ordered=change.quantity,
                unit_of_measure=change.unit_of_measure or "EA",
                unit_price=change.unit_price,
                product_ids=change.product_ids,
                description=change.description,
            )
        line = _line_of(
            order, change.line_number, change.product_ids, self.match_ids, "the changed line"
        )
        ordered = line.ordered
        if change.quantity is not None:
            ordered = change.quantity + line.cancelled
        elif change.change_code == INCREASE_QUANTITY:
            if change.left_to_receive is None:
                raise MappingError(
                    f"POC QI on line {change.line_number or '?'} gives no quantity (POC03, POC04)",
                    rule="change-gives-quantities",
                )
            ordered = line.fulfilled + line.cancelled + change.left_to_receive
        price = change.unit_price if change.unit_price is not None else line.unit_price
        return PurchaseOrderLine(
            line_number=line.line_number,
            ordered=ordered,
            unit_of_measure=line.unit_of_measure,
            unit_price=price,
            product_ids=tuple(line.product_ids.items()),
            description=change.description or line.description,
        )


def order_change(root: Loop, mapping: SetMapping, context: Context) -> OrderChange:
    """Read an 860's loop tree through its mapping."""
    _complete(mapping, root, "change order")
    header = mapping.read_header(root)
    po_number = header.get("po_number", "")
    if not po_number:
        raise MappingError(
            "the change order names no purchase order (BCH03)", rule="names-its-order"
        )
    changes = []
    for record in mapping.read_records(root, "changes"):
        number = record.get("line_number", "")
        where = f"of line {number or '?'}"
        changes.append(
            LineChange(
                line_number=number,
                change_code=record.get("change_code", ""),
                quantity=to_decimal(record.get("quantity", ""), f"POC03 {where}"),
                left_to_receive=to_decimal(record.get("left_to_receive", ""), f"POC04 {where}"),
                unit_price=to_decimal(record.get("unit_price", ""), f"POC06 {where}"),
                product_ids=_product_ids(record),
                description=record.get("description", ""),
                unit_of_measure=record.get("unit_of_measure", ""),
            )
        )
    dates = []
    for name, said in _DATE_NAMES.items():
        day = to_date(header.get(name, ""), f"DTM02 ({said})")
        if day is not None:
            dates.append((name, day))
    return OrderChange(
        context=context,
        purpose_code=header.get("purpose_code", ""),
        po_number=po_number,
        change_sequence=header.get("change_sequence", ""),
        order_date=to_date(header.get("order_date", ""), "BCH06"),
        changes=tuple(changes),
        digest=content_digest(root),
        match_ids=_match_ids(mapping),
        dates=tuple(dates),
    )


_DATE_NAMES = {
    "requested_ship_date": "requested ship date",
    "requested_delivery_date": "requested delivery date",
    "cancel_after_date": "cancel after",
}
"""The order's dates an 860's header may move (DTM, as the mapping reads them), for people."""


# 865 ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeAcknowledgement:
    """An 865 as the order model understands it: the seller's answer to a change order (860)
    we sent about an order we placed."""

    context: Context
    purpose_code: str
    acknowledgement_type: str
    po_number: str
    change_sequence: str
    lines: tuple[LineAcknowledgement, ...]
    note: str
    digest: str
    match_ids: tuple[str, ...] = DEFAULT_MATCH_IDS

    @property
    def set_id(self) -> str:
        return "865"

    @property
    def po_numbers(self) -> tuple[str, ...]:
        return (self.po_number,)

    @property
    def refused(self) -> bool:
        """BCA02 rejects the change, or the answer rejects or deletes some line of it."""
        return self.acknowledgement_type in REJECTING_ACKNOWLEDGEMENTS or any(
            status.rejects for line in self.lines for status in line.statuses
        )

    @property
    def action(self) -> str:
        return "change refused" if self.refused else "change accepted"

    @property
    def summary(self) -> str:
        lines = "".join(f"; {line.describe()}" for line in self.lines)
        note = f"; note: {self.note}" if self.note else ""
        return f"BCA02 {self.acknowledgement_type}{lines}{note}"

    def commands(self, orders: Mapping[str, Order]) -> list[Command]:
        """RecordChangeAnswer: taken or refused, with each line's statuses."""
        order = _held(orders, self.po_number, self.set_id, self.context.our_role)
        answers = [
            answer
            for acknowledged in self.lines
            for answer in acknowledged.answered(order, self.match_ids, "the answered line")[1]
        ]
        return [
            RecordChangeAnswer(
                **_common(self.context, self.po_number),
                accepted=not self.refused,
                change_sequence=self.change_sequence,
                lines=tuple(answers),
                note=self.note,
            )
        ]


def change_acknowledgement(
    root: Loop, mapping: SetMapping, context: Context
) -> ChangeAcknowledgement:
    """Read an 865's loop tree through its mapping."""
    _complete(mapping, root, "change acknowledgement")
    header = mapping.read_header(root)
    po_number = header.get("po_number", "")
    if not po_number:
        raise MappingError(
            "the change acknowledgement names no purchase order (BCA03)", rule="names-its-order"
        )
    lines = []
    for record, loop in records_with_loops(mapping, root, "lines"):
        number = record.get("line_number", "")
        statuses = _line_statuses(mapping, loop, number)
        lines.append(LineAcknowledgement(number, _product_ids(record), statuses))
    note = " ".join(
        text
        for _, loop in records_with_loops(mapping, root, "notes")
        for text in every_value(mapping, "notes", "text", loop)
    )
    return ChangeAcknowledgement(
        context=context,
        purpose_code=header.get("purpose_code", ""),
        acknowledgement_type=header.get("acknowledgement_type", ""),
        po_number=po_number,
        change_sequence=header.get("change_sequence", ""),
        lines=tuple(lines),
        note=note,
        digest=content_digest(root),
        match_ids=_match_ids(mapping),
    )


# 810 ---------------------------------------------------------------------------------------

CENT = Decimal("0.01")
CREDIT_TYPES = frozenset({"CR", "CN"})
"""BIG07 codes of a credit memo or credit note, which give money back instead of asking for it."""
CANCELS_INVOICE = "01"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """An IT1 line: the order line it bills (IT101, else its product ids), quantity and price."""

    line_number: str
    quantity: Decimal
    unit_price: Decimal
    product_ids: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ReceivedInvoice:
    """An 810 as the order model understands it: a seller's invoice for an order we placed."""

    context: Context
    invoice_number: str
    invoice_date: dt.date | None
    po_number: str
    total: Decimal
    lines: tuple[InvoiceLine, ...]
    match_ids: tuple[str, ...] = DEFAULT_MATCH_IDS
    transaction_type: str = ""
    purpose_code: str = ""

    @property
    def set_id(self) -> str:
        return "810"

    @property
    def po_numbers(self) -> tuple[str, ...]:
        return (self.po_number,)

    @property
    def action(self) -> str:
        return "invoiced"

    @property
    def summary(self) -> str:
        """The invoice, as the outcome reports it."""
        return f"invoice {self.invoice_number} for {self.total}, {len(self.lines)} line(s)"

    def commands(self, orders: Mapping[str, Order]) -> list[Command]:
        """RecordInvoice for the TDS01 total, its lines matched to the order's. A credit memo
        (BIG07 CR, CN) or an invoice cancelling another (BIG08 01) has no command yet."""
        order = _held(orders, self.po_number, self.set_id, self.context.our_role)
        if self.transaction_type in CREDIT_TYPES or self.purpose_code == CANCELS_INVOICE:
            what = (
                f"a credit memo (BIG07 {self.transaction_type})"
                if self.transaction_type in CREDIT_TYPES
                else "an invoice cancelling another (BIG08 01)"
            )
            raise NotSupported(f"{what} is not supported yet", po_number=self.po_number)
        lines = merge_quantities(
            LineQuantity(
                _line_of(
                    order, line.line_number, line.product_ids, self.match_ids, "the invoice line"
                ).line_number,
                line.quantity,
            )
            for line in self.lines
            if line.quantity != 0
        )
        return [
            RecordInvoice(
                **_common(self.context, self.po_number),
                invoice_number=self.invoice_number,
                amount=self.total,
                lines=lines,
            )
        ]


def invoice(root: Loop, mapping: SetMapping, context: Context) -> ReceivedInvoice:
    """Read an 810's loop tree through its mapping; TDS01 (in cents) must be the lines' total,
    with charges and allowances (SAC), within a cent."""
    _complete(mapping, root, "invoice")
    header = mapping.read_header(root)
    invoice_number = header.get("invoice_number", "")
    if not invoice_number:
        raise MappingError("the invoice has no invoice number (BIG02)", rule="names-its-invoice")
    po_number = header.get("po_number", "")
    if not po_number:
        raise MappingError("the invoice names no purchase order (BIG04)", rule="names-its-order")
    total = to_decimal(header.get("total", ""), "TDS01")
    if total is None:
        raise MappingError("the invoice has no total (TDS01)", rule="totals-agree")
    total = total.scaleb(-2)
    lines = []
    for record in mapping.read_records(root, "lines"):
        number = record.get("line_number", "")
        quantity = to_decimal(record.get("quantity", ""), f"IT102 of line {number or '?'}")
        price = to_decimal(record.get("unit_price", ""), f"IT104 of line {number or '?'}")
        if quantity is None or price is None:
            raise MappingError(
                f"invoice line {number or '?'} has no quantity (IT102) or unit price (IT104)",
                rule="invoice-lines-priced",
            )
        lines.append(InvoiceLine(number, quantity, price, _product_ids(record)))
    if mapping.settings.get("check_line_count", True):
        count = to_int(header.get("line_count", ""), "CTT01")
        if count is not None and count != len(lines):
            raise MappingError(
                f"CTT01 says {count} line items, the invoice has {len(lines)}", rule="totals-agree"
            )
    if mapping.settings.get("check_total", True):
        summed = sum((line.quantity * line.unit_price for line in lines), Decimal(0))
        for charge in mapping.read_records(root, "charges"):
            amount = to_decimal(charge.get("amount", ""), "SAC05")
            if amount is None:
                continue
            sign = {"C": 1, "A": -1}.get(charge.get("indicator", ""), 0)
            summed += sign * amount.scaleb(-2)
        if abs(summed - total) > CENT:
            raise MappingError(
                f"TDS01 total {total} is not the invoice lines' total {summed.quantize(CENT)}"
                " (IT102 x IT104, with charges and allowances)",
                rule="totals-agree",
            )
    return ReceivedInvoice(
        context=context,
        invoice_number=invoice_number,
        invoice_date=to_date(header.get("invoice_date", ""), "BIG01"),
        po_number=po_number,
        total=total,
        lines=tuple(lines),
        match_ids=_match_ids(mapping),
        transaction_type=header.get("transaction_type", ""),
        purpose_code=header.get("purpose_code", ""),
    )

"""Outbound transaction sets: an order (and the seller's decision, the fulfilments, the invoice)
in, X12 documents out. No I/O: the service layer reads the store and the mappings, calls these
builders, and validates, stores and queues what they return.

Strategy: one builder per set writes the segments in the standard's order for that set (the
schemas in `gateway/x12/schemas` say which, and every document built is read back through them
before it is queued); everything a partner may want otherwise comes from the set's settings
(`outbound_settings`, read from `mappings/<set>-out.toml`). Values are written as the order holds
them, so a line's PO101, UOM, price and product ids go back to the buyer exactly as the 850 sent
them; dates are CCYYMMDD.

What each set says:

    set  we are  built from                            what the service also records
    ---  ------  ------------------------------------  ------------------------------------------
    855  seller  the order and a `Decision`            ConfirmOrder (855 sent); the quantities the
                                                       answer withdraws are cancelled by the seller
    856  seller  one or several fulfilments, one set   MarkFulfilmentPassedOn per fulfilment
                 per fulfilment
    810  seller  shipped quantities not yet invoiced:  RecordInvoice with the lines and the amount
                 fulfilled - returned - invoiced
    850  buyer   the order                             nothing
    860  buyer   the order's cancellations             nothing

Cancelled quantity never reaches an 810: the rules let a fulfilment take only open quantity, so a
unit is fulfilled or cancelled, never both. An 860 restates each changed line's quantity as it
stands (ordered - cancelled), so sending it again after a further cancellation is safe.

A request the order cannot answer raises `ExportRefused`, a `RuleViolation` naming one of these
rules (the domain's own rules refuse the commands the service applies)::

    rule                            refuses
    ------------------------------  -----------------------------------------------------------
    export-follows-role             an 855, 856 or 810 for an order we placed, an 850 or 860 for
                                    one we received
    decision-names-order-lines      an 855 answer for a line the order does not have
    decision-quantity-is-positive   a changed, accepted or backordered quantity of zero or less
    ship-notice-needs-fulfilment    an 856 with no fulfilment (left) to pass on, or naming one the
                                    order does not hold
    invoice-needs-shipped-quantity  an 810 with nothing shipped and not yet invoiced
    invoice-needs-prices            an 810 for a line without a unit price
    invoice-number-fits-big02       an invoice number longer than BIG02 takes (22)
    change-needs-cancellations      an 860 for an order with no cancellation nor dates to send
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from gateway.domain import rules
from gateway.domain.carriers import gs1_check_digit
from gateway.domain.model import Fulfilment, LineItem, Order
from gateway.domain.records import ZERO
from gateway.domain.values import (
    ConfirmationMethod,
    LineAnswer,
    LineAnswerStatus,
    LineQuantity,
    Party,
    Role,
    merge_quantities,
    quantity_of,
)
from gateway.errors import ExportRefused
from gateway.mapping.inbound import LineChange
from gateway.mapping.outbound_settings import (
    AcknowledgementSettings,
    ChangeAcknowledgementSettings,
    ChangeOrderSettings,
    HierarchyStructure,
    InvoiceSettings,
    LineItemChoices,
    PartyChoice,
    PurchaseOrderSettings,
    ShipNoticeSettings,
)
from gateway.x12.document import Element, FunctionalGroup, Interchange, Segment, TransactionSet
from gateway.x12.model import DEFAULT_DELIMITERS, Delimiters, GroupReport, InterchangeReport
from gateway.x12.schema import family_name, load_catalog

DEFAULT_VERSION = "004010"
DEFAULT_CONTROL_VERSION = "00401"
FALLBACK_QUALIFIER = "ZZ"
MAX_DESCRIPTION = 80  # PID05
MAX_INVOICE_NUMBER = 22  # BIG02
# How many product id pairs each segment has room for.
PAIRS_IN = {"PO1": 10, "LIN": 14, "IT1": 10, "POC": 10}
CENT = Decimal("0.01")


def _refuse(rule: str, message: str, order: Order, line: str = "") -> ExportRefused:
    return ExportRefused(rule, message, po_number=order.po_number, line=line)


def check_role(order: Order, set_id: str, expected: Role) -> None:
    """export-follows-role: the `expected` side sends `set_id` (a seller 855, 856, 810 and 865,
    a buyer 850 and 860)."""
    if order.our_role is not expected:
        raise _refuse(
            "export-follows-role",
            f"we are the {order.our_role.value} on this order; the {expected.value} sends an "
            f"{set_id}",
            order,
        )


# -- values as X12 writes them --------------------------------------------------------------


def date8(value: dt.date) -> str:
    """CCYYMMDD."""
    return value.strftime("%Y%m%d")


def number(value: Decimal) -> str:
    """A decimal as an R element: plain digits, never an exponent; trailing zeros as held."""
    text = format(value, "f")
    return "0" if text in ("-0", "") else text


def cents(amount: Decimal) -> str:
    """An amount of money as an N2 element (TDS01): whole cents, no decimal point."""
    return str(int((amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100).to_integral_value()))


def product_ids(line: LineItem, choices: LineItemChoices, segment: str) -> list[Element]:
    """The line's product ids as qualifier/value pairs: the mapping's qualifiers in its order,
    or every id the line holds, as received; as many as the segment has room for."""
    held = line.product_ids
    qualifiers = choices.product_ids or tuple(held)
    pairs = [(q, held[q]) for q in qualifiers if held.get(q)]
    flat: list[Element] = []
    for qualifier, value in pairs[: PAIRS_IN[segment]]:
        flat.extend((qualifier, value))
    return flat


def description(line: LineItem, choices: LineItemChoices) -> list[Segment]:
    """PID*F (free-form) with the line's description, when the mapping sends it."""
    if not choices.descriptions or not line.description:
        return []
    return [Segment("PID", ["F", "", "", "", line.description[:MAX_DESCRIPTION]])]


def party_loops(order: Order, choices: Sequence[PartyChoice]) -> list[Segment]:
    """N1 loops (N1, N3, N4, PER) for the parties the mapping names, as the order holds them."""
    segments: list[Segment] = []
    for choice in choices:
        party = _first_party(order, choice.sources)
        if party is None or not (party.name or (party.id_qualifier and party.id)):
            continue
        n1: list[Element] = [choice.code, party.name]
        if party.id_qualifier and party.id:
            n1.extend((party.id_qualifier, party.id))
        segments.append(Segment("N1", n1))
        address = party.address
        if choice.address and address is not None:
            lines = list(address.lines[:4])
            for start in range(0, len(lines), 2):
                segments.append(Segment("N3", list(lines[start : start + 2])))
            place = [address.city, address.state, address.postal_code, address.country]
            if any(place):
                segments.append(Segment("N4", list(place)))
        for contact in party.contacts[:3]:
            per: list[Element] = ["IC", contact.name]
            for qualifier, value in (("TE", contact.phone), ("EM", contact.email)):
                if value:
                    per.extend((qualifier, value))
            if len(per) > 2 or contact.name:
                segments.append(Segment("PER", per))
    return segments


def _first_party(order: Order, sources: Iterable[str]) -> Party | None:
    for code in sources:
        party = order.party(code)
        if party is not None:
            return party
    return None


# -- 855: the seller's answer -----------------------------------------------------------------


LineStatus = LineAnswerStatus
"""What the seller says of one order line; a decision uses four of them (`_STATUS_WORDS`)."""


class DecisionKind(enum.StrEnum):
    """The seller's answer to an order as a whole."""

    ACCEPT_ALL = "accept all"
    REJECT_ALL = "reject all"
    WITH_CHANGES = "with changes"
    AS_IT_STANDS = "as it stands"


@dataclass(frozen=True, slots=True)
class LineDecision:
    """The seller's answer for one line (an ACK segment). `quantity` defaults to the line's
    ordered quantity and is required for a changed quantity; `ship_date` is when the seller
    expects to ship it (ACK04/ACK05). A line may have several answers (3 accepted, 1 backordered).
    """

    line_number: str
    status: LineStatus
    quantity: Decimal | None = None
    ship_date: dt.date | None = None

    def __post_init__(self) -> None:
        if self.status not in _STATUS_WORDS.values():
            raise ValueError(
                f"a seller's decision answers a line {', '.join(_STATUS_WORDS.values())},"
                f" not {self.status.value}"
            )

    @classmethod
    def parse(cls, text: str) -> LineDecision:
        """An answer written `LINE=STATUS[:QUANTITY][@CCYYMMDD]`, STATUS one of accept, reject,
        change (with the new quantity) or backorder: `3=change:2`, `4=backorder@20261204`."""
        line_number, equals, rest = text.partition("=")
        rest, at, when = rest.partition("@")
        word, colon, amount = rest.partition(":")
        status = _STATUS_WORDS.get(word.strip().lower())
        if not equals or not line_number.strip() or status is None:
            raise ValueError(
                f"{text!r} is not LINE=STATUS[:QUANTITY][@CCYYMMDD] with STATUS one of "
                f"{', '.join(_STATUS_WORDS)}"
            )
        quantity = None
        if colon:
            try:
                quantity = Decimal(amount)
            except ArithmeticError:
                raise ValueError(f"{text!r}: {amount!r} is not a quantity") from None
        ship_date = None
        if at:
            try:
                ship_date = dt.datetime.strptime(when, "%Y%m%d").date()
            except ValueError:
                raise ValueError(f"{text!r}: {when!r} is not a CCYYMMDD date") from None
        return cls(line_number.strip(), status, quantity, ship_date)


_STATUS_WORDS = {
    "accept": LineStatus.ACCEPTED,
    "reject": LineStatus.REJECTED,
    "change": LineStatus.QUANTITY_CHANGED,
    "backorder": LineStatus.BACKORDERED,
}


@dataclass(frozen=True, slots=True)
class Decision:
    """The seller's decision on an order, which an 855 sends: accept everything, reject
    everything, or answer line by line (lines not named are accepted as ordered).
    `ship_date` is the promised ship date for the whole order (header DTM and each accepted
    line's ACK); `sales_order` is the seller's own order number (BAK08)."""

    kind: DecisionKind
    lines: tuple[LineDecision, ...] = ()
    ship_date: dt.date | None = None
    sales_order: str = ""

    def __post_init__(self) -> None:
        if self.lines and self.kind is not DecisionKind.WITH_CHANGES:
            raise ValueError(f"a decision to {self.kind.value} names no lines")

    @classmethod
    def accept_all(cls, *, ship_date: dt.date | None = None, sales_order: str = "") -> Decision:
        """Every line accepted as ordered (BAK02 AD, ACK01 IA)."""
        return cls(DecisionKind.ACCEPT_ALL, ship_date=ship_date, sales_order=sales_order)

    @classmethod
    def reject_all(cls, *, sales_order: str = "") -> Decision:
        """The whole order rejected (BAK02 RJ, ACK01 IR)."""
        return cls(DecisionKind.REJECT_ALL, sales_order=sales_order)

    @classmethod
    def with_changes(
        cls, *lines: LineDecision, ship_date: dt.date | None = None, sales_order: str = ""
    ) -> Decision:
        """Line by line: the lines named answered so, the others accepted as ordered (BAK02 AC
        when any line is answered otherwise, else AD)."""
        return cls(DecisionKind.WITH_CHANGES, lines, ship_date=ship_date, sales_order=sales_order)

    @classmethod
    def as_it_stands(cls, *, sales_order: str = "") -> Decision:
        """The order as it now stands, for the 855 that follows a cancellation of ours: a line
        cancelled whole rejected (IR), one cancelled in part changed to what remains (IQ), the
        others as our last 855 answered them (accepted as ordered when none did)."""
        return cls(DecisionKind.AS_IT_STANDS, sales_order=sales_order)

    def answers(self, order: Order) -> list[tuple[LineItem, tuple[LineDecision, ...]]]:
        """Every order line with its answers, quantities filled in; refuses lines the order
        does not have and quantities that are not positive."""
        given: dict[str, list[LineDecision]] = {}
        for answer in self.lines:
            if order.line(answer.line_number) is None:
                raise _refuse(
                    "decision-names-order-lines",
                    "the decision answers a line the order does not have",
                    order,
                    answer.line_number,
                )
            given.setdefault(answer.line_number, []).append(answer)
        status = {
            DecisionKind.ACCEPT_ALL: LineStatus.ACCEPTED,
            DecisionKind.REJECT_ALL: LineStatus.REJECTED,
            DecisionKind.WITH_CHANGES: LineStatus.ACCEPTED,
            DecisionKind.AS_IT_STANDS: LineStatus.ACCEPTED,
        }[self.kind]
        previous = _last_answers(order) if self.kind is DecisionKind.AS_IT_STANDS else {}
        found = []
        for line in order.lines:
            answers = given.get(line.line_number)
            if answers is None and status is LineStatus.ACCEPTED:
                # a line not named: what our cancellations left of it, else as answered before
                answers = _standing(line, previous.get(line.line_number, ()))
            if not answers:
                answers = [LineDecision(line.line_number, status)]
            filled = []
            for answer in answers:
                if answer.status is LineStatus.QUANTITY_CHANGED and answer.quantity is None:
                    raise _refuse(
                        "decision-quantity-is-positive",
                        "a changed quantity needs the new quantity",
                        order,
                        line.line_number,
                    )
                quantity = line.ordered if answer.quantity is None else answer.quantity
                if not quantity.is_finite() or quantity <= 0:
                    raise _refuse(
                        "decision-quantity-is-positive",
                        f"quantity {answer.quantity} is not above zero",
                        order,
                        line.line_number,
                    )
                ship_date = answer.ship_date
                if ship_date is None and answer.status is not LineStatus.REJECTED:
                    ship_date = self.ship_date
                filled.append(LineDecision(line.line_number, answer.status, quantity, ship_date))
            found.append((line, tuple(filled)))
        return found

    def recorded(self, order: Order) -> tuple[LineAnswer, ...]:
        """Every line's answers as the order records them."""
        return tuple(
            LineAnswer(line.line_number, answer.status, answer.quantity, answer.ship_date)
            for line, answers in self.answers(order)
            for answer in answers
        )

    def changes_anything(self, order: Order) -> bool:
        """Whether some line is answered otherwise than accepted as ordered."""
        return any(
            answer.status is not LineStatus.ACCEPTED or answer.quantity != line.ordered
            for line, answers in self.answers(order)
            for answer in answers
        )

    def withdrawn(self, order: Order) -> tuple[LineQuantity, ...]:
        """The open quantities this answer says the seller will not supply: a rejected line's,
        and the cut of a line whose promised quantity (accepted + changed + backordered) is
        below what is still ordered. A quantity raised above the order withdraws nothing."""
        found = []
        for line, answers in self.answers(order):
            promised = sum(
                (a.quantity or ZERO for a in answers if a.status is not LineStatus.REJECTED),
                ZERO,
            )
            cut = min(line.ordered - line.cancelled - promised, line.open)
            if cut > 0:
                found.append(LineQuantity(line.line_number, cut))
        return tuple(found)


def acknowledged_by_us(order: Order) -> bool:
    """Whether we sent the order an 855 already (a later one replaces it)."""
    return any(c.how is ConfirmationMethod.ACKNOWLEDGEMENT_SENT for c in order.confirmations)


def _last_answers(order: Order) -> dict[str, list[LineDecision]]:
    """The line answers of the last 855 we sent for `order`, by line number."""
    sent = [c for c in order.confirmations if c.how is ConfirmationMethod.ACKNOWLEDGEMENT_SENT]
    found: dict[str, list[LineDecision]] = {}
    for answer in sent[-1].lines if sent else ():
        found.setdefault(answer.line_number, []).append(
            LineDecision(answer.line_number, answer.status, answer.quantity, answer.date)
        )
    return found


def _standing(line: LineItem, previous: Sequence[LineDecision]) -> list[LineDecision]:
    """A line as it stands: rejected when cancelled whole, changed to what remains when
    cancelled in part, else its `previous` answers (none: the caller's default)."""
    if line.cancelled <= 0:
        return [a for a in previous if a.status in _STATUS_WORDS.values()]
    if line.cancelled >= line.ordered:
        return [LineDecision(line.line_number, LineStatus.REJECTED)]
    date = next((a.ship_date for a in previous if a.ship_date is not None), None)
    remaining = line.ordered - line.cancelled
    return [LineDecision(line.line_number, LineStatus.QUANTITY_CHANGED, remaining, date)]


def acknowledgement(
    order: Order, decision: Decision, settings: AcknowledgementSettings, today: dt.date
) -> list[Segment]:
    """The body of an 855 answering `order` with `decision`. BAK01 is the mapping's
    `purpose_code` for the first 855 of the order, its `replace_purpose_code` for a later one
    (which states every line again)."""
    check_role(order, "855", Role.SELLER)
    answers = decision.answers(order)
    if decision.kind is DecisionKind.REJECT_ALL or all(
        answer.status is LineStatus.REJECTED for _, found in answers for answer in found
    ):
        kind = settings.rejected
    elif decision.changes_anything(order):
        kind = settings.with_changes
    else:
        kind = settings.accepted
    bak: list[Element] = [
        settings.replace_purpose_code if acknowledged_by_us(order) else settings.purpose_code,
        kind,
        order.po_number,
        date8(order.order_date),
        "",
        "",
        "",
        decision.sales_order,
        date8(today) if settings.acknowledgement_date else "",
    ]
    segments = [Segment("BAK", bak)]
    if decision.ship_date is not None:
        segments.append(Segment("DTM", [settings.schedule_qualifier, date8(decision.ship_date)]))
    segments.extend(party_loops(order, settings.parties))
    codes = {
        LineStatus.ACCEPTED: settings.line_accepted,
        LineStatus.REJECTED: settings.line_rejected,
        LineStatus.QUANTITY_CHANGED: settings.line_quantity_changed,
        LineStatus.BACKORDERED: settings.line_backordered,
    }
    for line, line_answers in answers:
        segments.append(_po1(line, settings.lines))
        segments.extend(description(line, settings.lines))
        for answer in line_answers:
            ack: list[Element] = [
                codes[answer.status],
                number(answer.quantity or line.ordered),
                line.unit_of_measure,
            ]
            if answer.ship_date is not None:
                ack.extend((settings.schedule_qualifier, date8(answer.ship_date)))
            segments.append(Segment("ACK", ack))
    segments.append(_ctt(order.lines, hash_total=settings.hash_total))
    return segments


def _po1(line: LineItem, choices: LineItemChoices) -> Segment:
    price = number(line.unit_price) if line.unit_price is not None else ""
    return Segment(
        "PO1",
        [
            line.line_number,
            number(line.ordered),
            line.unit_of_measure,
            price,
            "",
            *product_ids(line, choices, "PO1"),
        ],
    )


def _ctt(lines: Sequence[LineItem], *, hash_total: bool) -> Segment:
    total = sum((line.ordered for line in lines), ZERO)
    return Segment("CTT", [str(len(lines)), number(total) if hash_total else ""])


# -- 856: ship notices ------------------------------------------------------------------------


def sscc_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of the first 17 digits of an SSCC-18."""
    if len(body) != 17 or not body.isascii() or not body.isdigit():
        raise ValueError(f"{body!r} is not the 17 digits an SSCC check digit is computed from")
    return str(gs1_check_digit(body))


def make_sscc(extension: int, company_prefix: str, serial_reference: int) -> str:
    """An SSCC-18 for a pack the gateway labels itself: the extension digit (0-9), the GS1
    company prefix (7 to 10 digits) and a serial reference filling the 16 digits between,
    then the check digit."""
    if not 0 <= extension <= 9:
        raise ValueError(f"extension digit {extension} is not 0 to 9")
    if not (7 <= len(company_prefix) <= 10 and company_prefix.isascii()):
        raise ValueError(f"{company_prefix!r} is not a GS1 company prefix of 7 to 10 digits")
    if not company_prefix.isdigit():
        raise ValueError(f"{company_prefix!r} is not a GS1 company prefix of 7 to 10 digits")
    room = 16 - len(company_prefix)
    if not 0 <= serial_reference < 10**room:
        raise ValueError(f"serial reference {serial_reference} does not fit in {room} digits")
    body = f"{extension}{company_prefix}{serial_reference:0{room}d}"
    code = body + sscc_check_digit(body)
    assert rules.valid_sscc(code)
    return code


@dataclass(slots=True)
class _Level:
    """One HL level being built: its code, its parent's position and its segments."""

    code: str
    parent: int | None
    segments: list[Segment] = field(default_factory=list)


def ship_notice(
    order: Order, fulfilment: Fulfilment, settings: ShipNoticeSettings, now: dt.datetime
) -> list[Segment]:
    """The body of an 856 for one fulfilment of `order`, in the mapping's hierarchy (shipment,
    order, item for a fulfilment without packs)."""
    check_role(order, "856", Role.SELLER)
    time = now.strftime("%H%M%S" if settings.time_with_seconds else "%H%M")
    segments = [
        Segment(
            "BSN",
            [
                settings.purpose_code,
                fulfilment.id,
                date8(now.date()),
                time,
                settings.structure.code if fulfilment.packs else settings.unpacked_code,
            ],
        )
    ]
    levels = [_Level("S", None, _shipment_segments(order, fulfilment, settings))]
    prf: list[Element] = [order.po_number]
    if settings.order_date:
        prf.extend(("", "", date8(order.order_date)))
    levels.append(_Level("O", 0, [Segment("PRF", prf)]))
    tracking = fulfilment.tracking_numbers
    per_pack = settings.pack_tracking and len(tracking) == len(fulfilment.packs) > 0

    def pack_level(index: int, parent: int) -> _Level:
        pack = fulfilment.packs[index]
        marks = []
        if pack.sscc:
            marks.append(Segment("MAN", ["GM", pack.sscc]))
        if per_pack:
            marks.append(Segment("MAN", ["CP", tracking[index]]))
        return _Level("P", parent, marks)

    def item_level(number: str, quantity: Decimal, parent: int) -> _Level:
        line = order.line(number)
        if line is None:  # the rules let a fulfilment name only lines of the order
            raise AssertionError(f"fulfilment {fulfilment.id} names missing line {number}")
        return _Level("I", parent, _item_segments(line, quantity, settings))

    if not fulfilment.packs:
        for entry in fulfilment.lines:
            levels.append(item_level(entry.line_number, entry.quantity, 1))
    elif settings.structure is HierarchyStructure.SOIP:
        for entry in fulfilment.lines:
            levels.append(item_level(entry.line_number, entry.quantity, 1))
            item = len(levels) - 1
            for index, pack in enumerate(fulfilment.packs):
                if quantity_of(pack.lines, entry.line_number) > 0:
                    levels.append(pack_level(index, item))
    else:
        parent = 1
        if settings.structure is HierarchyStructure.SOTPI:
            levels.append(_Level("T", 1))
            parent = len(levels) - 1
        for index, pack in enumerate(fulfilment.packs):
            levels.append(pack_level(index, parent))
            packed = len(levels) - 1
            for entry in merge_quantities(pack.lines):
                levels.append(item_level(entry.line_number, entry.quantity, packed))
    parents = {level.parent for level in levels}
    for position, level in enumerate(levels):
        hl: list[Element] = [
            str(position + 1),
            "" if level.parent is None else str(level.parent + 1),
            level.code,
            "1" if position in parents else "0",
        ]
        segments.append(Segment("HL", hl))
        segments.extend(level.segments)
    segments.append(Segment("CTT", [str(len(levels))]))
    return segments


def _shipment_segments(
    order: Order, fulfilment: Fulfilment, settings: ShipNoticeSettings
) -> list[Segment]:
    segments = []
    if fulfilment.packs:
        segments.append(Segment("TD1", [settings.package_code, str(len(fulfilment.packs))]))
    td5 = _carrier(order, fulfilment, settings)
    if td5 is not None:
        segments.append(td5)
    for tracking in fulfilment.tracking_numbers:
        segments.append(Segment("REF", [settings.tracking_reference, tracking]))
    shipped = fulfilment.ship_date or fulfilment.created_at.date()
    segments.append(Segment("DTM", [settings.ship_date_qualifier, date8(shipped)]))
    segments.extend(party_loops(order, settings.parties))
    return segments


def _carrier(order: Order, fulfilment: Fulfilment, settings: ShipNoticeSettings) -> Segment | None:
    """TD5: the fulfilment's carrier, with the order's routing when it names the same one."""
    routing = order.carrier_routing
    carrier = fulfilment.carrier or (routing.carrier_id if routing else "")
    same = routing is not None and routing.carrier_id == carrier
    method = routing.transportation_method if routing is not None and same else ""
    route = routing.routing if routing is not None and same else ""
    level = routing.service_level if routing is not None and same else ""
    if len(carrier) < 2 and not (method or route or level):
        return None
    td5: list[Element] = [
        settings.routing_sequence,
        settings.carrier_qualifier if len(carrier) >= 2 else "",
        carrier if len(carrier) >= 2 else "",
        method,
        route,
    ]
    if level:
        td5.extend(["", "", "", "", "", "", level])
    return Segment("TD5", td5)


def _item_segments(
    line: LineItem, quantity: Decimal, settings: ShipNoticeSettings
) -> list[Segment]:
    segments = []
    ids = product_ids(line, settings.lines, "LIN")
    if ids:  # LIN02/LIN03 are mandatory: a line without product ids goes without LIN
        segments.append(Segment("LIN", [line.line_number, *ids]))
    sn1: list[Element] = [
        line.line_number if settings.line_number_in_sn1 else "",
        number(quantity),
        line.unit_of_measure,
    ]
    if settings.ordered_quantity:
        sn1.extend(("", number(line.ordered), line.unit_of_measure))
    segments.append(Segment("SN1", sn1))
    segments.extend(description(line, settings.lines))
    return segments


# -- 810: invoices ----------------------------------------------------------------------------


def invoiceable(order: Order) -> tuple[LineQuantity, ...]:
    """Per line, what is shipped and not yet invoiced: fulfilled - returned - the quantities of
    the order's earlier invoices (an invoice recorded without lines covers none)."""
    found = []
    for line in order.lines:
        invoiced = sum(
            (quantity_of(invoice.lines, line.line_number) for invoice in order.invoices),
            ZERO,
        )
        quantity = line.fulfilled - line.returned - invoiced
        if quantity > 0:
            found.append(LineQuantity(line.line_number, quantity))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """An 810 body with what it invoices, for the order's own record of the invoice."""

    number: str
    lines: tuple[LineQuantity, ...]
    amount: Decimal
    segments: list[Segment]


def invoice(
    order: Order, invoice_number: str, settings: InvoiceSettings, today: dt.date
) -> InvoiceDraft:
    """The body of an 810 invoicing what `order` shipped and has not invoiced yet."""
    check_role(order, "810", Role.SELLER)
    if not invoice_number or len(invoice_number) > MAX_INVOICE_NUMBER:
        raise _refuse(
            "invoice-number-fits-big02",
            f"invoice number {invoice_number!r} is not 1 to {MAX_INVOICE_NUMBER} characters",
            order,
        )
    quantities = invoiceable(order)
    if not quantities:
        raise _refuse(
            "invoice-needs-shipped-quantity",
            "nothing is shipped and not yet invoiced (fulfilled - returned - invoiced)",
            order,
        )
    big: list[Element] = [
        date8(today),
        invoice_number,
        date8(order.order_date) if settings.order_date else "",
        order.po_number,
    ]
    segments = [Segment("BIG", big), *party_loops(order, settings.parties)]
    if settings.terms and order.terms is not None:
        segments.append(_terms(order))
    shipped = [f.ship_date or f.created_at.date() for f in order.fulfilments]
    if settings.ship_date_qualifier and shipped:
        segments.append(Segment("DTM", [settings.ship_date_qualifier, date8(max(shipped))]))
    total = ZERO
    for entry in quantities:
        line = order.line(entry.line_number)
        assert line is not None  # invoiceable() reads the order's own lines
        if line.unit_price is None:
            raise _refuse(
                "invoice-needs-prices",
                "the line has no unit price to invoice",
                order,
                line.line_number,
            )
        total += entry.quantity * line.unit_price
        segments.append(
            Segment(
                "IT1",
                [
                    line.line_number,
                    number(entry.quantity),
                    line.unit_of_measure,
                    number(line.unit_price),
                    "",
                    *product_ids(line, settings.lines, "IT1"),
                ],
            )
        )
        segments.extend(description(line, settings.lines))
    amount = total.quantize(CENT, rounding=ROUND_HALF_UP)
    segments.append(Segment("TDS", [cents(amount)]))
    hashed = sum((entry.quantity for entry in quantities), ZERO)
    segments.append(
        Segment("CTT", [str(len(quantities)), number(hashed) if settings.hash_total else ""])
    )
    return InvoiceDraft(invoice_number, quantities, amount, segments)


def _terms(order: Order) -> Segment:
    terms = order.terms
    assert terms is not None
    return Segment(
        "ITD",
        [
            terms.type_code,
            terms.basis_date_code,
            number(terms.discount_percent) if terms.discount_percent is not None else "",
            date8(terms.discount_due_date) if terms.discount_due_date else "",
            _whole(terms.discount_days),
            date8(terms.net_due_date) if terms.net_due_date else "",
            _whole(terms.net_days),
            "",
            "",
            "",
            "",
            terms.description,
        ],
    )


def _whole(value: int | None) -> str:
    return "" if value is None else str(value)


# -- 850 and 860: orders we place ------------------------------------------------------------


def purchase_order(order: Order, settings: PurchaseOrderSettings) -> list[Segment]:
    """The body of the 850 for an order we place as buyer, with the order's purpose (BEG01)."""
    check_role(order, "850", Role.BUYER)
    segments = [
        Segment(
            "BEG",
            [
                order.purpose_code.value,
                settings.order_type,
                order.po_number,
                "",
                date8(order.order_date),
            ],
        )
    ]
    if settings.currency_entity and order.currency:
        segments.append(Segment("CUR", [settings.currency_entity, order.currency]))
    if settings.terms and order.terms is not None:
        segments.append(_terms(order))
    segments.extend(_dates(order, settings))
    routing = order.carrier_routing
    if settings.carrier_routing and routing is not None:
        td5: list[Element] = [
            "",
            routing.id_qualifier if routing.carrier_id else "",
            routing.carrier_id if routing.id_qualifier else "",
            routing.transportation_method,
            routing.routing,
        ]
        if routing.service_level:
            td5.extend(["", "", "", "", "", "", routing.service_level])
        if any(td5[1:]):
            segments.append(Segment("TD5", td5))
    segments.extend(party_loops(order, settings.parties))
    for line in order.lines:
        segments.append(_po1(line, settings.lines))
        segments.extend(description(line, settings.lines))
    segments.append(_ctt(order.lines, hash_total=settings.hash_total))
    return segments


def _dates(order: Order, settings: PurchaseOrderSettings | ChangeOrderSettings) -> list[Segment]:
    """The order's dates as header DTMs, each with the qualifier the mapping gives it."""
    return [
        Segment("DTM", [qualifier, date8(when)])
        for qualifier, when in (
            (settings.requested_ship_date_qualifier, order.requested_ship_date),
            (settings.requested_delivery_date_qualifier, order.requested_delivery_date),
            (settings.cancel_after_date_qualifier, order.cancel_after_date),
        )
        if qualifier and when is not None
    ]


def change_order(order: Order, settings: ChangeOrderSettings, sequence: int) -> list[Segment]:
    """The body of an 860 sending what changed on an order we placed: BCH01 01 when every unit
    is cancelled, else 04 with the order's dates (DTM, as they stand) and a POC per line cut
    (DI when nothing is left of it, QD with the quantity left otherwise); `sequence` is the
    change order's number (BCH05). Each 860 states the whole change so far, so the seller may
    apply any of them twice."""
    check_role(order, "860", Role.BUYER)
    dates = _dates(order, settings)
    if not order.cancellations and not dates:
        raise _refuse(
            "change-needs-cancellations",
            "the order has no cancellation nor dates to send",
            order,
        )
    whole = rules.is_cancelled(order)
    bch: list[Element] = [
        settings.cancel_purpose if whole else settings.change_purpose,
        settings.order_type,
        order.po_number,
        "",
        str(sequence) if settings.change_sequence else "",
        date8(order.order_date),
    ]
    if whole:
        return [Segment("BCH", bch), *party_loops(order, settings.parties)]
    segments = [Segment("BCH", bch), *dates, *party_loops(order, settings.parties)]
    changed = [line for line in order.lines if line.cancelled > 0]
    if not changed:
        return segments  # new dates only
    hashed = ZERO
    for line in changed:
        remaining = line.ordered - line.cancelled
        hashed += remaining
        code = settings.delete_code if remaining <= 0 else settings.decrease_code
        price = number(line.unit_price) if line.unit_price is not None else ""
        segments.append(
            Segment(
                "POC",
                [
                    line.line_number,
                    code,
                    number(max(remaining, ZERO)),
                    number(max(line.open, ZERO)),
                    line.unit_of_measure,
                    price,
                    "",
                    *product_ids(line, settings.lines, "POC"),
                ],
            )
        )
        segments.extend(description(line, settings.lines))
    segments.append(
        Segment("CTT", [str(len(changed)), number(hashed) if settings.hash_total else ""])
    )
    return segments


# -- 865 -----------------------------------------------------------------------------------

MAX_MESSAGE = 264  # MSG01
_PLAIN_TEXT = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,'()-/;?&+=!#%"
)


def plain_text(text: str, limit: int) -> str:
    """`text` as a free-form AN element: a colon becomes a dash, other characters that could be
    a delimiter or a control character become spaces, runs of spaces one, cut to `limit`."""
    kept = "".join(c if c in _PLAIN_TEXT else " - " if c == ":" else " " for c in text)
    return " ".join(kept.split())[:limit].rstrip()


@dataclass(frozen=True, slots=True)
class ChangeAnswer:
    """Our answer, as seller, to one change order (860) of the buyer: taken or refused, with the
    reason of a refusal. `changes` are its POC lines, echoed each with its ACK."""

    accepted: bool
    change_sequence: str  # BCH05 of the change answered, echoed in BCA05
    order_date: dt.date | None  # BCH06
    changes: tuple[LineChange, ...]
    reason: str = ""


def change_acknowledgement(
    order: Order, answer: ChangeAnswer, settings: ChangeAcknowledgementSettings, today: dt.date
) -> list[Segment]:
    """The body of an 865 answering a buyer's 860: BCA (BCA02 accepted or refused), the reason
    of a refusal as a note (N9/MSG), each POC of the change echoed with an ACK saying whether it
    was taken, and CTT."""
    check_role(order, "865", Role.SELLER)
    segments = [
        Segment(
            "BCA",
            [
                settings.purpose_code,
                settings.accepted_type if answer.accepted else settings.refused_type,
                order.po_number,
                "",
                answer.change_sequence,
                date8(answer.order_date or order.order_date),
                "",
                "",
                "",
                date8(today),
            ],
        )
    ]
    reason = plain_text(answer.reason, MAX_MESSAGE)
    if not answer.accepted and reason:
        segments.append(Segment("N9", [settings.note_reference, "CHANGE REFUSED"]))
        segments.append(Segment("MSG", [reason]))
    status = settings.line_accepted if answer.accepted else settings.line_refused
    wanted = settings.lines.product_ids
    for change in answer.changes:
        ids = [
            (qualifier, value)
            for qualifier in (wanted or tuple(dict.fromkeys(q for q, _ in change.product_ids)))
            for q, value in change.product_ids
            if q == qualifier
        ][: PAIRS_IN["POC"]]
        segments.append(
            Segment(
                "POC",
                [
                    change.line_number,
                    change.change_code,
                    "" if change.quantity is None else number(change.quantity),
                    "" if change.left_to_receive is None else number(change.left_to_receive),
                    change.unit_of_measure
                    if change.quantity is not None or change.left_to_receive is not None
                    else "",
                    "" if change.unit_price is None else number(change.unit_price),
                    "",
                    *(element for pair in ids for element in pair),
                ],
            )
        )
        ack: list[Element] = [status]
        if change.quantity is not None and change.quantity > 0 and change.unit_of_measure:
            ack += [number(change.quantity), change.unit_of_measure]
        segments.append(Segment("ACK", ack))
    if answer.changes:
        segments.append(Segment("CTT", [str(len(answer.changes))]))
    return segments


# -- the envelope ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who an outbound interchange goes from and to, and how it is written: the ISA ids and
    qualifiers, the GS application codes, GS08, the ISA12 control version, the delimiters and
    the usage indicator."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    application_sender: str = ""
    application_receiver: str = ""
    version: str = DEFAULT_VERSION
    control_version: str = DEFAULT_CONTROL_VERSION
    delimiters: Delimiters = DEFAULT_DELIMITERS
    usage: str = "P"

    @classmethod
    def default(cls, our_id: str, partner: str, *, usage: str = "P") -> Envelope:
        """When no document tells otherwise: qualifier ZZ both ways, `*`, `>`, `~`, 004010."""
        return cls(FALLBACK_QUALIFIER, our_id, FALLBACK_QUALIFIER, partner, usage=usage)

    @classmethod
    def answering(cls, report: InterchangeReport, *, usage: str = "P") -> Envelope:
        """Going back to the sender of an interchange we received: the ids swapped, with its
        delimiters, control version and version family (004010 or 005010)."""
        group = report.groups[0] if report.groups else None
        return cls._written_like(
            report,
            group,
            sender=(report.receiver_qualifier, report.receiver_id),
            receiver=(report.sender_qualifier, report.sender_id),
            applications=(group.receiver, group.sender) if group else ("", ""),
            usage=usage,
        )

    @classmethod
    def following(cls, report: InterchangeReport, *, usage: str = "P") -> Envelope:
        """Going the same way as an interchange we sent before."""
        group = report.groups[0] if report.groups else None
        return cls._written_like(
            report,
            group,
            sender=(report.sender_qualifier, report.sender_id),
            receiver=(report.receiver_qualifier, report.receiver_id),
            applications=(group.sender, group.receiver) if group else ("", ""),
            usage=usage,
        )

    @classmethod
    def _written_like(
        cls,
        report: InterchangeReport,
        group: GroupReport | None,
        *,
        sender: tuple[str, str],
        receiver: tuple[str, str],
        applications: tuple[str, str],
        usage: str,
    ) -> Envelope:
        control = report.control_version
        if not (len(control) == 5 and control.isdigit()):
            control = DEFAULT_CONTROL_VERSION
        if report.delimiters.repetition is None and control >= "00501":
            control = DEFAULT_CONTROL_VERSION
        version = (family_name(group.version) if group else None) or DEFAULT_VERSION
        return cls(
            sender_qualifier=sender[0] or FALLBACK_QUALIFIER,
            sender_id=sender[1],
            receiver_qualifier=receiver[0] or FALLBACK_QUALIFIER,
            receiver_id=receiver[1],
            application_sender=applications[0],
            application_receiver=applications[1],
            version=version,
            control_version=control,
            delimiters=report.delimiters,
            usage=usage,
        )


@dataclass(frozen=True, slots=True)
class ControlNumbers:
    """The control numbers of one outbound interchange: ISA13, GS06 and one ST02 per set."""

    interchange: int
    group: int
    sets: tuple[int, ...]


def interchange(
    envelope: Envelope,
    set_id: str,
    bodies: Sequence[list[Segment]],
    numbers: ControlNumbers,
    now: dt.datetime,
) -> Interchange:
    """One interchange holding one functional group of `set_id` sets, one per body."""
    if len(numbers.sets) != len(bodies):
        raise ValueError(f"{len(bodies)} sets need as many set control numbers, not {numbers.sets}")
    transactions = [
        TransactionSet(set_id, str(control).zfill(4), body)
        for control, body in zip(numbers.sets, bodies, strict=True)
    ]
    functional_id = load_catalog().functional_id_of(set_id)
    if functional_id is None:
        raise ValueError(f"no schema names the functional group of transaction set {set_id}")
    group = FunctionalGroup(
        functional_id=functional_id,
        sender=envelope.application_sender or envelope.sender_id,
        receiver=envelope.application_receiver or envelope.receiver_id,
        date=date8(now.date()),
        time=now.strftime("%H%M"),
        control_number=str(numbers.group),
        version=envelope.version,
        transactions=transactions,
    )
    return Interchange(
        sender_qualifier=envelope.sender_qualifier,
        sender_id=envelope.sender_id,
        receiver_qualifier=envelope.receiver_qualifier,
        receiver_id=envelope.receiver_id,
        date=now.strftime("%y%m%d"),
        time=now.strftime("%H%M"),
        control_number=str(numbers.interchange).zfill(9),
        control_version=envelope.control_version,
        usage=envelope.usage,
        delimiters=envelope.delimiters,
        groups=[group],
    )

"""The Order aggregate: one purchase order, whichever side of the trade we are on, with the
records of what happened to it (fulfilments, cancellations, returns, refunds, invoices, payments,
confirmations, notes).

Strategy, after cosmicpython's `Product`: the aggregate is plain Python without I/O. Each command
goes through one method that asks `rules.check` first (which only reads), then changes the order
and records what happened: the event is appended to `events` (pending, drained by the message bus)
and, as a plain `Fact`, to `history` (what a store appends to the order's stored history). Both
lists hold what happened since the order was received or loaded, not what a store kept before. A
refused command raises `RuleViolation` before anything is touched, so the order is left exactly as
it was. Nothing here decides a status: flags, fulfilment and payment statuses, and a line's
fulfilled / cancelled / returned / open quantities are all computed by `rules` from the records.
Records are appended, never removed (a deleted note leaves the order's notes but stays in its
history). `version` belongs to the store, which bumps it on each save for optimistic concurrency;
the domain never touches it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TypedDict

from gateway.domain import events, rules
from gateway.domain.commands import (
    AcceptInvoice,
    AddNote,
    CancelLines,
    CancelOrder,
    ChangeCustomer,
    ChangeDates,
    ChangeLines,
    Command,
    ConfirmOrder,
    CreateFulfilment,
    DeleteNote,
    EditNote,
    MarkPaid,
    ReceiveOrder,
    RecordChangeAnswer,
    RecordDocumentState,
    RecordInvoice,
    RecordRefund,
    RecordRefusal,
    RecordReturn,
    ReplaceOrder,
    TrackDocument,
    UpdateShipmentStatus,
)
from gateway.domain.events import Event
from gateway.domain.records import (
    Cancellation,
    Confirmation,
    Dispatch,
    Fulfilment,
    Invoice,
    LineItem,
    Note,
    OrderRecord,
    Payment,
    Refund,
    Return,
)
from gateway.domain.rules import Flag, FulfilmentStatus, PaymentStatus
from gateway.domain.values import (
    DocumentKind,
    EntityCode,
    LineQuantity,
    Party,
    PurposeCode,
    merge_quantities,
)
from gateway.errors import RuleViolation

__all__ = [
    "About",
    "Cancellation",
    "Confirmation",
    "Dispatch",
    "Fulfilment",
    "Invoice",
    "LineItem",
    "Note",
    "Order",
    "OrderRecord",
    "Payment",
    "Refund",
    "Return",
]


class About(TypedDict):
    """What every event carries: the order's partner and PO number, and the time."""

    partner: str
    po_number: str
    at: datetime


class Order(OrderRecord):
    """One purchase order and everything that happened to it: its records (`OrderRecord`), the
    statuses the rules read from them, and the commands that change it."""

    # Reading ----------------------------------------------------------------------------------

    @property
    def flags(self) -> frozenset[Flag]:
        """Every flag that holds now (see `rules.flags`)."""
        return rules.flags(self)

    @property
    def fulfilment_status(self) -> FulfilmentStatus:
        """The order's fulfilment status (see `rules.fulfilment_status`)."""
        return rules.fulfilment_status(self)

    @property
    def payment_status(self) -> PaymentStatus:
        """The order's payment status (see `rules.payment_status`)."""
        return rules.payment_status(self)

    # Commands ---------------------------------------------------------------------------------

    @classmethod
    def receive(cls, command: ReceiveOrder) -> Order:
        """A new order from a ReceiveOrder command, with its OrderReceived event."""
        rules.check_receipt(command)
        order = cls(
            partner=command.partner,
            po_number=command.po_number,
            our_role=command.our_role,
            order_date=command.order_date,
            purpose_code=command.purpose_code,
            currency=command.currency,
            parties=list(command.parties),
            terms=command.terms,
            carrier_routing=command.carrier_routing,
            requested_ship_date=command.requested_ship_date,
            requested_delivery_date=command.requested_delivery_date,
            cancel_after_date=command.cancel_after_date,
            lines=[LineItem.from_purchase_order_line(line) for line in command.lines],
            is_test=command.is_test,
            received_at=command.at,
        )
        order._record(
            command,
            frozenset(),
            events.OrderReceived(
                **order._about(command),
                our_role=command.our_role,
                purpose_code=command.purpose_code,
                order_date=command.order_date,
                currency=command.currency,
                lines=command.lines,
                parties=command.parties,
                terms=command.terms,
                carrier_routing=command.carrier_routing,
                requested_ship_date=command.requested_ship_date,
                requested_delivery_date=command.requested_delivery_date,
                cancel_after_date=command.cancel_after_date,
                is_test=command.is_test,
            ),
        )
        return order

    def handle(self, command: Command) -> None:
        """Apply any command to this order (ReceiveOrder is refused: the order is held)."""
        match command:
            case ReceiveOrder():
                rules.check(self, command)
            case ReplaceOrder():
                self.replace(command)
            case ChangeLines():
                self.change_lines(command)
            case ConfirmOrder():
                self.confirm(command)
            case CreateFulfilment():
                self.create_fulfilment(command)
            case UpdateShipmentStatus():
                self.update_shipment_status(command)
            case TrackDocument():
                self.track_document(command)
            case RecordDocumentState():
                self.record_document_state(command)
            case CancelLines():
                self.cancel_lines(command)
            case CancelOrder():
                self.cancel(command)
            case RecordReturn():
                self.record_return(command)
            case RecordRefund():
                self.record_refund(command)
            case RecordInvoice():
                self.record_invoice(command)
            case AcceptInvoice():
                self.accept_invoice(command)
            case MarkPaid():
                self.mark_paid(command)
            case AddNote():
                self.add_note(command)
            case EditNote():
                self.edit_note(command)
            case DeleteNote():
                self.delete_note(command)
            case ChangeCustomer():
                self.change_customer(command)
            case ChangeDates():
                self.change_dates(command)
            case RecordRefusal():
                self.record_refusal(command)
            case RecordChangeAnswer():
                self.record_change_answer(command)
            case _:
                raise TypeError(f"no handler for {type(command).__name__}")

    def replace(self, command: ReplaceOrder) -> None:
        """Take the header and lines of a replacing 850. A held line missing from it is removed;
        when records still name it (cancellations, invoices, refunds) it stays, cut down to its
        settled quantity, so that no record loses its line."""
        rules.check(self, command)
        before = rules.flags(self)
        new_numbers = {line.line_number for line in command.lines}
        removed = [line for line in self.lines if line.line_number not in new_numbers]
        kept = [line for line in removed if self._named_by_records(line.line_number)]
        for line in kept:
            line.ordered = rules.settled_quantity(self, line.line_number)
        lines: list[LineItem] = []
        for terms in command.lines:
            held = self.line(terms.line_number)
            if held is None:
                lines.append(LineItem.from_purchase_order_line(terms))
                continue
            held.take_terms(terms)
            lines.append(held)
        for line in removed:
            line.attach(None)
        self.lines = lines + kept
        self._attach_lines()
        self.purpose_code = PurposeCode.REPLACE
        self.order_date = command.order_date
        self.currency = command.currency
        self.parties = list(command.parties)
        self.terms = command.terms
        self.carrier_routing = command.carrier_routing
        self.requested_ship_date = command.requested_ship_date
        self.requested_delivery_date = command.requested_delivery_date
        self.cancel_after_date = command.cancel_after_date
        self._record(
            command,
            before,
            events.OrderReplaced(
                **self._about(command),
                order_date=command.order_date,
                currency=command.currency,
                lines=command.lines,
                removed_lines=tuple(line.line_number for line in removed),
                parties=command.parties,
                terms=command.terms,
                carrier_routing=command.carrier_routing,
                requested_ship_date=command.requested_ship_date,
                requested_delivery_date=command.requested_delivery_date,
                cancel_after_date=command.cancel_after_date,
            ),
        )

    def change_lines(self, command: ChangeLines) -> None:
        """Give the lines it names their new terms; add the lines the order does not have yet."""
        rules.check(self, command)
        before = rules.flags(self)
        added = []
        for terms in command.lines:
            held = self.line(terms.line_number)
            if held is None:
                self.lines.append(LineItem.from_purchase_order_line(terms))
                added.append(terms.line_number)
                continue
            held.take_terms(terms)
        self._attach_lines()
        self._record(
            command,
            before,
            events.LinesChanged(
                **self._about(command),
                lines=command.lines,
                added_lines=tuple(added),
                reason=command.reason,
            ),
        )

    def confirm(self, command: ConfirmOrder) -> None:
        """Record an acknowledgement (855 sent or received) or a vendor notification."""
        rules.check(self, command)
        before = rules.flags(self)
        self.confirmations.append(
            Confirmation(command.how, command.source, command.at, command.lines)
        )
        self._record(
            command,
            before,
            events.OrderConfirmed(**self._about(command), how=command.how, lines=command.lines),
        )

    def create_fulfilment(self, command: CreateFulfilment) -> None:
        """Record a shipment. After Shipped it is refused (no-change-after-shipped): the
        service may then keep it for an operator with `record_refused_fulfilment`."""
        rules.check(self, command)
        before = rules.flags(self)
        fulfilment = Fulfilment(
            id=command.fulfilment_id,
            lines=merge_quantities(command.lines),
            created_at=command.at,
            carrier=command.carrier,
            tracking_numbers=command.tracking_numbers,
            tracking_url=command.tracking_url,
            ship_date=command.ship_date,
            status=command.status,
            packs=command.packs,
            passed_on=command.passed_on,
        )
        self.fulfilments.append(fulfilment)
        self._record(
            command,
            before,
            events.FulfilmentCreated(
                **self._about(command),
                fulfilment_id=fulfilment.id,
                lines=fulfilment.lines,
                carrier=fulfilment.carrier,
                tracking_numbers=fulfilment.tracking_numbers,
                tracking_url=fulfilment.tracking_url,
                ship_date=fulfilment.ship_date,
                status=fulfilment.status,
                packs=fulfilment.packs,
                passed_on=fulfilment.passed_on,
            ),
        )

    def record_refused_fulfilment(
        self, command: CreateFulfilment, violation: RuleViolation
    ) -> None:
        """Keep a fulfilment the rules refused (a late one after Shipped, typically) in the
        order's history, as a FulfilmentRefused event an operator can see. The order's goods
        and statuses do not change."""
        rules.check_same_order(self, command)
        before = rules.flags(self)
        self._record(
            command,
            before,
            events.FulfilmentRefused(
                **self._about(command),
                fulfilment_id=command.fulfilment_id,
                lines=command.lines,
                carrier=command.carrier,
                tracking_numbers=command.tracking_numbers,
                rule=violation.rule,
                reason=str(violation),
            ),
        )

    def record_refusal(self, command: RecordRefusal) -> None:
        """Keep a refused document in the order's history (DocumentRefused); nothing else
        changes."""
        rules.check(self, command)
        before = rules.flags(self)
        self._record(
            command,
            before,
            events.DocumentRefused(
                **self._about(command),
                what=command.what,
                rule=command.rule,
                reason=command.reason,
            ),
        )

    def record_change_answer(self, command: RecordChangeAnswer) -> None:
        """Keep the seller's answer to our change in the history (ChangeAnswered); nothing else
        changes."""
        rules.check(self, command)
        before = rules.flags(self)
        self._record(
            command,
            before,
            events.ChangeAnswered(
                **self._about(command),
                accepted=command.accepted,
                change_sequence=command.change_sequence,
                lines=command.lines,
                note=command.note,
            ),
        )

    def update_shipment_status(self, command: UpdateShipmentStatus) -> None:
        """Move a fulfilment's shipment on."""
        rules.check(self, command)
        before = rules.flags(self)
        fulfilment = self._fulfilment(command.fulfilment_id)
        previous = fulfilment.status
        fulfilment.status = command.status
        self._record(
            command,
            before,
            events.ShipmentStatusChanged(
                **self._about(command),
                fulfilment_id=fulfilment.id,
                previous=previous,
                status=command.status,
            ),
        )

    def track_document(self, command: TrackDocument) -> None:
        """Follow a document of ours about the order, just queued."""
        rules.check(self, command)
        before = rules.flags(self)
        self.dispatches.append(
            Dispatch(
                document=command.document,
                kind=command.kind,
                queued_at=command.at,
                fulfilment_ids=command.fulfilment_ids,
                needs_acceptance=command.needs_acceptance,
            )
        )
        self._record(
            command,
            before,
            events.DocumentTracked(
                **self._about(command),
                document=command.document,
                kind=command.kind,
                fulfilment_ids=command.fulfilment_ids,
                needs_acceptance=command.needs_acceptance,
            ),
        )

    def record_document_state(self, command: RecordDocumentState) -> None:
        """Move a followed document on. The same state again records nothing (a second 997
        accepting it). An 856 that reached the partner passes its fulfilments on."""
        rules.check(self, command)
        dispatch = self.dispatch(command.document)
        if dispatch is None:  # rules.check has refused it already
            raise AssertionError(f"document {command.document} vanished")
        if dispatch.state is command.state:
            return
        before = rules.flags(self)
        previous = dispatch.state
        dispatch.state, dispatch.updated_at, dispatch.detail = (
            command.state,
            command.at,
            command.detail,
        )
        happened: list[Event] = [
            events.DocumentStateChanged(
                **self._about(command),
                document=dispatch.document,
                kind=dispatch.kind,
                previous=previous,
                state=command.state,
                detail=command.detail,
            )
        ]
        if rules.reached(dispatch) and dispatch.kind is DocumentKind.SHIP_NOTICE:
            for fulfilment_id in dispatch.fulfilment_ids:
                fulfilment = self.fulfilment(fulfilment_id)
                if fulfilment is not None and not fulfilment.passed_on:
                    fulfilment.passed_on = True
                    happened.append(
                        events.FulfilmentPassedOn(
                            **self._about(command),
                            fulfilment_id=fulfilment_id,
                            via=dispatch.document,
                        )
                    )
        self._record(command, before, *happened)

    def cancel_lines(self, command: CancelLines) -> None:
        """Cancel some open quantity of some lines."""
        rules.check(self, command)
        self._cancel(command, command.cancellation_id, merge_quantities(command.lines), False)

    def cancel(self, command: CancelOrder) -> None:
        """Cancel all the open quantity of the order."""
        rules.check(self, command)
        lines = tuple(
            LineQuantity(line.line_number, line.open) for line in self.lines if line.open > 0
        )
        self._cancel(command, command.cancellation_id, lines, True)

    def record_return(self, command: RecordReturn) -> None:
        """Record fulfilled goods coming back."""
        rules.check(self, command)
        before = rules.flags(self)
        lines = merge_quantities(command.lines)
        self.returns.append(
            Return(command.return_id, lines, command.reason, command.source, command.at)
        )
        self._record(
            command,
            before,
            events.ReturnRecorded(
                **self._about(command),
                return_id=command.return_id,
                lines=lines,
                reason=command.reason,
            ),
        )

    def record_refund(self, command: RecordRefund) -> None:
        """Record money given back."""
        rules.check(self, command)
        before = rules.flags(self)
        lines = merge_quantities(command.lines)
        self.refunds.append(
            Refund(
                command.refund_id,
                command.amount,
                lines,
                command.reason,
                command.source,
                command.at,
            )
        )
        self._record(
            command,
            before,
            events.RefundRecorded(
                **self._about(command),
                refund_id=command.refund_id,
                amount=command.amount,
                lines=lines,
                reason=command.reason,
            ),
        )

    def record_invoice(self, command: RecordInvoice) -> None:
        """Record an invoice sent or received."""
        rules.check(self, command)
        before = rules.flags(self)
        lines = merge_quantities(command.lines)
        self.invoices.append(
            Invoice(command.invoice_number, command.amount, lines, command.source, command.at)
        )
        self._record(
            command,
            before,
            events.InvoiceRecorded(
                **self._about(command),
                invoice_number=command.invoice_number,
                amount=command.amount,
                lines=lines,
            ),
        )

    def accept_invoice(self, command: AcceptInvoice) -> None:
        """Record that an invoice was accepted."""
        rules.check(self, command)
        before = rules.flags(self)
        invoice = self.invoice(command.invoice_number)
        if invoice is None:  # rules.check has refused it already
            raise AssertionError(f"invoice {command.invoice_number} vanished")
        invoice.accepted = True
        self._record(
            command,
            before,
            events.InvoiceAccepted(**self._about(command), invoice_number=invoice.number),
        )

    def mark_paid(self, command: MarkPaid) -> None:
        """Record a payment of `command.amount`, or without one, of the open invoiced balance
        (`in_full`); the rules refuse a payment with nothing invoiced open and one above the
        balance."""
        rules.check(self, command)
        before = rules.flags(self)
        in_full = command.amount is None
        amount = rules.open_balance(self) if command.amount is None else command.amount
        self.payments.append(Payment(amount, in_full, command.reference, command.at))
        self._record(
            command,
            before,
            events.PaymentRecorded(
                **self._about(command), amount=amount, in_full=in_full, reference=command.reference
            ),
        )

    def add_note(self, command: AddNote) -> None:
        """Attach a note."""
        rules.check(self, command)
        before = rules.flags(self)
        self.notes.append(Note(command.note_id, command.author, command.text, command.at))
        self._record(
            command,
            before,
            events.NoteAdded(
                **self._about(command),
                note_id=command.note_id,
                author=command.author,
                text=command.text,
            ),
        )

    def edit_note(self, command: EditNote) -> None:
        """Change a note's text."""
        rules.check(self, command)
        before = rules.flags(self)
        note = self._note(command.note_id)
        previous = note.text
        note.text, note.edited_by, note.edited_at = command.text, command.author, command.at
        self._record(
            command,
            before,
            events.NoteEdited(
                **self._about(command),
                note_id=note.id,
                author=command.author,
                text=command.text,
                previous_text=previous,
            ),
        )

    def delete_note(self, command: DeleteNote) -> None:
        """Take a note off the order; its history keeps what it said."""
        rules.check(self, command)
        before = rules.flags(self)
        note = self._note(command.note_id)
        self.notes.remove(note)
        self._record(
            command,
            before,
            events.NoteDeleted(
                **self._about(command), note_id=note.id, author=command.author, text=note.text
            ),
        )

    def change_customer(self, command: ChangeCustomer) -> None:
        """Put a new ship-to party (and bill-to, when given) in place of the old ones."""
        rules.check(self, command)
        before = rules.flags(self)
        previous_ship_to = self.party(EntityCode.SHIP_TO)
        previous_bill_to = self.party(EntityCode.BILL_TO)
        ship_to = dataclasses.replace(command.ship_to, entity_code=EntityCode.SHIP_TO)
        self._set_party(ship_to)
        bill_to = None
        if command.bill_to is not None:
            bill_to = dataclasses.replace(command.bill_to, entity_code=EntityCode.BILL_TO)
            self._set_party(bill_to)
        self._record(
            command,
            before,
            events.CustomerChanged(
                **self._about(command),
                ship_to=ship_to,
                bill_to=bill_to,
                previous_ship_to=previous_ship_to,
                previous_bill_to=previous_bill_to if bill_to else None,
                reason=command.reason,
            ),
        )

    def change_dates(self, command: ChangeDates) -> None:
        """Put the dates the command gives in place of the order's (the others stay)."""
        rules.check(self, command)
        before = rules.flags(self)
        changed = rules.dates_moved(self, command)
        if not changed:
            return  # the same dates again (a repeated 860): nothing happened
        for name, _, new in changed:
            setattr(self, name, new)
        self._record(
            command,
            before,
            events.DatesChanged(
                **self._about(command), changed=tuple(changed), reason=command.reason
            ),
        )

    # Inner workings ---------------------------------------------------------------------------

    def _about(self, command: Command) -> About:
        return About(partner=self.partner, po_number=self.po_number, at=command.at)

    def _record(self, command: Command, before: frozenset[Flag], *happened: Event) -> None:
        """Append the command's events, then the state-triggered ones of the flags it raised, to
        `events` and `history`; keep the command's source document."""
        if command.source and command.source not in self.source_documents:
            self.source_documents.append(command.source)
        triggered = [
            event(**self._about(command)) for event in rules.raised_flags(before, rules.flags(self))
        ]
        for event in (*happened, *triggered):
            self.events.append(event)
            self.history.append(events.fact(event, command.source))

    def _cancel(
        self,
        command: CancelLines | CancelOrder,
        cancellation_id: str,
        lines: tuple[LineQuantity, ...],
        whole_order: bool,
    ) -> None:
        before = rules.flags(self)
        self.cancellations.append(
            Cancellation(
                cancellation_id,
                lines,
                command.requested_by,
                command.reason,
                command.source,
                command.at,
            )
        )
        self._record(
            command,
            before,
            events.LinesCancelled(
                **self._about(command),
                cancellation_id=cancellation_id,
                lines=lines,
                requested_by=command.requested_by,
                reason=command.reason,
                whole_order=whole_order,
            ),
        )

    def _named_by_records(self, line_number: str) -> bool:
        named = (
            *(f.lines for f in self.fulfilments),
            *(c.lines for c in self.cancellations),
            *(r.lines for r in self.returns),
            *(r.lines for r in self.refunds),
            *(i.lines for i in self.invoices),
        )
        return any(entry.line_number == line_number for lines in named for entry in lines)

    def _fulfilment(self, fulfilment_id: str) -> Fulfilment:
        found = self.fulfilment(fulfilment_id)
        if found is None:  # rules.check has refused it already
            raise AssertionError(f"fulfilment {fulfilment_id} vanished")
        return found

    def _note(self, note_id: str) -> Note:
        found = self.note(note_id)
        if found is None:  # rules.check has refused it already
            raise AssertionError(f"note {note_id} vanished")
        return found

    def _set_party(self, party: Party) -> None:
        for index, held in enumerate(self.parties):
            if held.entity_code == party.entity_code:
                self.parties[index] = party
                return
        self.parties.append(party)

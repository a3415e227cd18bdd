"""Random sequences of commands on one order (hypothesis stateful testing).

The machine receives an order, then applies commands drawn at random, many of them illegal
(unknown lines, zero, negative or fractional quantities of counted units, too much, reused ids,
unknown fulfilments, wrong shipment moves, unknown carriers, wrong or reused tracking numbers,
javascript: URLs, ship dates before the order, documents of ours queued, delivered, accepted,
rejected, failed and resent, payments and refunds beyond what is owed or paid). After every step
the order's invariants hold, among them each flag equal to its definition worked out again from
the facts (documents delivered or accepted, acknowledgements, quantities, invoices, payments). A
refused command raises RuleViolation naming a rule that guards that kind of command and leaves
the order equal to a deep copy taken before it. An accepted one adds at least one event and one
fact, and undoes nothing: history and records only grow, fulfilments keep their contents,
cancelled and fulfilled quantities never go down, and no flag is lowered but Paid (more shipped
than invoiced), Confirmed and Completed (a document of ours rejected or queued again).
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from gateway.domain import commands, rules
from gateway.domain.model import Order
from gateway.domain.plain import PlainData
from gateway.domain.rules import RULES, Flag, check_invariants
from gateway.domain.values import (
    DATE_FIELDS,
    ConfirmationMethod,
    DocumentKind,
    DocumentState,
    LineAnswer,
    LineAnswerStatus,
    LineQuantity,
    PurchaseOrderLine,
    Role,
    ShipmentStatus,
    Side,
)
from gateway.errors import RuleViolation
from tests.unit.domain.builders import ORDER_DATE, PARTNER, PO, at, ups_tracking

pytestmark = pytest.mark.slow  # the fast tier (`make test-fast`) leaves it out

plain = PlainData()
STORED = PlainData(skip=frozenset({"events"}))
HELD_LINES = ("1", "2", "3")
positive = st.sampled_from(["0.5", "1", "2", "3", "4", "6", "10"]).map(Decimal)
any_quantity = st.one_of(positive, positive, positive, st.sampled_from(["0", "-1"]).map(Decimal))
line_numbers = st.sampled_from((*HELD_LINES, "9"))
line_quantities = st.lists(st.builds(LineQuantity, line_numbers, any_quantity), max_size=3).map(
    tuple
)
amounts = st.one_of(positive.map(lambda q: q * 10), st.just(Decimal(0)))
order_lines = st.lists(
    st.builds(
        PurchaseOrderLine,
        st.sampled_from(HELD_LINES),
        positive,
        st.sampled_from(["EA", "EA", "LB"]),  # counted in whole units, or weighed
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda line: line.line_number,
).map(tuple)


class OrderMachine(RuleBasedStateMachine):
    """One order and the commands a partner, the CLI or an operator could throw at it."""

    def __init__(self) -> None:
        super().__init__()
        self.order: Order
        self.minute = 0
        self.serial = 0
        self.refused = 0
        self.accepted = 0

    # drawing ids and times

    def now(self):
        self.minute += 1
        return at(self.minute)

    def new_id(self, prefix: str, held: list[str], reuse: bool) -> str:
        if reuse and held:
            return held[0]
        self.serial += 1
        return f"{prefix}{self.serial}"

    def command(self, command_class, **fields):
        return command_class(partner=PARTNER, po_number=PO, at=self.now(), **fields)

    def apply(self, command) -> None:
        before = copy.deepcopy(self.order)
        try:
            self.order.handle(command)
        except RuleViolation as violation:
            self.refused += 1
            event(f"refused: {violation.rule}")
            assert self.order == before, f"{type(command).__name__} refused but changed the order"
            assert type(command) in RULES[violation.rule].guards, (violation.rule, command)
            assert violation.po_number == PO
            if isinstance(command, commands.CreateFulfilment):
                self.order.record_refused_fulfilment(command, violation)
                assert self.order.history[-1].event == "FulfilmentRefused"
                assert self.order.fulfilments == before.fulfilments
                assert self.order.flags == before.flags
            return
        self.accepted += 1
        self.nothing_lost(before, command)

    def nothing_lost(self, before: Order, command) -> None:
        after = self.order
        name = type(command).__name__
        assert len(after.history) > len(before.history), f"{name} recorded no fact"
        assert len(after.events) > len(before.events), f"{name} raised no event"
        assert after.history[: len(before.history)] == before.history
        assert after.events[: len(before.events)] == before.events
        for kind in ("cancellations", "returns", "refunds", "payments", "confirmations"):
            held = getattr(before, kind)
            assert getattr(after, kind)[: len(held)] == held, kind
        assert len(after.fulfilments) >= len(before.fulfilments)
        for old, new in zip(before.fulfilments, after.fulfilments, strict=False):
            assert (old.id, old.lines, old.carrier, old.tracking_numbers, old.packs) == (
                new.id,
                new.lines,
                new.carrier,
                new.tracking_numbers,
                new.packs,
            )
            assert new.passed_on or not old.passed_on
        for line in before.lines:
            kept = after.line(line.line_number)
            if kept is None:  # only a line no record names can go
                assert line.fulfilled == line.cancelled == line.returned == 0
                continue
            assert kept.cancelled >= line.cancelled
            assert kept.fulfilled >= line.fulfilled
        lowered = before.flags - after.flags
        # Paid drops when more ships uninvoiced; Confirmed and Completed rest on documents
        # reaching the partner, and drop only when one is rejected or queued (again)
        assert lowered <= {Flag.PAID, Flag.CONFIRMED, Flag.COMPLETED}, lowered
        if lowered & {Flag.CONFIRMED, Flag.COMPLETED}:
            assert isinstance(command, commands.TrackDocument | commands.RecordDocumentState), (
                name,
                lowered,
            )

    # the order

    @initialize(lines=order_lines, role=st.sampled_from(Role), is_test=st.booleans())
    def receive(self, lines, role, is_test) -> None:
        self.order = Order.receive(
            commands.ReceiveOrder(
                partner=PARTNER,
                po_number=PO,
                at=self.now(),
                our_role=role,
                order_date=ORDER_DATE,
                lines=lines,
                is_test=is_test,
            )
        )
        assert [type(e).__name__ for e in self.order.events] == ["OrderReceived"]

    @invariant()
    def invariants_hold(self) -> None:
        check_invariants(self.order)

    def plain_forms_agree(self) -> None:
        """The converters generated from type hints give what the generic walk gives, for the
        order (as stored: without its pending events) and every event it has raised (checked
        once per sequence, at its end: the order then holds every record it reached)."""
        for converter in (plain, STORED):
            assert converter(self.order) == converter.generic(self.order)
        for happened in self.order.events:
            assert plain(happened) == plain.generic(happened)

    def teardown(self) -> None:
        self.plain_forms_agree()
        for flag in self.order.flags:
            event(f"ended {flag.value}")

    # commands

    @rule(lines=order_lines)
    def replace(self, lines) -> None:
        self.apply(self.command(commands.ReplaceOrder, order_date=ORDER_DATE, lines=lines))

    @rule(how=st.sampled_from(ConfirmationMethod))
    def confirm(self, how) -> None:
        self.apply(self.command(commands.ConfirmOrder, how=how))

    def tracking(self, count: int, kind: str) -> tuple[str, ...]:
        """`count` tracking numbers: new valid ones, one the order already has, or a wrong one."""
        if kind == "held":
            held = [n for f in self.order.fulfilments for n in f.tracking_numbers]
            return tuple(held[:1]) if held else ()
        if kind == "wrong":
            return ("1Z999AA10000000000",) * min(count, 1)
        numbers = []
        for _ in range(count):
            self.serial += 1
            numbers.append(ups_tracking(self.serial))
        return tuple(numbers)

    @rule(
        lines=line_quantities,
        tracking=st.integers(0, 3),
        tracking_kind=st.sampled_from(["new", "new", "new", "held", "wrong"]),
        carrier=st.sampled_from(["UPSN", "UPSN", "UPSN", "", "ACME"]),
        url=st.sampled_from(["", "https://track.example/1", "javascript:alert(1)"]),
        ship_date=st.sampled_from([None, ORDER_DATE, ORDER_DATE - dt.timedelta(days=1)]),
        status=st.sampled_from(ShipmentStatus),
        passed_on=st.booleans(),
        reuse=st.booleans(),
    )
    def fulfil(
        self, lines, tracking, tracking_kind, carrier, url, ship_date, status, passed_on, reuse
    ) -> None:
        held = [f.id for f in self.order.fulfilments]
        self.apply(
            self.command(
                commands.CreateFulfilment,
                fulfilment_id=self.new_id("F", held, reuse),
                lines=lines,
                carrier=carrier,
                tracking_numbers=self.tracking(tracking, tracking_kind),
                tracking_url=url,
                ship_date=ship_date,
                status=status,
                passed_on=passed_on,
            )
        )

    @rule(
        share=st.sampled_from([Decimal(1), Decimal(1), Decimal("0.5")]),
        skip=st.sets(st.sampled_from(HELD_LINES), max_size=2),
        tracking=st.integers(1, 2),
        passed_on=st.booleans(),
    )
    def fulfil_open(self, share, skip, tracking, passed_on) -> None:
        """Fulfil all (or half) the open quantity of the held lines: steers towards Shipped."""
        lines = tuple(
            LineQuantity(line.line_number, line.open * share)
            for line in self.order.lines
            if line.line_number not in skip and line.open > 0
        )
        self.apply(
            self.command(
                commands.CreateFulfilment,
                fulfilment_id=self.new_id("F", [], False),
                lines=lines,
                carrier="UPSN",
                tracking_numbers=self.tracking(tracking, "new"),
                passed_on=passed_on,
            )
        )

    @rule(index=st.integers(0, 2), share=st.sampled_from([Decimal(1), Decimal("0.5")]))
    def cancel_open(self, index, share) -> None:
        """Cancel all (or half) the open quantity of one held line."""
        if index >= len(self.order.lines):
            return
        line = self.order.lines[index]
        self.apply(
            self.command(
                commands.CancelLines,
                cancellation_id=self.new_id("C", [], False),
                lines=(LineQuantity(line.line_number, line.open * share),),
                requested_by=Side.SELLER,
            )
        )

    @rule(index=st.integers(0, 2))
    def return_fulfilled(self, index) -> None:
        """Return what is fulfilled and not returned of one held line."""
        if index >= len(self.order.lines):
            return
        line = self.order.lines[index]
        self.apply(
            self.command(
                commands.RecordReturn,
                return_id=self.new_id("R", [], False),
                lines=(LineQuantity(line.line_number, line.fulfilled - line.returned),),
            )
        )

    @rule(index=st.integers(0, 3), status=st.sampled_from(ShipmentStatus))
    def update_shipment(self, index, status) -> None:
        held = [f.id for f in self.order.fulfilments]
        target = held[index] if index < len(held) else "F-unknown"
        self.apply(self.command(commands.UpdateShipmentStatus, fulfilment_id=target, status=status))

    @rule(
        kind=st.sampled_from(DocumentKind),
        carries=st.sets(st.integers(0, 3), max_size=2),
        needs_acceptance=st.booleans(),
        reuse=st.booleans(),
    )
    def track_document(self, kind, carries, needs_acceptance, reuse) -> None:
        """A document of ours about the order queued (an 856 carrying some fulfilments)."""
        held = [f.id for f in self.order.fulfilments]
        documents = [d.document for d in self.order.dispatches]
        carried = tuple(held[i] if i < len(held) else "F-unknown" for i in sorted(carries))
        self.apply(
            self.command(
                commands.TrackDocument,
                document=self.new_id("document ", documents, reuse),
                kind=kind,
                fulfilment_ids=carried if kind is DocumentKind.SHIP_NOTICE else (),
                needs_acceptance=needs_acceptance,
            )
        )

    @rule(index=st.integers(0, 4), state=st.sampled_from(DocumentState))
    def document_state(self, index, state) -> None:
        """A followed document delivered, accepted, rejected, failed or queued again."""
        documents = list(self.order.dispatches)
        if index < len(documents) and documents[index].state is state:
            return  # the same state again records nothing (see test_rules)
        target = documents[index].document if index < len(documents) else "document unknown"
        self.apply(self.command(commands.RecordDocumentState, document=target, state=state))

    @rule()
    def everything_arrives(self) -> None:
        """The document that confirms the order and an 856 carrying every fulfilment not passed
        on are queued, then every followed document reaches the partner: steers towards
        Confirmed and Completed."""
        confirming = (
            DocumentKind.ACKNOWLEDGEMENT
            if self.order.our_role is Role.SELLER
            else DocumentKind.ORDER
        )
        waiting = tuple(f.id for f in self.order.fulfilments if not f.passed_on)
        for kind, carried in ((confirming, ()), (DocumentKind.SHIP_NOTICE, waiting)):
            if kind is DocumentKind.SHIP_NOTICE and not carried:
                continue
            self.apply(
                self.command(
                    commands.TrackDocument,
                    document=self.new_id("document ", [], False),
                    kind=kind,
                    fulfilment_ids=carried,
                    needs_acceptance=True,
                )
            )
        for dispatch in list(self.order.dispatches):
            final = DocumentState.ACCEPTED
            if dispatch.state is DocumentState.FAILED:
                self.apply(
                    self.command(
                        commands.RecordDocumentState,
                        document=dispatch.document,
                        state=DocumentState.QUEUED,
                    )
                )
            if dispatch.state is not final:
                self.apply(
                    self.command(
                        commands.RecordDocumentState, document=dispatch.document, state=final
                    )
                )

    @rule(lines=line_quantities, by=st.sampled_from(Side), reuse=st.booleans())
    def cancel_lines(self, lines, by, reuse) -> None:
        held = [c.id for c in self.order.cancellations]
        self.apply(
            self.command(
                commands.CancelLines,
                cancellation_id=self.new_id("C", held, reuse),
                lines=lines,
                requested_by=by,
            )
        )

    @rule(accepted=st.booleans(), line=line_numbers, status=st.sampled_from(LineAnswerStatus))
    def answer_change(self, accepted, line, status) -> None:
        """The seller's 865 to a change of ours: recorded on any order, closed or not."""
        self.apply(
            self.command(
                commands.RecordChangeAnswer,
                accepted=accepted,
                change_sequence="1",
                lines=(LineAnswer(line, status, Decimal(1), code="IA"),),
            )
        )

    @rule(days=st.integers(1, 30), which=st.sampled_from(DATE_FIELDS))
    def change_dates(self, days, which) -> None:
        """A date moved (never to the one it has: the same date again records nothing)."""
        current = getattr(self.order, which) or ORDER_DATE
        moved = current + dt.timedelta(days=days)
        self.apply(self.command(commands.ChangeDates, **{which: moved}, reason="moved"))

    @rule(by=st.sampled_from(Side), roll=st.integers(0, 3))
    def cancel_order(self, by, roll) -> None:
        if roll:  # cancelling the whole order closes it: kept rarer, so sequences go on
            return
        held = [c.id for c in self.order.cancellations]
        self.apply(
            self.command(
                commands.CancelOrder, cancellation_id=self.new_id("C", held, False), requested_by=by
            )
        )

    @rule(lines=line_quantities, reuse=st.booleans())
    def record_return(self, lines, reuse) -> None:
        held = [r.id for r in self.order.returns]
        self.apply(
            self.command(
                commands.RecordReturn, return_id=self.new_id("R", held, reuse), lines=lines
            )
        )

    @rule(
        amount=st.one_of(amounts, st.sampled_from(["0.001", "1e309"]).map(Decimal)),
        lines=line_quantities,
    )
    def record_refund(self, amount, lines) -> None:
        self.apply(
            self.command(
                commands.RecordRefund,
                refund_id=self.new_id("RF", [], False),
                amount=amount,
                lines=lines,
            )
        )

    @rule(amount=amounts, reuse=st.booleans(), what_shipped=st.booleans())
    def record_invoice(self, amount, reuse, what_shipped) -> None:
        """An invoice for the order as a whole, or for what shipped and is not invoiced."""
        held = [i.number for i in self.order.invoices]
        lines: tuple[LineQuantity, ...] = ()
        if what_shipped:
            lines = tuple(
                LineQuantity(
                    line.line_number,
                    line.fulfilled - rules.invoiced_quantity(self.order, line.line_number),
                )
                for line in self.order.lines
                if line.fulfilled > rules.invoiced_quantity(self.order, line.line_number)
            )
        self.apply(
            self.command(
                commands.RecordInvoice,
                invoice_number=self.new_id("INV", held, reuse),
                amount=amount,
                lines=lines,
            )
        )

    @rule(index=st.integers(0, 2))
    def accept_invoice(self, index) -> None:
        held = [i.number for i in self.order.invoices]
        target = held[index] if index < len(held) else "INV-unknown"
        self.apply(self.command(commands.AcceptInvoice, invoice_number=target))

    @rule(amount=st.one_of(st.none(), st.none(), amounts))
    def mark_paid(self, amount) -> None:
        self.apply(self.command(commands.MarkPaid, amount=amount))

    @rule(text=st.sampled_from(["call the buyer", "", "late"]), index=st.integers(0, 2))
    def notes(self, text, index) -> None:
        held = [n.id for n in self.order.notes]
        target = held[index] if index < len(held) else "N-unknown"
        self.apply(
            self.command(
                commands.AddNote, note_id=self.new_id("N", held, False), author="ann", text=text
            )
        )
        self.apply(self.command(commands.EditNote, note_id=target, author="bob", text=text))
        if index == 0:
            self.apply(self.command(commands.DeleteNote, note_id=target, author="cy"))


OrderMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestOrderSequences = OrderMachine.TestCase

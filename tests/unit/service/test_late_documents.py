"""Late documents (what costs suppliers chargebacks), read from one order and a partner's
`[late]` policy; and the carrier of a fulfilment resolved before it reaches the order."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from gateway.config import LatePolicy
from gateway.domain import commands
from gateway.domain.values import DocumentKind, DocumentState, Role, Side
from gateway.errors import RuleViolation
from gateway.service.late import (
    ACK_OVERDUE,
    CANCEL_AFTER_PASSED,
    SHIP_DATE_PASSED,
    SHIP_NOTICE_BEFORE_ACK,
    late_documents,
)
from gateway.service.shipping import with_carrier_resolved
from tests.unit.domain.builders import T0, deliver, fulfil, new_order, on_order

POLICY = LatePolicy(ack_due_hours=24)


def kinds(order, now, policy=POLICY):
    return [late.kind for late in late_documents(order, policy, now)]


def test_an_order_we_sell_is_late_without_an_855_delivered_within_ack_due_hours():
    order = new_order()  # received at T0
    assert kinds(order, T0 + dt.timedelta(hours=23)) == []
    assert kinds(order, T0 + dt.timedelta(hours=24)) == [ACK_OVERDUE]
    order.handle(on_order(commands.TrackDocument, document="d1", kind=DocumentKind.ACKNOWLEDGEMENT))
    assert kinds(order, T0 + dt.timedelta(hours=25)) == [ACK_OVERDUE]  # queued is not sent
    order.handle(
        on_order(commands.RecordDocumentState, document="d1", state=DocumentState.DELIVERED)
    )
    assert kinds(order, T0 + dt.timedelta(hours=25)) == []
    assert kinds(new_order(), T0 + dt.timedelta(days=9), LatePolicy(ack_due_hours=0)) == []
    assert kinds(new_order(our_role=Role.BUYER), T0 + dt.timedelta(days=9)) == []


def test_a_ship_date_or_cancel_after_date_passed_with_quantity_open_is_late():
    order = new_order(
        ("1", 2),
        requested_ship_date=dt.date(2026, 11, 25),
        cancel_after_date=dt.date(2026, 11, 30),
    )
    deliver(order, "d1", DocumentKind.ACKNOWLEDGEMENT)
    assert kinds(order, dt.datetime(2026, 11, 25, 23, tzinfo=dt.UTC)) == []
    assert kinds(order, dt.datetime(2026, 11, 26, tzinfo=dt.UTC)) == [SHIP_DATE_PASSED]
    late = late_documents(order, POLICY, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert [d.kind for d in late] == [SHIP_DATE_PASSED, CANCEL_AFTER_PASSED]
    assert late[0].key == "late:ship date passed:ACME:PO-1001:2026-11-25"  # once per date
    quiet = dataclasses.replace(POLICY, ship_date=False, cancel_after=False)
    assert kinds(order, dt.datetime(2026, 12, 1, tzinfo=dt.UTC), quiet) == []
    order.handle(fulfil("F1", ("1", 2)))  # nothing open any more
    assert kinds(order, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)) == []


def test_a_fulfilment_before_the_855_is_late_until_the_855_is_sent():
    order = new_order(("1", 2))
    order.handle(fulfil("F1", ("1", 1)))
    [late] = late_documents(order, POLICY, T0 + dt.timedelta(hours=1))
    assert (late.kind, late.key.endswith(":F1")) == (SHIP_NOTICE_BEFORE_ACK, True)
    order.handle(fulfil("F2", ("1", 1)))  # another one: a new alert
    [late] = late_documents(order, POLICY, T0 + dt.timedelta(hours=1))
    assert late.key.endswith(":F1,F2")
    deliver(order, "d1", DocumentKind.ACKNOWLEDGEMENT)
    assert kinds(order, T0 + dt.timedelta(days=3)) == []


def test_an_archived_order_is_never_late():
    order = new_order(("1", 2), requested_ship_date=dt.date(2026, 11, 22))
    order.handle(on_order(commands.CancelOrder, cancellation_id="C1", requested_by=Side.BUYER))
    assert kinds(order, T0 + dt.timedelta(days=30)) == []


def test_a_carrier_is_resolved_to_its_scac_with_the_partners_aliases():
    command = fulfil("F1", ("1", 1), carrier="fedex", tracking_numbers=("748900000010",))
    resolved = with_carrier_resolved(command, {})
    assert resolved.carrier == "FDEG"
    assert resolved.tracking_url.startswith("https://") and "748900000010" in resolved.tracking_url
    aliased = with_carrier_resolved(
        dataclasses.replace(command, carrier="Big Brown Ground"), {"BIG BROWN GROUND": "UPSN"}
    )
    assert aliased.carrier == "UPSN"
    given = with_carrier_resolved(
        dataclasses.replace(command, tracking_url="https://example.com/t/1"), {}
    )
    assert given.tracking_url == "https://example.com/t/1"  # a URL given is kept
    with pytest.raises(RuleViolation) as caught:
        with_carrier_resolved(dataclasses.replace(command, carrier="Pony Express"), {})
    assert caught.value.rule == "carrier-must-be-known" and "UPSN" in str(caught.value)
    note = on_order(commands.AddNote, note_id="N1", author="ann", text="x")
    assert with_carrier_resolved(note, {}) is note

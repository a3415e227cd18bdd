"""Fixtures of the service layer's unit tests: the gateway wired on the fake store (`gw`), with
three partners: ACME, a buyer on EDI (the test orders of `tests.unit.domain.builders` are its
orders, which we sell), Bluewater, a seller on EDI, and Pinecrest, a seller who takes orders by
email; a clock the test moves."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from gateway.config import FolderTransport, Identity, MailSettings, PartnerProfile
from gateway.domain.model import Order
from gateway.service.ports import OutboxEntry
from tests.fakes import FakeGateway, wire
from tests.unit.domain.builders import PARTNER, PO, T0

OPERATORS = ("ops@cedarridge.example",)
ORDER_DESK = ("desk@cedarridge.example",)
ACME_CANCELLATIONS = ("orders@acme.example",)
NOWHERE = Path("/nonexistent/mailboxes")  # never opened: no transport runs in these tests


def profile(key: str, role: str, **changes: object) -> PartnerProfile:
    made = PartnerProfile(
        key=key,
        name=key.title(),
        role=role,
        identity=Identity("ZZ", key.upper(), key.upper()),
        us=Identity("ZZ", "CEDARRIDGEOUT", "CEDARRIDGEOUT"),
        transport=FolderTransport(NOWHERE / key / "in", NOWHERE / key / "out", 0),
    )
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


PARTNERS = (
    profile(
        PARTNER,
        "buyer",
        name="Acme Stores",
        contacts=(("default", ("edi@acme.example",)), ("cancellations", ACME_CANCELLATIONS)),
    ),
    profile("bluewater", "seller", contacts=(("default", ("orders@bluewater.example",)),)),
    profile(
        "pinecrest",
        "seller",
        fulfilment="direct",
        contacts=(("orders", ("ship@pinecrest.example",)),),
    ),
)
MAIL = MailSettings(
    sender="Cedar Ridge Outfitters <edi@cedarridge.example>",
    operators=OPERATORS,
    order_desk=ORDER_DESK,
    domain="gateway.test",
    alert_repeat_minutes=60,
)


class Clock:
    """The time everyone reads (the store's too): T0 plus what the test moved it by."""

    def __init__(self) -> None:
        self.now = T0 + dt.timedelta(hours=1)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gw(clock: Clock) -> FakeGateway:
    return wire(PARTNERS, MAIL, clock=clock)


def entries(gw: FakeGateway, kind: str) -> list[OutboxEntry]:
    """The committed outbox entries of `kind`, oldest first."""
    with gw.uow_factory() as uow:
        return list(reversed(uow.outbox.listing(kind, limit=1000)))


def held(gw: FakeGateway, partner: str = PARTNER, po_number: str = PO) -> Order:
    """The order as committed."""
    found = gw.store.order(partner, po_number)
    assert found is not None
    return found


def history(gw: FakeGateway, partner: str = PARTNER, po_number: str = PO) -> list[str]:
    """The names of the order's committed events."""
    with gw.uow_factory() as uow:
        return [str(entry["name"]) for entry in uow.orders.history(partner, po_number)]

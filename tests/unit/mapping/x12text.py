"""Small transaction sets written in the tests, read into loop trees with the shipped schemas and
mappings, and orders to apply them to."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gateway.config import load_mappings
from gateway.domain import commands
from gateway.domain.model import Order
from gateway.domain.values import PurchaseOrderLine, Role
from gateway.mapping.engine import Mappings
from gateway.mapping.inbound import Context
from gateway.x12.reader import parse_bytes
from gateway.x12.schema import load_catalog
from gateway.x12.tree import Loop, build_tree
from tests.builders import isa

CATALOG = load_catalog()
MAPPINGS = Mappings(load_mappings())
PARTNER = "SUPPLIER"
PO = "PO-7001"
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
FUNCTIONAL_IDS = {"855": "PR", "856": "SH", "860": "PC", "865": "CA", "810": "IN", "850": "PO"}


def interchange(
    set_id: str, body: list[str], *, version: str = "004010", control: str = "1"
) -> bytes:
    """One interchange with one group holding one set whose segments (between ST and SE) are
    `body` (an entry may hold several, joined by `~`), written with `*` and `~`."""
    body = [segment for entry in body for segment in entry.split("~")]
    isa_version = "00501" if version.startswith("005") else "00401"
    segments = [
        isa(control=control.rjust(9, "0"), version=isa_version).rstrip("~"),
        f"GS*{FUNCTIONAL_IDS[set_id]}*SENDER*RECEIVER*20261121*1200*{control}*X*{version}",
        f"ST*{set_id}*0001",
        *body,
        f"SE*{len(body) + 2}*0001",
        f"GE*1*{control}",
        f"IEA*1*{control.rjust(9, '0')}",
    ]
    return ("~\n".join(segments) + "~\n").encode("latin-1")


def tree(set_id: str, body: list[str], *, version: str = "004010") -> Loop:
    """The loop tree of the set, which must be valid."""
    documents, report = parse_bytes(interchange(set_id, body, version=version), catalog=CATALOG)
    issue = report.first_issue()
    assert report.accepted, issue.describe() if issue else "not accepted"
    schema = CATALOG.schema_for(set_id, version)
    assert schema is not None
    return build_tree(documents[0].groups[0].transactions[0], schema)


def context(role: Role = Role.BUYER) -> Context:
    return Context(PARTNER, role, NOW, "test set")


def order(*lines: tuple[str, int, str], role: Role = Role.BUYER) -> Order:
    """An order held with lines (number, quantity, UPC), its events drained."""
    held = Order.receive(
        commands.ReceiveOrder(
            partner=PARTNER,
            po_number=PO,
            at=NOW,
            our_role=role,
            order_date=dt.date(2026, 11, 20),
            lines=tuple(
                PurchaseOrderLine(
                    number,
                    Decimal(quantity),
                    unit_price=Decimal("10.00"),
                    product_ids=(("UP", upc), ("VP", f"V-{number}")),
                )
                for number, quantity, upc in lines
            ),
        )
    )
    held.events.clear()
    return held


def apply(held: Order, made: list[commands.Command]) -> Order:
    for command in made:
        held.handle(command)
    return held

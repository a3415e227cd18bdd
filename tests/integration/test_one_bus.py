"""One path for commands (issue 15): the bus built in `bootstrap` is the commit hook of every unit
of work the gateway opens, so an order's events reach their handlers inside the transaction that
made them, whether the change came from a file taken in, an operator's action or a document
sent; a handler that fails undoes the change with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.bootstrap import Gateway
from gateway.domain.events import LinesCancelled, OrderReceived
from gateway.domain.values import Side
from gateway.service.actions import OrderDesk
from tests.integration.test_pipeline import inbox

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "850" / "850_004010_good.x12"
PO = "HV4500871234"


def test_every_path_hands_its_events_to_the_one_bus_in_its_transaction(gateway: Gateway):
    heard: list[tuple[str, bool]] = []

    def heard_in_transaction(kind: str) -> Any:
        def handler(uow: Any, event: Any) -> None:
            # the change is visible in the transaction, not yet committed
            heard.append((kind, uow.orders.get(event.partner, event.po_number) is not None))

        return handler

    gateway.bus.handlers[OrderReceived] = (
        *gateway.bus.handlers.get(OrderReceived, ()),
        heard_in_transaction("received"),
    )
    gateway.bus.handlers[LinesCancelled] = (heard_in_transaction("cancelled"),)
    assert gateway.ingestor.bus is gateway.bus
    (inbox(gateway) / "po.x12").write_bytes(SAMPLE.read_bytes())
    (taken,) = gateway.runner().run_once().files
    assert taken.status == "applied"
    desk = OrderDesk(
        gateway.uow_factory, gateway.mappings, {p.key: p for p in gateway.config.partners},
        bus=gateway.bus,
    )  # fmt: skip
    desk.cancel(PO, [], reason="out of stock", by=Side.SELLER)
    assert heard == [("received", True), ("cancelled", True)]


def test_a_failing_handler_undoes_the_change_it_was_told_of(gateway: Gateway):
    def broken(uow: Any, event: Any) -> None:
        raise RuntimeError("the handler failed")

    gateway.bus.handlers[LinesCancelled] = (broken,)
    (inbox(gateway) / "po.x12").write_bytes(SAMPLE.read_bytes())
    gateway.runner().run_once()
    desk = OrderDesk(
        gateway.uow_factory, gateway.mappings, {p.key: p for p in gateway.config.partners},
        bus=gateway.bus,
    )  # fmt: skip
    with pytest.raises(RuntimeError):
        desk.cancel(PO, [], reason="out of stock", by=Side.SELLER)
    with gateway.uow_factory() as uow:
        order = uow.orders.get(gateway.config.partners[0].key, PO)
        assert order is not None and not order.cancellations

"""Orders and events stored while "fulfilment" was spelled "fulfillment", on SQLite and on
PostgreSQL: migration 0006 renames the status column and its listing index and respells the
keys of every order's state, of every event's payload and the events' names, so that the store
reads them back whole (fulfilments, statuses, history) and goes on writing them; a downgrade
gives back the rows as they were."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Text, cast, insert, inspect, select, text

from gateway.adapters import orm
from gateway.adapters.migrate import alembic_config, current_revision, head_revision, upgrade
from gateway.adapters.state import dump
from gateway.adapters.store import SqlUnitOfWork
from gateway.domain import commands
from gateway.domain.rules import FulfilmentStatus
from gateway.domain.values import DocumentKind, DocumentState, Party, ShipmentStatus
from gateway.errors import RuleViolation
from gateway.service.messagebus import MessageBus
from gateway.service.ports import OrderQuery
from tests.integration.spelled_before import (
    OLD_COLUMN,
    OLD_INDEX,
    event_row_before,
    order_row_before,
)
from tests.unit.domain.builders import (
    PARTNER,
    PO,
    at,
    confirm,
    document_state,
    fulfil,
    receive_order,
    shipment,
    track,
    tracking_for,
)

UNFULFILLED, PARTLY = "PO-1002", "PO-1003"
ORDERS = (PO, UNFULFILLED, PARTLY)
STORED = ("orders", "order_events", "order_search_terms")
"""The tables the orders below are written to (in the order their rows can be written)."""


def on(po: str, order_command: Any) -> Any:
    return dataclasses.replace(order_command, po_number=po)


def write_orders(engine: Engine) -> None:
    """Three orders through today's store: one with every record and event that holds the
    word (shipped in two fulfilments, one in transit and passed on by a delivered 856, a late
    one refused), one not fulfilled, one partly fulfilled."""
    bus = MessageBus(lambda: SqlUnitOfWork(engine))
    bus.handle(receive_order(("1", 10), ("2", 4), parties=(Party("ST", "Cedar Ridge Supply"),)))
    bus.handle(confirm(at=at(1)))
    bus.handle(fulfil("F1", ("1", 10), at=at(2)))
    bus.handle(shipment("F1", ShipmentStatus.IN_TRANSIT, at=at(3)))
    bus.handle(track("document 1", DocumentKind.SHIP_NOTICE, "F1", at=at(4)))
    bus.handle(document_state("document 1", DocumentState.DELIVERED, at=at(5)))
    bus.handle(fulfil("F2", ("2", 4), at=at(6)))
    with pytest.raises(RuleViolation, match="no-change-after-shipped"):
        bus.handle(fulfil("F3", ("2", 1), at=at(7)))
    bus.handle(on(UNFULFILLED, receive_order(("1", 3))))
    bus.handle(on(PARTLY, receive_order(("1", 10))))
    bus.handle(on(PARTLY, fulfil("F9", ("1", 4), at=at(2))))


def what_the_store_reads(engine: Engine) -> dict[str, Any]:
    """Each order as the store gives it back, its history, its listing's statuses and the
    orders found by each fulfilment status and by each tracking number."""
    with SqlUnitOfWork(engine) as uow:
        orders = {}
        for po in ORDERS:
            order = uow.orders.get(PARTNER, po)
            assert order is not None
            orders[po] = (dump(order), order.version)
        listing = uow.orders.summaries(OrderQuery(scope="all")).summaries
        by_status = {
            status.value: [
                s.po_number
                for s in uow.orders.summaries(
                    OrderQuery(scope="all", fulfilment_status=status.value)
                ).summaries
            ]
            for status in FulfilmentStatus
        }
        by_tracking = {
            number: [
                s.po_number
                for s in uow.orders.summaries(OrderQuery(scope="all", search=number)).summaries
            ]
            for f in ("F1", "F2", "F9")
            for number in tracking_for(f)
        }
        return {
            "orders": orders,
            "history": {po: uow.orders.history(PARTNER, po) for po in ORDERS},
            "statuses": {s.po_number: (s.fulfilment_status, s.flags) for s in listing},
            "by_status": by_status,
            "by_tracking": by_tracking,
        }


def stored_rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """The rows of the orders' tables, as the database holds them."""
    tables = MetaData()
    with engine.connect() as connection:
        tables.reflect(connection, only=STORED)
        return {
            name: [
                dict(row._mapping)
                for row in connection.execute(
                    select(tables.tables[name]).order_by(*tables.tables[name].primary_key)
                )
            ]
            for name in STORED
        }


def as_stored_before(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {
        "orders": [order_row_before(row) for row in rows["orders"]],
        "order_events": [event_row_before(row) for row in rows["order_events"]],
        "order_search_terms": rows["order_search_terms"],
    }


def stored_text(engine: Engine) -> str:
    """Every order's state, every event's payload and name, as the database's text."""
    with engine.connect() as connection:
        states = connection.execute(select(cast(orm.orders.c.state, Text))).scalars()
        events = connection.execute(
            select(orm.order_events.c.name, cast(orm.order_events.c.payload, Text))
        )
        return "\n".join([*states, *(f"{name} {payload}" for name, payload in events)])


def index_names(engine: Engine) -> set[str]:
    return {str(index["name"]) for index in inspect(engine).get_indexes("orders")}


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to `revision`, as `gateway.adapters.migrate.upgrade` runs
    Alembic."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@pytest.fixture
def written(store_engine: Engine) -> Iterator[tuple[Engine, dict[str, Any], dict[str, Any]]]:
    """The test's store with the orders written by today's code: what the store reads of them
    and their rows."""
    write_orders(store_engine)
    yield store_engine, what_the_store_reads(store_engine), stored_rows(store_engine)


def test_orders_and_events_stored_before_the_new_spelling_are_read_back_whole(written):
    engine, reads, rows = written
    # the same orders, written by the store of revision 0005 in a database at 0005
    with engine.begin() as connection:
        orm.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE alembic_version"))
    upgrade(engine, "0005")
    old = as_stored_before(rows)
    tables = MetaData()
    with engine.begin() as connection:
        tables.reflect(connection, only=STORED)
        for name in STORED:
            connection.execute(insert(tables.tables[name]), old[name])
        if connection.dialect.name == "postgresql":  # its counters, as the rows made them
            for name in ("orders", "order_events"):
                counter = f"pg_get_serial_sequence('{name}', 'id')"
                connection.execute(text(f"SELECT setval({counter}, max(id)) FROM {name}"))
    assert OLD_COLUMN in {c["name"] for c in inspect(engine).get_columns("orders")}
    before = stored_text(engine)
    for spelled in ('"fulfillments": [{', '"fulfillment_ids": ["F1"]', '"fulfillment_id": "F'):
        assert spelled in before
    assert "FulfillmentCreated" in before and "FulfillmentPassedOn" in before

    upgrade(engine)

    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), orm.metadata) == []
    assert "ix_orders_listing_fulfilment" in index_names(engine)
    assert OLD_INDEX not in index_names(engine)
    assert "fulfillment" not in stored_text(engine).lower()
    assert stored_rows(engine) == rows
    assert what_the_store_reads(engine) == reads
    order, _ = reads["orders"][PO]
    assert [f["id"] for f in order["fulfilments"]] == ["F1", "F2"]
    assert [f["status"] for f in order["fulfilments"]] == ["in transit", "shipped"]
    assert order["fulfilments"][0]["passed_on"] is True
    assert order["dispatches"][0]["fulfilment_ids"] == ["F1"]
    assert reads["statuses"][PO][0] == FulfilmentStatus.FULFILLED.value
    assert reads["statuses"][UNFULFILLED][0] == FulfilmentStatus.UNFULFILLED.value
    assert reads["statuses"][PARTLY][0] == FulfilmentStatus.PARTIALLY_FULFILLED.value
    names = [entry["name"] for entry in reads["history"][PO]]
    assert names.count("FulfilmentCreated") == 2
    assert {"FulfilmentPassedOn", "FulfilmentRefused", "ShipmentStatusChanged"} <= set(names)
    assert all(reads["by_tracking"].values())

    # and the store goes on with them: a shipment moved on, a fulfilment added
    bus = MessageBus(lambda: SqlUnitOfWork(engine))
    bus.handle(shipment("F1", ShipmentStatus.DELIVERED, at=at(8)))
    bus.handle(on(PARTLY, fulfil("F10", ("1", 6), at=at(9))))
    with SqlUnitOfWork(engine) as uow:
        shipped = uow.orders.get(PARTNER, PO)
        assert shipped is not None and shipped.fulfilment("F1") is not None
        assert shipped.fulfilments[0].status is ShipmentStatus.DELIVERED
        history = uow.orders.history(PARTNER, PO)
        assert [entry["sequence"] for entry in history] == list(range(1, len(history) + 1))
        assert history[-1]["payload"]["fulfilment_id"] == "F1"  # type: ignore[index]
        (partly,) = uow.orders.summaries(OrderQuery(search=PARTLY, scope="all")).summaries
        assert partly.fulfilment_status == FulfilmentStatus.FULFILLED.value


def test_a_downgrade_spells_them_the_old_way_again(written):
    engine, reads, rows = written
    downgrade(engine, "0005")
    assert current_revision(engine) == "0005"
    assert OLD_INDEX in index_names(engine)
    assert stored_rows(engine) == as_stored_before(rows)
    upgrade(engine)
    assert stored_rows(engine) == rows
    assert what_the_store_reads(engine) == reads


def test_a_note_quoting_the_keys_is_left_as_it_is(store_engine: Engine):
    """Only keys are respelled: a text quoting one, escaped in the JSON, is not a key."""
    bus = MessageBus(lambda: SqlUnitOfWork(store_engine))
    bus.handle(receive_order(("1", 3)))
    quoted = '"fulfilment_id": "F1" and "fulfillment_ids": [] quoted in a note'
    bus.handle(
        commands.AddNote(
            partner=PARTNER, po_number=PO, at=at(1), note_id="N1", author="ann", text=quoted
        )
    )
    rows = stored_rows(store_engine)
    downgrade(store_engine, "0005")
    assert stored_rows(store_engine) == as_stored_before(rows)
    upgrade(store_engine)
    assert stored_rows(store_engine) == rows
    with SqlUnitOfWork(store_engine) as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None and order.note("N1") is not None
        assert order.note("N1").text == quoted  # type: ignore[union-attr]

"""fulfilment spelled one way: the status column, its index, the stored orders and events

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from gateway.adapters.search import search_terms

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FILTERS = [
    "is_test", "archived", "confirmed", "settled", "shipped", "paid", "completed", "returned",
    "cancelled",
]  # fmt: skip
OLD_COLUMN, NEW_COLUMN = "fulfillment_status", "fulfilment_status"
OLD_INDEX, NEW_INDEX = "ix_orders_listing_fulfillment", "ix_orders_listing_fulfilment"
KEYS = {
    "fulfillments": "fulfilments",  # the order's records (state)
    "fulfillment_ids": "fulfilment_ids",  # a followed document's (state), DocumentTracked's
    "fulfillment_id": "fulfilment_id",  # the fulfilment events' and ShipmentStatusChanged's
    "fulfillment_status": "fulfilment_status",  # (never stored as JSON so far: for safety)
}
"""The JSON keys spelled the old way, as the orders' state and the events' payloads hold them
(a dataclass field's name is its key: `gateway.adapters.state`, `gateway.domain.events.fact`)."""
EVENTS = {
    "FulfillmentCreated": "FulfilmentCreated",
    "FulfillmentRefused": "FulfilmentRefused",
    "FulfillmentPassedOn": "FulfilmentPassedOn",
}
"""The event names `order_events.name` holds (an event's class name)."""
BATCH = 1000


def upgrade() -> None:
    _rename_column(OLD_COLUMN, OLD_INDEX, NEW_COLUMN, NEW_INDEX)
    respelled = _respell(KEYS, EVENTS)
    _add_missing_terms(respelled)


def downgrade() -> None:
    _respell({new: old for old, new in KEYS.items()}, {new: old for old, new in EVENTS.items()})
    _rename_column(NEW_COLUMN, NEW_INDEX, OLD_COLUMN, OLD_INDEX)


def _rename_column(column: str, index: str, new_column: str, new_index: str) -> None:
    """The column renamed in place (ALTER TABLE ... RENAME COLUMN on both databases: no copy of
    the table), its listing index renamed (PostgreSQL) or built again under its new name
    (SQLite cannot rename an index)."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    if not postgresql:
        op.drop_index(index, table_name="orders")
    op.alter_column("orders", column, new_column_name=new_column)
    if postgresql:
        op.execute(f"ALTER INDEX {index} RENAME TO {new_index}")
    else:
        op.create_index(new_index, "orders", [new_column, "order_date", "id", *FILTERS])


def _respell(keys: dict[str, str], names: dict[str, str]) -> list[int]:
    """Every stored order's state and every stored event's payload with `keys` renamed, and
    the events' names with `names`: the JSON is text on both databases (PostgreSQL's `json`
    keeps it as written), so each `"old":` becomes `"new":`, in the database, only in the rows
    that hold one. Returns the ids of the orders rewritten."""
    connection = op.get_bind()
    orders = sa.table("orders", sa.column("id", sa.Integer()), sa.column("state", sa.JSON()))
    events = sa.table(
        "order_events", sa.column("name", sa.String()), sa.column("payload", sa.JSON())
    )
    touched = connection.execute(
        sa.select(orders.c.id).where(_holds_any(orders.c.state, keys)).order_by(orders.c.id)
    ).scalars()
    respelled = list(touched)
    for table, column in ((orders, orders.c.state), (events, events.c.payload)):
        connection.execute(
            table.update()
            .where(_holds_any(column, keys))
            .values({column.name: _replaced(column, keys, connection.dialect.name)})
        )
    for old, new in names.items():
        connection.execute(events.update().where(events.c.name == old).values(name=new))
    return respelled


def _as_text(column: sa.ColumnClause[Any]) -> sa.ColumnElement[str]:
    return sa.cast(column, sa.Text())


def _holds_any(column: sa.ColumnClause[Any], keys: dict[str, str]) -> sa.ColumnElement[bool]:
    return sa.or_(*(_as_text(column).contains(f'"{old}":', autoescape=True) for old in keys))


def _replaced(column: sa.ColumnClause[Any], keys: dict[str, str], dialect: str) -> Any:
    text: sa.ColumnElement[str] = _as_text(column)
    for old, new in keys.items():
        text = sa.func.replace(text, f'"{old}":', f'"{new}":')
    # PostgreSQL's json takes text through a cast; SQLite keeps the text as it is (a cast to
    # its JSON, a numeric affinity, would make a number of it)
    return sa.cast(text, sa.JSON()) if dialect == "postgresql" else text


def _add_missing_terms(order_ids: list[int]) -> None:
    """The search terms of the orders respelled that their rows lack: migration 0005 read each
    order's tracking numbers from its state with the search of today, which looks for them
    under the new spelling, so a database migrated from before 0005 has none of them yet."""
    connection = op.get_bind()
    orders = sa.table("orders", sa.column("id", sa.Integer()), sa.column("state", sa.JSON()))
    terms = sa.table(
        "order_search_terms", sa.column("order_id", sa.Integer()), sa.column("term", sa.String())
    )
    for start in range(0, len(order_ids), BATCH):
        batch = order_ids[start : start + BATCH]
        held = {
            (row.order_id, row.term)
            for row in connection.execute(
                sa.select(terms.c.order_id, terms.c.term).where(terms.c.order_id.in_(batch))
            )
        }
        missing: list[dict[str, Any]] = [
            {"order_id": row.id, "term": term}
            for row in connection.execute(
                sa.select(orders.c.id, orders.c.state).where(orders.c.id.in_(batch))
            )
            for term in sorted(search_terms(row.state))
            if (row.id, term) not in held
        ]
        if missing:
            connection.execute(terms.insert(), missing)

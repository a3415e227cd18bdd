"""order search: settled and archived columns, the listing's indexes, search terms

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from gateway.adapters.search import search_terms

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FILTERS = [
    "is_test", "archived", "confirmed", "settled", "shipped", "paid", "completed", "returned",
    "cancelled",
]  # fmt: skip
LISTING_INDEXES = {
    "ix_orders_listing_date": ["order_date", "id", *FILTERS],
    "ix_orders_listing_po": ["po_number", "id", *FILTERS],
    "ix_orders_listing_updated": ["updated_at", "id", *FILTERS],
    "ix_orders_listing_partner": ["partner", "order_date", "id", *FILTERS],
    "ix_orders_listing_fulfillment": ["fulfillment_status", "order_date", "id", *FILTERS],
    "ix_orders_listing_payment": ["payment_status", "order_date", "id", *FILTERS],
}
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("settled", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "order_search_terms",
        sa.Column(
            "term",
            sa.String(length=128).with_variant(sa.String(length=128, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_search_terms_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("term", "order_id", name=op.f("pk_order_search_terms")),
        sqlite_with_rowid=False,
    )
    # the orders stored before: their new columns from the flags kept beside them, their
    # terms from their state
    orders = sa.table(
        "orders",
        sa.column("id", sa.Integer()),
        sa.column("flags", sa.String()),
        sa.column("completed", sa.Boolean()),
        sa.column("cancelled", sa.Boolean()),
        sa.column("settled", sa.Boolean()),
        sa.column("archived", sa.Boolean()),
        sa.column("state", sa.JSON()),
    )
    listed = sa.literal(",") + orders.c.flags + sa.literal(",")
    op.execute(
        orders.update().values(
            settled=listed.like("%,settled,%"),
            archived=sa.or_(orders.c.completed, orders.c.cancelled),
        )
    )
    terms = sa.table("order_search_terms", sa.column("order_id"), sa.column("term"))
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(orders.c.id, orders.c.state)
            .where(orders.c.id > last)
            .order_by(orders.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        found: list[dict[str, Any]] = [
            {"order_id": row.id, "term": term} for row in rows for term in search_terms(row.state)
        ]
        if found:
            connection.execute(terms.insert(), found)
        last = rows[-1].id
    # built once the terms are in: a broad search walks the orders and asks, for each, whether
    # one of its terms starts with the text
    op.create_index(
        "ix_order_search_terms_order_id", "order_search_terms", ["order_id", "term"], unique=False
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_updated_at")  # the listing's index by updated_at has it
        for name, columns in LISTING_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name in LISTING_INDEXES:
            batch_op.drop_index(name)
        batch_op.create_index("ix_orders_updated_at", ["updated_at"], unique=False)
    op.drop_index("ix_order_search_terms_order_id", table_name="order_search_terms")
    op.drop_table("order_search_terms")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("archived")
        batch_op.drop_column("settled")

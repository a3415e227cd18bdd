"""mailbox outages: since when a partner's mailbox has been unreachable, across runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailbox_outages",
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("down_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner", name=op.f("pk_mailbox_outages")),
    )


def downgrade() -> None:
    op.drop_table("mailbox_outages")

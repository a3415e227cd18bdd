"""emails in the outbox: the group an alert belongs to

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_key", sa.String(length=256), nullable=True))
        batch_op.create_index("ix_outbox_group_key", ["group_key"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_group_key")
        batch_op.drop_column("group_key")

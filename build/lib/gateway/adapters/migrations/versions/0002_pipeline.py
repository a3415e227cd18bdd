"""document sets applied, documents processed, leases, outbox claims

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("envelope", sa.JSON(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
    op.create_table(
        "document_sets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("group_control", sa.String(length=9), nullable=False),
        sa.Column("set_control", sa.String(length=9), nullable=False),
        sa.Column("set_id", sa.String(length=3), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("po_number", sa.String(length=512), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_sets_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_sets")),
        sa.UniqueConstraint(
            "document_id", "group_control", "set_control", name="uq_document_sets_document_id"
        ),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    # documents already taken in were processed whole
    op.execute("UPDATE documents SET processed_at = updated_at WHERE direction = 'in'")


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("document_sets")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("envelope")
        batch_op.drop_column("processed_at")

"""document formats: room for cXML and CSV documents' ids

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 22:10:00

A cXML document is named by its payloadID (up to 250 characters where an ISA13 has 9), its
parties by credentials (domain/identity) and its kind by a name (`OrderRequest`, `csv-orders`)
where a transaction set has three digits: the columns holding them widen. Nothing is rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WIDER = {
    "documents": [
        ("interchange_control", 9, 255),
        ("sender_id", 32, 255),
        ("receiver_id", 32, 255),
    ],
    "document_sets": [
        ("group_control", 9, 64),
        ("set_control", 9, 64),
        ("set_id", 3, 32),
    ],
}


def _resize(narrow: bool) -> None:
    for table, columns in WIDER.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, before, after in columns:
                batch_op.alter_column(
                    name,
                    existing_type=sa.String(length=after if narrow else before),
                    type_=sa.String(length=before if narrow else after),
                )


def upgrade() -> None:
    _resize(narrow=False)


def downgrade() -> None:
    _resize(narrow=True)

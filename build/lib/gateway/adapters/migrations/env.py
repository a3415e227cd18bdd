"""Alembic environment: migrations run on the connection `gateway.adapters.migrate` hands over
(no alembic.ini, no URL in a file)."""

from __future__ import annotations

from alembic import context

from gateway.adapters.orm import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through gateway.adapters.migrate (gateway db upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

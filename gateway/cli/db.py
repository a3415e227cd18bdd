"""`db upgrade` and `db status`: the store's schema."""

from __future__ import annotations

import sys

import click

from gateway.cli.shared import EXIT_OK, EXIT_REJECTED, Settings, emit, json_option


@click.group()
def db() -> None:
    """The gateway's database."""


@db.command("upgrade")
@json_option("Print the revisions before and after as JSON.")
@click.pass_obj
def db_upgrade(settings: Settings, as_json: bool) -> None:
    """Create or migrate the database schema to the newest revision."""
    gateway = settings.gateway(migrated=False)
    before, after = gateway.upgrade_database()
    where = gateway.config.database_url
    if as_json:
        emit({"database": where, "before": before, "after": after, "upgraded": before != after})
    elif before == after:
        click.echo(f"{where}: already at revision {after}")
    else:
        click.echo(f"{where}: upgraded from {before or 'empty'} to revision {after}")


@db.command("status")
@json_option("Print the revisions as JSON.")
@click.pass_obj
def db_status(settings: Settings, as_json: bool) -> None:
    """Say which revision the database is at."""
    from gateway.adapters.migrate import current_revision, head_revision

    gateway = settings.gateway(migrated=False)
    current, head = current_revision(gateway.engine), head_revision()
    if as_json:
        emit(
            {
                "database": gateway.config.database_url,
                "revision": current,
                "head": head,
                "up_to_date": current == head,
            }
        )
    else:
        state = "up to date" if current == head else "needs `gateway db upgrade`"
        click.echo(f"{gateway.config.database_url}: revision {current or 'none'} ({state})")
    sys.exit(EXIT_OK if current == head else EXIT_REJECTED)

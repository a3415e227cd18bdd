"""`mail list|show|retry`: the emails queued for partners and operators."""

from __future__ import annotations

import datetime as dt
import sys

import click

from gateway.cli.shared import (
    EXIT_OK,
    EXIT_REJECTED,
    Names,
    NamesOption,
    Settings,
    emit,
    json_option,
)


@click.group()
def mail() -> None:
    """Emails queued for partners and operators."""


def _mail_statuses() -> tuple[str, ...]:
    from gateway.service.notify import MAIL_STATUSES

    return MAIL_STATUSES


@mail.command("list")
@click.option("--status", cls=NamesOption, type=Names(_mail_statuses), help="Only these ({names}).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option("Print JSON instead of a table.")
@click.pass_obj
def mail_list(settings: Settings, status: str | None, limit: int, as_json: bool) -> None:
    """The latest emails, newest first."""
    from gateway import render
    from gateway.service.notify import list_mail

    rows = list_mail(settings.gateway().uow_factory(), status=status, limit=limit)
    if as_json:
        emit(rows)
    elif not rows:
        click.echo("no emails")
    else:
        render.table(
            [
                {
                    "id": row["id"],
                    "status": row["status"],
                    "kind": row["kind"],
                    "to": ", ".join(row["to"]),
                    "subject": row["subject"],
                    "attempts": row["attempts"],
                    "error": row["last_error"],
                }
                for row in rows
            ]
        )


@mail.command("show")
@click.argument("outbox_id", type=int)
@json_option("Print JSON.")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part instead of the text.")
@click.pass_obj
def mail_show(settings: Settings, outbox_id: int, as_json: bool, as_html: bool) -> None:
    """One email: its state, headers and text."""
    from gateway import render
    from gateway.service.notify import show_mail

    if as_json and as_html:
        raise click.UsageError("give --json or --html, not both")
    view = show_mail(settings.gateway().uow_factory(), outbox_id)
    if as_json:
        emit(view)
        return
    if as_html:
        click.echo(view["html"], nl=False)
        return
    shown = render.safe(view)  # a subject or text quoting a partner: shown, never obeyed
    for key in ("id", "status", "kind", "message_id", "from", "to", "subject", "attempts",
                "queued_at", "sent_at", "next_attempt_at", "last_error"):  # fmt: skip
        value = shown[key]
        click.echo(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    click.echo("")
    for line in str(view["text"]).splitlines():  # its line breaks kept, each line escaped
        click.echo(render.safe(line))


@mail.command("retry")
@click.argument("outbox_id", type=int)
@json_option("Print what became of the email as JSON.")
@click.pass_obj
def mail_retry(settings: Settings, outbox_id: int, as_json: bool) -> None:
    """Send an email again now (after a failure, or once more: same Message-ID)."""
    from gateway.service.notify import retry_mail

    gateway = settings.gateway()
    retry_mail(gateway.uow_factory, outbox_id, dt.datetime.now(dt.UTC))
    if not as_json:
        click.echo(f"email {outbox_id} queued again")
    sent = [s for s in gateway.mailer.drain() if s.outbox_id == outbox_id]
    failed = any(s.status != "sent" for s in sent)
    if as_json:
        emit(
            {
                "outbox_id": outbox_id,
                "attempts": [{"status": s.status, "error": s.error} for s in sent],
                "sent": bool(sent) and not failed,
            }
        )
    else:
        for attempt in sent:
            click.echo(f"  {attempt.status} {attempt.error}".rstrip())
    sys.exit(EXIT_REJECTED if failed else EXIT_OK)

"""`webhooks add|list|remove|log`: where the events of orders are POSTed, and how it went."""

from __future__ import annotations

import datetime as dt

import click

from gateway.cli.shared import Settings, emit, json_option


@click.group()
def webhooks() -> None:
    """Webhook subscriptions: the events of orders POSTed, signed, to other systems."""


def _events(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    """The comma-separated event names, checked against the gateway's table of them."""
    from gateway.errors import WebhookRefused
    from gateway.service.webhooks import event_names

    try:
        return event_names(value.split(","))
    except WebhookRefused as refused:
        raise click.BadParameter(refused.message, ctx=ctx, param=param) from None


def _event_help() -> str:
    return "Comma-separated event names (see `gateway webhooks events`)."


@webhooks.command("add")
@click.argument("url")
@click.option("--events", "names", required=True, callback=_events, help=_event_help())
@click.option(
    "--secret-env",
    required=True,
    help="The environment variable holding the HMAC secret, read at each delivery (never stored).",
)
@json_option("Print the subscription as JSON.")
@click.pass_obj
def webhooks_add(
    settings: Settings, url: str, names: tuple[str, ...], secret_env: str, as_json: bool
) -> None:
    """Subscribe URL to events: each is POSTed as JSON, signed with the secret."""
    from gateway.service.webhooks import subscribe

    made = subscribe(
        settings.gateway().uow_factory, url, names, secret_env, dt.datetime.now(dt.UTC)
    )
    if as_json:
        emit(made)
    else:
        click.echo(f"webhook {made['id']}: {url} <- {', '.join(made['events'])}")


@webhooks.command("list")
@json_option("Print JSON instead of a table.")
@click.pass_obj
def webhooks_list(settings: Settings, as_json: bool) -> None:
    """The subscriptions in force."""
    from gateway import render
    from gateway.service.webhooks import list_subscriptions

    rows = list_subscriptions(settings.gateway().uow_factory())
    if as_json:
        emit(rows)
    elif not rows:
        click.echo("no webhooks")
    else:
        render.table(
            [
                {
                    "id": row["id"],
                    "url": row["url"],
                    "events": ", ".join(row["events"]),
                    "secret_env": row["secret_env"],
                }
                for row in rows
            ]
        )


@webhooks.command("remove")
@click.argument("subscription_id", type=int)
@json_option("Print what was done as JSON.")
@click.pass_obj
def webhooks_remove(settings: Settings, subscription_id: int, as_json: bool) -> None:
    """Stop a subscription: its events not yet delivered are dropped, its log is kept."""
    from gateway.service.webhooks import unsubscribe

    unsubscribe(settings.gateway().uow_factory, subscription_id, dt.datetime.now(dt.UTC))
    if as_json:
        emit({"id": subscription_id, "removed": True})
    else:
        click.echo(f"webhook {subscription_id} removed")


@webhooks.command("log")
@click.argument("subscription_id", type=int)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option("Print JSON instead of a table.")
@click.pass_obj
def webhooks_log(settings: Settings, subscription_id: int, limit: int, as_json: bool) -> None:
    """A subscription's delivery attempts, newest first: status code or error, time."""
    from gateway import render
    from gateway.service.webhooks import delivery_log

    rows = delivery_log(settings.gateway().uow_factory(), subscription_id, limit=limit)
    if as_json:
        emit(rows)
    elif not rows:
        click.echo("no deliveries")
    else:
        render.table(
            [
                {
                    "at": row["at"],
                    "event": row["type"],
                    "id": row["event_id"],
                    "attempt": row["attempt"],
                    "status": "" if row["status_code"] is None else row["status_code"],
                    "delivered": "yes" if row["delivered"] else "no",
                    "error": row["error"],
                }
                for row in rows
            ]
        )


@webhooks.command("events")
@json_option("Print JSON instead of a table.")
def webhooks_events(as_json: bool) -> None:
    """The event names a subscription can name, and what each means."""
    from gateway import render
    from gateway.service.webhooks import WEBHOOK_EVENTS

    rows = [
        {"event": e.name, "domain_event": e.event.__name__, "about": e.about}
        for e in WEBHOOK_EVENTS
    ]
    if as_json:
        emit(rows)
    else:
        render.table(rows)

"""`orders list`, `orders show` and `report`: reading the orders the store holds."""

from __future__ import annotations

import datetime as dt

import click

from gateway.cli.shared import (
    DATE,
    BoundedCount,
    Names,
    NamesOption,
    Settings,
    check_partner,
    emit,
    json_option,
)


def _status_names() -> list[str]:
    from gateway.domain.rules import Flag
    from gateway.service.ports import SCOPE_STATUSES

    return [flag.value for flag in Flag] + list(SCOPE_STATUSES)


def _fulfilment_names() -> list[str]:
    from gateway.domain.rules import FulfilmentStatus

    return [status.value for status in FulfilmentStatus]


def _payment_names() -> list[str]:
    from gateway.domain.rules import PaymentStatus

    return [status.value for status in PaymentStatus]


def _sort_names() -> list[str]:
    from gateway.service.ports import ORDER_SORTS

    return list(ORDER_SORTS)


def _max_page() -> int:
    from gateway.service.ports import MAX_PAGE

    return MAX_PAGE


@click.group()
def orders() -> None:
    """Orders held by the gateway."""


@orders.command("list")
@click.option(
    "--partner", metavar="KEY", help="Only this partner's orders (a partner profile's key)."
)
@click.option(
    "--status",
    "statuses",
    cls=NamesOption,
    metavar="NAME",
    multiple=True,
    type=Names(_status_names),
    help="Only orders with this flag, or open / archived; repeat it for several, all of which "
    "must hold ({names}).",
)
@click.option(
    "--fulfilment",
    "fulfilment",
    cls=NamesOption,
    metavar="NAME",
    type=Names(_fulfilment_names),
    help="Only orders with this fulfilment status ({names}).",
)
@click.option(
    "--payment",
    cls=NamesOption,
    metavar="NAME",
    type=Names(_payment_names),
    help="Only orders with this payment status ({names}).",
)
@click.option("--since", metavar="YYYY-MM-DD", type=DATE, help="Ordered on this day or later.")
@click.option("--until", metavar="YYYY-MM-DD", type=DATE, help="Ordered on this day or earlier.")
@click.option(
    "--search",
    metavar="TEXT",
    help="Orders with a PO number, a line's product id, a tracking number, or a ship-to name "
    "or a word of it that starts with TEXT (any case). Only the start is matched, which the "
    "index answers: `1Z999` finds 1Z999AA10123456784, `456784` does not.",
)
@click.option(
    "--sort",
    cls=NamesOption,
    metavar="NAME",
    type=Names(_sort_names),
    default="date",
    show_default=True,
    help="Order date, PO number, partner (then PO number) or last change ({names}).",
)
@click.option("--desc", "descending", is_flag=True, help="Sort the other way round.")
@click.option(
    "--limit",
    metavar="N",
    type=BoundedCount(1, _max_page),
    default=50,
    show_default=True,
    help="Orders on the page.",
)
@click.option(
    "--offset",
    metavar="N",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Orders skipped before the page.",
)
@click.option(
    "--archived",
    is_flag=True,
    help="Only archived orders (completed or cancelled) instead of open work.",
)
@click.option("--all", "every", is_flag=True, help="Open and archived orders alike.")
@click.option("--include-test", is_flag=True, help="Include test orders (left out by default).")
@json_option("Print the page as JSON instead of a table.")
@click.pass_obj
def orders_list(
    settings: Settings,
    partner: str | None,
    statuses: tuple[str, ...],
    fulfilment: str | None,
    payment: str | None,
    since: dt.date | None,
    until: dt.date | None,
    search: str | None,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
    archived: bool,
    every: bool,
    include_test: bool,
    as_json: bool,
) -> None:
    """List orders with their flags and statuses, a page at a time: open work (neither
    completed nor cancelled) unless --archived or --all, or a --status of completed, cancelled
    or archived, says otherwise; oldest order date first unless --sort and --desc say
    otherwise."""
    from gateway import render
    from gateway.service.ports import OrderQuery
    from gateway.service.views import list_orders

    if archived and every:
        raise click.UsageError("give --archived or --all, not both")
    if since is not None and until is not None and since > until:
        raise click.UsageError(f"--since {since} is after --until {until}")
    if search is not None and not search.strip():
        raise click.BadParameter("give some text to search for", param_hint="--search")
    gateway = settings.gateway()
    if partner is not None:
        check_partner(gateway, partner)
    query = OrderQuery(
        partner=partner,
        statuses=statuses,
        fulfilment_status=fulfilment,
        payment_status=payment,
        since=since,
        until=until,
        search=search,
        scope="archived" if archived else "all" if every else None,
        include_test=include_test,
        sort=sort,
        descending=descending,
        limit=limit,
        offset=offset,
    )
    found = list_orders(gateway.uow_factory(), query)
    if as_json:
        emit(found["orders"])
        return
    render.order_table(
        found["orders"], total=found["total"], offset=found["offset"], more=found["more"]
    )


@orders.command("show")
@click.argument("po_number")
@click.option("--partner", help="The partner, when several used this PO number.")
@json_option("Print JSON instead of tables.")
@click.pass_obj
def orders_show(settings: Settings, po_number: str, partner: str | None, as_json: bool) -> None:
    """Show one order: flags, lines and quantities, fulfilments, cancellations, history."""
    from gateway import render
    from gateway.service.views import show_order

    gateway = settings.gateway()
    view = show_order(gateway.uow_factory(), po_number, partner)
    if as_json:
        emit(view)
        return
    render.order_detail(view)


@click.command("report")
@click.option("--since", metavar="CCYYMMDD", type=DATE, help="Only what changed since this day.")
@click.option("--include-test", is_flag=True, help="Count test orders too.")
@json_option()
@click.pass_obj
def report(settings: Settings, since: dt.date | None, include_test: bool, as_json: bool) -> None:
    """Orders per partner and state, overdue acknowledgements, quarantined files, mailboxes
    unreachable."""
    from gateway import render
    from gateway.service.report import build_report

    gateway = settings.gateway()
    found = build_report(
        gateway.uow_factory(),
        gateway.files,
        since=since,
        include_test=include_test,
        profiles={p.key: p for p in gateway.config.partners},
    )
    if as_json:
        emit(found)
        return
    heading = f"since {found['since']}" if found["since"] else "all time"
    click.echo(f"orders ({heading}{', test orders included' if include_test else ''})")
    if found["orders"]:
        render.table(found["orders"])
    else:
        click.echo("  none")
    overdue = found["overdue_acknowledgements"]
    click.echo(f"acknowledgements overdue: {len(overdue)}")
    if overdue:
        render.table([{**d, "sets": ",".join(d["sets"])} for d in overdue])
    quarantined = found["quarantined_files"]
    click.echo(f"files in quarantine: {len(quarantined)}")
    if quarantined:
        render.table([{k: q[k] for k in ("day", "partner", "file", "why")} for q in quarantined])
    unreachable = found["unreachable_mailboxes"]
    if unreachable:
        click.echo(f"mailboxes unreachable: {len(unreachable)}")
        render.table(unreachable)
    late = found["late_documents"]
    click.echo(f"late documents: {len(late)}")
    if late:
        render.table(late)
    failed = found["failed_emails"]
    if failed:
        click.echo(f"emails refused for good: {len(failed)} (`gateway mail retry ID` once fixed)")
        render.table(failed)

"""An operator's actions on an order (`fulfil`, `shipment`, `cancel`, `ack`, `return`,
`refund`, `invoice`, `mark-paid`, `note`, `change-customer`, `change-dates`, `test-order`) and
`export`, which sends a document about an order. Each goes through the order desk's rules: a
refused one is one line and exit 1."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.cli.shared import (
    AMOUNT,
    DATE,
    LINE_DECISION,
    LINE_QUANTITY,
    PARTNER_OPTION,
    Names,
    NamesOption,
    Settings,
    emit,
    json_option,
)

if TYPE_CHECKING:
    from gateway.domain.values import LineQuantity
    from gateway.mapping.outbound import Decision, LineDecision
    from gateway.service.actions import ActionResult, OrderDesk


def _desk(settings: Settings) -> OrderDesk:
    return settings.gateway().desk()


def _done(result: ActionResult, as_json: bool) -> None:
    """Print what an action did: one line (JSON with --json); a document owed that could not
    be built is said on standard error (the action itself is done: exit 0)."""
    if as_json:
        emit(result.as_dict())
    else:
        record = f" {result.record}" if result.record else ""
        sent = "".join(
            f"; {d['set']} queued (document {d['document_id']})" for d in result.documents
        )
        flags = f" [{', '.join(result.flags)}]" if result.flags else ""
        click.echo(f"{result.po_number} ({result.partner}): {result.action}{record}{sent}{flags}")
    if result.later and not as_json:
        click.echo(f"note: {result.later}")
    elif result.later:
        click.echo(f"note: {result.later}", err=True)
    if result.unsent:
        click.echo(f"warning: {result.unsent}", err=True)


def decision(
    accept_all: bool,
    reject_all: bool,
    lines: Sequence[LineDecision],
    ship_date: dt.date | None,
) -> Decision:
    """The seller's decision `ack` and `export --set 855` take: every line accepted, the order
    rejected, or the lines answered (`LINE_DECISION`; the others accepted as ordered)."""
    from gateway.mapping.outbound import Decision

    if sum((accept_all, reject_all, bool(lines))) != 1:
        raise click.UsageError("an 855 takes one of --accept-all, --reject-all or --line ...")
    if reject_all:
        if ship_date:
            raise click.UsageError("--ship-date makes no sense with --reject-all")
        return Decision.reject_all()
    if accept_all:
        return Decision.accept_all(ship_date=ship_date)
    return Decision.with_changes(*lines, ship_date=ship_date)


def _shipment_statuses() -> list[str]:
    from gateway.domain.values import ShipmentStatus

    return [s.value for s in ShipmentStatus if s is not ShipmentStatus.AWAITING_SHIPMENT]


def _sets_we_send() -> list[str]:
    from gateway import kinds

    return list(kinds.writers())


def _structures() -> list[str]:
    from gateway.mapping.outbound_settings import HierarchyStructure

    return [s.value for s in HierarchyStructure]


@click.command("fulfil")
@click.argument("po_number")
@click.option("--line", "lines", multiple=True, required=True, metavar="N:QTY",
              type=LINE_QUANTITY,
              help="A line and the quantity shipped (repeat for several lines).")  # fmt: skip
@click.option("--carrier", required=True, help="The carrier (UPS, FedEx, a SCAC...).")
@click.option("--tracking", multiple=True, help="A tracking number (one per package shipped).")
@click.option("--tracking-url", default="", help="Where the shipment can be followed.")
@click.option("--ship-date", metavar="CCYYMMDD", type=DATE,
              help="When it shipped (default: today).")  # fmt: skip
@click.option("--id", "record_id", help="The fulfilment's id (default: a new F-xxxxxxxx).")
@PARTNER_OPTION
@json_option()
@click.pass_obj
def fulfil(
    settings: Settings,
    po_number: str,
    lines: tuple[LineQuantity, ...],
    carrier: str,
    tracking: tuple[str, ...],
    tracking_url: str,
    ship_date: dt.date | None,
    record_id: str | None,
    partner: str | None,
    as_json: bool,
) -> None:
    """Record a shipment of some lines of an order (an order we sell sends its 856)."""
    result = _desk(settings).fulfil(
        po_number,
        list(lines),
        partner=partner,
        carrier=carrier,
        tracking_numbers=tracking,
        tracking_url=tracking_url,
        ship_date=ship_date,
        fulfilment_id=record_id,
    )
    _done(result, as_json)


@click.command("shipment")
@click.argument("po_number")
@click.argument("fulfilment_id")
@click.option(
    "--status",
    required=True,
    cls=NamesOption,
    metavar="STATUS",
    type=Names(_shipment_statuses),
    help="Where the shipment is now, as the carrier's tracking says ({names}).",
)
@PARTNER_OPTION
@json_option()
@click.pass_obj
def shipment(
    settings: Settings,
    po_number: str,
    fulfilment_id: str,
    status: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Record a shipment's status (in transit, delivered, delivery failed, returned to
    sender...), also after the order is Shipped or Completed."""
    from gateway.domain.values import ShipmentStatus

    result = _desk(settings).shipment_status(
        po_number, fulfilment_id, ShipmentStatus(status), partner=partner
    )
    _done(result, as_json)


@click.command("cancel")
@click.argument("po_number")
@click.option("--line", "lines", multiple=True, metavar="N:QTY", type=LINE_QUANTITY,
              help="A line and the open quantity to cancel (none: the whole order).")  # fmt: skip
@click.option("--reason", required=True, help="Why (it goes to the other side).")
@click.option("--by", "by", type=click.Choice(["buyer", "seller"]), required=True,
              help="Who asks for the cancellation.")  # fmt: skip
@click.option("--id", "record_id", help="The cancellation's id (default: a new C-xxxxxxxx).")
@PARTNER_OPTION
@json_option()
@click.pass_obj
def cancel(
    settings: Settings,
    po_number: str,
    lines: tuple[LineQuantity, ...],
    reason: str,
    by: str,
    record_id: str | None,
    partner: str | None,
    as_json: bool,
) -> None:
    """Cancel open quantity of some lines, or the whole order. Cancelled by our side, the
    partner on EDI gets its document: an 860 for an order we placed; for an order we sell, an
    855 that replaces ours (or, not acknowledged yet, the cancellation rides in the first 855).
    The other side is emailed either way."""
    from gateway.domain.values import Side

    result = _desk(settings).cancel(
        po_number,
        list(lines),
        by=Side(by),
        reason=reason,
        partner=partner,
        cancellation_id=record_id,
    )
    _done(result, as_json)


@click.command("ack")
@click.argument("po_number")
@click.option("--accept-all", is_flag=True, help="Accept every line as ordered.")
@click.option("--reject-all", is_flag=True, help="Reject the whole order.")
@click.option("--line", "answers", multiple=True, metavar="N:ANSWER", type=LINE_DECISION,
              help="N:accept, N:reject, N:qty=Q or N:backorder[@CCYYMMDD] (or N=STATUS[:QTY],"
              " as export takes it).")  # fmt: skip
@click.option("--ship-date", metavar="CCYYMMDD", type=DATE, help="The promised ship date.")
@PARTNER_OPTION
@json_option()
@click.pass_obj
def ack(
    settings: Settings,
    po_number: str,
    accept_all: bool,
    reject_all: bool,
    answers: tuple[LineDecision, ...],
    ship_date: dt.date | None,
    partner: str | None,
    as_json: bool,
) -> None:
    """The seller's decision on an order we sell, sent as an 855."""
    chosen = decision(accept_all, reject_all, answers, ship_date)
    _done(_desk(settings).acknowledge(po_number, chosen, partner=partner), as_json)


@click.command("return")
@click.argument("po_number")
@click.option("--line", "lines", multiple=True, required=True, metavar="N:QTY",
              type=LINE_QUANTITY, help="A line and the quantity coming back.")  # fmt: skip
@click.option("--reason", default="", help="Why it comes back.")
@PARTNER_OPTION
@json_option()
@click.pass_obj
def return_(
    settings: Settings,
    po_number: str,
    lines: tuple[LineQuantity, ...],
    reason: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Record goods coming back (only what was shipped can come back)."""
    result = _desk(settings).record_return(po_number, list(lines), reason=reason, partner=partner)
    _done(result, as_json)


@click.command("refund")
@click.argument("po_number")
@click.option("--amount", required=True, type=AMOUNT, help="The amount given back.")
@click.option("--line", "lines", multiple=True, metavar="N:QTY", type=LINE_QUANTITY,
              help="Lines it is for.")  # fmt: skip
@click.option("--reason", default="", help="Why.")
@PARTNER_OPTION
@json_option()
@click.pass_obj
def refund(
    settings: Settings,
    po_number: str,
    amount: Decimal,
    lines: tuple[LineQuantity, ...],
    reason: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Record money given back, for some lines or the order."""
    result = _desk(settings).refund(
        po_number, amount, lines=list(lines), reason=reason, partner=partner
    )
    _done(result, as_json)


@click.command("invoice")
@click.argument("po_number")
@click.option("--number", help="The invoice number (default: PO-n).")
@PARTNER_OPTION
@json_option()
@click.pass_obj
def invoice(
    settings: Settings, po_number: str, number: str | None, partner: str | None, as_json: bool
) -> None:
    """Invoice what shipped and was not invoiced yet, as an 810."""
    _done(_desk(settings).invoice(po_number, number=number, partner=partner), as_json)


@click.command("mark-paid")
@click.argument("po_number")
@click.option("--amount", type=AMOUNT, help="The amount paid (default: everything still owed).")
@click.option("--reference", default="", help="The payment's reference.")
@PARTNER_OPTION
@json_option()
@click.pass_obj
def mark_paid(
    settings: Settings,
    po_number: str,
    amount: Decimal | None,
    reference: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Record a payment."""
    result = _desk(settings).mark_paid(
        po_number, amount=amount, reference=reference, partner=partner
    )
    _done(result, as_json)


@click.command("note")
@click.argument("po_number")
@click.argument("what", type=click.Choice(["add", "edit", "delete"]))
@click.argument("words", nargs=-1, metavar="[NOTE_ID] [TEXT]")
@click.option("--author", envvar="USER", default="operator", show_default=True,
              help="Who writes it (env: USER).")  # fmt: skip
@PARTNER_OPTION
@json_option()
@click.pass_obj
def note(
    settings: Settings,
    po_number: str,
    what: str,
    words: tuple[str, ...],
    author: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Notes on an order: `add TEXT`, `edit NOTE_ID TEXT`, `delete NOTE_ID`."""
    expected = {"add": 1, "edit": 2, "delete": 1}[what]
    if len(words) != expected:
        usage = {"add": "add TEXT", "edit": "edit NOTE_ID TEXT", "delete": "delete NOTE_ID"}
        raise click.UsageError(f"note {po_number} {usage[what]}")
    desk = _desk(settings)
    if what == "add":
        result = desk.add_note(po_number, words[0], author=author, partner=partner)
    elif what == "edit":
        result = desk.edit_note(po_number, words[0], words[1], author=author, partner=partner)
    else:
        result = desk.delete_note(po_number, words[0], author=author, partner=partner)
    _done(result, as_json)


@click.command("change-customer")
@click.argument("po_number")
@click.option("--ship-to", required=True, help="The new ship-to name.")
@click.option("--address", "address_lines", multiple=True, help="A street line (repeatable).")
@click.option("--city", default="")
@click.option("--state", default="")
@click.option("--postal-code", default="")
@click.option("--country", default="")
@click.option("--reason", default="", help="Why.")
@PARTNER_OPTION
@json_option()
@click.pass_obj
def change_customer(
    settings: Settings,
    po_number: str,
    ship_to: str,
    address_lines: tuple[str, ...],
    city: str,
    state: str,
    postal_code: str,
    country: str,
    reason: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Change whom the order ships to."""
    from gateway.domain.values import Address, Party

    address = Address(address_lines, city, state, postal_code, country)
    result = _desk(settings).change_customer(
        po_number, Party("ST", ship_to, address=address), reason=reason, partner=partner
    )
    _done(result, as_json)


@click.command("change-dates")
@click.argument("po_number")
@click.option("--ship-date", metavar="CCYYMMDD", type=DATE,
              help="The new requested ship date.")  # fmt: skip
@click.option("--delivery-date", metavar="CCYYMMDD", type=DATE,
              help="The new requested delivery date.")  # fmt: skip
@click.option("--cancel-after", metavar="CCYYMMDD", type=DATE,
              help="The new cancel-after date.")  # fmt: skip
@click.option("--reason", default="", help="Why.")
@PARTNER_OPTION
@json_option()
@click.pass_obj
def change_dates(
    settings: Settings,
    po_number: str,
    ship_date: dt.date | None,
    delivery_date: dt.date | None,
    cancel_after: dt.date | None,
    reason: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Move the order's requested ship or delivery date or its cancel-after date (an order we
    placed with a seller who takes EDI sends its 860)."""
    if not (ship_date or delivery_date or cancel_after):
        raise click.UsageError("give --ship-date, --delivery-date or --cancel-after")
    result = _desk(settings).change_dates(
        po_number,
        requested_ship_date=ship_date,
        requested_delivery_date=delivery_date,
        cancel_after_date=cancel_after,
        reason=reason,
        partner=partner,
    )
    _done(result, as_json)


@click.command("test-order")
@click.option("--partner", required=True, help="The seller to try (its profile's key).")
@json_option()
@click.pass_obj
def test_order(settings: Settings, partner: str, as_json: bool) -> None:
    """Place a test order with a seller (ISA15 = T through the whole flow) to try their set-up."""
    _done(_desk(settings).test_order(partner), as_json)


@click.command("export")
@click.argument("po_number")
@click.option(
    "--set",
    "set_id",
    required=True,
    cls=NamesOption,
    type=Names(_sets_we_send),
    help="The transaction set to send: one of {names}.",
)
@click.option("--partner", help="The partner, when several used this PO number.")
@click.option("--accept-all", is_flag=True, help="855: accept every line as ordered.")
@click.option("--reject-all", is_flag=True, help="855: reject the whole order.")
@click.option(
    "--line",
    "answers",
    multiple=True,
    metavar="LINE=STATUS[:QTY][@CCYYMMDD]",
    type=LINE_DECISION,
    help="855: answer one line (accept, reject, change:QTY, backorder; or LINE:STATUS, as ack"
    " takes it); others are accepted.",
)
@click.option("--ship-date", metavar="CCYYMMDD", type=DATE, help="855: the promised ship date.")
@click.option(
    "--fulfilment",
    "fulfilment_ids",
    multiple=True,
    metavar="ID",
    help="856: the fulfilment to pass on (default: every shipped one not yet sent).",
)
@click.option(
    "--fulfillment", "fulfillment_ids", multiple=True, metavar="ID", hidden=True
)  # --fulfilment as it was once spelled: hidden, still taken
@click.option(
    "--structure",
    cls=NamesOption,
    metavar="NAME",
    type=Names(_structures),
    help="856: the hierarchy, instead of the mapping's ({names}).",
)
@click.option("--invoice", "invoice_number", help="810: the invoice number (default: PO-n).")
@click.option("--sender-id", help="Our ISA id, when no document of the order tells it.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the X12 here.")
@json_option("Print what was sent (the X12 included, unless written to --out) as JSON.")
@click.pass_obj
def export(
    settings: Settings,
    po_number: str,
    set_id: str,
    partner: str | None,
    accept_all: bool,
    reject_all: bool,
    answers: tuple[LineDecision, ...],
    ship_date: dt.date | None,
    fulfilment_ids: tuple[str, ...],
    fulfillment_ids: tuple[str, ...],
    structure: str | None,
    invoice_number: str | None,
    sender_id: str | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Send a document about order PO_NUMBER: build it, store it, queue it for the partner and
    record it on the order; print the X12 (or write it to --out)."""
    from gateway.mapping.outbound_settings import HierarchyStructure
    from gateway.service.export import export as send_document

    chosen = None
    if set_id == "855":
        chosen = decision(accept_all, reject_all, answers, ship_date)
    elif accept_all or reject_all or answers or ship_date:
        raise click.UsageError("--accept-all, --reject-all, --line and --ship-date are for an 855")
    gateway = settings.gateway()
    result = send_document(
        gateway.uow_factory,
        po_number,
        set_id,
        partner,
        chosen,
        (*fulfilment_ids, *fulfillment_ids),
        mappings=gateway.mappings,
        invoice_number=invoice_number,
        structure=HierarchyStructure(structure) if structure else None,
        sender_id=sender_id,
        profiles={p.key: p for p in gateway.config.partners},
    )
    summary = (
        f"{result.po_number}: {result.set_id} #{','.join(result.set_controls)} in interchange "
        f"{result.interchange_control} queued for {result.partner} (document "
        f"{result.document_id}); recorded: {', '.join(result.recorded) or 'nothing'}"
    )
    if out is not None:
        out.write_bytes(result.content)
    if as_json:
        emit(
            {
                "po_number": result.po_number,
                "partner": result.partner,
                "set": result.set_id,
                "set_controls": list(result.set_controls),
                "interchange": result.interchange_control,
                "document_id": result.document_id,
                "outbox_id": result.outbox_id,
                "recorded": list(result.recorded),
                "out": str(out) if out is not None else None,
                "x12": None if out is not None else result.content.decode("latin-1"),
            }
        )
    elif out is None:
        click.echo(result.content.decode("latin-1"), nl=False)
        click.echo(summary, err=True)
    else:
        click.echo(f"{summary}; written to {out}")

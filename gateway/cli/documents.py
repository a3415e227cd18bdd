"""`ingest` and `documents list|show|resend|replay`: the X12 documents received and sent."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.cli.shared import (
    EXIT_OK,
    EXIT_REJECTED,
    Names,
    NamesOption,
    Settings,
    check_partner,
    emit,
    json_option,
)

if TYPE_CHECKING:
    from gateway.service.delivery import Delivery
    from gateway.service.outcomes import IngestResult, SetOutcome


def _document_statuses() -> list[str]:
    from gateway.service.documents import document_statuses

    return document_statuses()


def _set_json(outcome: SetOutcome) -> dict[str, Any]:
    return {
        "set": outcome.set_id,
        "control": outcome.control_number,
        "po_number": outcome.po_number,
        "action": outcome.action,
        "message": outcome.message,
    }


def _set_line(outcome: SetOutcome) -> str:
    po = f" PO {outcome.po_number}" if outcome.po_number else ""
    return f"{outcome.set_id} #{outcome.control_number}{po}: {outcome.action}" + (
        f" ({outcome.message})" if outcome.message else ""
    )


def _refused(outcome: SetOutcome) -> bool:
    return outcome.action in ("refused", "rejected")


def _delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "document_id": delivery.document_id,
        "partner": delivery.partner,
        "status": delivery.status,
        "where": delivery.where,
        "error": delivery.error,
    }


def _file_json(path: Path, result: IngestResult) -> dict[str, Any]:
    return {
        "file": str(path),
        "accepted": result.accepted,
        "first_issue": result.first_issue,
        "duplicate": result.duplicate,
        "reused": list(result.reused),
        "warnings": list(result.tolerated),
        "document_ids": list(result.document_ids),
        "sets": [_set_json(s) for s in result.sets],
        "acknowledgements": [
            {"kind": a.kind, "control": a.control_number, "partner": a.partner}
            for a in result.acknowledgements
        ],
    }


@click.command("ingest")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@json_option("Print what became of each file and delivery as JSON.")
@click.pass_obj
def ingest(settings: Settings, files: tuple[Path, ...], as_json: bool) -> None:
    """Take in X12 files: validate, store, acknowledge, map and apply them to the orders.

    The acknowledgements are queued for the partners and delivered to their outbound mailboxes
    (DATA/outbox/PARTNER/ for a partner without a profile)."""
    from gateway import render

    gateway = settings.gateway()
    rejected = False
    partners: set[str] = set()
    with render.ingest_progress(len(files)) as progress:
        gateway.ingestor.progress = progress.sets
        results = []
        for path in files:
            progress.start_file(path.name)
            results.append((path, gateway.pipeline.ingest_file(path, str(path))))
            progress.file_done()
    for path, result in results:
        partners.update(ack.partner for ack in result.acknowledgements)
        duplicate_only = result.duplicate and not result.sets and not result.acknowledgements
        if not duplicate_only:
            rejected = rejected or not result.accepted or any(map(_refused, result.sets))
        if as_json:
            continue
        if duplicate_only:
            click.echo(f"{path}: duplicate: {result.duplicate}")
            continue
        verdict = "accepted" if result.accepted else f"rejected: {result.first_issue}"
        click.echo(f"{path}: {verdict}")
        if result.duplicate:
            click.echo(render.safe(f"  duplicate: {result.duplicate}"))
        for line in result.reused:
            click.echo(render.safe(f"  {line}"))
        for line in result.tolerated:
            click.echo(render.safe(f"  warning: {line}"))
        for outcome in result.sets:
            click.echo(f"  {_set_line(outcome)}")
        for ack in result.acknowledgements:
            click.echo(f"  {ack.kind} {ack.control_number} queued for {ack.partner}")
    deliveries = gateway.deliverer.drain(partners=partners)
    if as_json:
        emit(
            {
                "files": [_file_json(path, result) for path, result in results],
                "deliveries": [_delivery_json(d) for d in deliveries],
            }
        )
    for delivery in [] if as_json else deliveries:
        if delivery.status == "sent":
            click.echo(f"delivered document {delivery.document_id} to {delivery.where}")
        else:
            click.echo(
                f"document {delivery.document_id} for {delivery.partner} not delivered yet:"
                f" {delivery.error}"
            )
    sys.exit(EXIT_REJECTED if rejected else EXIT_OK)


@click.group()
def documents() -> None:
    """Documents received and sent."""


@documents.command("list")
@click.option("--partner", help="Only this partner's documents.")
@click.option("--direction", type=click.Choice(["in", "out"]), help="Received or sent.")
@click.option(
    "--status",
    cls=NamesOption,
    metavar="NAME",
    type=Names(_document_statuses),
    help="Only documents in this state ({names}).",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option("Print JSON instead of a table.")
@click.pass_obj
def documents_list(
    settings: Settings,
    partner: str | None,
    direction: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The latest documents, newest first."""
    from gateway import render
    from gateway.service.documents import list_documents

    gateway = settings.gateway()
    if partner is not None:
        check_partner(
            gateway,
            partner,
            holds=lambda: bool(list_documents(gateway.uow_factory(), partner=partner, limit=1)),
        )
    rows = list_documents(
        gateway.uow_factory(), partner=partner, direction=direction, status=status, limit=limit
    )
    if as_json:
        emit(rows)
    elif not rows:
        click.echo("no documents")
    else:
        render.table(
            [{**row, "sets": ",".join(row["sets"])} for row in rows],
        )


@documents.command("show")
@click.argument("document_id", type=int)
@json_option("Print JSON.")
@click.option("--raw", is_flag=True, help="Print the document's X12 as it was received or sent.")
@click.pass_obj
def documents_show(settings: Settings, document_id: int, as_json: bool, raw: bool) -> None:
    """A document: its envelope, what became of each set, its deliveries and orders."""
    from gateway import render
    from gateway.errors import DocumentActionRefused
    from gateway.service.documents import content_of, show_document

    if raw and as_json:
        raise click.UsageError("give --json or --raw, not both")
    gateway = settings.gateway()
    if raw:
        with gateway.uow_factory() as uow:
            document = uow.documents.get(document_id)
        content = content_of(document, gateway.files) if document is not None else None
        if content is None:
            raise DocumentActionRefused("document-exists", f"no document {document_id}")
        for chunk in content():
            click.echo(chunk.decode("latin-1"), nl=False)
        return
    view = show_document(gateway.uow_factory(), document_id)
    if as_json:
        emit(view)
        return
    view = render.safe(view)  # a file name, a set's message: the partner's words, escaped
    for key in ("id", "partner", "direction", "sets", "interchange", "status", "file", "at",
                "sha256", "sender", "receiver", "processed_at"):  # fmt: skip
        value = view[key]
        click.echo(f"{key}: {','.join(value) if isinstance(value, list) else value}")
    for warning in view["warnings"]:  # deviations from the standard read as the partner meant
        click.echo(f"  warning: {warning}")
    for record in view["transaction_sets"]:
        po = f" PO {record['po_number']}" if record["po_number"] else ""
        click.echo(
            f"  {record['set_id']} #{record['set']}{po}: {record['action']} {record['message']}"
        )
    for delivery in view["deliveries"]:
        click.echo(
            f"  delivery {delivery['outbox']}: {delivery['status']} after"
            f" {delivery['attempts']} attempt(s) {delivery['where'] or delivery['last_error']}"
        )
    for order in view["orders"]:
        click.echo(f"  order {order['partner']} {order['po_number']}")


@documents.command("resend")
@click.argument("document_id", type=int)
@json_option("Print the queued entry and its delivery as JSON.")
@click.pass_obj
def documents_resend(settings: Settings, document_id: int, as_json: bool) -> None:
    """Deliver a document we sent again (same content and control numbers)."""
    from gateway.service.documents import resend

    gateway = settings.gateway()
    entry = resend(gateway.uow_factory, document_id, dt.datetime.now(dt.UTC))
    if not as_json:
        click.echo(f"document {document_id} queued again (outbox {entry.id})")
    drained = gateway.deliverer.drain(partners={entry.partner})
    deliveries = [d for d in drained if d.document_id == document_id]
    if as_json:
        emit(
            {
                "document_id": document_id,
                "outbox_id": entry.id,
                "deliveries": [_delivery_json(d) for d in deliveries],
            }
        )
        return
    for delivery in deliveries:
        click.echo(f"  {delivery.status} {delivery.where or delivery.error}")


@documents.command("replay")
@click.argument("document_id", type=int)
@json_option("Print what became of each set as JSON.")
@click.pass_obj
def documents_replay(settings: Settings, document_id: int, as_json: bool) -> None:
    """Take a received document in again for its sets that were refused, rejected or not
    mapped (after the order arrived, or a mapping or profile was fixed)."""
    from gateway.service.documents import replay

    gateway = settings.gateway()
    result = replay(gateway.uow_factory, gateway.ingestor, document_id, gateway.files)
    failed = any(map(_refused, result.sets))
    if as_json:
        emit(
            {
                "document_id": document_id,
                "sets": [_set_json(s) for s in result.sets],
                "refused": failed,
            }
        )
    else:
        for outcome in result.sets:
            click.echo(_set_line(outcome))
    sys.exit(EXIT_REJECTED if failed else EXIT_OK)

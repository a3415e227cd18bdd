"""Documents for operators: list and show them, send an outbound one again, take an inbound one
in again after its cause was fixed.

Strategy: a resend puts the document's outbox entry back in the queue, due now; the content and
control numbers stay as they were (the partner's translator sees the same interchange again, as
it would after a lost transfer). A replay forgets the records of the transaction sets that were
refused, rejected or not mapped, and takes the document in again: the store resumes it as after
a crash, so the sets applied the first time are not applied twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway import kinds
from gateway.errors import DocumentActionRefused
from gateway.service.ingest import ACK_STATUSES, REUSED, TAKEN_STATUSES, Ingestor, IngestResult
from gateway.service.ports import FileStore, OutboxEntry, StoredDocument, UnitOfWork
from gateway.service.tracking import STORED_STATES, set_document_status

TROUBLED = frozenset({"rejected", "refused", "not mapped"})
NOT_REPLAYED = frozenset({"duplicate", "unauthorized"})
DIRECTIONS = ("in", "out")
"""Received, sent."""


def document_statuses() -> list[str]:
    """Every status a stored document can have: a received one's verdict (accepted, partly
    accepted, rejected, unauthorized, duplicate, control reused), a sent one's delivery and
    acknowledgement (queued, sent, acknowledged, partly rejected, rejected, overdue...)."""
    names = [
        *sorted(TAKEN_STATUSES),
        "rejected",
        "unauthorized",
        "duplicate",
        REUSED,
        *STORED_STATES,
        *ACK_STATUSES.values(),
        "overdue",
    ]
    return list(dict.fromkeys(names))


def document_sets() -> list[str]:
    """The transaction sets a stored document can hold: every kind the registry knows, and the
    interchange acknowledgement (TA1) that stands for a set in the documents we send."""
    return [*kinds.KINDS, "TA1"]


def _get(uow: UnitOfWork, document_id: int) -> StoredDocument:
    document = uow.documents.get(document_id)
    if document is None:
        raise DocumentActionRefused("document-exists", f"no document {document_id}")
    return document


def summary_view(document: StoredDocument) -> dict[str, Any]:
    """One line of a document listing."""
    return {
        "id": document.id,
        "partner": document.partner,
        "direction": document.direction,
        "sets": list(document.transaction_sets),
        "interchange": document.interchange_control or "",
        "status": document.status,
        "size": document.size,
        "file": document.filename or "",
        "at": document.created_at.isoformat() if document.created_at else "",
    }


def list_documents(
    uow: UnitOfWork,
    *,
    partner: str | None = None,
    direction: str | None = None,
    status: str | None = None,
    set_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The latest documents, newest first (those of `partner`, `direction`, `status`, holding
    the set `set_id`, each when given), `limit` of them after the first `offset`."""
    with uow:
        found = uow.documents.listing(
            partner=partner,
            direction=direction,
            status=status,
            set_id=set_id,
            limit=limit,
            offset=offset,
        )
        return [summary_view(d) for d in found]


def show_document(uow: UnitOfWork, document_id: int) -> dict[str, Any]:
    """A document with what became of its sets, its deliveries and the orders it touched."""
    with uow:
        document = _get(uow, document_id)
        view = summary_view(document)
        view.update(
            {
                "sha256": document.sha256,
                "sender": document.sender_id or "",
                "receiver": document.receiver_id or "",
                "groups": list(document.group_controls),
                "set_controls": list(document.set_controls),
                "processed_at": document.processed_at.isoformat() if document.processed_at else "",
                "warnings": [str(w) for w in _listed((document.envelope or {}).get("tolerated"))],
                "transaction_sets": [
                    {
                        "group": r.group_control,
                        "set": r.set_control,
                        "set_id": r.set_id,
                        "action": r.action,
                        "po_number": r.po_number,
                        "message": r.message,
                    }
                    for r in uow.documents.sets(document_id)
                ],
                "deliveries": [
                    {
                        "outbox": e.id,
                        "status": e.status,
                        "attempts": e.attempts,
                        "next_attempt_at": e.next_attempt_at.isoformat()
                        if e.next_attempt_at
                        else "",
                        "last_error": e.last_error or "",
                        "file": str(e.payload.get("file", "")),
                        "where": str(e.payload.get("where", "")),
                    }
                    for e in uow.outbox.for_document(document_id)
                ],
                "orders": [
                    {"partner": partner, "po_number": po}
                    for partner, po in uow.documents.orders_of(document_id)
                ],
            }
        )
        return view


def resend(
    uow_factory: Callable[[], UnitOfWork], document_id: int, now: dt.datetime
) -> OutboxEntry:
    """Queue an outbound document to be delivered again, due now; its outbox entry."""
    with uow_factory() as uow:
        document = _get(uow, document_id)
        if document.direction != "out":
            raise DocumentActionRefused(
                "resend-only-outbound",
                f"document {document_id} was received; only what we send can be resent"
                " (replay takes a received one in again)",
            )
        entries = uow.outbox.for_document(document_id)
        if entries:
            outbox_id = entries[-1].id
            uow.outbox.requeue(outbox_id, now)
        else:
            outbox_id = uow.outbox.queue(
                "x12",
                document.partner,
                {"document_id": document_id, "kind": ",".join(document.transaction_sets)},
                document_id=document_id,
            )
        set_document_status(uow, document_id, "queued", now, "queued again by an operator")
        entry = uow.outbox.entry(outbox_id)
        uow.commit()
    assert entry is not None
    return entry


def replay(
    uow_factory: Callable[[], UnitOfWork],
    ingestor: Ingestor,
    document_id: int,
    files: FileStore | None = None,
) -> IngestResult:
    """Take an inbound document in again for the sets that did not go through the first time
    (after the order arrived, a mapping or a profile was fixed), or, for an interchange rejected
    for reusing a control number, apply it as new business and send its acknowledgement."""
    with uow_factory() as uow:
        document = _get(uow, document_id)
        if document.direction != "in" or (document.raw is None and document.raw_path is None):
            raise DocumentActionRefused(
                "replay-only-inbound",
                f"document {document_id} was sent by us; only a received one can be replayed"
                " (resend delivers ours again)",
            )
        if document.status in NOT_REPLAYED:
            raise DocumentActionRefused(
                "replay-not-refused-files",
                f"document {document_id} is {document.status}: it is never applied",
            )
        troubled = [
            (r.group_control, r.set_control)
            for r in uow.documents.sets(document_id)
            if r.action in TROUBLED
        ]
        if not troubled and document.processed_at is not None and document.status != REUSED:
            raise DocumentActionRefused(
                "replay-needs-sets-not-applied",
                f"every transaction set of document {document_id} went through; nothing to replay",
            )
        uow.documents.reopen(document_id, troubled)
        uow.commit()
    name = document.filename or f"document {document_id}"
    if document.raw is not None:
        return ingestor.ingest(document.raw, name, release=True)
    if files is None or document.raw_path is None:
        raise DocumentActionRefused(
            "replay-needs-the-archive",
            f"document {document_id} is kept in the archive; replay it through the gateway",
        )
    archived = Path(document.raw_path)
    return ingestor.ingest_chunks(
        lambda: files.chunks(archived),
        name,
        sha256=document.sha256,
        size=document.size,
        raw_path=document.raw_path,
        release=True,
    )


def _listed(value: object) -> list[object]:
    """`value` when it is a list (a stored JSON value), else an empty one."""
    return value if isinstance(value, list) else []

"""Documents for operators: list and show them, send an outbound one again, take an inbound one
in again after its cause was fixed.

Strategy: a resend puts the document's outbox entry back in the queue, due now; the content and
control numbers stay as they were (the partner's translator sees the same interchange again, as
it would after a lost transfer). A replay forgets the records of the transaction sets that were
refused, rejected or not mapped, and takes the document in again: the store resumes it as after
a crash, so the sets applied the first time are not applied twice.

A document's page (the web console) reads the document's bytes again, from the store or the
archive (`content_of`): its segments as written, its file validated again as `gateway check`
reads it, and the acknowledgements answering it, found by what they answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from gateway import kinds
from gateway.errors import DocumentActionRefused
from gateway.service.ingest import ACK_STATUSES, REUSED, Ingestor
from gateway.service.outcomes import TAKEN_STATUSES, IngestResult
from gateway.service.pipeline import RAW_INLINE_LIMIT
from gateway.service.ports import FileStore, OutboxEntry, StoredDocument, UnitOfWork
from gateway.service.tracking import STORED_STATES, set_document_status
from gateway.x12.model import report_json
from gateway.x12.reader import read_chunks
from gateway.x12.schema import Catalog
from gateway.x12.tokenizer import Batch, Tokenizer

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
    profile = ingestor.profiles.get(document.partner)
    mailbox = profile if profile is not None and profile.format != "x12" else None  # no ISA
    if document.raw is not None:
        return ingestor.ingest(document.raw, name, release=True, mailbox=mailbox)
    content = content_of(document, files)
    if content is None:
        raise DocumentActionRefused(
            "replay-needs-the-archive",
            f"document {document_id} is kept in the archive; replay it through the gateway",
        )
    return ingestor.ingest_chunks(
        content,
        name,
        sha256=document.sha256,
        size=document.size,
        raw_path=document.raw_path,
        release=True,
        mailbox=mailbox,
    )


def content_of(
    document: StoredDocument, files: FileStore | None
) -> Callable[[], Iterable[bytes]] | None:
    """How to read a document's bytes as they were received or sent, a chunk at a time, as
    often as needed: from the store, or from the archive (`files`); None when neither holds
    them."""
    raw = document.raw
    if raw is not None:
        return lambda: iter((raw,))
    if files is None or document.raw_path is None:
        return None
    archived = Path(document.raw_path)
    return lambda: files.chunks(archived)


# -- a document's page: its content, its validation, its acknowledgements ---------------------

SEGMENTS_SHOWN = 2000
"""The segments a document's page shows at the most."""
VALIDATED_SIZE = RAW_INLINE_LIMIT
"""The largest file validated again for a document's page (a larger one: `gateway check`)."""
ACKNOWLEDGEMENT_SETS = ("997", "999", "TA1")
ACKNOWLEDGEMENTS_SEARCHED = 200
VERDICTS = {"A": "accepted", "E": "accepted with errors", "P": "partly accepted", "R": "rejected"}
"""What an acknowledgement's code (AK901, IK901, TA104) says of what it answers."""
"""How many of a partner's acknowledgements, newest first, are read to find a document's."""


def segments(content: Callable[[], Iterable[bytes]], limit: int = SEGMENTS_SHOWN) -> list[str]:
    """The segments of a file as written, each with its terminator (unless a line break), as
    text with one character a byte (latin-1): the first `limit`, and one more when there are
    more. Bytes in which no interchange is found come as their lines."""
    tokenizer = Tokenizer()
    found: list[str] = []

    def take(batches: Iterable[Batch]) -> bool:
        for batch in batches:
            terminator = batch.delimiters.segment
            shown = "" if terminator in "\r\n" else terminator
            found.extend(raw + shown for raw in batch.raws)
            if len(found) > limit:
                return False
        return True

    for chunk in content():
        if not take(tokenizer.feed(chunk)):
            return found[: limit + 1]
    take(tokenizer.close())
    if found:
        return found[: limit + 1]
    lines: list[str] = []
    for chunk in content():
        lines.extend(chunk.decode("latin-1").splitlines())
        if len(lines) > limit:
            break
    return lines[: limit + 1]


def validation_report(
    document: StoredDocument,
    files: FileStore | None,
    catalog: Catalog | None = None,
) -> dict[str, Any] | None:
    """What the codec finds in a document's file, read again now as `gateway check` reads it:
    its verdict, each fault with its X12 code and place, each deviation read as meant. None
    for a file larger than VALIDATED_SIZE, whose bytes are not kept, or that is no X12."""
    content = content_of(document, files)
    if content is None or document.size > VALIDATED_SIZE or not _is_x12(document):
        return None
    name = document.filename or f"document {document.id}"
    return report_json(name, read_chunks(content(), catalog=catalog))


def _is_x12(document: StoredDocument) -> bool:
    """Whether a document is X12 (a cXML or CSV one is checked by `gateway check`)."""
    found = kinds.of_document(document.transaction_sets)
    return found is None or found.format == "x12"


def acknowledgements(uow: UnitOfWork, document: StoredDocument) -> list[dict[str, Any]]:
    """The acknowledgements answering a document: for one we received, the 997, 999 or TA1 we
    sent; for one we sent, the 997 or 999 we received (its status tells a TA1's verdict). Each
    with its verdict, found by what it answers (the AK1 group control number and functional
    id, the TA1's interchange control number) among the partner's latest
    ACKNOWLEDGEMENTS_SEARCHED acknowledgements the other way. An acknowledgement is never
    acknowledged itself, nor is a cXML or CSV document by one (a cXML one is answered by a
    Response, its status tells it)."""
    if (
        document.id is None
        or set(document.transaction_sets) & set(ACKNOWLEDGEMENT_SETS)
        or not _is_x12(document)
    ):
        return []
    other = "out" if document.direction == "in" else "in"
    groups = {_number(control) for control in document.group_controls}
    functional_id = _functional_id(document)
    found: dict[int, dict[str, Any]] = {}
    for set_id in ACKNOWLEDGEMENT_SETS:
        candidates = uow.documents.listing(
            partner=document.partner,
            direction=other,
            set_id=set_id,
            limit=ACKNOWLEDGEMENTS_SEARCHED,
        )
        for candidate in candidates:
            if candidate.id is None or candidate.id <= document.id or candidate.id in found:
                continue
            stored = uow.documents.get(candidate.id)
            content = content_of(stored, None) if stored is not None else None
            if content is None:
                continue
            for answer in _answers(content()):
                kind, control, answered_id, code = answer
                if kind == "TA1":
                    matches = control == document.interchange_control
                else:
                    matches = _number(control) in groups and answered_id in ("", functional_id)
                if matches:
                    found[candidate.id] = {
                        "id": candidate.id,
                        "direction": other,
                        "kind": kind,
                        "code": code,
                        "verdict": VERDICTS.get(code, code or "no verdict"),
                        "status": candidate.status,
                        "at": candidate.created_at.isoformat() if candidate.created_at else "",
                    }
                    break
    return [found[key] for key in sorted(found)]


def _number(control: str) -> str:
    """A control number as a number (AK102 echoes GS06, some partners padding it with 0s)."""
    return control.lstrip("0") or "0"


def _functional_id(document: StoredDocument) -> str:
    """The functional id (GS01) of a document's first group: from its envelope when kept (a
    received one), else from the registry's schemas by its first set."""
    group = (document.envelope or {}).get("group")
    if isinstance(group, dict) and group.get("functional_id"):
        return str(group["functional_id"])
    found = kinds.of_document(document.transaction_sets)
    return found.functional_id if found is not None else ""


def _answers(chunks: Iterable[bytes]) -> Iterator[tuple[str, str, str, str]]:
    """What an acknowledgement file answers: (kind, control number, functional id, verdict
    code) for each 997/999 group answer (AK1 ... AK9) and each TA1."""
    tokenizer = Tokenizer()
    kind, group, functional_id = "", "", ""
    batches = [batch for chunk in chunks for batch in tokenizer.feed(chunk)]
    batches += list(tokenizer.close())
    for batch in batches:
        separator = batch.delimiters.element
        for raw in batch.raws:
            elements = raw.split(separator)
            tag = elements[0]
            if tag == "ST" and len(elements) > 1:
                kind = elements[1]
            elif tag == "AK1" and len(elements) > 2:
                functional_id, group = elements[1], elements[2]
            elif tag == "AK9" and group:
                yield kind, group, functional_id, elements[1] if len(elements) > 1 else ""
                group = ""
            elif tag == "TA1" and len(elements) > 4:
                yield "TA1", elements[1], "", elements[4]


def _listed(value: object) -> list[object]:
    """`value` when it is a list (a stored JSON value), else an empty one."""
    return value if isinstance(value, list) else []

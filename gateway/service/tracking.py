"""Following our documents about an order to the partner, so that its flags rest on facts.

Strategy: a document of ours about an order (an X12 document, or the email that orders from a
seller who fulfils directly) is followed by the order itself (`TrackDocument`, in the
transaction that queues it), and every change of its state that the gateway can prove is
recorded on the order in the transaction that learns it (`RecordDocumentState`): the outbox
handing it to the partner's mailbox, the mail server taking or refusing the email, the partner's
997/999/TA1 accepting or rejecting it, an operator queueing it again. `set_document_status` is
the one way the store's status of an outbound document changes, so the store's view (`documents
list`) and the order's flags cannot tell two stories.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from gateway.config import PartnerProfile
from gateway.domain.commands import RecordDocumentState, TrackDocument
from gateway.domain.model import Order
from gateway.domain.values import DocumentKind, DocumentState
from gateway.service.ports import UnitOfWork

STORED_STATES: dict[str, DocumentState] = {
    "queued": DocumentState.QUEUED,
    "sent": DocumentState.DELIVERED,
    "acknowledged": DocumentState.ACCEPTED,
    "partly rejected": DocumentState.REJECTED,
    "rejected": DocumentState.REJECTED,
    "failed": DocumentState.FAILED,
}
"""The store's status of an outbound document (or email) as the order follows it; `overdue`
changes nothing the order can prove (it is still delivered, not accepted)."""


def document_name(document_id: int) -> str:
    """How an order names a stored X12 document it follows."""
    return f"document {document_id}"


def email_name(outbox_id: int) -> str:
    """How an order names an email it follows."""
    return f"email {outbox_id}"


def owes_acceptance(profile: PartnerProfile | None) -> bool:
    """Whether the partner answers our X12 documents with a 997/999 (their profile says so; a
    partner without a profile is assumed to, as the overdue watch assumes)."""
    return profile is None or profile.acknowledgements.expect != "none"


def track(
    order: Order,
    document: str,
    kind: DocumentKind,
    at: dt.datetime,
    *,
    fulfilment_ids: tuple[str, ...] = (),
    needs_acceptance: bool = False,
    source: str = "",
) -> None:
    """Make `order` follow a document just queued (in the caller's unit of work)."""
    order.handle(
        TrackDocument(
            partner=order.partner,
            po_number=order.po_number,
            at=at,
            source=source,
            document=document,
            kind=kind,
            fulfilment_ids=fulfilment_ids,
            needs_acceptance=needs_acceptance,
        )
    )


def follow(
    uow: UnitOfWork,
    partner: str,
    po_number: str,
    document: str,
    state: DocumentState,
    at: dt.datetime,
    detail: str = "",
) -> None:
    """Record on the order how far a document it follows got; nothing when the order does not
    follow it (a document queued before orders followed their documents)."""
    order = uow.orders.get(partner, po_number)
    if order is None or order.dispatch(document) is None:
        return
    order.handle(
        RecordDocumentState(
            partner=partner,
            po_number=po_number,
            at=at,
            document=document,
            state=state,
            detail=detail,
        )
    )


def set_document_status(
    uow: UnitOfWork, document_id: int, status: str, at: dt.datetime, detail: str = ""
) -> None:
    """Set an outbound document's status in the store, and record it on every order that
    follows the document, in `uow`."""
    uow.documents.set_status(document_id, status)
    state = STORED_STATES.get(status)
    if state is None:
        return
    for partner, po_number in uow.documents.orders_of(document_id):
        follow(uow, partner, po_number, document_name(document_id), state, at, detail)


def follow_email(
    uow: UnitOfWork, payload: Mapping[str, object], outbox_id: int, status: str, at: dt.datetime
) -> None:
    """Record on its order what became of an email (`sent`: the mail server took it, or it was
    captured to a file where no server is configured; `failed`: refused for good)."""
    about = payload.get("order")
    state = STORED_STATES.get(status)
    if not isinstance(about, dict) or state is None:
        return
    partner, po_number = about.get("partner"), about.get("po_number")
    if isinstance(partner, str) and isinstance(po_number, str):
        follow(uow, partner, po_number, email_name(outbox_id), state, at)

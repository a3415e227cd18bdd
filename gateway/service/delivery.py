"""Delivering what the outbox holds, and watching the acknowledgements partners owe us.

Strategy: an outbound document is queued in the outbox by the transaction that made it. A drain
takes each due entry with a lease (a short transaction sets its next attempt to the lease's end,
so another worker leaves it alone, and a worker that dies lets it come due again), delivers it to
the partner's outbound mailbox under a name fixed by the document (so a retry overwrites nothing
and delivering twice the same name and bytes is a no-op), then marks it sent, and the document
sent, in a second transaction, where the orders that follow the document record it delivered. A
transport error puts the entry back with exponential backoff.

The one window left is a crash after the partner's mailbox took the file and before the store
marked it sent: the retry finds the file still there and does nothing, or, if the partner already
took it away, delivers it again under the same name and ISA13, which the partner's translator
recognises as a duplicate interchange. No document is built twice: control numbers and content
are fixed when it is queued.

Acknowledgements owed: a document sent to a partner that answers with 997/999 is overdue when no
answer came within the partner's deadline; `overdue` marks it so (the inbound 997/999 or TA1 that
comes late still moves it to acknowledged or rejected).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway import kinds
from gateway.config import PartnerProfile
from gateway.errors import TransportError
from gateway.logs import event
from gateway.service.messagebus import committed
from gateway.service.ports import OutboundMailbox, OutboxEntry, StoredDocument, UnitOfWork
from gateway.service.tracking import set_document_status

LOG = logging.getLogger("gateway.delivery")

LEASE = dt.timedelta(minutes=5)
FIRST_RETRY = dt.timedelta(seconds=30)
LAST_RETRY = dt.timedelta(hours=1)
ACKNOWLEDGEMENTS = frozenset({"997", "999", "TA1", "Response"})
"""Documents that are never acknowledged themselves."""


def _here() -> str:
    """This host and process-id namespace: containers on one host (or sharing a hostname) each
    have a namespace of their own, where the same process ids mean other processes."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}:{namespace}"


def this_worker() -> str:
    """This process as a lease holder: `host:pid-namespace:pid`."""
    return f"{_here()}:{os.getpid()}"


def dead_here(holder: str) -> bool:
    """Whether `holder` (`host:pid-namespace:pid`) is a process of this host and namespace that
    no longer runs: its leases can be taken back at once instead of waiting for them to end."""
    place, _, pid = holder.rpartition(":")
    if place != _here() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def release_dead_workers(uow_factory: Callable[[], UnitOfWork]) -> list[str]:
    """Free the mailbox leases and outbox claims of this host's workers that died (kill -9,
    a crash): a restart need not wait for their leases to end. The workers freed."""
    with uow_factory() as uow:
        dead = sorted({h for h in [*uow.leases.holders(), *uow.outbox.claimants()] if dead_here(h)})
        for holder in dead:
            uow.leases.release_all(holder)
            uow.outbox.release_claims(holder)
        uow.commit()
    return dead


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A time read from the store (SQLite gives it back without its zone, which is UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def backoff(attempts: int) -> dt.timedelta:
    """The wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, ... at most an hour."""
    wait: dt.timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(wait, LAST_RETRY)


def file_name(document: StoredDocument) -> str:
    """The name a document is delivered under: fixed by the document, unique per partner, with
    its format's extension (a cXML document's id, a payloadID, is not part of it)."""
    sets = "-".join(document.transaction_sets) or "x12"
    found = kinds.of_document(document.transaction_sets)
    if found is not None and found.format != "x12":
        return f"{sets}_{document.id}.{found.extension}"
    return f"{sets}_{document.interchange_control or 'none'}_{document.id}.x12"


@dataclass(slots=True)
class Delivery:
    """What became of one outbox entry in a drain."""

    outbox_id: int
    partner: str
    document_id: int | None
    status: str  # sent | retry | skipped
    where: str = ""
    error: str = ""
    attempts: int = 0  # the deliveries tried so far, this one included


class Deliverer:
    """Drains the X12 outbox to the partners' outbound mailboxes."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        mailboxes: Callable[[str], OutboundMailbox],
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        checkpoint: Callable[[str], None] = lambda point: None,
        worker: str = "",
    ):
        self.uow_factory = uow_factory
        self.mailboxes = mailboxes
        self.clock = clock
        self.checkpoint = checkpoint
        self.worker = worker or this_worker()

    def drain(self, *, partners: set[str] | None = None, limit: int = 500) -> list[Delivery]:
        """Deliver every due X12 entry (of `partners`, when given)."""
        now = self.clock()
        with self.uow_factory() as uow:
            due = [
                entry
                for entry in uow.outbox.due("x12", now, limit)
                if partners is None or entry.partner in partners
            ]
        found = []
        failing: set[str] = set()
        for entry in due:
            if entry.partner in failing:
                continue  # its mailbox failed in this drain: its entries wait for the next
            delivery = self._deliver(entry)
            if delivery.status == "retry":
                failing.add(entry.partner)
            found.append(delivery)
            event(
                LOG,
                f"delivery {delivery.status}",
                logging.WARNING if delivery.status == "retry" else logging.INFO,
                partner=delivery.partner,
                document=delivery.document_id,
                where=delivery.where,
                error=delivery.error,
            )
        return found

    def _deliver(self, entry: OutboxEntry) -> Delivery:
        now = self.clock()
        with self.uow_factory() as uow:
            if not uow.outbox.claim(entry.id, now, now + LEASE, self.worker):
                return Delivery(entry.id, entry.partner, entry.document_id, "skipped")
            document = uow.documents.get(entry.document_id) if entry.document_id else None
            uow.commit()
        self.checkpoint("claimed-delivery")
        if document is None or document.raw is None or document.id is None:
            with self.uow_factory() as uow:
                uow.outbox.settle(entry.id, "failed", at=now, error="the document is missing")
                uow.commit()
            return Delivery(entry.id, entry.partner, entry.document_id, "skipped", error="missing")
        name = file_name(document)
        try:
            where = self.mailboxes(entry.partner).deliver(name, document.raw)
        except TransportError as exc:
            later = self.clock() + backoff(entry.attempts + 1)
            with self.uow_factory() as uow:
                uow.outbox.settle(entry.id, "queued", at=now, next_attempt_at=later, error=str(exc))
                uow.commit()
            return Delivery(
                entry.id,
                entry.partner,
                document.id,
                "retry",
                error=str(exc),
                attempts=entry.attempts + 1,
            )
        self.checkpoint("delivered")
        sent_at = self.clock()
        payload = {**entry.payload, "file": name, "where": where, "sent_at": sent_at.isoformat()}
        delivered = document.id

        def settle(uow: UnitOfWork) -> None:
            uow.outbox.settle(entry.id, "sent", at=sent_at, payload=payload)
            if document.status == "queued":
                set_document_status(uow, delivered, "sent", sent_at, f"delivered to {where}")

        committed(self.uow_factory, settle)  # again when an order following it changed
        return Delivery(entry.id, entry.partner, document.id, "sent", where=where)


def overdue(
    uow_factory: Callable[[], UnitOfWork],
    profiles: Mapping[str, PartnerProfile],
    now: dt.datetime,
) -> list[StoredDocument]:
    """Mark overdue the documents sent to partners that owe a 997/999 for them and did not
    answer within their deadline; the documents newly marked."""
    found = []
    with uow_factory() as uow:
        for document in uow.documents.listing(direction="out", status="sent", limit=10_000):
            profile = profiles.get(document.partner)
            if profile is None or profile.acknowledgements.expect == "none":
                continue
            if ACKNOWLEDGEMENTS.intersection(document.transaction_sets):
                continue
            sent = document.updated_at
            deadline = dt.timedelta(hours=profile.acknowledgements.deadline_hours)
            if sent is None or document.id is None:
                continue
            if now - as_utc(sent) > deadline:
                uow.documents.set_status(document.id, "overdue")
                found.append(document)
        uow.commit()
    return found

"""The ports of the service layer: what a use case needs from the outside world, as Protocols.

The real implementations live in `gateway.adapters` (SQLAlchemy for the store); fakes for unit
tests live beside the tests. A unit of work is one transaction: the order, its events, the audit
record and anything queued for sending commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gateway.domain.model import Order
from gateway.service.accounts import Accounts
from gateway.service.tokens import ApiTokens, IdempotencyKeys


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """One line of an order listing, read from the store's search columns."""

    partner: str
    po_number: str
    our_role: str
    is_test: bool
    order_date: str
    flags: tuple[str, ...]
    fulfilment_status: str
    payment_status: str
    version: int
    updated_at: dt.datetime


ORDER_SORTS = ("date", "po", "partner", "updated")
"""What an order listing can be sorted by: the order date, the PO number, the partner (then the
PO number), the last change."""
ORDER_SCOPES = ("open", "archived", "all")
"""Which orders a listing looks at: open work (neither completed nor cancelled), the archive
(completed or cancelled), or both."""
SCOPE_STATUSES = ("open", "archived")
"""Status names that are not flags: where an order stands in the scopes above."""
MAX_PAGE = 1000
"""The most orders one page of a listing holds."""


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """Which orders to list, in what order, and which page of them.

    Every filter given must hold. `statuses` are flag names (`rules.Flag` values) or `open` /
    `archived`, all of which must hold; `fulfilment_status` and `payment_status` are values of
    `rules.FulfilmentStatus` and `rules.PaymentStatus`; `since` and `until` bound the order
    date, both included. `search` matches, case-insensitively, the start of a PO number, of a
    product id of any line, of a tracking number of any fulfilment, or of the ship-to party's
    name or any word of it. `scope` None is open work unless a status asks for completed,
    cancelled or archived orders (then every order). Test orders are left out unless
    `include_test`, or a status asks for them (`test`). `limit` None: every order (for
    reports)."""

    partner: str | None = None
    statuses: tuple[str, ...] = ()
    fulfilment_status: str | None = None
    payment_status: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    search: str | None = None
    scope: str | None = None
    include_test: bool = False
    sort: str = "date"
    descending: bool = False
    limit: int | None = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if self.scope is not None and self.scope not in ORDER_SCOPES:
            raise ValueError(f"scope {self.scope!r} is not one of {', '.join(ORDER_SCOPES)}")
        if self.sort not in ORDER_SORTS:
            raise ValueError(f"sort {self.sort!r} is not one of {', '.join(ORDER_SORTS)}")
        if self.limit is not None and not 1 <= self.limit <= MAX_PAGE:
            raise ValueError(f"limit {self.limit} is not between 1 and {MAX_PAGE}")
        if self.offset < 0:
            raise ValueError(f"offset {self.offset} is negative")
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError(f"since {self.since} is after until {self.until}")
        if self.search is not None and not self.search.strip():
            raise ValueError("the search text is empty")

    @property
    def effective_scope(self) -> str:
        """The scope the listing uses (see the class docstring)."""
        if self.scope is not None:
            return self.scope
        if {"completed", "cancelled", "archived"} & {name.lower() for name in self.statuses}:
            return "all"
        return "open"


@dataclass(frozen=True, slots=True)
class OrderPage:
    """One page of an order listing: its summaries and how many orders the query found in all."""

    summaries: tuple[OrderSummary, ...]
    total: int
    offset: int = 0
    more: bool = False  # more than `total` orders match (a broad search counts no further)


@dataclass(slots=True)
class StoredDocument:
    """A document in or out, as the store keeps it."""

    sha256: str
    partner: str
    direction: str  # "in" or "out"
    size: int
    status: str
    raw: bytes | None = None
    raw_path: str | None = None
    transaction_sets: tuple[str, ...] = ()
    interchange_control: str | None = None
    group_controls: tuple[str, ...] = ()
    set_controls: tuple[str, ...] = ()
    sender_id: str | None = None
    receiver_id: str | None = None
    filename: str | None = None
    id: int | None = None
    order_keys: list[tuple[str, str]] = field(default_factory=list)  # (partner, PO) it touched
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    processed_at: dt.datetime | None = None  # inbound: when every set of it was applied
    envelope: dict[str, object] | None = None  # inbound: the ISA/GS values answers are built on

    @classmethod
    def ours(
        cls, partner: str, content: bytes, *, status: str = "queued", **fields: Any
    ) -> StoredDocument:
        """A document of ours for `partner` (queued unless said), its digest and size from its
        content."""
        return cls(
            sha256=hashlib.sha256(content).hexdigest(),
            partner=partner,
            direction="out",
            size=len(content),
            status=status,
            raw=content,
            **fields,
        )


@dataclass(frozen=True, slots=True)
class SetRecord:
    """What became of one transaction set of an inbound document."""

    group_control: str
    set_control: str
    set_id: str
    action: str
    po_number: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """Something queued for sending: an X12 document (kind "x12") or an e-mail."""

    id: int
    kind: str
    partner: str
    document_id: int | None
    payload: dict[str, object]
    status: str  # queued | sent | failed
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    group_key: str | None = None  # an alert's subject: repeats join one email


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """The outbox entries of one kind not sent yet: how many are queued (`retrying` of them
    after a failed attempt), since when the oldest queued waits (None: none queued), and how
    many failed for good."""

    kind: str
    queued: int = 0
    oldest: dt.datetime | None = None
    retrying: int = 0
    failed: int = 0


class OrderRepository(Protocol):
    """Orders by partner and PO number."""

    def add(self, order: Order) -> None: ...

    def get(self, partner: str, po_number: str) -> Order | None: ...

    def read(self, partner: str, po_number: str) -> Order | None:
        """The order to look at, not to change: not kept by the unit of work (`get` keeps
        what it hands out until the end), so reading many orders one after the other takes
        the memory of one. The one `get` handed out, when it did."""
        ...

    def find(self, po_number: str, partner: str | None = None) -> list[Order]: ...

    def summaries(self, query: OrderQuery) -> OrderPage:
        """The page of order summaries the query asks for, with the number found in all."""
        ...

    def partners(self) -> list[str]:
        """The partners that have orders in the store."""
        ...

    def history(self, partner: str, po_number: str) -> list[dict[str, object]]: ...

    def late_candidates(self, today: dt.date, received_by: dt.date | None) -> list[tuple[str, str]]:
        """(partner, PO) of the open orders (test ones left out) that may be late on `today`,
        by partner and PO: a requested ship or cancel-after date before it with quantity open,
        or an order we sell with a fulfilment or received on or before `received_by` (None: no
        855 is due yet). More than are late (`late.late_documents` decides), never fewer."""
        ...

    def seen(self) -> list[Order]: ...


class DocumentRepository(Protocol):
    """Documents in and out."""

    def add(self, document: StoredDocument) -> int: ...

    def get(self, document_id: int) -> StoredDocument | None: ...

    def with_sha256(self, sha256: str) -> list[StoredDocument]: ...

    def with_interchange(
        self, partner: str, direction: str, sender_id: str, control: str
    ) -> list[StoredDocument]: ...

    def with_group(self, partner: str, direction: str, group_control: str) -> list[StoredDocument]:
        """Documents of a partner, one way, holding the functional group with that GS06."""
        ...

    def for_order(self, partner: str, po_number: str) -> list[StoredDocument]: ...

    def link(self, document_id: int, partner: str, po_number: str) -> None: ...

    def set_status(self, document_id: int, status: str) -> None: ...

    def record_set(self, document_id: int, outcome: SetRecord) -> None: ...

    def sets(self, document_id: int) -> list[SetRecord]: ...

    def mark_processed(self, document_id: int) -> None: ...

    def reopen(self, document_id: int, sets: list[tuple[str, str]]) -> None: ...

    def orders_of(self, document_id: int) -> list[tuple[str, str]]: ...

    def listing(
        self,
        *,
        partner: str | None = None,
        direction: str | None = None,
        status: str | None = None,
        set_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[StoredDocument]:
        """The latest documents, newest first, without their raw bytes: those of `partner`,
        `direction`, `status` and holding a transaction set `set_id` (each when given), `limit`
        of them after the first `offset`."""
        ...

    def counts(self, direction: str) -> dict[str, int]:
        """How many documents each partner has, one way ("in": the files taken in)."""
        ...

    def set_counts(self) -> dict[tuple[str, str], int]:
        """How many set records of inbound documents there are per (partner, action)."""
        ...


class ControlNumberIssuer(Protocol):
    """Control numbers for outbound interchanges, groups and sets, per partner."""

    def next(self, partner: str, kind: str) -> int: ...


class Outbox(Protocol):
    """What is to be sent once the transaction commits."""

    def queue(
        self,
        kind: str,
        partner: str,
        payload: dict[str, object],
        *,
        document_id: int | None = None,
        order: Order | None = None,
        group_key: str | None = None,
    ) -> int: ...

    def pending(self, kind: str | None = None) -> list[dict[str, object]]: ...

    def listing(
        self, kind: str, *, status: str | None = None, limit: int = 100
    ) -> list[OutboxEntry]:
        """Entries of `kind` (and `status`), newest first."""
        ...

    def latest_in_group(self, kind: str, group_key: str) -> OutboxEntry | None:
        """The newest entry of `kind` about `group_key`."""
        ...

    def update_payload(self, outbox_id: int, payload: dict[str, object], at: dt.datetime) -> None:
        """Replace an entry's payload (an alert that happened again)."""
        ...

    def due(self, kind: str, at: dt.datetime, limit: int = 100) -> list[OutboxEntry]: ...

    def entry(self, outbox_id: int) -> OutboxEntry | None: ...

    def for_document(self, document_id: int) -> list[OutboxEntry]: ...

    def claim(self, outbox_id: int, at: dt.datetime, until: dt.datetime, holder: str) -> bool: ...

    def claimants(self) -> list[str]: ...

    def release_claims(self, holder: str) -> int: ...

    def settle(
        self,
        outbox_id: int,
        status: str,
        *,
        at: dt.datetime,
        next_attempt_at: dt.datetime | None = None,
        error: str | None = None,
        payload: dict[str, object] | None = None,
    ) -> None: ...

    def requeue(self, outbox_id: int, at: dt.datetime) -> None: ...

    def depths(self) -> list[QueueDepth]:
        """Each kind's entries not sent (queued, retrying, failed), by kind; a kind without
        any such entry is left out."""
        ...

    def first_queued(self, kind: str, group_key: str) -> int | None:
        """The id of the oldest entry of `kind` about `group_key` still queued (due or not,
        claimed or not): the one to send before any later one of the group."""
        ...


@dataclass(frozen=True, slots=True)
class Subscription:
    """A webhook subscription: where events of the kinds named in `events` are POSTed, signed
    with the secret held by the environment variable `secret_env` (never stored)."""

    id: int
    url: str
    events: tuple[str, ...]
    secret_env: str
    created_at: dt.datetime
    removed_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """One attempt to deliver a webhook event to a subscription: the receiver's HTTP status
    (None when it gave no answer) or the error, and whether the event was delivered."""

    subscription_id: int
    outbox_id: int
    event_id: str
    event_type: str
    attempt: int
    at: dt.datetime
    status_code: int | None
    error: str
    delivered: bool


class Webhooks(Protocol):
    """Webhook subscriptions and the log of their deliveries."""

    def add(self, url: str, events: tuple[str, ...], secret_env: str, at: dt.datetime) -> int:
        """A new subscription; its id."""
        ...

    def get(self, subscription_id: int) -> Subscription | None:
        """A subscription, removed or not."""
        ...

    def listing(self) -> list[Subscription]:
        """The subscriptions not removed, by id."""
        ...

    def remove(self, subscription_id: int, at: dt.datetime) -> bool:
        """Stop a subscription (its log is kept); False when there is none to stop."""
        ...

    def record(self, attempt: WebhookAttempt) -> None:
        """Add an attempt to the delivery log."""
        ...

    def attempts(self, subscription_id: int, limit: int = 100) -> list[WebhookAttempt]:
        """A subscription's latest attempts, newest first."""
        ...


class Leases(Protocol):
    """Who works on what until when, shared by the workers."""

    def acquire(self, name: str, holder: str, at: dt.datetime, until: dt.datetime) -> bool: ...

    def release(self, name: str, holder: str) -> None: ...

    def holder(self, name: str, at: dt.datetime) -> str | None:
        """Who holds `name` at `at` (None: nobody, or a lease that has ended)."""
        ...

    def holders(self) -> list[str]: ...

    def release_all(self, holder: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Outage:
    """A partner's mailbox unreachable: since when, how many failures in a row, the last one."""

    partner: str
    down_since: dt.datetime
    failures: int
    last_error: str
    last_failure_at: dt.datetime


class Outages(Protocol):
    """Mailboxes unreachable, kept across runs and shared by the workers."""

    def failed(self, partner: str, at: dt.datetime, error: str) -> Outage:
        """Record a failure to reach `partner`'s mailbox: the outage it starts or extends."""
        ...

    def ended(self, partner: str) -> Outage | None:
        """The mailbox was reached: forget its outage, which is returned (None: there was
        none)."""
        ...

    def listing(self) -> list[Outage]:
        """The outages going on, by partner."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the store."""

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def documents(self) -> DocumentRepository: ...

    @property
    def control_numbers(self) -> ControlNumberIssuer: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def leases(self) -> Leases: ...

    @property
    def outages(self) -> Outages: ...

    @property
    def accounts(self) -> Accounts: ...

    @property
    def tokens(self) -> ApiTokens: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    @property
    def webhooks(self) -> Webhooks: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *args: object) -> None: ...

    def flush(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def defer_writes(self) -> None:
        """Hold new orders, their events and links, and set records back until
        `flush_deferred` or the commit, which write each kind in one statement."""
        ...

    def flush_deferred(self) -> None: ...

    def savepoint(self, *, database: bool = True) -> AbstractContextManager[None]:
        """A part of the transaction undone alone when an exception leaves it."""
        ...


@dataclass(frozen=True, slots=True)
class Staged:
    """A file picked up from a mailbox, durable in the local staging folder: `path` is the
    staged copy, `name` the name the partner gave it, `source` where it was (a folder path or
    `sftp://user@host:port/path`)."""

    path: Path
    name: str
    source: str


@dataclass(frozen=True, slots=True)
class Unmovable:
    """A file in a partner's mailbox that could not be picked up (unreadable, a name the staging
    folder cannot hold, one we may not remove): left where it is, reported, tried again later.
    `name` as the partner gave it, `source` where it is, `reason` what failed."""

    name: str
    source: str
    reason: str


class InboundMailbox(Protocol):
    """Where a partner leaves files for us (a local folder, a folder on their SFTP server)."""

    partner: str

    def collect(self, staging: Path, *, limit: int = 100) -> list[Staged]:
        """Move up to `limit` complete files into `staging`, each one durable there (written
        under a dot-prefixed `.part` name, fsynced, renamed) before it is removed from the
        mailbox (or moved to its archive folder); a file still being written is left for the
        next call; a file that cannot be moved is left, reported by `unmovable`, and does not
        stop the others. Raises TransportError when the mailbox cannot be reached."""
        ...

    def unmovable(self) -> list[Unmovable]:
        """The files of the mailbox that `collect` could not pick up (passed over, tried again
        later): for the operators."""
        ...

    def settling(self) -> float:
        """Seconds until the files the last `collect` left as still being written would count
        as complete if they stay unchanged (0.0 when it left none). A one-pass run waits that
        long and collects again, so a file dropped just before it is taken in the same pass."""
        ...


class OutboundMailbox(Protocol):
    """Where we leave files for a partner."""

    partner: str

    def deliver(self, name: str, content: bytes) -> str:
        """Put `content` in the mailbox as `name`: written under a temporary name, checked, then
        renamed, so the partner never sees half a file. Delivering the same name with the same
        content again is a no-op (a retry after a crash). Returns where it went. Raises
        TransportError."""
        ...


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A file put aside for an operator, with its report."""

    partner: str
    name: str
    day: dt.date
    path: Path
    report: Path
    why: str  # the report's first reason


class FileStore(Protocol):
    """The gateway's own folders: staging, archive, quarantine."""

    def staging(self, partner: str) -> Path: ...

    def waiting(self, partner: str) -> list[Staged]: ...

    def discard_partial(self, partner: str) -> int:
        """Remove the temporary files an interrupted pick-up left in staging; how many. Only
        while no pick-up for `partner` is under way (its mailbox's lease held)."""
        ...

    def claim(self, staged: Staged, sha256: str) -> Staged: ...

    def claimed(self, partner: str) -> list[Staged]: ...

    def release(self, staged: Staged) -> None: ...

    def chunks(self, path: Path) -> Iterator[bytes]: ...

    def read(self, path: Path) -> bytes: ...

    def archive_file(self, sha256: str, path: Path) -> Path: ...

    def archive_bytes(self, sha256: str, data: bytes) -> Path: ...

    def quarantine(
        self, partner: str, name: str, sha256: str, archived: Path, report: str, at: dt.datetime
    ) -> Path: ...

    def quarantined(self) -> list[Quarantined]: ...

    def unquarantine(self, quarantined: Quarantined) -> None:
        """Remove a file from quarantine, with its report (it was taken in again)."""
        ...


@dataclass(frozen=True, slots=True)
class Email:
    """One email as queued: everything is fixed when it is queued (the Message-ID too), so a
    retry sends the same message and a reader can recognise a copy."""

    message_id: str  # "<...@...>"
    sender: str  # the From header, e.g. "Cedar Ridge EDI <edi@cedarridge.example>"
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str
    created_at: dt.datetime  # the Date header


class MailSender(Protocol):
    """Hands emails to a mail server (or a capture folder when none is configured)."""

    def send(self, email: Email) -> dict[str, str]:
        """Send `email` to all its recipients. Returns the recipients the server refused while
        it accepted the others ({address: the server's answer}; {} when all were accepted).
        Raises TransportError when the message may go through later (server down or slow, a
        4xx answer, a dropped connection) and MailRefused when it never will (a 5xx answer to
        the message or to every recipient)."""
        ...


class MailComposer(Protocol):
    """Turns a template and its data into an email's subject, plain text and HTML."""

    def compose(self, template: str, data: dict[str, object]) -> tuple[str, str, str]:
        """(subject, text, html) of `template` rendered with `data`; partner data is never
        trusted as HTML."""
        ...


class WebhookSender(Protocol):
    """POSTs webhook events to their receivers."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> int:
        """POST `body` with `headers` to `url`; the receiver's HTTP status (redirects are not
        followed: a 3xx is an answer like any other). Raises TransportError when no answer came
        within `timeout` seconds (refused, unreachable, cut off)."""
        ...

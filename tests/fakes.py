"""In-memory fakes of the store and of the mail server, and the service layer wired on them, for
unit tests of the service layer that run in milliseconds.

Strategy, after cosmicpython's `FakeUnitOfWork` (Architecture Patterns with Python, chapters 6
and 13): a `FakeStore` holds the committed state, one dict per table of `gateway.adapters.orm`,
its rows values nobody changes in place (an order is kept as a deep copy without its pending
events, and every read of it is a deep copy again). A `FakeUnitOfWork` is one transaction over
it: its writes go to an overlay of the tables, what it reads is the committed state under its own
writes (as PostgreSQL's READ COMMITTED shows it), and the overlay reaches the store at commit, all
of it, or is dropped. What `SqlUnitOfWork` does that the service layer relies on is done the same
way here:

- an order is read whole, once per unit of work (an identity map), and written at the flush
  (each kind of write deferred with `defer_writes` until `flush_deferred`) when it has new events:
  a new order at version 1, an order held at the version read plus one, its events appended to
  its history (`history`) as the `order_events` rows hold them;
- the commit checks, for every order written, that the store still holds the version read (or no
  order at all, for one created here): otherwise another unit of work committed it first and
  `ConcurrentUpdate` is raised, nothing committed;
- the commit hooks (`on_commit`, the message bus's `dispatch` in `wire`, as in `bootstrap`) are
  handed the events of the orders about to commit, inside the transaction: what they write
  commits with the change, or not at all;
- a savepoint that an exception leaves undoes its writes (not with `database=False`) and forgets
  the orders it used, which are read again as the transaction has them; the events written before
  it still go to the hooks;
- ids come from counters that a rollback does not give back (as PostgreSQL's sequences); control
  numbers count from 1 per partner and kind, and a rollback gives them back; payloads and
  envelopes go through JSON as the JSON columns do (a value JSON cannot hold fails the same way).

Where the fake does what the SQL store's own documentation says rather than what it does, the
contract test (tests/integration/test_fake_store_contract.py) pins the difference: a `rollback`
forgets the orders handed out (the SQL store keeps its identity map, so unflushed changes are
written by a later commit), and the flush writes every order handed out that has new events (the
SQL store writes only those handed out since its last flush).

Left out: row locks (two units of work open at once that write the same outbox entry, lease or
counter do not wait for each other: the last to commit wins, where PostgreSQL makes the second
wait and SQLite does not let it begin), the listing's "broad search" plan (the fake counts every
match), time zones (the fake gives back the aware datetimes it was given; SQLite gives naive UTC
ones), `StoreUnavailable`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import functools
import itertools
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.adapters.mail_templates import JinjaComposer
from gateway.adapters.search import normalized, search_terms
from gateway.adapters.state import dump
from gateway.config import MailSettings, PartnerProfile, WebhookSettings, load_mappings
from gateway.domain import rules
from gateway.domain.model import Order
from gateway.domain.rules import Flag, flags, fulfilment_status, payment_status
from gateway.domain.values import Role
from gateway.errors import AccountRefused, ConcurrentUpdate, RuleViolation, TokenRefused
from gateway.mapping.engine import Mappings
from gateway.service.accounts import SignIn, User, WebSession
from gateway.service.actions import OrderDesk
from gateway.service.messagebus import MessageBus
from gateway.service.notify import Alerts, Mailer, MailQueue, Notifier
from gateway.service.ports import (
    Email,
    OrderPage,
    OrderQuery,
    OrderSummary,
    Outage,
    OutboxEntry,
    QueueDepth,
    SetRecord,
    StoredDocument,
    Subscription,
    WebhookAttempt,
)
from gateway.service.tokens import ApiToken, KeptOutcome
from gateway.service.webhooks import WebhookDeliverer, WebhookQueue

Key = tuple[str, str]  # (partner, PO number)
Clock = Callable[[], dt.datetime]
CommitHook = Callable[[Any, list[object]], None]

WEBHOOK_SECRET = "whsec-test-0123456789"
"""The secret of the variable WEBHOOK_SECRET, as the fake wiring's webhook deliverer reads it."""
CONTROL_KINDS = ("interchange", "group", "set")
CONTROL_LIMIT = 999_999_999
TABLES = (
    "orders",
    "documents",
    "document_orders",
    "document_sets",
    "control_numbers",
    "outbox",
    "leases",
    "mailbox_outages",
    "users",
    "web_sessions",
    "sign_ins",
    "api_tokens",
    "idempotency_keys",
    "webhook_subscriptions",
    "webhook_deliveries",
)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _json(value: Any) -> Any:
    """`value` as a JSON column gives it back (a fresh copy; TypeError when JSON cannot hold
    it, as the SQL store's insert fails)."""
    return None if value is None else json.loads(json.dumps(value))


def _split(values: Sequence[str]) -> tuple[str, ...]:
    """A list kept as comma-separated text (`documents.transaction_sets`...), read back."""
    return tuple(v for v in ",".join(values).split(",") if v)


# -- the committed state -------------------------------------------------------------------------


class FakeStore:
    """What the database holds: the committed rows, shared by the units of work made on it."""

    def __init__(self, clock: Clock = utc_now):
        self.clock = clock  # the rows' created_at / updated_at (the SQL store: the real time)
        self.tables: dict[str, dict[Any, Any]] = {name: {} for name in TABLES}
        self.commits = 0
        self._ids = {name: itertools.count(1) for name in TABLES}

    def next_id(self, table: str) -> int:
        """A new row id of `table`, never given back (as a PostgreSQL sequence)."""
        return next(self._ids[table])

    def unit_of_work(self, on_commit: Sequence[CommitHook] = ()) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, on_commit)

    def factory(self, on_commit: Sequence[CommitHook] = ()) -> Callable[[], FakeUnitOfWork]:
        """New units of work on this store (each one a worker's transaction)."""
        return lambda: FakeUnitOfWork(self, on_commit)

    def order(self, partner: str, po_number: str) -> Order | None:
        """The committed order (a copy), for assertions."""
        row = self.tables["orders"].get((partner, po_number))
        return None if row is None else _thaw(row)


_GONE = object()  # a row the transaction deleted


class _Overlay:
    """A transaction's writes over the store's committed tables."""

    def __init__(self, store: FakeStore):
        self.store = store
        self.writes: dict[str, dict[Any, Any]] = {}

    def get(self, table: str, key: Any) -> Any:
        written = self.writes.get(table)
        if written is not None and key in written:
            row = written[key]
            return None if row is _GONE else row
        return self.store.tables[table].get(key)

    def rows(self, table: str) -> dict[Any, Any]:
        """Every row of `table` as the transaction sees it, by key."""
        merged = {**self.store.tables[table], **self.writes.get(table, {})}
        return {key: row for key, row in merged.items() if row is not _GONE}

    def put(self, table: str, key: Any, row: Any) -> None:
        self.writes.setdefault(table, {})[key] = row

    def delete(self, table: str, key: Any) -> None:
        self.put(table, key, _GONE)

    def mark(self) -> dict[str, dict[Any, Any]]:
        return {table: dict(rows) for table, rows in self.writes.items()}

    def restore(self, mark: dict[str, dict[Any, Any]]) -> None:
        self.writes = mark

    def apply(self) -> None:
        """Commit: the writes become the store's rows."""
        for table, rows in self.writes.items():
            held = self.store.tables[table]
            for key, row in rows.items():
                if row is _GONE:
                    held.pop(key, None)
                else:
                    held[key] = row
        self.writes = {}


# -- orders --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _OrderRow:
    id: int
    state: Order  # without pending events and history; never changed in place
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    events: tuple[dict[str, Any], ...]  # the order_events rows, payloads as JSON text


def _frozen(order: Order) -> Order:
    pending, history = order.events, order.history
    order.events, order.history = [], []
    try:
        return copy.deepcopy(order)
    finally:
        order.events, order.history = pending, history


def _thaw(row: _OrderRow) -> Order:
    order = copy.deepcopy(row.state)
    order.version = row.version
    return order


def _event_rows(
    pending: Sequence[Any], facts: Sequence[Any], last: int, stamp: dt.datetime
) -> tuple[dict[str, Any], ...]:
    """The history rows of pending events, as `SqlOrderRepository._event_rows` writes them: the
    payload is the event's fact with its time (the event turned into data when they differ)."""
    aligned = len(facts) == len(pending) and all(
        fact.event == type(event).__name__ for fact, event in zip(facts, pending, strict=True)
    )
    rows = []
    for index, event in enumerate(pending):
        occurred = getattr(event, "at", None) or getattr(event, "time", None)
        if aligned and isinstance(occurred, dt.datetime):
            payload = {**facts[index].fields, "at": occurred.isoformat()}
        else:
            payload = dump(event)
        rows.append(
            {
                "sequence": last + index + 1,
                "name": type(event).__name__,
                "occurred_at": occurred if isinstance(occurred, dt.datetime) else None,
                "payload": json.dumps(payload),
                "recorded_at": stamp,
            }
        )
    return tuple(rows)


def _archived(state: Order) -> bool:
    return bool({Flag.COMPLETED, Flag.CANCELLED} & flags(state))


def _holds_status(row: _OrderRow, *, name: str) -> bool:
    """Whether an order is what a status name of `OrderQuery.statuses` stands for."""
    if name == "open":
        return not _archived(row.state)
    if name == "archived":
        return _archived(row.state)
    if name == Flag.TEST.value:
        return bool(row.state.is_test)
    return Flag(name) in flags(row.state)


class FakeOrderRepository:
    """Orders by partner and PO number, one transaction's view (see the module docstring)."""

    def __init__(self, overlay: _Overlay):
        self._overlay = overlay
        self._store = overlay.store
        self.defer_new = False
        self.reset()

    def reset(self) -> None:
        """Forget every order handed out (a rollback)."""
        self._seen: dict[Key, Order] = {}
        self._loaded: dict[Key, int] = {}  # the version as this transaction has it
        self._read: dict[Key, int | None] = {}  # the committed version read (None: made here)
        self._new: set[Key] = set()  # added, not written yet
        self._recorded: dict[Key, int] = {}  # events already written, per order
        self._absent: set[Key] = set()  # looked up in this transaction: not held
        self._touched: set[Key] | None = None  # inside a savepoint: orders used
        self._saved_recorded: dict[Key, int] = {}
        self._snapshots: dict[Key, Order] = {}  # new orders, as a savepoint found them

    def add(self, order: Order) -> None:
        key = (order.partner, order.po_number)
        if self._touched is not None:
            self._touched.add(key)
        if key in self._seen or (
            key not in self._absent and self._overlay.get("orders", key) is not None
        ):
            raise RuleViolation(
                "one-order-per-po-number",
                "an order with this PO number from this partner exists already",
                po_number=order.po_number,
            )
        self._seen[key] = order
        self._new.add(key)

    def get(self, partner: str, po_number: str) -> Order | None:
        key = (partner, po_number)
        if self._touched is not None and key not in self._touched:
            self._touched.add(key)
            if key in self._new and key in self._seen:
                self._snapshots[key] = copy.deepcopy(self._seen[key])
        if key in self._seen:
            return self._seen[key]
        if key in self._absent:
            return None
        row = self._overlay.get("orders", key)
        if row is None:
            self._absent.add(key)
            return None
        order = _thaw(row)
        self._seen[key] = order
        self._loaded[key] = row.version
        self._read.setdefault(key, row.version)
        return order

    def read(self, partner: str, po_number: str) -> Order | None:
        held = self._seen.get((partner, po_number))
        if held is not None:
            return held
        row = self._overlay.get("orders", (partner, po_number))
        return None if row is None else _thaw(row)

    def find(self, po_number: str, partner: str | None = None) -> list[Order]:
        keys = sorted(
            key
            for key in self._overlay.rows("orders")
            if key[1] == po_number and (partner is None or key[0] == partner)
        )
        return [order for key in keys if (order := self.get(*key)) is not None]

    def late_candidates(self, today: dt.date, received_by: dt.date | None) -> list[tuple[str, str]]:
        found = []
        for row in self._overlay.rows("orders").values():
            order = row.state
            if order.is_test or _archived(order):
                continue
            dated = not rules.is_settled(order) and any(
                day is not None and day < today
                for day in (order.requested_ship_date, order.cancel_after_date)
            )
            received = order.received_at
            due = (
                received is not None and received_by is not None and received.date() <= received_by
            )
            selling = order.our_role is Role.SELLER and (bool(order.fulfilments) or due)
            if dated or selling:
                found.append((order.partner, order.po_number))
        return sorted(found)

    def summaries(self, query: OrderQuery) -> OrderPage:
        statuses = sorted({name.lower() for name in query.statuses})
        known = {"open", "archived", *(flag.value for flag in Flag)}
        for name in statuses:
            if name not in known:
                raise ValueError(f"no status {name!r}")
        conditions: list[Callable[[_OrderRow], bool]] = [
            functools.partial(_holds_status, name=name) for name in statuses
        ]
        if Flag.TEST.value not in statuses and not query.include_test:
            conditions.append(lambda row: not row.state.is_test)
        scope = query.effective_scope
        if scope != "all":
            conditions.append(lambda row: _archived(row.state) == (scope == "archived"))
        if query.search is not None:
            text = normalized(query.search)
            conditions.append(
                lambda row: any(t.startswith(text) for t in search_terms(dump(row.state)))
            )
        found = []
        for row in self._overlay.rows("orders").values():
            state = row.state
            if query.partner is not None and state.partner != query.partner:
                continue
            if query.fulfilment_status not in (None, fulfilment_status(state).value):
                continue
            if query.payment_status not in (None, payment_status(state).value):
                continue
            if query.since is not None and state.order_date < query.since:
                continue
            if query.until is not None and state.order_date > query.until:
                continue
            if all(condition(row) for condition in conditions):
                found.append(row)
        keys: dict[str, Callable[[_OrderRow], tuple[Any, Any]]] = {
            "date": lambda row: (row.state.order_date.isoformat(), row.id),
            "po": lambda row: (row.state.po_number, row.id),
            "partner": lambda row: (row.state.partner, row.state.po_number),
            "updated": lambda row: (row.updated_at, row.id),
        }
        found.sort(key=keys[query.sort], reverse=query.descending)
        end = None if query.limit is None else query.offset + query.limit
        page = tuple(_summary(row) for row in found[query.offset : end])
        return OrderPage(summaries=page, total=len(found), offset=query.offset)

    def partners(self) -> list[str]:
        return sorted({partner for partner, _ in self._overlay.rows("orders")})

    def history(self, partner: str, po_number: str) -> list[dict[str, object]]:
        row = self._overlay.get("orders", (partner, po_number))
        if row is None:
            return []
        return [
            {
                "sequence": event["sequence"],
                "name": event["name"],
                "occurred_at": event["occurred_at"],
                "payload": json.loads(event["payload"]),
            }
            for event in row.events
        ]

    def seen(self) -> list[Order]:
        return list(self._seen.values())

    # -- writing (called by the unit of work) ----------------------------------------------

    def flush(self) -> None:
        """Write every order handed out that has new events (new ones unless held back)."""
        stamp = self._store.clock()
        new: list[Key] = []
        for key in sorted(self._seen):
            order = self._seen[key]
            pending = order.events[self._recorded.get(key, 0) :]
            if key in self._new:
                if not self.defer_new:
                    new.append(key)
                continue
            if not pending:
                continue
            read_version = self._loaded[key]
            if not self._current(key):
                raise ConcurrentUpdate(
                    f"order {order.po_number} from {order.partner} was changed by another "
                    f"worker (version {read_version} is no longer current)"
                )
            order.version = read_version + 1
            row = self._overlay.get("orders", key)
            facts = order.history[len(order.history) - len(pending) :]
            self._overlay.put(
                "orders",
                key,
                dataclasses.replace(
                    row,
                    state=_frozen(order),
                    version=order.version,
                    updated_at=stamp,
                    events=row.events + _event_rows(pending, facts, len(row.events), stamp),
                ),
            )
            self._loaded[key] = order.version
            self._recorded[key] = len(order.events)
        self._insert(new, stamp)

    def flush_deferred(self) -> None:
        """Write the new orders held back (`defer_new`)."""
        self._insert([key for key in self._seen if key in self._new], self._store.clock())

    def _insert(self, keys: list[Key], stamp: dt.datetime) -> None:
        if not keys:
            return
        for key in keys:
            self._seen[key].version = 1
        if any(self._store.tables["orders"].get(key) is not None for key in keys):
            raise ConcurrentUpdate("an order written here was created by another worker meanwhile")
        for key in keys:
            order = self._seen[key]
            pending = list(order.events)
            facts = order.history[len(order.history) - len(pending) :] if pending else []
            row = _OrderRow(
                id=self._store.next_id("orders"),
                state=_frozen(order),
                version=1,
                created_at=stamp,
                updated_at=stamp,
                events=_event_rows(pending, facts, 0, stamp),
            )
            self._overlay.put("orders", key, row)
            self._new.discard(key)
            self._read[key] = None
            self._loaded[key] = 1
            self._recorded[key] = len(order.events)

    def _current(self, key: Key) -> bool:
        """Whether the store still holds the order this transaction's writes rest on."""
        committed = self._store.tables["orders"].get(key)
        read = self._read.get(key)
        if read is None:
            return committed is None
        return committed is not None and committed.version == read

    def check_versions(self) -> None:
        """Before the commit: no order written here was committed by another worker since it
        was read (the SQL store's `UPDATE ... WHERE version = ...`)."""
        for key in self._overlay.writes.get("orders", {}):
            if not self._current(key):
                raise ConcurrentUpdate(
                    f"order {key[1]} from {key[0]} was changed by another worker (version "
                    f"{self._read.get(key)} is no longer current)"
                )

    def committed(self) -> None:
        self._recorded.clear()
        self._absent.clear()
        self._read = dict(self._loaded)

    def watch(self) -> set[Key]:
        self._touched = set()
        self._saved_recorded = dict(self._recorded)
        self._snapshots = {}
        return self._touched

    def forget(self, keys: set[Key]) -> list[Any]:
        """A savepoint that used these orders failed: they are read again as the transaction
        has them (a new one held back comes back as the savepoint found it); the events written
        before the savepoint are returned (they still go to the commit hooks)."""
        kept: list[Any] = []
        for key in keys:
            if key in self._snapshots:
                self._seen[key] = self._snapshots.pop(key)
                continue
            order = self._seen.pop(key, None)
            if order is not None:
                kept.extend(order.events[: self._saved_recorded.get(key, 0)])
            self._loaded.pop(key, None)
            self._new.discard(key)
            self._recorded.pop(key, None)
            self._absent.discard(key)
        return kept

    def unwatch(self) -> None:
        self._touched = None
        self._snapshots = {}

    def held_back(self, partner: str, po_number: str) -> bool:
        return self.defer_new and (partner, po_number) in self._new

    def id_of(self, partner: str, po_number: str) -> int | None:
        row = self._overlay.get("orders", (partner, po_number))
        return None if row is None else int(row.id)


def _summary(row: _OrderRow) -> OrderSummary:
    state = row.state
    return OrderSummary(
        partner=state.partner,
        po_number=state.po_number,
        our_role=state.our_role.value,
        is_test=bool(state.is_test),
        order_date=state.order_date.isoformat(),
        flags=tuple(sorted(flag.value for flag in flags(state))),
        fulfilment_status=fulfilment_status(state).value,
        payment_status=payment_status(state).value,
        version=row.version,
        updated_at=row.updated_at,
    )


# -- documents -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SetRow:
    id: int
    document_id: int
    record: SetRecord


class FakeDocumentRepository:
    """Documents in and out, linked to orders at the flush (see `SqlDocumentRepository`)."""

    def __init__(self, overlay: _Overlay, orders: FakeOrderRepository):
        self._overlay = overlay
        self._orders = orders
        self.defer_sets = False
        self.reset()

    def reset(self) -> None:
        self._links: list[tuple[int, Key]] = []
        self._held_links: list[tuple[int, Key]] = []  # to orders held back
        self._sets: list[tuple[int, SetRecord]] = []  # held back until the final flush

    def add(self, document: StoredDocument) -> int:
        stamp = self._overlay.store.clock()
        document_id = self._overlay.store.next_id("documents")
        row = dataclasses.replace(
            document,
            id=document_id,
            transaction_sets=_split(document.transaction_sets),
            group_controls=_split(document.group_controls),
            set_controls=_split(document.set_controls),
            envelope=_json(document.envelope),
            order_keys=[],
            created_at=stamp,
            updated_at=stamp,
            processed_at=None,
        )
        self._overlay.put("documents", document_id, row)
        document.id = document_id
        self._links.extend((document_id, key) for key in document.order_keys)
        return document_id

    def link(self, document_id: int, partner: str, po_number: str) -> None:
        self._links.append((document_id, (partner, po_number)))

    def pending(self) -> tuple[int, int, int]:
        return len(self._links), len(self._held_links), len(self._sets)

    def drop_pending(self, mark: tuple[int, int, int]) -> None:
        del self._links[mark[0] :]
        del self._held_links[mark[1] :]
        del self._sets[mark[2] :]

    def flush(self, *, final: bool = False) -> None:
        links = self._links
        if final:
            links, self._held_links = [*self._held_links, *links], []
        for link in links:
            document_id, key = link
            if self._orders.held_back(*key):
                self._held_links.append(link)
                continue
            order_id = self._orders.id_of(*key)
            if order_id is not None:
                self._overlay.put("document_orders", (document_id, order_id), True)
        self._links = []
        if self._sets and (final or not self.defer_sets):
            for document_id, record in self._sets:
                self._write_set(document_id, record)
            self._sets = []

    def _write_set(self, document_id: int, record: SetRecord) -> None:
        set_id = self._overlay.store.next_id("document_sets")
        self._overlay.put("document_sets", set_id, _SetRow(set_id, document_id, record))

    def _documents(self) -> list[StoredDocument]:
        rows = self._overlay.rows("documents")
        return [_document(rows[key]) for key in sorted(rows)]

    def get(self, document_id: int) -> StoredDocument | None:
        row = self._overlay.get("documents", document_id)
        return None if row is None else _document(row)

    def with_sha256(self, sha256: str) -> list[StoredDocument]:
        return [d for d in self._documents() if d.sha256 == sha256]

    def with_interchange(
        self, partner: str, direction: str, sender_id: str, control: str
    ) -> list[StoredDocument]:
        return [
            d
            for d in self._documents()
            if (d.partner, d.direction, d.sender_id, d.interchange_control)
            == (partner, direction, sender_id, control)
        ]

    def with_group(self, partner: str, direction: str, group_control: str) -> list[StoredDocument]:
        return [
            d
            for d in self._documents()
            if d.partner == partner
            and d.direction == direction
            and group_control in d.group_controls
        ]

    def for_order(self, partner: str, po_number: str) -> list[StoredDocument]:
        order_id = self._orders.id_of(partner, po_number)
        if order_id is None:
            return []
        linked = {d for d, o in self._overlay.rows("document_orders") if o == order_id}
        return [d for d in self._documents() if d.id in linked]

    def orders_of(self, document_id: int) -> list[Key]:
        linked = {o for d, o in self._overlay.rows("document_orders") if d == document_id}
        return sorted(key for key, row in self._overlay.rows("orders").items() if row.id in linked)

    def _update(self, document_id: int, **values: Any) -> None:
        row = self._overlay.get("documents", document_id)
        if row is not None:
            self._overlay.put("documents", document_id, dataclasses.replace(row, **values))

    def set_status(self, document_id: int, status: str) -> None:
        self._update(document_id, status=status, updated_at=self._overlay.store.clock())

    def record_set(self, document_id: int, outcome: SetRecord) -> None:
        if self.defer_sets:
            self._sets.append((document_id, outcome))
        else:
            self._write_set(document_id, outcome)

    def sets(self, document_id: int) -> list[SetRecord]:
        rows = self._overlay.rows("document_sets")
        return [rows[i].record for i in sorted(rows) if rows[i].document_id == document_id]

    def reopen(self, document_id: int, sets: list[tuple[str, str]]) -> None:
        for set_id, row in self._overlay.rows("document_sets").items():
            record = row.record
            if row.document_id == document_id and (
                (record.group_control, record.set_control) in sets
            ):
                self._overlay.delete("document_sets", set_id)
        self._update(document_id, processed_at=None, updated_at=self._overlay.store.clock())

    def mark_processed(self, document_id: int) -> None:
        stamp = self._overlay.store.clock()
        self._update(document_id, processed_at=stamp, updated_at=stamp)

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
        """The latest documents, newest first, without their raw bytes."""
        found = [
            dataclasses.replace(d, raw=None)
            for d in reversed(self._documents())
            if partner in (None, d.partner)
            and direction in (None, d.direction)
            and status in (None, d.status)
            and (set_id is None or set_id in d.transaction_sets)
        ]
        return found[offset : offset + limit]

    def counts(self, direction: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for document in self._documents():
            if document.direction == direction:
                found[document.partner] = found.get(document.partner, 0) + 1
        return found

    def set_counts(self) -> dict[tuple[str, str], int]:
        partners = {d.id: d.partner for d in self._documents() if d.direction == "in"}
        found: dict[tuple[str, str], int] = {}
        for row in self._overlay.rows("document_sets").values():
            if row.document_id in partners:
                key = (partners[row.document_id], row.record.action)
                found[key] = found.get(key, 0) + 1
        return found


def _document(row: StoredDocument) -> StoredDocument:
    return dataclasses.replace(row, envelope=_json(row.envelope), order_keys=[])


# -- control numbers, the outbox, leases, outages ------------------------------------------------


class FakeControlNumbers:
    """Counters per partner and kind, in the transaction (a rollback gives numbers back)."""

    def __init__(self, overlay: _Overlay):
        self._overlay = overlay

    def next(self, partner: str, kind: str) -> int:
        if kind not in CONTROL_KINDS:
            raise ValueError(f"control number kind {kind!r} is not one of {CONTROL_KINDS}")
        last = self._overlay.get("control_numbers", (partner, kind)) or 0
        issued = int(last) % CONTROL_LIMIT + 1
        self._overlay.put("control_numbers", (partner, kind), issued)
        return issued


@dataclass(frozen=True, slots=True)
class _OutboxRow:
    id: int
    kind: str
    partner: str
    document_id: int | None
    order_id: int | None
    payload: str  # JSON text
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    claimed_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    group_key: str | None

    def entry(self) -> OutboxEntry:
        return OutboxEntry(
            id=self.id,
            kind=self.kind,
            partner=self.partner,
            document_id=self.document_id,
            payload=dict(json.loads(self.payload)),
            status=self.status,
            attempts=self.attempts,
            next_attempt_at=self.next_attempt_at,
            last_error=self.last_error,
            created_at=self.created_at,
            updated_at=self.updated_at,
            group_key=self.group_key,
        )

    def due(self, at: dt.datetime) -> bool:
        return self.status == "queued" and (
            self.next_attempt_at is None or self.next_attempt_at <= at
        )


class FakeOutbox:
    """What is to be sent, written in the transaction (see `SqlOutbox`)."""

    def __init__(self, overlay: _Overlay, orders: FakeOrderRepository):
        self._overlay = overlay
        self._orders = orders

    def _rows(self) -> list[_OutboxRow]:
        rows = self._overlay.rows("outbox")
        return [rows[key] for key in sorted(rows)]

    def _update(self, outbox_id: int, **values: Any) -> None:
        row = self._overlay.get("outbox", outbox_id)
        if row is not None:
            self._overlay.put("outbox", outbox_id, dataclasses.replace(row, **values))

    def queue(
        self,
        kind: str,
        partner: str,
        payload: dict[str, object],
        *,
        document_id: int | None = None,
        order: Order | None = None,
        group_key: str | None = None,
    ) -> int:
        stamp = self._overlay.store.clock()
        outbox_id = self._overlay.store.next_id("outbox")
        self._overlay.put(
            "outbox",
            outbox_id,
            _OutboxRow(
                id=outbox_id,
                kind=kind,
                partner=partner,
                document_id=document_id,
                order_id=self._orders.id_of(order.partner, order.po_number) if order else None,
                payload=json.dumps(payload),
                status="queued",
                attempts=0,
                next_attempt_at=None,
                last_error=None,
                claimed_by=None,
                created_at=stamp,
                updated_at=stamp,
                group_key=group_key,
            ),
        )
        return outbox_id

    def pending(self, kind: str | None = None) -> list[dict[str, object]]:
        return [
            {
                **{f.name: getattr(row, f.name) for f in dataclasses.fields(row)},
                "payload": json.loads(row.payload),
            }
            for row in self._rows()
            if row.status == "queued" and kind in (None, row.kind)
        ]

    def listing(
        self, kind: str, *, status: str | None = None, limit: int = 100
    ) -> list[OutboxEntry]:
        found = [r for r in reversed(self._rows()) if r.kind == kind and status in (None, r.status)]
        return [row.entry() for row in found[:limit]]

    def latest_in_group(self, kind: str, group_key: str) -> OutboxEntry | None:
        found = [r for r in self._rows() if r.kind == kind and r.group_key == group_key]
        return found[-1].entry() if found else None

    def update_payload(self, outbox_id: int, payload: dict[str, object], at: dt.datetime) -> None:
        self._update(outbox_id, payload=json.dumps(payload), updated_at=at)

    def due(self, kind: str, at: dt.datetime, limit: int = 100) -> list[OutboxEntry]:
        found = [row for row in self._rows() if row.kind == kind and row.due(at)]
        return [row.entry() for row in found[:limit]]

    def entry(self, outbox_id: int) -> OutboxEntry | None:
        row = self._overlay.get("outbox", outbox_id)
        return None if row is None else row.entry()

    def for_document(self, document_id: int) -> list[OutboxEntry]:
        return [row.entry() for row in self._rows() if row.document_id == document_id]

    def depths(self) -> list[QueueDepth]:
        found: dict[str, QueueDepth] = {}
        for row in self._rows():
            if row.status not in ("queued", "failed"):
                continue
            depth = found.get(row.kind) or QueueDepth(row.kind)
            if row.status == "failed":
                found[row.kind] = dataclasses.replace(depth, failed=depth.failed + 1)
            else:
                found[row.kind] = dataclasses.replace(
                    depth,
                    queued=depth.queued + 1,
                    retrying=depth.retrying + (row.attempts > 0),
                    oldest=min(m for m in (depth.oldest, row.created_at) if m is not None),
                )
        return [found[kind] for kind in sorted(found)]

    def claim(self, outbox_id: int, at: dt.datetime, until: dt.datetime, holder: str) -> bool:
        row = self._overlay.get("outbox", outbox_id)
        if row is None or not row.due(at):
            return False
        self._update(
            outbox_id,
            next_attempt_at=until,
            attempts=row.attempts + 1,
            claimed_by=holder,
            updated_at=at,
        )
        return True

    def claimants(self) -> list[str]:
        held = [r.claimed_by for r in self._rows() if r.status == "queued" and r.claimed_by]
        return list(dict.fromkeys(held))

    def release_claims(self, holder: str) -> int:
        held = [r for r in self._rows() if r.status == "queued" and r.claimed_by == holder]
        for row in held:
            self._update(row.id, next_attempt_at=None, claimed_by=None)
        return len(held)

    def settle(
        self,
        outbox_id: int,
        status: str,
        *,
        at: dt.datetime,
        next_attempt_at: dt.datetime | None = None,
        error: str | None = None,
        payload: dict[str, object] | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "next_attempt_at": next_attempt_at,
            "last_error": error,
            "claimed_by": None,
            "updated_at": at,
        }
        if payload is not None:
            values["payload"] = json.dumps(payload)
        self._update(outbox_id, **values)

    def requeue(self, outbox_id: int, at: dt.datetime) -> None:
        self._update(
            outbox_id,
            status="queued",
            next_attempt_at=None,
            attempts=0,
            last_error=None,
            updated_at=at,
        )

    def first_queued(self, kind: str, group_key: str) -> int | None:
        found = [
            r.id
            for r in self._rows()
            if r.kind == kind and r.group_key == group_key and r.status == "queued"
        ]
        return found[0] if found else None


class FakeWebhooks:
    """Webhook subscriptions and their delivery log (see `SqlWebhooks`)."""

    def __init__(self, overlay: _Overlay):
        self._overlay = overlay

    def add(self, url: str, events: tuple[str, ...], secret_env: str, at: dt.datetime) -> int:
        subscription_id = self._overlay.store.next_id("webhook_subscriptions")
        self._overlay.put(
            "webhook_subscriptions",
            subscription_id,
            Subscription(subscription_id, url, tuple(events), secret_env, at),
        )
        return subscription_id

    def get(self, subscription_id: int) -> Subscription | None:
        found: Subscription | None = self._overlay.get("webhook_subscriptions", subscription_id)
        return found

    def listing(self) -> list[Subscription]:
        rows = self._overlay.rows("webhook_subscriptions")
        return [rows[key] for key in sorted(rows) if rows[key].removed_at is None]

    def remove(self, subscription_id: int, at: dt.datetime) -> bool:
        found = self.get(subscription_id)
        if found is None or found.removed_at is not None:
            return False
        removed = dataclasses.replace(found, removed_at=at)
        self._overlay.put("webhook_subscriptions", subscription_id, removed)
        return True

    def record(self, attempt: WebhookAttempt) -> None:
        if self.get(attempt.subscription_id) is None:
            raise ValueError(f"no subscription {attempt.subscription_id}: the foreign key refuses")
        key = self._overlay.store.next_id("webhook_deliveries")
        self._overlay.put("webhook_deliveries", key, attempt)

    def attempts(self, subscription_id: int, limit: int = 100) -> list[WebhookAttempt]:
        rows = self._overlay.rows("webhook_deliveries")
        found = [rows[k] for k in sorted(rows, reverse=True)]
        return [a for a in found if a.subscription_id == subscription_id][:limit]


class FakeLeases:
    """Who works on what until when (see `SqlLeases`)."""

    def __init__(self, overlay: _Overlay):
        self._overlay = overlay

    def acquire(self, name: str, holder: str, at: dt.datetime, until: dt.datetime) -> bool:
        held = self._overlay.get("leases", name)
        if held is not None and held[0] != holder and held[1] > at:
            return False  # held by another worker
        self._overlay.put("leases", name, (holder, until))
        return True

    def release(self, name: str, holder: str) -> None:
        held = self._overlay.get("leases", name)
        if held is not None and held[0] == holder:
            self._overlay.delete("leases", name)

    def holder(self, name: str, at: dt.datetime) -> str | None:
        held = self._overlay.get("leases", name)
        return held[0] if held is not None and held[1] > at else None

    def holders(self) -> list[str]:
        return list(dict.fromkeys(held for held, _ in self._overlay.rows("leases").values()))

    def release_all(self, holder: str) -> int:
        names = [n for n, (held, _) in self._overlay.rows("leases").items() if held == holder]
        for name in names:
            self._overlay.delete("leases", name)
        return len(names)


class FakeOutages:
    """Mailboxes unreachable (see `SqlOutages`)."""

    def __init__(self, overlay: _Overlay):
        self._overlay = overlay

    def failed(self, partner: str, at: dt.datetime, error: str) -> Outage:
        held = self._overlay.get("mailbox_outages", partner)
        outage = (
            Outage(partner, at, 1, error, at)
            if held is None
            else dataclasses.replace(
                held, failures=held.failures + 1, last_error=error, last_failure_at=at
            )
        )
        self._overlay.put("mailbox_outages", partner, outage)
        return outage

    def ended(self, partner: str) -> Outage | None:
        held: Outage | None = self._overlay.get("mailbox_outages", partner)
        if held is not None:
            self._overlay.delete("mailbox_outages", partner)
        return held

    def listing(self) -> list[Outage]:
        rows = self._overlay.rows("mailbox_outages")
        return [rows[partner] for partner in sorted(rows)]


# -- the web console's accounts ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _UserRow:
    user: User
    password_hash: str
    password_changed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class _SessionRow:
    name: str
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime


class FakeAccounts:
    """Users, sessions by token hash and the sign-in log (see `SqlAccounts`)."""

    def __init__(self, overlay: _Overlay):
        self._overlay = overlay

    def add(self, user: User, password_hash: str) -> None:
        if self._overlay.get("users", user.name) is not None:  # as the SQL store's key refuses it
            raise AccountRefused("user-name-unique", f"a user named {user.name!r} exists already")
        self._overlay.put("users", user.name, _UserRow(user, password_hash, user.created_at))

    def get(self, name: str) -> User | None:
        row: _UserRow | None = self._overlay.get("users", name)
        return None if row is None else row.user

    def credentials(self, name: str) -> tuple[User, str] | None:
        row: _UserRow | None = self._overlay.get("users", name)
        return None if row is None else (row.user, row.password_hash)

    def listing(self) -> list[User]:
        rows = self._overlay.rows("users")
        return [rows[name].user for name in sorted(rows)]

    def disable(self, name: str, at: dt.datetime) -> None:
        row: _UserRow | None = self._overlay.get("users", name)
        if row is not None and not row.user.disabled:
            disabled = dataclasses.replace(row.user, disabled=True)
            self._overlay.put("users", name, dataclasses.replace(row, user=disabled))

    def set_password_hash(
        self, name: str, password_hash: str, changed_at: dt.datetime | None = None
    ) -> None:
        row: _UserRow | None = self._overlay.get("users", name)
        if row is not None:
            changed = changed_at or row.password_changed_at
            self._overlay.put(
                "users",
                name,
                dataclasses.replace(row, password_hash=password_hash, password_changed_at=changed),
            )

    def add_session(self, token_hash: str, name: str, csrf_token: str, at: dt.datetime) -> None:
        if self._overlay.get("users", name) is None:
            raise ValueError(f"no user {name!r}: the foreign key refuses the session")
        self._overlay.put("web_sessions", token_hash, _SessionRow(name, csrf_token, at, at))

    def session(self, token_hash: str) -> WebSession | None:
        row: _SessionRow | None = self._overlay.get("web_sessions", token_hash)
        if row is None:
            return None
        user = self.get(row.name)
        assert user is not None
        return WebSession(user, row.csrf_token, row.created_at, row.last_seen_at)

    def touch_session(self, token_hash: str, at: dt.datetime) -> None:
        row: _SessionRow | None = self._overlay.get("web_sessions", token_hash)
        if row is not None:
            self._overlay.put("web_sessions", token_hash, dataclasses.replace(row, last_seen_at=at))

    def end_session(self, token_hash: str) -> bool:
        if self._overlay.get("web_sessions", token_hash) is None:
            return False
        self._overlay.delete("web_sessions", token_hash)
        return True

    def end_sessions(self, name: str) -> int:
        held = [k for k, row in self._overlay.rows("web_sessions").items() if row.name == name]
        for key in held:
            self._overlay.delete("web_sessions", key)
        return len(held)

    def record_sign_in(self, sign_in: SignIn) -> None:
        self._overlay.put("sign_ins", self._overlay.store.next_id("sign_ins"), sign_in)

    def count_sign_ins(
        self,
        outcomes: Collection[str],
        since: dt.datetime,
        *,
        name: str | None = None,
        address: str | None = None,
    ) -> int:
        return sum(
            1
            for s in self._overlay.rows("sign_ins").values()
            if s.at > since
            and s.outcome in outcomes
            and name in (None, s.name)
            and address in (None, s.address)
        )

    def sign_ins(self, limit: int) -> list[SignIn]:
        rows = self._overlay.rows("sign_ins")
        newest = sorted(rows, key=lambda key: (rows[key].at, key), reverse=True)
        return [rows[key] for key in newest[:limit]]


# -- the API's tokens and idempotency keys ---------------------------------------------------------


class FakeApiTokens:
    """Tokens by name, with the hash of their secret (see `SqlApiTokens`)."""

    def __init__(self, overlay: _Overlay):
        self._overlay = overlay

    def add(self, token: ApiToken, token_hash: str) -> None:
        rows = self._overlay.rows("api_tokens")
        if token.name in rows:  # as the SQL store's key refuses it
            raise TokenRefused("token-name-unique", f"a token named {token.name!r} exists already")
        if any(held == token_hash for held, _token in rows.values()):
            raise ValueError("the token's hash is taken: the unique constraint refuses it")
        self._overlay.put("api_tokens", token.name, (token_hash, token))

    def get(self, name: str) -> ApiToken | None:
        row: tuple[str, ApiToken] | None = self._overlay.get("api_tokens", name)
        return None if row is None else row[1]

    def by_hash(self, token_hash: str) -> ApiToken | None:
        rows = self._overlay.rows("api_tokens")
        return next((token for held, token in rows.values() if held == token_hash), None)

    def listing(self) -> list[ApiToken]:
        rows = self._overlay.rows("api_tokens")
        return [rows[name][1] for name in sorted(rows)]

    def revoke(self, name: str, at: dt.datetime) -> None:
        row: tuple[str, ApiToken] | None = self._overlay.get("api_tokens", name)
        if row is not None and row[1].revoked_at is None:
            self._overlay.put(
                "api_tokens", name, (row[0], dataclasses.replace(row[1], revoked_at=at))
            )

    def touch(self, name: str, at: dt.datetime) -> None:
        row: tuple[str, ApiToken] | None = self._overlay.get("api_tokens", name)
        if row is not None:
            self._overlay.put(
                "api_tokens", name, (row[0], dataclasses.replace(row[1], last_used_at=at))
            )


class FakeIdempotencyKeys:
    """Outcomes by (token name, key) (see `SqlIdempotencyKeys`)."""

    def __init__(self, overlay: _Overlay):
        self._overlay = overlay

    def claim(self, token: str, key: str, digest: str, at: dt.datetime) -> bool:
        if self._overlay.get("api_tokens", token) is None:
            raise ValueError(f"no token {token!r}: the foreign key refuses the key")
        if self._overlay.get("idempotency_keys", (token, key)) is not None:
            return False
        self._overlay.put(
            "idempotency_keys", (token, key), KeptOutcome(token, key, digest, None, None, at)
        )
        return True

    def get(self, token: str, key: str) -> KeptOutcome | None:
        row: KeptOutcome | None = self._overlay.get("idempotency_keys", (token, key))
        return row

    def settle(self, token: str, key: str, status: int, body: str) -> None:
        row: KeptOutcome | None = self._overlay.get("idempotency_keys", (token, key))
        if row is not None:
            self._overlay.put(
                "idempotency_keys", (token, key), dataclasses.replace(row, status=status, body=body)
            )

    def release(self, token: str, key: str) -> None:
        self._overlay.delete("idempotency_keys", (token, key))


# -- the unit of work ----------------------------------------------------------------------------


class FakeUnitOfWork:
    """One transaction over a `FakeStore`: `with uow: ... uow.commit()`; leaving without commit
    rolls back. `committed` says whether a commit went through."""

    def __init__(self, store: FakeStore, on_commit: Sequence[CommitHook] = ()):
        self.store = store
        self._on_commit = tuple(on_commit)
        self.committed = False
        self._open()

    def _open(self) -> None:
        self._overlay = _Overlay(self.store)
        self.orders = FakeOrderRepository(self._overlay)
        self.documents = FakeDocumentRepository(self._overlay, self.orders)
        self.control_numbers = FakeControlNumbers(self._overlay)
        self.outbox = FakeOutbox(self._overlay, self.orders)
        self.leases = FakeLeases(self._overlay)
        self.outages = FakeOutages(self._overlay)
        self.accounts = FakeAccounts(self._overlay)
        self.tokens = FakeApiTokens(self._overlay)
        self.idempotency = FakeIdempotencyKeys(self._overlay)
        self.webhooks = FakeWebhooks(self._overlay)
        self._uncommitted: list[object] = []

    def __enter__(self) -> FakeUnitOfWork:
        self._open()
        self.committed = False
        return self

    def __exit__(self, *args: object) -> None:
        self.rollback()

    def flush(self) -> None:
        self.orders.flush()
        self.documents.flush()

    def defer_writes(self) -> None:
        self.orders.defer_new = True
        self.documents.defer_sets = True

    def flush_deferred(self) -> None:
        self.orders.flush()
        self.orders.flush_deferred()
        self.documents.flush(final=True)

    def commit(self) -> None:
        self.flush_deferred()
        if self._on_commit:
            happened = [
                *self._uncommitted,
                *(event for order in self.orders.seen() for event in order.events),
            ]
            if happened:
                for hook in self._on_commit:
                    hook(self, happened)
                self.flush_deferred()  # what the hooks changed
        self.orders.check_versions()
        self._overlay.apply()
        self.store.commits += 1
        self.committed = True
        self._uncommitted = []
        for order in self.orders.seen():
            order.events.clear()
        self.orders.committed()

    def rollback(self) -> None:
        """Drop what the transaction wrote and forget the orders it handed out."""
        self._overlay.writes = {}
        self.orders.reset()
        self.documents.reset()
        self._uncommitted = []

    @contextlib.contextmanager
    def savepoint(self, *, database: bool = True) -> Iterator[None]:
        touched = self.orders.watch()
        links = self.documents.pending()
        mark = self._overlay.mark() if database else None
        try:
            yield
            self.flush()
        except BaseException:
            if mark is not None:
                self._overlay.restore(mark)
            self._uncommitted.extend(self.orders.forget(touched))
            self.documents.drop_pending(links)
            raise
        finally:
            self.orders.unwatch()


# -- the mail server and the wiring --------------------------------------------------------------


class FakeMailSender:
    """A mail server that takes every email, unless told how to answer the next ones: each item
    of `answers` is an exception to raise (TransportError for 4xx or the server down,
    MailRefused for 5xx) or the recipients it refuses ({address: answer})."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.answers: list[Exception | dict[str, str]] = []

    def send(self, email: Email) -> dict[str, str]:
        answer = self.answers.pop(0) if self.answers else {}
        if isinstance(answer, Exception):
            raise answer
        self.sent.append(email)
        return dict(answer)


@dataclass(frozen=True, slots=True)
class Posted:
    """A request a `FakeWebhookSender` took."""

    url: str
    body: bytes
    headers: dict[str, str]


class FakeWebhookSender:
    """Receivers that answer 200 to every webhook, unless told how to answer the next ones:
    each item of `answers` is a status code to answer or an exception to raise
    (TransportError: no answer)."""

    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self.answers: list[int | Exception] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> int:
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        self.posted.append(Posted(url, body, dict(headers)))
        return answer


@dataclass
class FakeGateway:
    """The service layer wired as `bootstrap` wires it, on a `FakeStore` and a `FakeMailSender`."""

    store: FakeStore
    uow_factory: Callable[[], FakeUnitOfWork]
    bus: MessageBus
    mail: MailQueue
    alerts: Alerts
    notifier: Notifier
    mailer: Mailer
    sender: FakeMailSender
    mappings: Mappings
    webhook_sender: FakeWebhookSender
    webhooks: WebhookDeliverer
    partners: dict[str, PartnerProfile] = field(default_factory=dict)
    clock: Clock = utc_now

    def desk(self) -> OrderDesk:
        return OrderDesk(
            self.uow_factory, self.mappings, self.partners, clock=self.clock, bus=self.bus
        )


_SHIPPED_MAPPINGS: dict[str, Mappings] = {}


def shipped_mappings() -> Mappings:
    """The shipped mappings, read and compiled once."""
    if "shipped" not in _SHIPPED_MAPPINGS:
        _SHIPPED_MAPPINGS["shipped"] = Mappings(load_mappings())
    return _SHIPPED_MAPPINGS["shipped"]


def wire(
    partners: Sequence[PartnerProfile] = (),
    mail: MailSettings | None = None,
    *,
    clock: Clock = utc_now,
    webhook_settings: WebhookSettings | None = None,
) -> FakeGateway:
    """The bus, the notifier, the webhook queue, the alerts, the mail queue (with the shipped
    templates), the mailer and the webhook deliverer (on a `FakeWebhookSender`, the secret of
    WEBHOOK_SECRET known, no jitter), wired as `bootstrap` wires them (the bus is the units of
    work's commit hook), on a new `FakeStore`. `clock` is everyone's time, the store's too."""
    store = FakeStore(clock)
    settings = mail or MailSettings(domain="gateway.test")
    queue = MailQueue(settings, JinjaComposer(), clock)
    profiles = {p.key: p for p in partners}

    def unit_of_work() -> FakeUnitOfWork:
        return factory()

    alerts = Alerts(unit_of_work, queue)
    notifier = Notifier(queue, profiles, alerts)
    handlers = notifier.handlers()
    for kind, found in WebhookQueue(clock).handlers().items():
        handlers[kind] = [*handlers.get(kind, []), *found]
    bus = MessageBus(unit_of_work, handlers)
    factory = store.factory(on_commit=(bus.dispatch,))
    sender = FakeMailSender()
    mailer = Mailer(unit_of_work, sender, alerts, clock=clock, worker="test:0:1")
    webhook_sender = FakeWebhookSender()
    webhooks = WebhookDeliverer(
        unit_of_work,
        webhook_sender,
        alerts,
        webhook_settings,
        clock=clock,
        secrets={"WEBHOOK_SECRET": WEBHOOK_SECRET}.get,
        draw=lambda: 0.0,
        worker="test:0:1",
    )
    overrides = {p.key: p.mapping_overrides() for p in partners if p.mappings}
    found = Mappings(load_mappings(), overrides) if overrides else shipped_mappings()
    return FakeGateway(
        store,
        unit_of_work,
        bus,
        queue,
        alerts,
        notifier,
        mailer,
        sender,
        found,
        webhook_sender,
        webhooks,
        profiles,
        clock,
    )

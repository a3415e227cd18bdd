"""The store on SQLAlchemy: engine, repositories and the unit of work.

Strategy: SQLAlchemy Core statements on the tables of `orm.py`, one connection and one
transaction per unit of work. An order is read whole from its `state` JSON and written whole,
with `UPDATE ... WHERE version = <the version read>`: if another worker committed first, no row
matches and the unit of work raises `ConcurrentUpdate`, so two conflicting changes can never both
succeed. SQLite runs in WAL mode with foreign keys on and takes its write lock at the start of the
transaction (`BEGIN IMMEDIATE`), so a unit of work never fails half-way for a lock another one
holds; PostgreSQL runs at READ COMMITTED, the version check doing the rest.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from gateway.adapters import orm
from gateway.adapters.search import prefix_range, search_terms
from gateway.adapters.state import dump, restore
from gateway.config import GatewayConfig
from gateway.domain.events import Fact
from gateway.domain.model import Order
from gateway.domain.rules import (
    Flag,
    FulfilmentStatus,
    flags,
    fulfilment_status,
    payment_status,
)
from gateway.domain.values import Role
from gateway.errors import (
    AccountRefused,
    ConcurrentUpdate,
    ConfigurationError,
    RuleViolation,
    StoreUnavailable,
    TokenRefused,
    shown,
)
from gateway.service.accounts import SignIn, User, WebSession
from gateway.service.ports import (
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

CONTROL_KINDS = ("interchange", "group", "set")
CONTROL_LIMITS = {"interchange": 999_999_999, "group": 999_999_999, "set": 999_999_999}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_store_engine(config: GatewayConfig) -> Engine:
    """The engine for the configured database (SQLite file in the data folder by default)."""
    url = make_url(config.database_url)
    password = config.database.password()
    if password is not None:
        url = url.set(password=password)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        busy = config.database.busy_timeout_seconds
        engine = create_engine(url, connect_args={"timeout": busy})
        _configure_sqlite(engine, busy)
    elif url.get_backend_name() == "postgresql":
        try:
            engine = create_engine(url, pool_size=config.database.pool_size, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ConfigurationError(
                f"the database URL names the {url.get_driver_name()} driver, which is not "
                f"installed ({exc.name}): pip install 'edi-gateway[postgresql]' for psycopg"
            ) from None
    else:
        raise ConfigurationError(f"database {url.get_backend_name()} is not supported")
    event.listen(engine, "handle_error", _store_unavailable)
    return engine


def store_fault(message: str) -> str:
    """What an SQLite error says of the database's state, for an operator ('' when it is not a
    fault of the store's state but of the statement: a bug, a missing migration)."""
    text = message.lower()
    if "locked" in text or "busy" in text:
        return "the database is locked by another program for longer than busy_timeout_seconds"
    if "readonly" in text or "read-only" in text:
        return "the database cannot be written (the file or its folder is read-only or immutable)"
    if "full" in text:
        return "the database is full (no space left on its disk)"
    if "disk i/o error" in text:
        return "the database's disk failed a read or a write (disk I/O error)"
    if "unable to open database file" in text:
        return "the database file cannot be opened (its folder missing or not writable)"
    return ""


UNAVAILABLE_STATES = ("08", "53", "57P", "25006")
"""PostgreSQL SQLSTATEs that say the server cannot be used now: connection exceptions,
insufficient resources (disk full, out of memory, too many connections), operator intervention
(shutdown, restart), a read-only transaction (a standby)."""

MISCONFIGURED_STATES = ("28", "3D")
"""PostgreSQL SQLSTATEs met when connecting that are the configuration's fault: the login
refused, the database missing. Other connection failures (refused, reset, timed out) are the
server's state."""


def unavailable(original: BaseException, dialect: str, *, connecting: bool = False) -> str:
    """Why the database cannot be used now, from the driver's error (`original`), or '' when
    the error is not the store's state (a bug, a missing migration, a wrong login)."""
    if dialect == "sqlite":
        if isinstance(original, sqlite3.OperationalError):
            reason = store_fault(str(original))
            return f"{reason} ({original})" if reason else ""
        return ""
    state = str(getattr(original, "sqlstate", "") or "")
    text = str(original).strip()
    first = text.splitlines()[0] if text else type(original).__name__
    if connecting and not state.startswith(MISCONFIGURED_STATES) and "authentication" not in text:
        return f"the database server cannot be reached: {first}"
    if state.startswith(UNAVAILABLE_STATES):
        return f"the database server cannot be used now: {first}"
    return ""


def _store_unavailable(context: Any) -> None:
    """Turn an error of the database's state into `StoreUnavailable` (SQLAlchemy's handle_error
    event): the service waits for the store to come back instead of failing."""
    if getattr(context, "is_pre_ping", False):
        return  # the pool's own check of a pooled connection: it reconnects by itself
    dialect = context.engine.dialect.name if context.engine is not None else ""
    reason = unavailable(context.original_exception, dialect, connecting=context.is_disconnect)
    if reason:
        raise StoreUnavailable(reason) from None


def _event_tuples(rows: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """order_events rows in EVENT_COLUMNS's order, the payload as the JSON SQLAlchemy's JSON
    type writes (json.dumps)."""
    for row in rows:
        yield (
            row["order_id"],
            row["sequence"],
            row["name"],
            row["occurred_at"],
            json.dumps(row["payload"]),
            row["recorded_at"],
        )


def _configure_sqlite(engine: Engine, busy: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun explicitly below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={round(busy * 1000)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# Statements built once, their values passed as parameters: building a statement with its
# values inlined costs more than running it on SQLite.
_ORDER_ROW = (
    select(orm.orders)
    .where(orm.orders.c.partner == bindparam("p_partner"))
    .where(orm.orders.c.po_number == bindparam("p_po"))
)
_INSERT_ORDER = insert(orm.orders)
_UPDATE_ORDER = (
    update(orm.orders)
    .where(orm.orders.c.id == bindparam("p_id"))
    .where(orm.orders.c.version == bindparam("p_version"))
)
_LAST_EVENT = (
    select(orm.order_events.c.sequence)
    .where(orm.order_events.c.order_id == bindparam("p_order"))
    .order_by(orm.order_events.c.sequence.desc())
    .limit(1)
)
_INSERT_EVENTS = insert(orm.order_events)
EVENT_COLUMNS = ("order_id", "sequence", "name", "occurred_at", "payload", "recorded_at")
_LINK_EXISTS = (
    select(orm.document_orders.c.order_id)
    .where(orm.document_orders.c.document_id == bindparam("p_document"))
    .where(orm.document_orders.c.order_id == bindparam("p_order"))
)
_INSERT_LINK = insert(orm.document_orders)
_INSERT_SET = insert(orm.document_sets)
_INSERT_TERMS = insert(orm.order_search_terms)
_INSERT_TERMS_QMARK = "INSERT INTO order_search_terms (term, order_id) VALUES (?, ?)"
_DELETE_TERM = delete(orm.order_search_terms).where(
    orm.order_search_terms.c.order_id == bindparam("p_order"),
    orm.order_search_terms.c.term == bindparam("p_term"),
)
_TERMS_HELD = select(func.count()).select_from(
    select(literal(1))
    .where(
        orm.order_search_terms.c.term >= bindparam("p_low"),
        orm.order_search_terms.c.term < bindparam("p_high"),
    )
    .limit(bindparam("p_most"))
    .subquery()
)  # the rows of a search's range, up to p_most (see `_Search.plan`)
_SUMMARY_COLUMNS = tuple(
    orm.orders.c[name]
    for name in (
        "partner", "po_number", "our_role", "is_test", "order_date", "flags",
        "fulfilment_status", "payment_status", "version", "updated_at",
    )
)  # fmt: skip


class SqlOrderRepository:
    """Orders in the `orders` table."""

    def __init__(self, connection: Connection):
        self._connection = connection
        self._seen: dict[tuple[str, str], Order] = {}
        self._ids: dict[tuple[str, str], int] = {}
        self._loaded_versions: dict[tuple[str, str], int] = {}
        self._stored_states: dict[tuple[str, str], Any] = {}  # as the row holds it: its terms
        self._new: set[tuple[str, str]] = set()
        self._recorded: dict[tuple[str, str], int] = {}  # events already written, per order
        self._absent: set[tuple[str, str]] = set()  # looked up in this transaction: not held
        self._inserted: set[tuple[str, str]] = set()  # created in this transaction
        self._touched: set[tuple[str, str]] | None = None  # inside a savepoint: orders used
        self._saved_recorded: dict[tuple[str, str], int] = {}  # events written before it
        self.defer_new = False  # new orders written by `flush_deferred`, all in one statement
        self._dirty: set[tuple[str, str]] = set()  # handed out since the last flush
        self._snapshots: dict[
            tuple[str, str], Order
        ] = {}  # held-back orders, as a savepoint found them

    def add(self, order: Order) -> None:
        key = (order.partner, order.po_number)
        self._dirty.add(key)
        if self._touched is not None:
            self._touched.add(key)
        if key in self._seen or (key not in self._absent and self._row(*key) is not None):
            raise RuleViolation(
                "one-order-per-po-number",
                "an order with this PO number from this partner exists already",
                po_number=order.po_number,
            )
        self._seen[key] = order
        self._new.add(key)

    def get(self, partner: str, po_number: str) -> Order | None:
        key = (partner, po_number)
        self._dirty.add(key)
        if self._touched is not None and key not in self._touched:
            self._touched.add(key)
            if key in self._new and key in self._seen:
                # held back, in memory only: a savepoint rolled back restores this copy
                self._snapshots[key] = copy.deepcopy(self._seen[key])
        if key in self._seen:
            return self._seen[key]
        if key in self._absent:
            return None
        row = self._row(partner, po_number)
        if row is None:
            self._absent.add(key)
            return None
        order = restore(Order, row.state)
        order.version = row.version
        self._seen[key] = order
        self._ids[key] = row.id
        self._loaded_versions[key] = row.version
        self._stored_states[key] = row.state
        return order

    def read(self, partner: str, po_number: str) -> Order | None:
        held = self._seen.get((partner, po_number))
        if held is not None:
            return held
        row = self._row(partner, po_number)
        if row is None:
            return None
        order = restore(Order, row.state)
        order.version = row.version
        return order

    def find(self, po_number: str, partner: str | None = None) -> list[Order]:
        query = select(orm.orders.c.partner).where(orm.orders.c.po_number == po_number)
        if partner is not None:
            query = query.where(orm.orders.c.partner == partner)
        found = []
        for (owner,) in self._connection.execute(query.order_by(orm.orders.c.partner)):
            order = self.get(owner, po_number)
            if order is not None:
                found.append(order)
        return found

    def late_candidates(self, today: dt.date, received_by: dt.date | None) -> list[tuple[str, str]]:
        """See `OrderRepository.late_candidates`: found by the database from the flag and
        fulfilment columns and the dates in the order's state (ISO text, compared as text), so
        that the look for late documents reads back only the orders that may be late."""
        table = orm.orders
        state = table.c.state
        before = today.isoformat()
        dated = and_(
            table.c.settled.is_(false()),
            or_(
                state["requested_ship_date"].as_string() < before,
                state["cancel_after_date"].as_string() < before,
            ),
        )
        due = (
            func.substr(state["received_at"].as_string(), 1, 10) <= received_by.isoformat()
            if received_by is not None
            else false()
        )
        selling = and_(
            table.c.our_role == Role.SELLER.value,
            or_(table.c.fulfilment_status != FulfilmentStatus.UNFULFILLED.value, due),
        )
        query = (
            select(table.c.partner, table.c.po_number)
            .where(table.c.archived.is_(false()), table.c.is_test.is_(false()), or_(dated, selling))
            .order_by(table.c.partner, table.c.po_number)
        )
        return [(row.partner, row.po_number) for row in self._connection.execute(query)]

    broad_search = 2_000
    """A search whose range holds more term rows than this is read orders first."""
    counted_at_most = 1_000
    """A broad search counts its orders up to this, then says "more than" (`OrderPage.more`):
    counting every match of a word half the orders hold would cost more than the page."""
    """The most rows of the terms' index a search's range may hold and be read terms first;
    above, orders first (see `summaries`). An attribute so that tests can choose the plan."""

    def summaries(self, query: OrderQuery) -> OrderPage:
        """One page of the orders the query finds, and how many it finds: filtered, counted,
        sorted and paged by the database (see the listing's indexes in `orm`).

        A search is read one of two ways, chosen by how many rows of the terms' index its
        range holds, counted first up to `broad_search` (`_Search`): terms first when they are
        few (the work follows the matches), orders first when they are many (the work stops
        with the page)."""
        table = orm.orders
        conditions = _conditions(query)
        search = None
        if query.search is not None:
            search = _Search.plan(self._connection, query.search, self.broad_search)
            if search is None:  # no term starts with the text
                return OrderPage(summaries=(), total=0, offset=query.offset)
        page = select(*_SUMMARY_COLUMNS).where(*conditions)
        if search is not None:
            page = page.where(search.condition)
        keys = {
            "date": (table.c.order_date, table.c.id),
            "po": (table.c.po_number, table.c.id),
            "partner": (table.c.partner, table.c.po_number),
            "updated": (table.c.updated_at, table.c.id),
        }[query.sort]
        page = page.order_by(*(key.desc() if query.descending else key for key in keys))
        if query.limit is not None:
            page = page.limit(query.limit)
        if query.offset:
            page = page.offset(query.offset)
        found = tuple(_summary(row) for row in self._connection.execute(page))
        shown = query.offset + len(found)
        if query.limit is None or (len(found) < query.limit and (found or not query.offset)):
            return OrderPage(summaries=found, total=shown, offset=query.offset)  # the last page
        if search is not None and search.broad:  # counted up to `counted_at_most`, no further
            held = (
                select(literal(1))
                .select_from(table)
                .where(*conditions, search.condition)
                .limit(self.counted_at_most + 1)
                .subquery()
            )
            counted = int(
                self._connection.execute(select(func.count()).select_from(held)).scalar() or 0
            )
            if counted > self.counted_at_most:  # at least this many; a full page past it, more
                total = max(self.counted_at_most, shown if found else 0)
                return OrderPage(summaries=found, total=total, offset=query.offset, more=True)
            return OrderPage(summaries=found, total=counted, offset=query.offset)
        counting = select(func.count()).select_from(table).where(*conditions)
        if search is not None:
            counting = counting.where(search.condition)
        total = int(self._connection.execute(counting).scalar() or 0)
        return OrderPage(summaries=found, total=total, offset=query.offset)

    def partners(self) -> list[str]:
        """The partners that have orders in the store (read from the unique index)."""
        column = orm.orders.c.partner
        return list(self._connection.execute(select(column).distinct().order_by(column)).scalars())

    def history(self, partner: str, po_number: str) -> list[dict[str, object]]:
        order_id = self._id(partner, po_number)
        if order_id is None:
            return []
        rows = self._connection.execute(
            select(orm.order_events)
            .where(orm.order_events.c.order_id == order_id)
            .order_by(orm.order_events.c.sequence)
        )
        return [
            {
                "sequence": row.sequence,
                "name": row.name,
                "occurred_at": row.occurred_at,
                "payload": row.payload,
            }
            for row in rows
        ]

    def seen(self) -> list[Order]:
        return list(self._seen.values())

    # -- writing (called by the unit of work at commit) -------------------------------------
    def flush(self) -> None:
        """Write every order seen in this unit of work, checking versions."""
        stamp = now()
        dirty, self._dirty = self._dirty, set()  # only an order handed out can have changed
        new: list[tuple[str, str]] = []
        for key in sorted(dirty):  # one order of writes: two workers never wait on each other
            order = self._seen.get(key)
            if order is None:
                continue
            pending = list(order.events[self._recorded.get(key, 0) :])
            if key in self._new:
                if not self.defer_new:
                    new.append(key)  # written below, with their events
                continue
            if not pending:
                continue
            read_version = self._loaded_versions[key]
            order.version = read_version + 1
            columns = self._columns(order)
            result = self._connection.execute(
                _UPDATE_ORDER,
                {
                    **columns,
                    "updated_at": stamp,
                    "p_id": self._ids[key],
                    "p_version": read_version,
                },
            )
            if result.rowcount != 1:
                order.version = read_version
                raise ConcurrentUpdate(
                    f"order {order.po_number} from {order.partner} was changed by another "
                    f"worker (version {read_version} is no longer current)"
                )
            self._loaded_versions[key] = order.version
            self._rewrite_terms(self._ids[key], self._stored_states.get(key), columns["state"])
            self._stored_states[key] = columns["state"]
            facts = order.history[len(order.history) - len(pending) :]
            self._record_events(self._ids[key], pending, facts, stamp)
            self._recorded[key] = len(order.events)
        self._insert(new)

    def sweep(self) -> None:
        """Note every order holding events not yet written, handed out since the last flush or
        not (a caller that kept an order across a flush and changed it again): at the commit,
        nothing changed is left unwritten."""
        self._dirty.update(
            key
            for key, order in self._seen.items()
            if len(order.events) > self._recorded.get(key, 0)
        )

    def flush_deferred(self) -> None:
        """Write the new orders held back (`defer_new`), their events with them."""
        self._insert([key for key in self._seen if key in self._new])

    def _insert(self, keys: list[tuple[str, str]]) -> None:
        """Write new orders and their events: a statement for all the orders, one for all the
        events."""
        if not keys:
            return
        stamp = now()
        rows = []
        for key in keys:
            order = self._seen[key]
            order.version = 1
            rows.append({**self._columns(order), "created_at": stamp, "updated_at": stamp})
        try:
            result = self._connection.execute(
                _INSERT_ORDER.returning(orm.orders.c.id, sort_by_parameter_order=True), rows
            )
        except IntegrityError:
            raise ConcurrentUpdate(
                "an order written here was created by another worker meanwhile"
            ) from None
        events: list[dict[str, Any]] = []
        terms: list[tuple[str, int]] = []
        for key, row, (order_id,) in zip(keys, rows, result.all(), strict=True):
            order = self._seen[key]
            terms.extend((term, order_id) for term in search_terms(row["state"]))
            self._ids[key] = int(order_id)
            self._new.discard(key)
            self._inserted.add(key)
            self._loaded_versions[key] = 1
            self._stored_states[key] = row["state"]
            pending = list(order.events)
            facts = order.history[len(order.history) - len(pending) :] if pending else []
            events.extend(self._event_rows(int(order_id), pending, facts, stamp, 0))
            self._recorded[key] = len(order.events)
        if self._connection.dialect.name == "postgresql":  # rows of new orders: no conflict
            self._copy("order_search_terms", ("term", "order_id"), terms)
            self._copy("order_events", EVENT_COLUMNS, _event_tuples(events))
            return
        self._write_terms(terms)
        if events:
            self._connection.execute(_INSERT_EVENTS, events)

    def _copy(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
        """Write rows with PostgreSQL's COPY, in the transaction: one stream, where psycopg
        sends SQLAlchemy's executemany as a statement a row (50 terms and 2 events an order:
        measured, the search terms cost 20x SQLite's). An error of the store's state is
        `StoreUnavailable`, as a statement's is."""
        raw = self._connection.connection.driver_connection
        assert raw is not None
        try:
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except Exception as exc:
            reason = unavailable(exc, "postgresql")
            if reason:
                raise StoreUnavailable(reason) from None
            raise

    def _rewrite_terms(self, order_id: int, stored: Any, state: Any) -> None:
        """Bring an order's search terms from those of its stored state to those of its new
        one (most changes change none of them: nothing is written then)."""
        held = search_terms(stored) if stored is not None else frozenset()
        wanted = search_terms(state)
        if gone := held - wanted:
            self._connection.execute(
                _DELETE_TERM, [{"p_order": order_id, "p_term": term} for term in sorted(gone)]
            )
        self._write_terms([(term, order_id) for term in sorted(wanted - held)])

    def _write_terms(self, terms: list[tuple[str, int]]) -> None:
        """Insert (term, order id) rows. On SQLite they go to the driver as they are: an order
        of 20 lines has some 40 terms, and SQLAlchemy's handling of each row's parameters
        costs twice SQLite's insert of it (0.17 against 0.07 ms an order, measured)."""
        if not terms:
            return
        if self._connection.dialect.paramstyle == "qmark":
            self._connection.exec_driver_sql(_INSERT_TERMS_QMARK, terms)
        else:
            self._connection.execute(_INSERT_TERMS, [{"term": t, "order_id": o} for t, o in terms])

    def committed(self) -> None:
        """The transaction committed and the orders' pending events were taken."""
        self._recorded.clear()
        self._absent.clear()
        self._inserted.clear()

    def watch(self) -> set[tuple[str, str]]:
        """Start noting the orders used (a savepoint begins); the set they are noted in."""
        self._touched = set()
        self._saved_recorded = dict(self._recorded)
        self._snapshots = {}
        return self._touched

    def forget(self, keys: set[tuple[str, str]]) -> list[Any]:
        """Drop orders from the identity map (a savepoint that used them was rolled back: the
        next `get` reads them again, as the transaction has them). Returns the events they had
        written before the savepoint, which the transaction still holds."""
        kept: list[Any] = []
        for key in keys:
            if key in self._snapshots:  # held back: nothing to read again, its copy comes back
                self._seen[key] = self._snapshots.pop(key)
                continue
            order = self._seen.pop(key, None)
            if order is not None:
                kept.extend(order.events[: self._saved_recorded.get(key, 0)])
            self._ids.pop(key, None)
            self._loaded_versions.pop(key, None)
            self._stored_states.pop(key, None)
            self._new.discard(key)
            self._recorded.pop(key, None)
            self._absent.discard(key)
            self._inserted.discard(key)
        return kept

    def unwatch(self) -> None:
        self._touched = None
        self._snapshots = {}

    def _record_events(
        self, order_id: int, pending: list[Any], facts: list[Fact], stamp: dt.datetime
    ) -> None:
        """Write the pending events of an order already written, after its last one."""
        if not pending:
            return
        last = self._connection.execute(_LAST_EVENT, {"p_order": order_id}).scalar()
        rows = self._event_rows(order_id, pending, facts, stamp, int(last or 0))
        self._connection.execute(_INSERT_EVENTS, rows)

    @staticmethod
    def _event_rows(
        order_id: int, pending: list[Any], facts: list[Fact], stamp: dt.datetime, last: int
    ) -> list[dict[str, Any]]:
        """The order_events rows of pending events; their payloads are the facts the order's
        history holds for them (one per event, in order), so nothing is turned into data
        twice."""
        aligned = len(facts) == len(pending) and all(
            fact.event == type(event).__name__ for fact, event in zip(facts, pending, strict=True)
        )
        rows = []
        for index, domain_event in enumerate(pending):
            occurred = getattr(domain_event, "at", None) or getattr(domain_event, "time", None)
            if aligned and isinstance(occurred, dt.datetime):
                payload = {**facts[index].fields, "at": occurred.isoformat()}
            else:
                payload = cast(dict[str, Any], dump(domain_event))
            rows.append(
                {
                    "order_id": order_id,
                    "sequence": last + index + 1,
                    "name": type(domain_event).__name__,
                    "occurred_at": occurred if isinstance(occurred, dt.datetime) else None,
                    "payload": payload,
                    "recorded_at": stamp,
                }
            )
        return rows

    @staticmethod
    def _columns(order: Order) -> dict[str, Any]:
        order_flags = flags(order)
        order_date = getattr(order, "order_date", None)
        return {
            "partner": order.partner,
            "po_number": order.po_number,
            "our_role": order.our_role.value,
            "is_test": bool(order.is_test),
            "order_date": order_date.isoformat() if order_date else None,
            "flags": ",".join(sorted(flag.value for flag in order_flags)),
            **{flag.value: flag in order_flags for flag in _FLAG_COLUMNS},
            "archived": bool({Flag.COMPLETED, Flag.CANCELLED} & order_flags),
            "fulfilment_status": fulfilment_status(order).value,
            "payment_status": payment_status(order).value,
            "state": dump(order),
            "version": order.version,
        }

    def _row(self, partner: str, po_number: str) -> Any:
        return self._connection.execute(
            _ORDER_ROW, {"p_partner": partner, "p_po": po_number}
        ).first()

    def held_back(self, partner: str, po_number: str) -> bool:
        """Whether the order is new and waits for its batch to be written."""
        return self.defer_new and (partner, po_number) in self._new

    def inserted(self, partner: str, po_number: str) -> bool:
        """Whether the order was created by this transaction (nothing can link to it yet)."""
        return (partner, po_number) in self._inserted

    def _id(self, partner: str, po_number: str) -> int | None:
        key = (partner, po_number)
        if key in self._ids:
            return self._ids[key]
        row = self._row(partner, po_number)
        return int(row.id) if row is not None else None

    def id_of(self, partner: str, po_number: str) -> int | None:
        """The row id of an order (after flush for a new one)."""
        return self._id(partner, po_number)


_FLAG_COLUMNS = tuple(Flag(name) for name in orm.FLAG_COLUMNS)


def _status_condition(name: str) -> ColumnElement[bool]:
    """The condition a status name of `OrderQuery.statuses` stands for."""
    table = orm.orders
    if name == "open":
        return table.c.archived == false()
    if name == "archived":
        return table.c.archived == true()
    if name == Flag.TEST.value:
        return table.c.is_test == true()
    if name in orm.FLAG_COLUMNS:
        return table.c[name] == true()
    if name in {flag.value for flag in Flag}:  # a flag without a column (yet): in the list
        listed = literal(",") + table.c.flags + literal(",")
        return listed.like(f"%,{name},%")
    raise ValueError(f"no status {name!r}")


def _conditions(query: OrderQuery) -> list[ColumnElement[bool]]:
    """The WHERE of a listing but for its search (`_Search`): what every order found must be."""
    table = orm.orders
    conditions: list[ColumnElement[bool]] = []
    statuses = {name.lower() for name in query.statuses}
    if Flag.TEST.value not in statuses and not query.include_test:
        conditions.append(table.c.is_test == false())
    scope = query.effective_scope
    if scope != "all":
        conditions.append(table.c.archived == (true() if scope == "archived" else false()))
    if query.partner is not None:
        conditions.append(table.c.partner == query.partner)
    conditions.extend(_status_condition(name) for name in sorted(statuses))
    if query.fulfilment_status is not None:
        conditions.append(table.c.fulfilment_status == query.fulfilment_status)
    if query.payment_status is not None:
        conditions.append(table.c.payment_status == query.payment_status)
    if query.since is not None:
        conditions.append(table.c.order_date >= query.since.isoformat())
    if query.until is not None:
        conditions.append(table.c.order_date <= query.until.isoformat())
    return conditions


@dataclass(frozen=True, slots=True)
class _Search:
    """How a listing reads its search: the terms that start with the text are one range of the
    terms' primary key (`matching`); `broad` when it holds more rows than the listing's
    threshold. Either way the search is a condition on the order (an order with several
    matching terms is found, and counted, once), so both plans find the same orders.

    Terms first (few rows): the orders whose id the range holds, read by id, then filtered
    and sorted; the work follows the matches. Orders first (broad): the orders in the page's
    order through the listing index, each kept if the index on `(order_id, term)` holds one
    of its terms in the range; the work stops with the page, and its count stops at
    `SqlOrderRepository.counted_at_most` (the page then says "more than")."""

    matching: tuple[ColumnElement[bool], ...]
    broad: bool

    @classmethod
    def plan(cls, connection: Connection, text: str, threshold: int) -> _Search | None:
        """The plan for a search text, from the rows of its range counted up to `threshold`
        + 1 (one short read of the terms' index); None when the range holds none."""
        terms = orm.order_search_terms
        low, high = prefix_range(text)
        if high is None:  # rare (see `prefix_range`): a statement of its own
            matching = (terms.c.term >= low, func.substr(terms.c.term, 1, len(low)) == low)
            held = select(literal(1)).where(*matching).limit(threshold + 1).subquery()
            counted = connection.execute(select(func.count()).select_from(held))
        else:
            matching = (terms.c.term >= low, terms.c.term < high)
            values = {"p_low": low, "p_high": high, "p_most": threshold + 1}
            counted = connection.execute(_TERMS_HELD, values)
        rows = int(counted.scalar() or 0)
        return cls(matching, broad=rows > threshold) if rows else None

    @property
    def condition(self) -> ColumnElement[bool]:
        """What an order found must be, besides the other filters."""
        terms = orm.order_search_terms
        if self.broad:
            return exists().where(terms.c.order_id == orm.orders.c.id, *self.matching)
        return orm.orders.c.id.in_(select(terms.c.order_id).where(*self.matching))


def _summary(row: Any) -> OrderSummary:
    return OrderSummary(
        partner=row.partner,
        po_number=row.po_number,
        our_role=row.our_role,
        is_test=bool(row.is_test),
        order_date=row.order_date or "",
        flags=tuple(f for f in row.flags.split(",") if f),
        fulfilment_status=row.fulfilment_status,
        payment_status=row.payment_status,
        version=row.version,
        updated_at=row.updated_at,
    )


class SqlDocumentRepository:
    """Documents in the `documents` table, linked to orders in `document_orders`."""

    def __init__(self, connection: Connection, orders: SqlOrderRepository):
        self._connection = connection
        self._orders = orders
        self._links: list[tuple[int, tuple[str, str]]] = []
        self._held_links: list[tuple[int, tuple[str, str]]] = []  # to orders held back
        self._sets: list[dict[str, Any]] = []  # set records held back until the next flush
        self._written: set[tuple[int, int]] = set()  # links written in this transaction
        self.defer_sets = False

    def add(self, document: StoredDocument) -> int:
        stamp = now()
        result = self._connection.execute(
            insert(orm.documents).values(
                sha256=document.sha256,
                partner=document.partner,
                direction=document.direction,
                transaction_sets=",".join(document.transaction_sets),
                interchange_control=document.interchange_control,
                group_controls=",".join(document.group_controls),
                set_controls=",".join(document.set_controls),
                sender_id=document.sender_id,
                receiver_id=document.receiver_id,
                filename=document.filename,
                status=document.status,
                raw=document.raw,
                raw_path=document.raw_path,
                size=document.size,
                envelope=document.envelope,
                created_at=stamp,
                updated_at=stamp,
            )
        )
        (document_id,) = result.inserted_primary_key or (None,)
        assert document_id is not None
        document.id = int(document_id)
        for key in document.order_keys:
            self._links.append((document.id, key))
        return document.id

    def link(self, document_id: int, partner: str, po_number: str) -> None:
        """Record that a document touched an order (written at commit)."""
        self._links.append((document_id, (partner, po_number)))

    def pending(self) -> tuple[int, int, int, frozenset[tuple[int, int]]]:
        """Where the links and set records waiting to be written stand (for a savepoint)."""
        return (
            len(self._links),
            len(self._held_links),
            len(self._sets),
            frozenset(self._written),
        )

    def drop_pending(self, mark: tuple[int, int, int, frozenset[tuple[int, int]]]) -> None:
        """Forget the links and set records noted after `mark` (their savepoint was rolled
        back), and the links it wrote."""
        del self._links[mark[0] :]
        del self._held_links[mark[1] :]
        del self._sets[mark[2] :]
        self._written = set(mark[3])

    def flush(self, *, final: bool = False) -> None:
        """Write the links to orders already written (those to orders held back for their
        batch wait for them) and the set records (held back too with `defer_sets`, until the
        final flush)."""
        links = self._links
        if final:
            links, self._held_links = [*self._held_links, *links], []
        rows = []
        for link in links:
            document_id, (partner, po_number) = link
            if self._orders.held_back(partner, po_number):
                self._held_links.append(link)
                continue
            order_id = self._orders.id_of(partner, po_number)
            if order_id is None or (document_id, order_id) in self._written:
                continue
            self._written.add((document_id, order_id))
            exists = not self._orders.inserted(partner, po_number) and (
                self._connection.execute(
                    _LINK_EXISTS, {"p_document": document_id, "p_order": order_id}
                ).first()
                is not None
            )
            if not exists:
                rows.append({"document_id": document_id, "order_id": order_id})
        if rows:
            self._connection.execute(_INSERT_LINK, rows)
        self._links = []
        if self._sets and (final or not self.defer_sets):
            self._connection.execute(_INSERT_SET, self._sets)
            self._sets = []

    def get(self, document_id: int) -> StoredDocument | None:
        row = self._connection.execute(
            select(orm.documents).where(orm.documents.c.id == document_id)
        ).first()
        return _document(row) if row is not None else None

    def with_sha256(self, sha256: str) -> list[StoredDocument]:
        rows = self._connection.execute(
            select(orm.documents)
            .where(orm.documents.c.sha256 == sha256)
            .order_by(orm.documents.c.id)
        )
        return [_document(row) for row in rows]

    def with_interchange(
        self, partner: str, direction: str, sender_id: str, control: str
    ) -> list[StoredDocument]:
        table = orm.documents
        rows = self._connection.execute(
            select(table)
            .where(table.c.partner == partner)
            .where(table.c.direction == direction)
            .where(table.c.sender_id == sender_id)
            .where(table.c.interchange_control == control)
            .order_by(table.c.id)
        )
        return [_document(row) for row in rows]

    def with_group(self, partner: str, direction: str, group_control: str) -> list[StoredDocument]:
        table = orm.documents
        listed = literal(",") + table.c.group_controls + literal(",")
        rows = self._connection.execute(
            select(table)
            .where(table.c.partner == partner)
            .where(table.c.direction == direction)
            .where(listed.like(f"%,{group_control},%"))
            .order_by(table.c.id)
        )
        found = [_document(row) for row in rows]
        return [d for d in found if group_control in d.group_controls]

    def for_order(self, partner: str, po_number: str) -> list[StoredDocument]:
        order_id = self._orders.id_of(partner, po_number)
        if order_id is None:
            return []
        rows = self._connection.execute(
            select(orm.documents)
            .join(orm.document_orders, orm.document_orders.c.document_id == orm.documents.c.id)
            .where(orm.document_orders.c.order_id == order_id)
            .order_by(orm.documents.c.id)
        )
        return [_document(row) for row in rows]

    def orders_of(self, document_id: int) -> list[tuple[str, str]]:
        """The (partner, PO number) of the orders a document touched."""
        rows = self._connection.execute(
            select(orm.orders.c.partner, orm.orders.c.po_number)
            .join(orm.document_orders, orm.document_orders.c.order_id == orm.orders.c.id)
            .where(orm.document_orders.c.document_id == document_id)
            .order_by(orm.orders.c.partner, orm.orders.c.po_number)
        )
        return [(row.partner, row.po_number) for row in rows]

    def set_status(self, document_id: int, status: str) -> None:
        self._connection.execute(
            update(orm.documents)
            .where(orm.documents.c.id == document_id)
            .values(status=status, updated_at=now())
        )

    def record_set(self, document_id: int, outcome: SetRecord) -> None:
        """What became of one set of an inbound document, in the transaction that applied it
        (held back to the next flush when `defer_sets`)."""
        row = {
            "document_id": document_id,
            "group_control": outcome.group_control,
            "set_control": outcome.set_control,
            "set_id": outcome.set_id,
            "action": outcome.action,
            "po_number": outcome.po_number,
            "message": outcome.message,
            "created_at": now(),
        }
        if self.defer_sets:
            self._sets.append(row)
        else:
            self._connection.execute(_INSERT_SET, row)

    def sets(self, document_id: int) -> list[SetRecord]:
        table = orm.document_sets
        rows = self._connection.execute(
            select(table).where(table.c.document_id == document_id).order_by(table.c.id)
        )
        return [
            SetRecord(
                row.group_control, row.set_control, row.set_id, row.action, row.po_number,
                row.message,
            )
            for row in rows
        ]  # fmt: skip

    def reopen(self, document_id: int, sets: list[tuple[str, str]]) -> None:
        """Make an inbound document to be taken in again for `sets` (group, set control): their
        records are forgotten and the document is no longer processed."""
        table = orm.document_sets
        for group_control, set_control in sets:
            self._connection.execute(
                delete(table).where(
                    table.c.document_id == document_id,
                    table.c.group_control == group_control,
                    table.c.set_control == set_control,
                )
            )
        self._connection.execute(
            update(orm.documents)
            .where(orm.documents.c.id == document_id)
            .values(processed_at=None, updated_at=now())
        )

    def mark_processed(self, document_id: int) -> None:
        stamp = now()
        self._connection.execute(
            update(orm.documents)
            .where(orm.documents.c.id == document_id)
            .values(processed_at=stamp, updated_at=stamp)
        )

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
        """The latest documents, newest first, without their raw bytes (see the port)."""
        table = orm.documents
        columns = [c for c in table.c if c.name != "raw"]
        query = select(*columns).order_by(table.c.id.desc()).limit(limit).offset(offset)
        if partner is not None:
            query = query.where(table.c.partner == partner)
        if direction is not None:
            query = query.where(table.c.direction == direction)
        if status is not None:
            query = query.where(table.c.status == status)
        if set_id is not None:
            listed = literal(",") + table.c.transaction_sets + literal(",")
            query = query.where(listed.contains(f",{set_id},", autoescape=True))
        return [_document(row) for row in self._connection.execute(query)]

    def counts(self, direction: str) -> dict[str, int]:
        table = orm.documents
        rows = self._connection.execute(
            select(table.c.partner, func.count())
            .where(table.c.direction == direction)
            .group_by(table.c.partner)
        )
        return {row[0]: int(row[1]) for row in rows}

    def set_counts(self) -> dict[tuple[str, str], int]:
        sets, documents = orm.document_sets, orm.documents
        rows = self._connection.execute(
            select(documents.c.partner, sets.c.action, func.count())
            .join(documents, documents.c.id == sets.c.document_id)
            .where(documents.c.direction == "in")
            .group_by(documents.c.partner, sets.c.action)
        )
        return {(row[0], row[1]): int(row[2]) for row in rows}


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v for v in (value or "").split(",") if v)


def _document(row: Any) -> StoredDocument:
    return StoredDocument(
        id=row.id,
        sha256=row.sha256,
        partner=row.partner,
        direction=row.direction,
        size=row.size,
        status=row.status,
        raw=getattr(row, "raw", None),
        raw_path=row.raw_path,
        transaction_sets=_split(row.transaction_sets),
        interchange_control=row.interchange_control,
        group_controls=_split(row.group_controls),
        set_controls=_split(row.set_controls),
        sender_id=row.sender_id,
        receiver_id=row.receiver_id,
        filename=row.filename,
        created_at=row.created_at,
        updated_at=row.updated_at,
        processed_at=row.processed_at,
        envelope=row.envelope,
    )


class SqlControlNumbers:
    """Control numbers from the `control_numbers` counters, inside the caller's transaction:
    a number is taken by an atomic `UPDATE ... RETURNING`, so concurrent workers queue on the
    row and each gets the next one; a rolled-back transaction gives its numbers back."""

    def __init__(self, connection: Connection):
        self._connection = connection

    def next(self, partner: str, kind: str) -> int:
        if kind not in CONTROL_KINDS:
            raise ValueError(f"control number kind {kind!r} is not one of {CONTROL_KINDS}")
        table = orm.control_numbers
        for _ in range(2):
            issued = self._connection.execute(
                update(table)
                .where(table.c.partner == partner)
                .where(table.c.kind == kind)
                .values(last=table.c.last % CONTROL_LIMITS[kind] + 1)
                .returning(table.c.last)
            ).scalar()
            if issued is not None:
                return int(issued)
            try:
                with self._connection.begin_nested():
                    self._connection.execute(
                        insert(table).values(partner=partner, kind=kind, last=0)
                    )
            except IntegrityError:
                pass  # another worker created the counter first: take a number from it
        raise ConcurrentUpdate(f"could not issue a {kind} control number for {partner}")


class SqlOutbox:
    """Documents and emails queued for sending, written in the caller's transaction."""

    def __init__(self, connection: Connection, orders: SqlOrderRepository):
        self._connection = connection
        self._orders = orders

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
        stamp = now()
        order_id = self._orders.id_of(order.partner, order.po_number) if order else None
        result = self._connection.execute(
            insert(orm.outbox).values(
                kind=kind,
                partner=partner,
                document_id=document_id,
                order_id=order_id,
                payload=payload,
                status="queued",
                attempts=0,
                created_at=stamp,
                updated_at=stamp,
                group_key=group_key,
            )
        )
        (outbox_id,) = result.inserted_primary_key or (None,)
        assert outbox_id is not None
        return int(outbox_id)

    def pending(self, kind: str | None = None) -> list[dict[str, object]]:
        query = select(orm.outbox).where(orm.outbox.c.status == "queued")
        if kind is not None:
            query = query.where(orm.outbox.c.kind == kind)
        return [dict(row._mapping) for row in self._connection.execute(query)]

    def listing(
        self, kind: str, *, status: str | None = None, limit: int = 100
    ) -> list[OutboxEntry]:
        table = orm.outbox
        query = select(table).where(table.c.kind == kind)
        if status is not None:
            query = query.where(table.c.status == status)
        rows = self._connection.execute(query.order_by(table.c.id.desc()).limit(limit))
        return [_entry(row) for row in rows]

    def latest_in_group(self, kind: str, group_key: str) -> OutboxEntry | None:
        table = orm.outbox
        row = self._connection.execute(
            select(table)
            .where(table.c.kind == kind, table.c.group_key == group_key)
            .order_by(table.c.id.desc())
            .limit(1)
        ).first()
        return _entry(row) if row is not None else None

    def update_payload(self, outbox_id: int, payload: dict[str, object], at: dt.datetime) -> None:
        self._connection.execute(
            update(orm.outbox)
            .where(orm.outbox.c.id == outbox_id)
            .values(payload=payload, updated_at=at)
        )

    def due(self, kind: str, at: dt.datetime, limit: int = 100) -> list[OutboxEntry]:
        """Queued entries of `kind` whose time has come, oldest first."""
        table = orm.outbox
        rows = self._connection.execute(
            select(table)
            .where(table.c.status == "queued", table.c.kind == kind)
            .where((table.c.next_attempt_at.is_(None)) | (table.c.next_attempt_at <= at))
            .order_by(table.c.id)
            .limit(limit)
        )
        return [_entry(row) for row in rows]

    def entry(self, outbox_id: int) -> OutboxEntry | None:
        row = self._connection.execute(
            select(orm.outbox).where(orm.outbox.c.id == outbox_id)
        ).first()
        return _entry(row) if row is not None else None

    def for_document(self, document_id: int) -> list[OutboxEntry]:
        table = orm.outbox
        rows = self._connection.execute(
            select(table).where(table.c.document_id == document_id).order_by(table.c.id)
        )
        return [_entry(row) for row in rows]

    def claim(self, outbox_id: int, at: dt.datetime, until: dt.datetime, holder: str) -> bool:
        """Take a due entry for delivery until `until` (a lease: a worker that dies holding it
        lets it come due again then); False when another worker took it first."""
        table = orm.outbox
        result = self._connection.execute(
            update(table)
            .where(table.c.id == outbox_id, table.c.status == "queued")
            .where((table.c.next_attempt_at.is_(None)) | (table.c.next_attempt_at <= at))
            .values(
                next_attempt_at=until,
                attempts=table.c.attempts + 1,
                claimed_by=holder,
                updated_at=at,
            )
        )
        return result.rowcount == 1

    def claimants(self) -> list[str]:
        """The workers holding entries for delivery now."""
        table = orm.outbox
        rows = self._connection.execute(
            select(table.c.claimed_by)
            .where(table.c.status == "queued", table.c.claimed_by.is_not(None))
            .distinct()
        )
        return [row.claimed_by for row in rows]

    def release_claims(self, holder: str) -> int:
        """Make the entries a dead worker held due again; how many."""
        table = orm.outbox
        result = self._connection.execute(
            update(table)
            .where(table.c.status == "queued", table.c.claimed_by == holder)
            .values(next_attempt_at=None, claimed_by=None)
        )
        return int(result.rowcount)

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
        """Record how a delivery went: sent, failed (given up), or queued again for later."""
        values: dict[str, object] = {
            "status": status,
            "next_attempt_at": next_attempt_at,
            "last_error": error,
            "claimed_by": None,
            "updated_at": at,
        }
        if payload is not None:
            values["payload"] = payload
        self._connection.execute(
            update(orm.outbox).where(orm.outbox.c.id == outbox_id).values(**values)
        )

    def requeue(self, outbox_id: int, at: dt.datetime) -> None:
        """Send an entry again (an operator's resend): queued, due now, attempts counted anew."""
        self._connection.execute(
            update(orm.outbox)
            .where(orm.outbox.c.id == outbox_id)
            .values(
                status="queued", next_attempt_at=None, attempts=0, last_error=None, updated_at=at
            )
        )

    def depths(self) -> list[QueueDepth]:
        table = orm.outbox
        retried = case((table.c.attempts > 0, 1), else_=0)
        rows = self._connection.execute(
            select(
                table.c.kind,
                table.c.status,
                retried,
                func.count(),
                func.min(table.c.created_at),
            )
            .where(table.c.status.in_(("queued", "failed")))
            .group_by(table.c.kind, table.c.status, retried)
        )
        found: dict[str, QueueDepth] = {}
        for kind, status, was_retried, count, oldest in rows:
            depth = found.get(kind) or QueueDepth(kind)
            if status == "failed":
                found[kind] = replace(depth, failed=depth.failed + int(count))
                continue
            waiting = [m for m in (depth.oldest, oldest and _utc(oldest)) if m is not None]
            found[kind] = replace(
                depth,
                queued=depth.queued + int(count),
                retrying=depth.retrying + (int(count) if was_retried else 0),
                oldest=min(waiting, default=None),
            )
        return [found[kind] for kind in sorted(found)]

    def first_queued(self, kind: str, group_key: str) -> int | None:
        table = orm.outbox
        found = self._connection.execute(
            select(func.min(table.c.id)).where(
                table.c.kind == kind, table.c.group_key == group_key, table.c.status == "queued"
            )
        ).scalar()
        return None if found is None else int(found)


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        kind=row.kind,
        partner=row.partner,
        document_id=row.document_id,
        payload=dict(row.payload),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        group_key=row.group_key,
    )


class SqlWebhooks:
    """Webhook subscriptions and their delivery log (see `ports.Webhooks`)."""

    def __init__(self, connection: Connection):
        self._connection = connection

    def add(self, url: str, events: tuple[str, ...], secret_env: str, at: dt.datetime) -> int:
        result = self._connection.execute(
            insert(orm.webhook_subscriptions).values(
                url=url, events=",".join(events), secret_env=secret_env, created_at=at
            )
        )
        (subscription_id,) = result.inserted_primary_key or (None,)
        assert subscription_id is not None
        return int(subscription_id)

    def get(self, subscription_id: int) -> Subscription | None:
        table = orm.webhook_subscriptions
        row = self._connection.execute(select(table).where(table.c.id == subscription_id)).first()
        return None if row is None else _subscription(row)

    def listing(self) -> list[Subscription]:
        table = orm.webhook_subscriptions
        rows = self._connection.execute(
            select(table).where(table.c.removed_at.is_(None)).order_by(table.c.id)
        )
        return [_subscription(row) for row in rows]

    def remove(self, subscription_id: int, at: dt.datetime) -> bool:
        table = orm.webhook_subscriptions
        result = self._connection.execute(
            update(table)
            .where(table.c.id == subscription_id, table.c.removed_at.is_(None))
            .values(removed_at=at)
        )
        return result.rowcount == 1

    def record(self, attempt: WebhookAttempt) -> None:
        self._connection.execute(
            insert(orm.webhook_deliveries).values(
                subscription_id=attempt.subscription_id,
                outbox_id=attempt.outbox_id,
                event_id=attempt.event_id,
                event_type=attempt.event_type,
                attempt=attempt.attempt,
                at=attempt.at,
                status_code=attempt.status_code,
                error=attempt.error,
                delivered=attempt.delivered,
            )
        )

    def attempts(self, subscription_id: int, limit: int = 100) -> list[WebhookAttempt]:
        table = orm.webhook_deliveries
        rows = self._connection.execute(
            select(table)
            .where(table.c.subscription_id == subscription_id)
            .order_by(table.c.id.desc())
            .limit(limit)
        )
        return [
            WebhookAttempt(
                subscription_id=row.subscription_id,
                outbox_id=row.outbox_id,
                event_id=row.event_id,
                event_type=row.event_type,
                attempt=row.attempt,
                at=_utc(row.at),
                status_code=row.status_code,
                error=row.error,
                delivered=bool(row.delivered),
            )
            for row in rows
        ]


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        url=row.url,
        events=tuple(e for e in row.events.split(",") if e),
        secret_env=row.secret_env,
        created_at=_utc(row.created_at),
        removed_at=None if row.removed_at is None else _utc(row.removed_at),
    )


class SqlLeases:
    """Leases in the `leases` table: who works on what until when."""

    def __init__(self, connection: Connection):
        self._connection = connection

    def acquire(self, name: str, holder: str, at: dt.datetime, until: dt.datetime) -> bool:
        """Hold `name` until `until` when it is free, expired or already ours."""
        table = orm.leases
        result = self._connection.execute(
            update(table)
            .where(table.c.name == name)
            .where((table.c.holder == holder) | (table.c.expires_at <= at))
            .values(holder=holder, expires_at=until)
        )
        if result.rowcount == 1:
            return True
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(table).values(name=name, holder=holder, expires_at=until)
                )
        except IntegrityError:
            return False  # held by another worker
        return True

    def release(self, name: str, holder: str) -> None:
        table = orm.leases
        self._connection.execute(
            delete(table).where(table.c.name == name, table.c.holder == holder)
        )

    def holder(self, name: str, at: dt.datetime) -> str | None:
        table = orm.leases
        row = self._connection.execute(
            select(table.c.holder).where(table.c.name == name, table.c.expires_at > at)
        ).first()
        return None if row is None else str(row.holder)

    def holders(self) -> list[str]:
        """The workers holding leases now."""
        rows = self._connection.execute(select(orm.leases.c.holder).distinct())
        return [row.holder for row in rows]

    def release_all(self, holder: str) -> int:
        """Free every lease a dead worker held; how many."""
        result = self._connection.execute(delete(orm.leases).where(orm.leases.c.holder == holder))
        return int(result.rowcount)


class SqlOutages:
    """Outages in the `mailbox_outages` table (see `ports.Outages`)."""

    def __init__(self, connection: Connection):
        self._connection = connection

    def failed(self, partner: str, at: dt.datetime, error: str) -> Outage:
        table = orm.mailbox_outages
        result = self._connection.execute(
            update(table)
            .where(table.c.partner == partner)
            .values(failures=table.c.failures + 1, last_error=error, last_failure_at=at)
        )
        if result.rowcount == 0:
            try:
                with self._connection.begin_nested():
                    self._connection.execute(
                        insert(table).values(
                            partner=partner,
                            down_since=at,
                            failures=1,
                            last_error=error,
                            last_failure_at=at,
                        )
                    )
            except IntegrityError:  # another worker started it meanwhile
                return self.failed(partner, at, error)
        found = self._get(partner)
        assert found is not None
        return found

    def ended(self, partner: str) -> Outage | None:
        found = self._get(partner)
        if found is not None:
            table = orm.mailbox_outages
            self._connection.execute(delete(table).where(table.c.partner == partner))
        return found

    def listing(self) -> list[Outage]:
        table = orm.mailbox_outages
        rows = self._connection.execute(select(table).order_by(table.c.partner))
        return [_outage(row) for row in rows]

    def _get(self, partner: str) -> Outage | None:
        table = orm.mailbox_outages
        row = self._connection.execute(select(table).where(table.c.partner == partner)).first()
        return None if row is None else _outage(row)


def _outage(row: Any) -> Outage:
    return Outage(
        partner=row.partner,
        down_since=row.down_since,
        failures=row.failures,
        last_error=row.last_error,
        last_failure_at=row.last_failure_at,
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    """A time read from the store, aware and in UTC (SQLite gives it back without its zone,
    which is UTC; PostgreSQL in the session's zone)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


_USER_COLUMNS = tuple(
    orm.users.c[name] for name in ("name", "role", "partner", "created_at", "disabled_at")
)


def _user(row: Any) -> User:
    return User(
        name=row.name,
        role=row.role,
        partner=row.partner,
        disabled=row.disabled_at is not None,
        created_at=_utc(row.created_at),
    )


class SqlAccounts:
    """The web console's users, sessions and sign-in log in the `users`, `web_sessions` and
    `sign_ins` tables (see `gateway.service.accounts.Accounts`)."""

    def __init__(self, connection: Connection):
        self._connection = connection

    def add(self, user: User, password_hash: str) -> None:
        """A new user; AccountRefused when the name is taken (by another worker since the
        service looked: the transaction goes on without it)."""
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(orm.users).values(
                        name=user.name,
                        role=user.role,
                        partner=user.partner,
                        password_hash=password_hash,
                        created_at=user.created_at,
                        password_changed_at=user.created_at,
                        disabled_at=None,
                    )
                )
        except IntegrityError:
            raise AccountRefused(
                "user-name-unique", f"a user named {shown(user.name)} exists already"
            ) from None

    def get(self, name: str) -> User | None:
        row = self._connection.execute(
            select(*_USER_COLUMNS).where(orm.users.c.name == name)
        ).first()
        return None if row is None else _user(row)

    def credentials(self, name: str) -> tuple[User, str] | None:
        table = orm.users
        row = self._connection.execute(
            select(*_USER_COLUMNS, table.c.password_hash).where(table.c.name == name)
        ).first()
        return None if row is None else (_user(row), row.password_hash)

    def listing(self) -> list[User]:
        rows = self._connection.execute(select(*_USER_COLUMNS).order_by(orm.users.c.name))
        return [_user(row) for row in rows]

    def disable(self, name: str, at: dt.datetime) -> None:
        table = orm.users
        self._connection.execute(
            update(table)
            .where(table.c.name == name, table.c.disabled_at.is_(None))
            .values(disabled_at=at)
        )

    def set_password_hash(
        self, name: str, password_hash: str, changed_at: dt.datetime | None = None
    ) -> None:
        values: dict[str, object] = {"password_hash": password_hash}
        if changed_at is not None:
            values["password_changed_at"] = changed_at
        self._connection.execute(update(orm.users).where(orm.users.c.name == name).values(**values))

    def add_session(self, token_hash: str, name: str, csrf_token: str, at: dt.datetime) -> None:
        self._connection.execute(
            insert(orm.web_sessions).values(
                token_hash=token_hash,
                user_name=name,
                csrf_token=csrf_token,
                created_at=at,
                last_seen_at=at,
            )
        )

    def session(self, token_hash: str) -> WebSession | None:
        sessions = orm.web_sessions
        row = self._connection.execute(
            select(
                *_USER_COLUMNS,
                sessions.c.csrf_token,
                sessions.c.created_at.label("session_created_at"),
                sessions.c.last_seen_at,
            )
            .join_from(sessions, orm.users, sessions.c.user_name == orm.users.c.name)
            .where(sessions.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return WebSession(
            user=_user(row),
            csrf_token=row.csrf_token,
            created_at=_utc(row.session_created_at),
            last_seen_at=_utc(row.last_seen_at),
        )

    def touch_session(self, token_hash: str, at: dt.datetime) -> None:
        sessions = orm.web_sessions
        self._connection.execute(
            update(sessions).where(sessions.c.token_hash == token_hash).values(last_seen_at=at)
        )

    def end_session(self, token_hash: str) -> bool:
        sessions = orm.web_sessions
        result = self._connection.execute(
            delete(sessions).where(sessions.c.token_hash == token_hash)
        )
        return result.rowcount > 0

    def end_sessions(self, name: str) -> int:
        sessions = orm.web_sessions
        result = self._connection.execute(delete(sessions).where(sessions.c.user_name == name))
        return int(result.rowcount)

    def record_sign_in(self, sign_in: SignIn) -> None:
        self._connection.execute(
            insert(orm.sign_ins).values(
                at=sign_in.at,
                name=sign_in.name,
                address=sign_in.address,
                outcome=sign_in.outcome,
            )
        )

    def count_sign_ins(
        self,
        outcomes: Collection[str],
        since: dt.datetime,
        *,
        name: str | None = None,
        address: str | None = None,
    ) -> int:
        table = orm.sign_ins
        query = (
            select(func.count())
            .select_from(table)
            .where(table.c.at > since, table.c.outcome.in_(list(outcomes)))
        )
        if name is not None:
            query = query.where(table.c.name == name)
        if address is not None:
            query = query.where(table.c.address == address)
        return int(self._connection.execute(query).scalar() or 0)

    def sign_ins(self, limit: int) -> list[SignIn]:
        table = orm.sign_ins
        rows = self._connection.execute(
            select(table).order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
        )
        return [SignIn(_utc(row.at), row.name, row.address, row.outcome) for row in rows]


def _token(row: Any) -> ApiToken:
    return ApiToken(
        name=row.name,
        role=row.role,
        partner=row.partner,
        created_at=_utc(row.created_at),
        last_used_at=None if row.last_used_at is None else _utc(row.last_used_at),
        revoked_at=None if row.revoked_at is None else _utc(row.revoked_at),
    )


_TOKEN_COLUMNS = tuple(
    orm.api_tokens.c[name]
    for name in ("name", "role", "partner", "created_at", "last_used_at", "revoked_at")
)


class SqlApiTokens:
    """The API's tokens in the `api_tokens` table (see `gateway.service.tokens.ApiTokens`)."""

    def __init__(self, connection: Connection):
        self._connection = connection

    def add(self, token: ApiToken, token_hash: str) -> None:
        """A new token; TokenRefused when the name is taken (by another worker since the
        service looked: the transaction goes on without it)."""
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(orm.api_tokens).values(
                        name=token.name,
                        token_hash=token_hash,
                        role=token.role,
                        partner=token.partner,
                        created_at=token.created_at,
                        last_used_at=None,
                        revoked_at=None,
                    )
                )
        except IntegrityError:
            raise TokenRefused(
                "token-name-unique", f"a token named {shown(token.name)} exists already"
            ) from None

    def get(self, name: str) -> ApiToken | None:
        row = self._connection.execute(
            select(*_TOKEN_COLUMNS).where(orm.api_tokens.c.name == name)
        ).first()
        return None if row is None else _token(row)

    def by_hash(self, token_hash: str) -> ApiToken | None:
        row = self._connection.execute(
            select(*_TOKEN_COLUMNS).where(orm.api_tokens.c.token_hash == token_hash)
        ).first()
        return None if row is None else _token(row)

    def listing(self) -> list[ApiToken]:
        rows = self._connection.execute(select(*_TOKEN_COLUMNS).order_by(orm.api_tokens.c.name))
        return [_token(row) for row in rows]

    def revoke(self, name: str, at: dt.datetime) -> None:
        table = orm.api_tokens
        self._connection.execute(
            update(table)
            .where(table.c.name == name, table.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    def touch(self, name: str, at: dt.datetime) -> None:
        table = orm.api_tokens
        self._connection.execute(update(table).where(table.c.name == name).values(last_used_at=at))


class SqlIdempotencyKeys:
    """Requests' outcomes by token and key in the `idempotency_keys` table (see
    `gateway.service.tokens.IdempotencyKeys`)."""

    def __init__(self, connection: Connection):
        self._connection = connection

    def claim(self, token: str, key: str, digest: str, at: dt.datetime) -> bool:
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(orm.idempotency_keys).values(
                        token_name=token, key=key, request_digest=digest, created_at=at
                    )
                )
        except IntegrityError:
            return False
        return True

    def get(self, token: str, key: str) -> KeptOutcome | None:
        table = orm.idempotency_keys
        row = self._connection.execute(
            select(table).where(table.c.token_name == token, table.c.key == key)
        ).first()
        if row is None:
            return None
        return KeptOutcome(
            row.token_name, row.key, row.request_digest, row.status, row.body, _utc(row.created_at)
        )

    def settle(self, token: str, key: str, status: int, body: str) -> None:
        table = orm.idempotency_keys
        self._connection.execute(
            update(table)
            .where(table.c.token_name == token, table.c.key == key)
            .values(status=status, body=body)
        )

    def release(self, token: str, key: str) -> None:
        table = orm.idempotency_keys
        self._connection.execute(
            delete(table).where(table.c.token_name == token, table.c.key == key)
        )


CommitHook = Callable[[Any, list[object]], None]
"""`hook(uow, events)`: called by `commit` with the events of the orders about to be committed,
in the transaction (what it writes commits with them): e.g. the emails they call for."""


class SqlUnitOfWork:
    """One transaction: `with uow: ... uow.commit()`; leaving without commit rolls back.
    The transaction begins at the first statement (on SQLite with `BEGIN IMMEDIATE`)."""

    def __init__(self, engine: Engine, on_commit: Sequence[CommitHook] = ()):
        self._engine = engine
        self._connection: Connection | None = None
        self._on_commit = tuple(on_commit)
        self._uncommitted: list[object] = []

    def __enter__(self) -> SqlUnitOfWork:
        try:
            self._connection = self._engine.connect()
        except OperationalError as exc:
            reason = unavailable(exc.orig or exc, self._engine.dialect.name, connecting=True)
            if reason:
                raise StoreUnavailable(reason) from None
            raise ConfigurationError(f"cannot open the database: {exc.orig}") from None
        self._open_repositories(self._connection)
        self._uncommitted = []
        return self

    def _open_repositories(self, connection: Connection) -> None:
        self.orders = SqlOrderRepository(connection)
        self.documents = SqlDocumentRepository(connection, self.orders)
        self.control_numbers = SqlControlNumbers(connection)
        self.outbox = SqlOutbox(connection, self.orders)
        self.leases = SqlLeases(connection)
        self.outages = SqlOutages(connection)
        self.accounts = SqlAccounts(connection)
        self.tokens = SqlApiTokens(connection)
        self.idempotency = SqlIdempotencyKeys(connection)
        self.webhooks = SqlWebhooks(connection)

    def __exit__(self, *args: object) -> None:
        if self._connection is None:
            return
        self._connection.rollback()
        self._connection.close()
        self._connection = None

    @property
    def connection(self) -> Connection:
        assert self._connection is not None, "the unit of work is not open"
        return self._connection

    def flush(self) -> None:
        """Write what the repositories hold, within the transaction (ids become known)."""
        self.orders.flush()
        self.documents.flush()

    def defer_writes(self) -> None:
        """Hold new orders, their events, their links and the set records back until
        `flush_deferred` or the commit, which write each kind in one statement: for taking
        many sets in one transaction."""
        self.orders.defer_new = True
        self.documents.defer_sets = True

    def flush_deferred(self) -> None:
        """Write what `defer_writes` held back (and anything else pending)."""
        self.orders.flush()
        self.orders.flush_deferred()
        self.documents.flush(final=True)

    def commit(self) -> None:
        self.orders.sweep()
        self.flush_deferred()
        if self._on_commit:
            happened = [
                *self._uncommitted,
                *(event for order in self.orders.seen() for event in order.events),
            ]
            if happened:
                for hook in self._on_commit:
                    hook(self, happened)
                self.orders.sweep()
                self.flush_deferred()  # what the hooks changed
        self.connection.commit()
        self._uncommitted = []
        for order in self.orders.seen():
            order.events.clear()
        self.orders.committed()

    def rollback(self) -> None:
        """Undo the transaction; the unit of work goes on as a new one: what it handed out
        before is forgotten (an order changed before is not written by a later commit)."""
        self.connection.rollback()
        self._uncommitted = []
        self._open_repositories(self.connection)

    @contextlib.contextmanager
    def savepoint(self, *, database: bool = True) -> Iterator[None]:
        """A part of the transaction undone alone when it fails (an exception leaves it): its
        database changes are rolled back and the orders it used are forgotten, to be read again
        as the transaction still has them. Without `database`, no SAVEPOINT is taken: for a
        part whose only writes are held back (`defer_writes`) or come last, once nothing can
        fail any more. Savepoints do not nest."""
        touched = self.orders.watch()
        links = self.documents.pending()
        nested = self.connection.begin_nested() if database else None
        try:
            yield
            self.flush()
            if nested is not None:
                nested.commit()
        except BaseException:
            if nested is not None and nested.is_active:
                nested.rollback()
            forgotten = self.orders.forget(touched)
            self._uncommitted.extend(forgotten)  # written before the savepoint: still to commit
            self.documents.drop_pending(links)
            raise
        finally:
            self.orders.unwatch()

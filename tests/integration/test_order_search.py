"""Finding orders (issue 12), on SQLite and on PostgreSQL: the listing's filters, search, sort
and pages are the database's, and the search terms follow every write of an order, including
the batched one and the migration that brought them to orders stored before."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)

from gateway.adapters import orm
from gateway.adapters.migrate import upgrade
from gateway.adapters.search import normalized, search_terms
from gateway.adapters.store import SqlOrderRepository, SqlUnitOfWork, create_store_engine
from gateway.domain import commands
from gateway.domain.model import Order
from gateway.domain.rules import FulfilmentStatus
from gateway.domain.values import ConfirmationMethod, Party, Role, Side
from gateway.service.messagebus import MessageBus
from gateway.service.ports import OrderQuery
from tests.conftest import PostgresServer, sqlite_config
from tests.integration.spelled_before import OLD_COLUMN, order_row_before
from tests.unit.domain.builders import PARTNER, at, on_order, po_line, quantities, receive_order

DAY = dt.date(2026, 11, 1)


def ups(serial: int) -> str:
    """A UPS tracking number with a right check digit."""
    body = f"1Z999AA1{serial:09d}"
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in body[2:]]
    total = sum(v * (1 if i % 2 == 0 else 2) for i, v in enumerate(values))
    return body + str(-total % 10)


class Desk:
    """Orders made through the message bus on the store under test."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.bus = MessageBus(lambda: SqlUnitOfWork(engine))
        self._fulfilments = itertools.count(1)

    def receive(
        self,
        po: str,
        *,
        partner: str = PARTNER,
        day: dt.date = DAY,
        ship_to: str = "",
        products: tuple[str, ...] = ("SKU-1",),
        role: Role = Role.SELLER,
        is_test: bool = False,
    ) -> None:
        lines = tuple(
            po_line(str(n), 2, product_ids=(("VP", product),))
            for n, product in enumerate(products, start=1)
        )
        command = receive_order(
            order_date=day,
            our_role=role,
            is_test=is_test,
            parties=(Party("ST", ship_to),) if ship_to else (),
        )
        self.bus.handle(dataclasses.replace(command, partner=partner, po_number=po, lines=lines))

    def on(self, po: str, kind: Any, partner: str = PARTNER, **fields: Any) -> None:
        command = on_order(kind, **fields)
        self.bus.handle(dataclasses.replace(command, partner=partner, po_number=po))

    def ship(self, po: str, *lines: str, partner: str = PARTNER, passed_on: bool = False) -> str:
        """Fulfil the lines named (2 units each) with a tracking number of its own, returned."""
        tracking = ups(next(self._fulfilments))
        self.on(
            po,
            commands.CreateFulfilment,
            partner,
            fulfilment_id=f"F-{tracking[-4:]}",
            lines=quantities(*((line, 2) for line in lines)),
            carrier="UPSN",
            tracking_numbers=(tracking,),
            passed_on=passed_on,
        )
        return tracking

    def cancel(self, po: str, partner: str = PARTNER) -> None:
        self.on(po, commands.CancelOrder, partner, cancellation_id="C-all", requested_by=Side.BUYER)

    def complete(self, po: str, partner: str = PARTNER) -> None:
        """An order we buy, acknowledged by the seller and shipped whole by their 856."""
        self.on(po, commands.ConfirmOrder, partner, how=ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED)
        self.ship(po, "1", partner=partner, passed_on=True)

    def find(self, **query: Any) -> list[str]:
        return [s.po_number for s in self.page(**query).summaries]

    def page(self, **query: Any) -> Any:
        with SqlUnitOfWork(self.engine) as uow:
            return uow.orders.summaries(OrderQuery(**query))

    def flags(self, po: str) -> set[str]:
        with SqlUnitOfWork(self.engine) as uow:
            (summary,) = [
                s
                for s in uow.orders.summaries(OrderQuery(scope="all", include_test=True)).summaries
                if s.po_number == po
            ]
            return set(summary.flags)


@pytest.fixture
def desk(store_engine: Engine) -> Desk:
    return Desk(store_engine)


@pytest.fixture
def archive(desk: Desk) -> Desk:
    """PO-OPEN (open work), PO-DONE (completed), PO-VOID (cancelled), PO-TEST (a test order)."""
    desk.receive("PO-OPEN", day=DAY)
    desk.receive("PO-DONE", day=DAY + dt.timedelta(days=1), role=Role.BUYER)
    desk.complete("PO-DONE")
    desk.receive("PO-VOID", day=DAY + dt.timedelta(days=2))
    desk.cancel("PO-VOID")
    desk.receive("PO-TEST", day=DAY + dt.timedelta(days=3), is_test=True)
    assert "completed" in desk.flags("PO-DONE") and "cancelled" in desk.flags("PO-VOID")
    return desk


def test_open_work_by_default_the_archive_on_demand_or_both(archive: Desk):
    assert archive.find() == ["PO-OPEN"]
    assert archive.find(scope="archived") == ["PO-DONE", "PO-VOID"]
    assert archive.find(scope="all") == ["PO-OPEN", "PO-DONE", "PO-VOID"]
    assert archive.find(statuses=("open",), scope="all") == ["PO-OPEN"]
    assert archive.find(statuses=("archived",)) == ["PO-DONE", "PO-VOID"]


def test_a_status_of_the_archive_looks_in_the_archive_unless_told_otherwise(archive: Desk):
    assert archive.find(statuses=("cancelled",)) == ["PO-VOID"]
    assert archive.find(statuses=("completed",)) == ["PO-DONE"]
    assert archive.find(statuses=("cancelled",), scope="open") == []


def test_test_orders_are_left_out_unless_asked_for(archive: Desk):
    assert archive.find(include_test=True) == ["PO-OPEN", "PO-TEST"]
    assert archive.find(statuses=("test",)) == ["PO-TEST"]


def test_repeated_statuses_must_all_hold(desk: Desk):
    desk.receive("PO-1")
    desk.receive("PO-2", role=Role.BUYER)
    desk.receive("PO-3", role=Role.BUYER)
    for po in ("PO-2", "PO-3"):  # the seller's 855 received
        desk.on(po, commands.ConfirmOrder, how=ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED)
    desk.ship("PO-1", "1")
    desk.ship("PO-2", "1")
    assert desk.find(statuses=("shipped",)) == ["PO-1", "PO-2"]
    assert desk.find(statuses=("confirmed",)) == ["PO-2", "PO-3"]
    assert desk.find(statuses=("shipped", "confirmed")) == ["PO-2"]
    assert desk.find(statuses=("settled", "shipped")) == ["PO-1", "PO-2"]
    assert desk.page(statuses=("shipped", "confirmed")).total == 1


def test_fulfilment_and_payment_statuses_filter(desk: Desk):
    desk.receive("PO-1", products=("A", "B"))
    desk.receive("PO-2", products=("A", "B"))
    desk.receive("PO-3")
    desk.ship("PO-2", "1")
    desk.ship("PO-3", "1")
    desk.on(
        "PO-3",
        commands.RecordInvoice,
        invoice_number="INV-3",
        amount=Decimal("5.00"),
        lines=quantities(("1", 2)),
    )
    desk.on("PO-3", commands.MarkPaid, amount=Decimal("5.00"))
    statuses = {s.po_number: s for s in desk.page(scope="all").summaries}
    assert statuses["PO-1"].fulfilment_status == FulfilmentStatus.UNFULFILLED.value
    assert statuses["PO-2"].fulfilment_status == FulfilmentStatus.PARTIALLY_FULFILLED.value
    for po, summary in statuses.items():
        assert desk.find(fulfilment_status=summary.fulfilment_status, scope="all") == [po]
    paid = statuses["PO-3"].payment_status
    assert paid != statuses["PO-1"].payment_status
    assert desk.find(payment_status=paid, scope="all") == ["PO-3"]
    assert desk.find(payment_status=statuses["PO-1"].payment_status) == ["PO-1", "PO-2"]


def test_the_order_date_bounds_include_both_days_and_the_partner_narrows(desk: Desk):
    for n in range(5):
        desk.receive(f"PO-{n}", day=DAY + dt.timedelta(days=n), partner="ACME" if n % 2 else "BOLT")
    assert desk.find(since=DAY + dt.timedelta(days=1), until=DAY + dt.timedelta(days=3)) == [
        "PO-1", "PO-2", "PO-3"
    ]  # fmt: skip
    assert desk.find(since=DAY + dt.timedelta(days=4)) == ["PO-4"]
    assert desk.find(until=DAY) == ["PO-0"]
    assert desk.find(partner="ACME") == ["PO-1", "PO-3"]
    assert desk.find(partner="BOLT", since=DAY + dt.timedelta(days=1)) == ["PO-2", "PO-4"]
    with SqlUnitOfWork(desk.engine) as uow:
        assert uow.orders.partners() == ["ACME", "BOLT"]


def test_a_search_finds_the_start_of_a_po_product_ship_to_name_or_word_and_tracking(desk: Desk):
    desk.receive("HV-4500871250", ship_to="Ångström Café & Co", products=("UPC-0840001",))
    desk.receive("PC-77001", ship_to="Riverside Mall", products=("SKU-RED-42", "SKU-BLUE-7"))
    tracking = desk.ship("PC-77001", "1")
    found = {
        "hv-45008": ["HV-4500871250"],  # a PO number, any case
        "upc-084": ["HV-4500871250"],  # a line's product id
        "sku-blue": ["PC-77001"],
        "sku": ["PC-77001"],
        "ångström": ["HV-4500871250"],  # the ship-to name, whole
        "ÅNGSTRÖM CAFÉ": ["HV-4500871250"],
        "caf": ["HV-4500871250"],  # or a word of it
        "MALL": ["PC-77001"],
        "riverside   mall": ["PC-77001"],  # spaces as the name has them
        tracking.lower()[:10]: ["PC-77001"],  # a tracking number
        tracking: ["PC-77001"],
        "": [],
    }
    for text_, expected in found.items():
        if text_:
            assert desk.find(search=text_) == expected, text_
    for inside in ("4500871250", "red-42", "verside", tracking[4:]):  # not at the start
        assert desk.find(search=inside) == [], inside
    assert desk.find(search="zz") == []
    assert desk.find(search="sku", partner="OTHER") == []


def test_a_search_stays_within_the_scope_and_filters(archive: Desk):
    assert archive.find(search="po-") == ["PO-OPEN"]
    assert archive.find(search="po-", scope="all") == ["PO-OPEN", "PO-DONE", "PO-VOID"]
    assert archive.find(search="po-v", scope="archived") == ["PO-VOID"]
    assert archive.find(search="po-t", include_test=True) == ["PO-TEST"]


def test_sorted_by_date_po_partner_or_last_change_either_way(desk: Desk):
    desk.receive("PO-B", partner="ZED", day=DAY)
    desk.receive("PO-C", partner="ACME", day=DAY + dt.timedelta(days=2))
    desk.receive("PO-A", partner="MID", day=DAY + dt.timedelta(days=1))
    desk.ship("PO-B", "1", partner="ZED")  # changed last
    assert desk.find() == ["PO-B", "PO-A", "PO-C"]
    assert desk.find(descending=True) == ["PO-C", "PO-A", "PO-B"]
    assert desk.find(sort="po") == ["PO-A", "PO-B", "PO-C"]
    assert desk.find(sort="po", descending=True) == ["PO-C", "PO-B", "PO-A"]
    assert desk.find(sort="partner") == ["PO-C", "PO-A", "PO-B"]
    assert desk.find(sort="updated", descending=True)[0] == "PO-B"
    assert desk.find(sort="updated") == ["PO-C", "PO-A", "PO-B"]


def test_a_page_holds_limit_orders_from_offset_and_counts_them_all(desk: Desk):
    for n in range(7):
        desk.receive(f"PO-{n}", day=DAY + dt.timedelta(days=n))
    desk.receive("PO-SAME-DAY", day=DAY + dt.timedelta(days=3))
    pages = [desk.page(limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [p.total for p in pages] == [8, 8, 8, 8]
    assert [p.offset for p in pages] == [0, 3, 6, 9]
    listed = [s.po_number for p in pages for s in p.summaries]
    assert listed == desk.find(limit=None) and len(set(listed)) == 8
    assert [len(p.summaries) for p in pages] == [3, 3, 2, 0]
    assert desk.page(limit=3, offset=3, descending=True).total == 8
    assert desk.page(limit=None).total == 8


def test_the_terms_follow_the_order_a_tracking_number_and_a_new_ship_to(desk: Desk):
    desk.receive("PO-1", ship_to="Harbor Outlet", products=("A", "B"))
    assert desk.find(search="1z999") == []
    tracking = desk.ship("PO-1", "1")
    assert desk.find(search=tracking) == ["PO-1"]
    desk.on(
        "PO-1",
        commands.ChangeCustomer,
        ship_to=Party("ST", "Lakeview Depot"),
        reason="moved",
        at=at(30),
    )
    assert desk.find(search="lakeview") == ["PO-1"] == desk.find(search="depot")
    assert desk.find(search="harbor") == [] and desk.find(search="outlet") == []
    assert desk.find(search=tracking[:12]) == ["PO-1"]  # kept
    with desk.engine.connect() as connection:
        terms = connection.execute(select(orm.order_search_terms.c.term)).scalars().all()
    assert sorted(terms) == sorted(
        {"po-1", "a", "b", tracking.lower(), "lakeview depot", "lakeview", "depot"}
    )


def test_orders_written_in_one_batch_get_their_terms(store_engine: Engine):
    with SqlUnitOfWork(store_engine) as uow:
        uow.defer_writes()
        for po, name in (("PO-X1", "North Pier"), ("PO-X2", "South Pier")):
            command = receive_order(parties=(Party("ST", name),))
            uow.orders.add(Order.receive(dataclasses.replace(command, po_number=po)))
        uow.commit()
    desk = Desk(store_engine)
    assert desk.find(search="pier") == ["PO-X1", "PO-X2"]
    assert desk.find(search="south") == ["PO-X2"]


# -- a search read terms first or orders first ---------------------------------------------------

SHIP_TO = ("Store 01 Riverside", "Store 02 Harbor", "Storage Depot", "Riverside Mall", "")
PRODUCTS = (
    ("SKU-RED-1",),
    ("SKU-RED-1", "SKU-RED-2"),  # two terms of the order start with "sku-red"
    ("SKU-BLUE-1",),
    ("UPC-0840001", "SKU-RED-9"),
)
SEARCHES = ("stor", "store", "STORE 01", "riverside", "sku-red", "sku-red-1", "po-001", "1z", "zzz")
FILTERS: tuple[dict[str, Any], ...] = (
    {},
    {"scope": "all"},
    {"scope": "archived"},
    {"include_test": True, "scope": "all"},
    {"partner": "BOLT"},
    {"statuses": ("shipped",)},
    {"since": DAY + dt.timedelta(days=3), "until": DAY + dt.timedelta(days=8), "scope": "all"},
)
SORTS = (("date", False), ("po", True), ("partner", False), ("updated", True))
PAGES = ((5, 0), (5, 5), (4, 40), (None, 0))  # (limit, offset); 40 is past the end


@pytest.fixture
def varied(desk: Desk) -> Desk:
    """36 orders of three partners over twelve days: ship-to names that share words, lines whose
    product ids share a prefix (several terms of one order match "sku-red"), shipped (with
    their tracking numbers), cancelled, completed and test orders."""
    days = [3, 0, 7, 11, 3, 5, 9, 1, 3, 10, 6, 2]
    for n in range(36):
        po, partner, fate = f"PO-{n:04d}", ("ACME", "BOLT", "CRUX")[n % 3], n % 6
        desk.receive(
            po,
            partner=partner,
            day=DAY + dt.timedelta(days=days[n % 12]),
            ship_to=SHIP_TO[n % 5],
            products=PRODUCTS[n % 4],
            role=Role.BUYER if fate == 4 else Role.SELLER,
            is_test=n % 12 == 5,
        )
        if fate in (1, 2):
            desk.ship(po, "1", partner=partner)
        elif fate == 3:
            desk.cancel(po, partner)
        elif fate == 4:
            desk.complete(po, partner)
    return desk


def expected(engine: Engine, query: OrderQuery) -> tuple[list[str], int]:
    """The page and total of `query`, by a plain filter over every order in Python."""
    with engine.connect() as connection:
        rows = connection.execute(select(orm.orders)).all()
    statuses = {name.lower() for name in query.statuses}

    def status(row: Any, name: str) -> bool:
        if name in ("open", "archived"):
            return bool(row.archived) == (name == "archived")
        if name == "test":
            return bool(row.is_test)
        if name in orm.FLAG_COLUMNS:
            return bool(row._mapping[name])
        return name in row.flags.split(",")

    def kept(row: Any) -> bool:
        scope = query.effective_scope
        return (
            ("test" in statuses or query.include_test or not row.is_test)
            and (scope == "all" or bool(row.archived) == (scope == "archived"))
            and query.partner in (None, row.partner)
            and all(status(row, name) for name in statuses)
            and (query.since is None or row.order_date >= query.since.isoformat())
            and (query.until is None or row.order_date <= query.until.isoformat())
            and (
                query.search is None
                or any(t.startswith(normalized(query.search)) for t in search_terms(row.state))
            )
        )

    keys = {
        "date": lambda r: (r.order_date, r.id),
        "po": lambda r: (r.po_number, r.id),
        "partner": lambda r: (r.partner, r.po_number),
        "updated": lambda r: (r.updated_at, r.id),
    }[query.sort]
    found = sorted(filter(kept, rows), key=keys, reverse=query.descending)
    end = None if query.limit is None else query.offset + query.limit
    return [row.po_number for row in found[query.offset : end]], len(found)


def test_a_search_finds_the_same_read_terms_first_or_orders_first(varied: Desk):
    """Every search, filter, sort and page read both ways (the threshold of the listing set so
    that one or the other is chosen) finds what a plain filter over every order finds."""
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(varied.engine, "before_cursor_execute", note)
    checked = 0
    try:
        for n, (search, filters) in enumerate(itertools.product(SEARCHES, FILTERS)):
            sort, descending = SORTS[n % len(SORTS)]
            for limit, offset in dict.fromkeys((PAGES[0], PAGES[n % len(PAGES)])):
                query = OrderQuery(
                    search=search,
                    sort=sort,
                    descending=descending,
                    limit=limit,
                    offset=offset,
                    **filters,
                )
                want = expected(varied.engine, query)
                for threshold, broad in ((10**9, False), (0, True)):
                    statements.clear()
                    with SqlUnitOfWork(varied.engine) as uow:
                        uow.orders.broad_search = threshold
                        page = uow.orders.summaries(query)
                    got = ([s.po_number for s in page.summaries], page.total)
                    assert got == want, (query, broad)
                    assert page.offset == offset
                    if want[1]:  # else no order is read: the range holds no term
                        read = [s for s in statements if "FROM orders" in s]
                        assert any("EXISTS" in s for s in read) == broad, (query, read)
                checked += bool(want[1])
    finally:
        event.remove(varied.engine, "before_cursor_execute", note)
    assert checked > 80  # most of them find something


def test_the_plan_follows_how_many_terms_the_range_holds(varied: Desk):
    """Terms first up to the threshold (rows of the terms' index, not orders), orders first
    above it; a text that starts no term reads no order at all."""
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    with varied.engine.connect() as connection:
        terms = orm.order_search_terms
        held = connection.execute(
            select(func.count()).where(terms.c.term >= "sku-red", terms.c.term < "sku-ree")
        ).scalar()
    found = expected(varied.engine, OrderQuery(search="sku-red", scope="all"))[1]
    assert held is not None and held > found  # some orders have two of these terms
    event.listen(varied.engine, "before_cursor_execute", note)
    try:
        for threshold, broad in ((held, False), (held - 1, True)):
            statements.clear()
            with SqlUnitOfWork(varied.engine) as uow:
                uow.orders.broad_search = threshold
                page = uow.orders.summaries(OrderQuery(search="sku-red", scope="all", limit=3))
            assert any("EXISTS" in s for s in statements) == broad
            assert page.total == found
        statements.clear()
        assert varied.page(search="zzz").total == 0
        assert [s for s in statements if "FROM orders" in s] == []
    finally:
        event.remove(varied.engine, "before_cursor_execute", note)


def test_a_broad_search_counts_so_far_then_says_more(varied: Desk):
    """Read orders first, a search counts its orders up to `counted_at_most`: past it, the
    page says "more than" that many (never more than there are); under it, the exact total."""
    query = OrderQuery(search="sku-red", scope="all", limit=2)
    found = expected(varied.engine, query)
    assert found[1] > 3
    for at_most, total, more in ((found[1] + 5, found[1], False), (3, 3, True)):
        with SqlUnitOfWork(varied.engine) as uow:
            uow.orders.broad_search = 0
            uow.orders.counted_at_most = at_most
            page = uow.orders.summaries(query)
        assert ([s.po_number for s in page.summaries], page.total, page.more) == (
            found[0],
            total,
            more,
        )
    with SqlUnitOfWork(varied.engine) as uow:  # read terms first, the count is exact
        uow.orders.counted_at_most = 3
        assert (uow.orders.summaries(query).total, uow.orders.summaries(query).more) == (
            found[1],
            False,
        )


def test_a_search_ending_with_the_highest_code_point_either_way(desk: Desk):
    """No string is above every term starting with such a text: the range is closed by
    comparing the start of the terms instead, in both plans ("ac" and "abz" are not found)."""
    top = chr(0x10FFFF)
    for n, name in enumerate((f"Ab{top}", f"Ab{top}cd Depot", "Ac", "Abz")):
        desk.receive(f"PO-{n}", ship_to=name, day=DAY + dt.timedelta(days=n))
    for threshold in (10**9, 0):
        with SqlUnitOfWork(desk.engine) as uow:
            uow.orders.broad_search = threshold
            page = uow.orders.summaries(OrderQuery(search=f"AB{top}", limit=1))
            assert ([s.po_number for s in page.summaries], page.total) == (["PO-0"], 2)
            page = uow.orders.summaries(OrderQuery(search=f"ab{top}c"))
            assert [s.po_number for s in page.summaries] == ["PO-1"]


# -- the migration ------------------------------------------------------------------------------

_DATABASES = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with nothing in it (not even the schema)."""
    if request.param == "sqlite":
        engine = create_store_engine(sqlite_config(tmp_path))
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        assert server.admin is not None
        name = f"gateway_empty_{next(_DATABASES)}"
        with server.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        engine = create_engine(server.url(name))
    yield engine
    engine.dispose()


def _row_before_0005(order: Order) -> dict[str, Any]:
    """The orders row of an order as the store wrote it up to revision 0004 (fulfilment spelled
    the old way too, until 0006)."""
    columns = SqlOrderRepository._columns(order)
    stamp = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    kept = {k: v for k, v in columns.items() if k not in ("settled", "archived")}
    return order_row_before({**kept, "created_at": stamp, "updated_at": stamp})


def test_the_migration_fills_the_search_of_orders_stored_before_it(empty_engine: Engine):
    upgrade(empty_engine, "0004")
    shipped = Order.receive(receive_order(parties=(Party("ST", "Cedar Ridge Supply"),)))
    shipped.handle(
        on_order(
            commands.CreateFulfilment,
            fulfilment_id="F1",
            lines=quantities(("1", 10)),
            carrier="UPSN",
            tracking_numbers=(ups(42),),
        )
    )
    void = Order.receive(dataclasses.replace(receive_order(), po_number="PO-VOID"))
    void.handle(
        dataclasses.replace(
            on_order(commands.CancelOrder, cancellation_id="C1", requested_by=Side.BUYER),
            po_number="PO-VOID",
        )
    )
    as_before = Table(
        "orders",
        MetaData(),
        *(
            Column(
                OLD_COLUMN if c.name == "fulfilment_status" else c.name,
                c.type,
                primary_key=c.primary_key,
            )
            for c in orm.orders.columns
            if c.name not in ("settled", "archived")
        ),
    )
    with empty_engine.begin() as connection:
        connection.execute(insert(as_before), [_row_before_0005(shipped), _row_before_0005(void)])
    upgrade(empty_engine)
    desk = Desk(empty_engine)
    assert desk.find() == ["PO-1001"]
    assert desk.find(scope="archived") == ["PO-VOID"]
    assert desk.find(statuses=("settled",), scope="all") == ["PO-1001", "PO-VOID"]
    assert desk.find(search="cedar") == ["PO-1001"] == desk.find(search="supply")
    # its tracking number, stored under the old spelling: the search 0005 ran missed it, 0006
    # adds it
    assert desk.find(search=ups(42)) == ["PO-1001"]
    assert desk.find(search="sku-1", scope="all") == ["PO-1001", "PO-VOID"]
    with empty_engine.connect() as connection:
        counted = connection.execute(
            select(func.count()).select_from(orm.order_search_terms)
        ).scalar()
    assert counted == len(
        {"po-1001", "sku-1", "cedar ridge supply", "cedar", "ridge", "supply", ups(42).lower()}
    ) + len({"po-void", "sku-1"})

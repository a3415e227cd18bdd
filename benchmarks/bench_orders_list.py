"""Order listing benchmark (issue 12): a filtered, searched or sorted page of 50 out of 100,000
orders on SQLite, timed as a ratio to a page of 50 with no filter (open work, by order date),
taken in the same interleaved rounds (best of each); target at most 3x.

The store is built fast: its rows are written straight into the migrated tables (the columns
the listing reads, a small state holding what the search terms come from, and the terms, from
`gateway.adapters.search.search_terms` as the store writes them), with varied partners, dates
over two years, flags and statuses, three lines of products out of 20,000, ship-to names and
tracking numbers. Each page is read the way `gateway orders list` reads it: a unit of work,
`uow.orders.summaries(query)` (the page and, unless it is the last, the count). With
`--plans`, SQLite's EXPLAIN QUERY PLAN of every statement run for each case is printed; with
`--analyze`, the store is analyzed first (the gateway never does: its plans come from SQLite's
heuristics, which is what the figures are taken with by default).

Run: `.venv/bin/python benchmarks/bench_orders_list.py [--orders N] [--rounds N] [--plans]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event, insert  # noqa: E402

from gateway.adapters import orm  # noqa: E402
from gateway.adapters.migrate import upgrade  # noqa: E402
from gateway.adapters.search import search_terms  # noqa: E402
from gateway.adapters.store import SqlUnitOfWork, create_store_engine  # noqa: E402
from gateway.config import GatewayConfig  # noqa: E402
from gateway.domain.rules import FulfilmentStatus, PaymentStatus  # noqa: E402
from gateway.service.ports import OrderQuery  # noqa: E402

PARTNERS = ("harborview", "pinecrest", "northwind", "bluewater", "cedarline", "oakmont")
FIRST_DAY = dt.date(2025, 1, 1)
DAYS = 730
PRODUCTS = 20_000
STREETS = ("Riverside", "Main Street", "Harbor", "Lakeview", "Oak Park", "Hillcrest", "Mill Road")
BATCH = 5_000


def order_row(number: int, rng: random.Random, stamp: dt.datetime) -> dict[str, Any]:
    """One synthetic order: what the listing reads, and a state holding its search terms."""
    fulfilment = [s.value for s in FulfilmentStatus]
    payment = [s.value for s in PaymentStatus]
    partner = PARTNERS[min(int(rng.expovariate(0.6)), len(PARTNERS) - 1)]
    day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
    fate = rng.random()
    completed = fate < 0.45
    cancelled = 0.45 <= fate < 0.55
    shipped = completed or 0.55 <= fate < 0.70
    paid = completed and rng.random() < 0.8
    returned = completed and rng.random() < 0.01
    flags = {"confirmed"} if fate < 0.9 else set()
    flags |= {"shipped", "settled"} if shipped else set()
    flags |= {"completed"} if completed else set()
    flags |= {"cancelled", "settled"} if cancelled else set()
    flags |= {"paid"} if paid else set()
    flags |= {"returned"} if returned else set()
    is_test = rng.random() < 0.01
    flags |= {"test"} if is_test else set()
    po_number = f"{partner[:2].upper()}{4500000000 + number}"
    lines = []
    for line in range(1, 4):
        product = rng.randrange(PRODUCTS)
        lines.append(
            {
                "line_number": str(line),
                "product_ids": {"UP": f"0{840000000000 + product}", "VN": f"SKU-{product:05d}"},
            }
        )
    store = rng.randrange(2_000)
    ship_to = f"Store {store:04d} {STREETS[store % len(STREETS)]}"
    fulfilments = (
        [{"id": "F1", "tracking_numbers": [f"1Z{number:08d}{rng.randrange(10**8):08d}"]}]
        if shipped
        else []
    )
    state = {
        "po_number": po_number,
        "partner": partner,
        "lines": lines,
        "parties": [{"entity_code": "ST", "name": ship_to}],
        "fulfilments": fulfilments,
    }
    return {
        "partner": partner,
        "po_number": po_number,
        "our_role": "seller",
        "is_test": is_test,
        "order_date": day.isoformat(),
        "flags": ",".join(sorted(flags)),
        "confirmed": "confirmed" in flags,
        "settled": "settled" in flags,
        "shipped": shipped,
        "paid": paid,
        "completed": completed,
        "returned": returned,
        "cancelled": cancelled,
        "archived": completed or cancelled,
        "fulfilment_status": fulfilment[-1] if cancelled else fulfilment[2 if shipped else 0],
        "payment_status": payment[rng.randrange(len(payment))],
        "state": state,
        "version": 1,
        "created_at": stamp,
        "updated_at": stamp + dt.timedelta(seconds=rng.randrange(DAYS * 86_400)),
    }


def build_store(
    folder: Path, orders: int, *, analyze: bool = False
) -> tuple[Engine, list[dict[str, Any]]]:
    """A migrated SQLite store holding `orders` orders, and the rows written. Without
    `analyze`, SQLite plans without statistics, as in a gateway's store (nothing runs ANALYZE
    there)."""
    engine = create_store_engine(GatewayConfig(data_dir=folder))
    upgrade(engine)
    rng = random.Random(12)
    stamp = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    written: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for start in range(0, orders, BATCH):
            rows = [order_row(n, rng, stamp) for n in range(start, min(start + BATCH, orders))]
            ids = connection.execute(
                insert(orm.orders).returning(orm.orders.c.id, sort_by_parameter_order=True), rows
            ).scalars()
            terms = [
                {"order_id": order_id, "term": term}
                for order_id, row in zip(ids, rows, strict=True)
                for term in search_terms(row["state"])
            ]
            connection.execute(insert(orm.order_search_terms), terms)
            written.extend(rows)
        if analyze:
            connection.exec_driver_sql("ANALYZE")
    return engine, written


def cases(rows: list[dict[str, Any]]) -> dict[str, OrderQuery]:
    """The queries timed, with values taken from the rows written (a PO number, a tracking
    number, a product id and a payment status that the store holds)."""
    rng = random.Random(7)
    middle = rows[len(rows) // 2]
    shipped = next(r for r in rows[len(rows) // 3 :] if r["state"]["fulfilments"])
    payments = [s.value for s in PaymentStatus]
    paid = "paid" if "paid" in payments else payments[0]
    return {
        "unfiltered": OrderQuery(),
        "status shipped, one month": OrderQuery(
            statuses=("shipped",), since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 31)
        ),
        "status confirmed (no dates)": OrderQuery(statuses=("confirmed",)),
        "status returned (rare)": OrderQuery(statuses=("returned",), scope="all"),
        "archived, newest first": OrderQuery(scope="archived", descending=True),
        "test orders included": OrderQuery(include_test=True),
        "payment status": OrderQuery(payment_status=paid),
        "fulfilment status": OrderQuery(fulfilment_status=rows[1]["fulfilment_status"]),
        "partner, newest first": OrderQuery(partner=PARTNERS[2], descending=True),
        "search PO": OrderQuery(search=middle["po_number"], scope="all"),
        "search tracking number": OrderQuery(
            search=shipped["state"]["fulfilments"][0]["tracking_numbers"][0], scope="all"
        ),
        "search product id": OrderQuery(
            search=rng.choice(middle["state"]["lines"])["product_ids"]["VN"], scope="all"
        ),
        "search ship-to word (1 store in 2,000)": OrderQuery(search="store 0042"),
        "updated desc, offset 5,000": OrderQuery(sort="updated", descending=True, offset=5_000),
        "every order, by PO": OrderQuery(scope="all", sort="po"),
        "every order, by partner": OrderQuery(scope="all", sort="partner"),
        "search a street (1 ship-to name in 7)": OrderQuery(search="riverside"),
        "search a word of every ship-to name": OrderQuery(search="store"),
    }


def timed(engine: Engine, query: OrderQuery) -> tuple[float, int]:
    start = time.perf_counter()
    with SqlUnitOfWork(engine) as uow:
        page = uow.orders.summaries(query)
    return time.perf_counter() - start, page.total


def plans(engine: Engine, query: OrderQuery) -> list[str]:
    """SQLite's plan of each statement a listing runs."""
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        timed(engine, query)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    found = []
    with engine.connect() as connection:
        for statement, parameters in seen:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            found.append(" / ".join(row[3] for row in rows))
        connection.rollback()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--plans", action="store_true", help="print each case's query plans")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE the store first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        start = time.perf_counter()
        engine, rows = build_store(Path(temporary), args.orders, analyze=args.analyze)
        built = time.perf_counter() - start
        queries = cases(rows)
        best = dict.fromkeys(queries, float("inf"))
        totals: dict[str, int] = {}
        for name, query in queries.items():  # a warm-up round, not counted
            totals[name] = timed(engine, query)[1]
        for _ in range(args.rounds):
            for name, query in queries.items():
                best[name] = min(best[name], timed(engine, query)[0])
        if args.plans:
            for name, query in queries.items():
                print(f"{name}:")
                for plan in plans(engine, query):
                    print(f"    {plan}")
        engine.dispose()
    baseline = best["unfiltered"]
    figures = {
        "orders": args.orders,
        "store_built_seconds": round(built, 1),
        "baseline_ms": round(baseline * 1000, 2),
        "cases": {
            name: {
                "ratio": round(seconds / baseline, 2),
                "ms": round(seconds * 1000, 2),
                "found": totals[name],
            }
            for name, seconds in best.items()
        },
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

"""What the monitoring sees of the gateway (`GET /metrics`, `gateway run --metrics-port`), as
plain data: a `Snapshot` read from the store and the data folder at each scrape, turned into the
Prometheus text format by `gateway.adapters.metrics`.

Strategy: nothing is counted in memory, so every worker and the console answer the same figures
and a restart loses none. The figures come from the store's own aggregates (documents and set
records per partner, the outbox per kind) and from `gateway.service.report`'s functions (orders
per partner and state, acknowledgements overdue, mailboxes unreachable, files in quarantine), so
`gateway report` and the metrics cannot disagree. Test orders are left out, as in the report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gateway.service.documents import NOT_REPLAYED, TROUBLED
from gateway.service.notify import KIND as MAIL_KIND
from gateway.service.ports import FileStore, UnitOfWork
from gateway.service.report import (
    order_counts,
    overdue_acknowledgements,
    quarantined_files,
    unreachable_mailboxes,
)

DOCUMENT_KIND = "x12"
"""The outbox's kind of the documents delivered to partners' mailboxes."""
WEBHOOK_KIND = "webhook"
"""The outbox's kind of webhook deliveries (when webhooks are configured)."""
QUEUE_KINDS = (DOCUMENT_KIND, MAIL_KIND)
"""The queues always reported, at 0 when empty; any other kind found in the outbox is too."""
SET_RESULTS = ("accepted", "rejected", "duplicate")
"""What became of an inbound set, for the monitoring: `rejected` (rejected, refused, not
mapped, unauthorized), `duplicate` (already taken in), else `accepted`."""


def set_result(action: str) -> str:
    """The result (SET_RESULTS) of a set record's action."""
    if action in TROUBLED or action == "unauthorized":
        return "rejected"
    if action in NOT_REPLAYED:
        return "duplicate"
    return "accepted"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The gateway's figures at one moment (see the module docstring). Every mapping is keyed by
    its labels: a partner, (partner, result), (partner, state), a queue's kind."""

    files_received: dict[str, int] = field(default_factory=dict)
    files_quarantined: dict[str, int] = field(default_factory=dict)
    sets: dict[tuple[str, str], int] = field(default_factory=dict)
    orders: dict[tuple[str, str], int] = field(default_factory=dict)
    queue_depth: dict[str, int] = field(default_factory=dict)
    queue_oldest_age: dict[str, float] = field(default_factory=dict)  # seconds; 0 when empty
    acknowledgements_overdue: dict[str, int] = field(default_factory=dict)
    mailbox_up: dict[str, bool] = field(default_factory=dict)
    webhook_deliveries_failing: int = 0


def take_snapshot(
    uow_factory: Callable[[], UnitOfWork],
    files: FileStore,
    partners: Sequence[str],
    now: dt.datetime,
) -> Snapshot:
    """The figures now, for the configured `partners` (each reported at 0 when it has nothing,
    and any other partner found in the store too), in one unit of work."""
    with uow_factory() as uow:
        received = uow.documents.counts("in")
        set_rows = uow.documents.set_counts()
        counts = order_counts(uow)
        overdue = overdue_acknowledgements(uow)
        down = {row["partner"] for row in unreachable_mailboxes(uow)}
        depths = {depth.kind: depth for depth in uow.outbox.depths()}
    quarantined = quarantined_files(files)
    every = sorted({*partners, *received, *counts, *(p for p, _ in set_rows)})
    sets = {(p, result): 0 for p in every for result in SET_RESULTS}
    for (partner, action), count in set_rows.items():
        sets[partner, set_result(action)] += count
    queue_depth: dict[str, int] = {}
    queue_oldest_age: dict[str, float] = {}
    for kind in sorted({*QUEUE_KINDS, *depths}):
        depth = depths.get(kind)
        queue_depth[kind] = depth.queued if depth else 0
        oldest = depth.oldest if depth else None
        queue_oldest_age[kind] = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    webhooks = depths.get(WEBHOOK_KIND)
    return Snapshot(
        files_received={p: received.get(p, 0) for p in every},
        files_quarantined={
            p: sum(1 for q in quarantined if q["partner"] == p)
            for p in sorted({*every, *(q["partner"] for q in quarantined)})
        },
        sets=sets,
        orders={
            (partner, state): count
            for partner, row in sorted(counts.items())
            for state, count in row.items()
        },
        queue_depth=queue_depth,
        queue_oldest_age=queue_oldest_age,
        acknowledgements_overdue={
            p: sum(1 for d in overdue if d["partner"] == p)
            for p in sorted({*every, *(d["partner"] for d in overdue)})
        },
        mailbox_up={p: p not in down for p in sorted({*partners, *down})},
        webhook_deliveries_failing=webhooks.retrying + webhooks.failed if webhooks else 0,
    )


def store_answers(uow_factory: Callable[[], UnitOfWork]) -> str:
    """Whether the store answers a trivial query now: "" when it does, else why not (for
    `GET /healthz`)."""
    try:
        with uow_factory() as uow:
            uow.outages.listing()
    except Exception as exc:  # any failure of the store makes the gateway unhealthy
        return f"{type(exc).__name__}: {exc}"
    return ""

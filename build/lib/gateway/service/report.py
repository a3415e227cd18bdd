"""`gateway report`: what an operator wants to know at the start of a day.

Orders counted per partner and state (each flag, the open ones, the total), the documents we
sent that a partner has not acknowledged past its deadline, the files in quarantine; all since
a day when asked (orders changed, documents sent, files quarantined since then). And the
partners' mailboxes unreachable now, since when (kept across runs). And the late documents of
the open orders now, whatever `since` says (`late`: an 855 overdue, a ship or cancel-after date
passed with quantity open, an 856 due before the 855), and the emails a mail server refused for
good, until they are retried. Test orders are left out unless asked for, as everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from gateway.config import PartnerProfile
from gateway.service.late import find_late
from gateway.service.notify import KIND, mail_view
from gateway.service.ports import FileStore, OrderQuery, UnitOfWork

STATES = ("open", "confirmed", "shipped", "completed", "paid", "returned", "cancelled")
"""The columns of the order counts: `open` is neither completed nor cancelled."""


def _day(moment: dt.datetime | None) -> dt.date | None:
    return moment.date() if moment is not None else None


def build_report(
    uow: UnitOfWork,
    files: FileStore,
    *,
    since: dt.date | None = None,
    include_test: bool = False,
    profiles: Mapping[str, PartnerProfile] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The report as data (see the module docstring)."""
    moment = now or dt.datetime.now(dt.UTC)
    with uow:
        late = [d.as_dict() for d in find_late(uow, profiles or {}, moment)]
        counts: dict[str, dict[str, int]] = {}
        listing = OrderQuery(scope="all", include_test=include_test, sort="partner", limit=None)
        for summary in uow.orders.summaries(listing).summaries:
            if since is not None and summary.updated_at.date() < since:
                continue
            row = counts.setdefault(summary.partner, dict.fromkeys((*STATES, "total"), 0))
            flags = set(summary.flags)
            row["total"] += 1
            if not flags & {"completed", "cancelled"}:
                row["open"] += 1
            for state in STATES[1:]:
                row[state] += state in flags
        overdue = [
            {
                "id": document.id,
                "partner": document.partner,
                "sets": list(document.transaction_sets),
                "interchange": document.interchange_control or "",
                "sent": document.updated_at.isoformat() if document.updated_at else "",
            }
            for document in uow.documents.listing(direction="out", status="overdue", limit=10_000)
            if since is None or (_day(document.updated_at) or since) >= since
        ]
        refused = uow.outbox.listing(KIND, status="failed", limit=10_000)
        failed_emails = [  # refused for good (5xx): until retried, whatever `since` says
            {
                "id": view["id"],
                "partner": view["partner"],
                "to": ", ".join(view["to"]),
                "subject": view["subject"],
                "error": view["last_error"],
                "at": entry.updated_at.isoformat(),
            }
            for entry, view in ((e, mail_view(e)) for e in refused)
        ]
        unreachable = [  # going on now, whatever `since` says
            {
                "partner": outage.partner,
                "down_since": outage.down_since.isoformat(),
                "failures": outage.failures,
                "last_error": outage.last_error,
            }
            for outage in uow.outages.listing()
        ]
    quarantined = [
        {
            "partner": q.partner,
            "file": q.name,
            "day": q.day.isoformat(),
            "why": q.why,
            "path": str(q.path),
        }
        for q in files.quarantined()
        if since is None or q.day >= since
    ]
    return {
        "since": since.isoformat() if since else "",
        "include_test": include_test,
        "orders": [{"partner": p, **row} for p, row in sorted(counts.items())],
        "overdue_acknowledgements": overdue,
        "quarantined_files": quarantined,
        "unreachable_mailboxes": unreachable,
        "late_documents": late,
        "failed_emails": failed_emails,
    }

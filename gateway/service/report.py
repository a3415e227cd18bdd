"""`gateway report`: what an operator wants to know at the start of a day.

Orders counted per partner and state (each flag, the open ones, the total), the documents we
sent that a partner has not acknowledged past its deadline, the files in quarantine; all since
a day when asked (orders changed, documents sent, files quarantined since then). And the
partners' mailboxes unreachable now, since when (kept across runs). And the late documents of
the open orders now, whatever `since` says (`late`: an 855 overdue, a ship or cancel-after date
passed with quantity open, an 856 due before the 855), and the emails a mail server refused for
good, until they are retried. Test orders are left out unless asked for, as everywhere.

The web console's partners page reads the same figures a partner (`partner_health`), with the
last document received from and sent to each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gateway.config import FolderTransport, PartnerProfile
from gateway.service.documents import summary_view
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
        counts = order_counts(uow, since, include_test=include_test)
        overdue = overdue_acknowledgements(uow, since)
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
        unreachable = unreachable_mailboxes(uow)  # going on now, whatever `since` says
    return {
        "since": since.isoformat() if since else "",
        "include_test": include_test,
        "orders": [{"partner": p, **row} for p, row in sorted(counts.items())],
        "overdue_acknowledgements": overdue,
        "quarantined_files": quarantined_files(files, since),
        "unreachable_mailboxes": unreachable,
        "late_documents": late,
        "failed_emails": failed_emails,
    }


def order_counts(
    uow: UnitOfWork, since: dt.date | None = None, *, include_test: bool = False
) -> dict[str, dict[str, int]]:
    """The orders (changed since `since`, when given) counted per partner and state (STATES
    and `total`), in `uow`; test orders left out unless `include_test`."""
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
    return counts


def overdue_acknowledgements(uow: UnitOfWork, since: dt.date | None = None) -> list[dict[str, Any]]:
    """The documents we sent that a partner has not acknowledged past its deadline (sent
    since `since`, when given), in `uow`."""
    return [
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


def unreachable_mailboxes(uow: UnitOfWork) -> list[dict[str, Any]]:
    """The partners' mailboxes unreachable now, since when, in `uow`."""
    return [
        {
            "partner": outage.partner,
            "down_since": outage.down_since.isoformat(),
            "failures": outage.failures,
            "last_error": outage.last_error,
        }
        for outage in uow.outages.listing()
    ]


def quarantined_files(files: FileStore, since: dt.date | None = None) -> list[dict[str, Any]]:
    """The files in quarantine (put there since `since`, when given), oldest first."""
    return [
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


def transport_line(profile: PartnerProfile) -> str:
    """A partner's transport in one line: its folders, or its SFTP server, folders and polling
    interval (`partners list`, the console's partners page)."""
    transport = profile.transport
    if isinstance(transport, FolderTransport):
        return f"folder in={transport.inbox} out={transport.outbox}"
    return (
        f"sftp {transport.user}@{transport.host}:{transport.port} in={transport.remote_inbox}"
        f" out={transport.remote_outbox} every {profile.poll_seconds / 60:g} min"
    )


def partner_health(
    uow_factory: Callable[[], UnitOfWork],
    files: FileStore,
    profiles: Sequence[PartnerProfile],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Each configured partner's health, as the report finds it: its role and transport, the
    last document received from it and sent to it, its mailbox's outage going on, the
    acknowledgements it owes past their deadline, the late documents of its open orders, its
    files in quarantine. (When its mailbox was last looked at and is next due, a running
    gateway keeps in memory only: the last document received is the last pick-up that brought
    one.)"""
    quarantined = quarantined_files(files)
    with uow_factory() as uow:
        late = [d.as_dict() for d in find_late(uow, {p.key: p for p in profiles}, now)]
        overdue = overdue_acknowledgements(uow)
        unreachable = {row["partner"]: row for row in unreachable_mailboxes(uow)}
        rows = []
        for profile in profiles:
            last = {
                direction: uow.documents.listing(partner=profile.key, direction=direction, limit=1)
                for direction in ("in", "out")
            }
            rows.append(
                {
                    "partner": profile.key,
                    "name": profile.name,
                    "role": profile.role,
                    "transport": transport_line(profile),
                    "last_received": summary_view(last["in"][0]) if last["in"] else None,
                    "last_sent": summary_view(last["out"][0]) if last["out"] else None,
                    "outage": unreachable.get(profile.key),
                    "overdue_acknowledgements": [d for d in overdue if d["partner"] == profile.key],
                    "late_documents": [d for d in late if d["partner"] == profile.key],
                    "quarantined_files": [q for q in quarantined if q["partner"] == profile.key],
                }
            )
    return rows

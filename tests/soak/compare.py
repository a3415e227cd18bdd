"""What a site ended with, and how two sites differ.

`snapshot(site)` reads, through the gateway's own command line: every order (`orders list
--all --include-test --json`, then `orders show PO --json`), every document (`documents list
--json`) and every email (`mail list --json`); from the partners' side, what each received (the
transaction sets of our files); from the SMTP server, every message. Whatever depends on when
or in which order things happened, or on numbers issued as they happened, is left out: times,
database ids, versions, control numbers (ours; the partners' are the same at both sites),
today's date in our documents. Histories are compared as counts of each event (a partner's 997
may come before or after the operator's next action, depending on when the mailbox answered);
a history at the faulty site that lacks only document states is noted, not counted as a
difference: after a kill between delivering a document and recording it delivered, the
partner's 997 may be taken in first, and the document goes from queued to acknowledged in one
step (its final state is compared with the others).

`compare(reference, faulty)` lists the differences, in words. The alerts about the faults
themselves (a mailbox unreachable, deliveries failing, a file picked up twice from a server
whose connection broke) are only at the faulty site: they are counted apart, not as
differences. Duplicates are looked for at each site: a Message-ID twice, one of our
interchanges delivered twice.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.soak.site import Site

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d)?")
OUR_CONTROL = re.compile(r"\b(8\d\d)-\d{9}\b")  # a record named after our 855's ISA13
DOCUMENT_REFERENCE = re.compile(r" #\d+ in interchange \d+ \(document \d+\)")
FAULT_ALERTS = (
    "has been unreachable",  # a mailbox down longer than mailbox_alert_minutes
    "keep failing",  # deliveries failing
    "cannot be picked up",  # a file in a mailbox that could not be taken
    "as a duplicate",  # a file taken twice: its removal was lost with the connection
)
PAGE = 1000


@dataclass
class Snapshot:
    orders: dict[str, dict[str, Any]]
    documents: Counter[tuple[str, str, str, str]]  # partner, direction, sets, status
    mails: Counter[tuple[str, str, str]]  # kind, status, subject
    received: dict[str, Counter[tuple[str, str]]]  # partner: (set id, content without dates)
    received_kinds: Counter[tuple[str, str]]  # partner, set id
    messages: Counter[tuple[tuple[str, ...], str]]  # recipients, subject
    bodies: Counter[tuple[str, str]]  # subject, text body without times (not alerts)
    fault_alerts: Counter[str]  # subject
    duplicates: list[str] = field(default_factory=list)  # delivered twice, at this site
    leftovers: list[str] = field(default_factory=list)  # files still waiting somewhere
    # Message-ID: (indices in the server's messages, every copy the same bytes)
    resent: dict[str, tuple[list[int], bool]] = field(default_factory=dict)


def _json(site: Site, *args: str) -> Any:
    result = site.cli(*args, "--json")
    if result.code != 0:
        raise RuntimeError(f"{site.name}: gateway {' '.join(args)}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def order_numbers(site: Site) -> set[str]:
    """Every PO number the site holds, test orders and archived ones included."""
    found: set[str] = set()
    for offset in range(0, 1_000_000, PAGE):
        page = _json(site, "orders", "list", "--all", "--include-test", "--limit", str(PAGE),
                     "--offset", str(offset))  # fmt: skip
        found.update(order["po_number"] for order in page)
        if len(page) < PAGE:
            break
    return found


def normalized_order(view: dict[str, Any]) -> dict[str, Any]:
    """An order as `orders show --json` gives it, without times, ids, versions and control
    numbers; lists whose order follows timing sorted."""
    view = dict(view)
    view.pop("version", None)
    view["confirmations"] = [
        {"how": c["how"], "lines": c["lines"]} for c in view.get("confirmations", [])
    ]
    view["cancellations"] = sorted(
        (
            {**{k: v for k, v in c.items() if k != "at"},
             "id": OUR_CONTROL.sub(r"\1-<ours>", c.get("id", "")),
             "source": DOCUMENT_REFERENCE.sub("", c.get("source", ""))}
            for c in view.get("cancellations", [])
        ),
        key=lambda c: json.dumps(c, sort_keys=True),
    )  # fmt: skip
    view["followed_documents"] = sorted(
        (
            {k: v for k, v in d.items() if k not in {"document", "queued_at", "updated_at"}}
            for d in view.get("followed_documents", [])
        ),
        key=lambda d: json.dumps(d, sort_keys=True),
    )
    view["source_documents"] = sorted(
        DOCUMENT_REFERENCE.sub("", s) for s in view.get("source_documents", [])
    )
    view["history"] = dict(sorted(Counter(e["event"] for e in view.get("history", [])).items()))
    view["documents"] = sorted(
        f"{d['direction']} {'/'.join(d['sets'])} {d['status']}" for d in view.get("documents", [])
    )
    view["notes"] = [n.get("text", "") for n in view.get("notes", [])]
    return view


def _today_forms() -> set[str]:
    today = dt.datetime.now(dt.UTC).date()
    return {today.strftime("%Y%m%d"), today.strftime("%y%m%d")}


MASKED = {"ISA": (9, 10, 13), "GS": (4, 5, 6), "BSN": (3, 4), "ST": (2,), "SE": (2,)}


def x12_sets(content: bytes) -> list[tuple[str, str]]:
    """(set id, its segments without dates, times and our control numbers) per set."""
    if len(content) < 106:
        return [("?", content.decode(errors="replace"))]
    element, terminator = chr(content[3]), chr(content[105])
    days = _today_forms()
    found: list[tuple[str, str]] = []
    current: list[str] = []
    kind = ""
    for raw in content.decode(errors="replace").split(terminator):
        parts = raw.strip().split(element)
        if not parts[0]:
            continue
        masked = MASKED.get(parts[0], ())
        parts = [
            "<>" if position in masked or (position and part in days) else part
            for position, part in enumerate(parts)
        ]
        if parts[0] == "TA1":
            found.append(("TA1", element.join(parts[:1] + parts[4:])))
        if parts[0] == "ST":
            kind, current = parts[1], []
        elif parts[0] == "SE":
            found.append((kind, "~".join(current)))
        elif kind and parts[0] not in {"ISA", "GS", "GE", "IEA"}:
            current.append(element.join(parts))
    return found


def _interchange_control(content: bytes) -> str:
    return content[90:99].decode(errors="replace") if len(content) >= 106 else ""


def snapshot(site: Site) -> Snapshot:
    """Everything the site ended with (see the module's docstring)."""
    orders = {}
    for po in sorted(order_numbers(site)):
        orders[po] = normalized_order(_json(site, "orders", "show", po))
    documents: Counter[tuple[str, str, str, str]] = Counter(
        (d["partner"], d["direction"], "/".join(d["sets"]), d["status"])
        for d in _json(site, "documents", "list", "--limit", "10000")
    )
    mails: Counter[tuple[str, str, str]] = Counter()
    for mail in _json(site, "mail", "list", "--limit", "10000"):
        subject = mail["subject"]
        if mail["kind"] == "alert" and any(mark in subject for mark in FAULT_ALERTS):
            continue
        mails[(mail["kind"], mail["status"], subject)] += 1
    received: dict[str, Counter[tuple[str, str]]] = {}
    kinds: Counter[tuple[str, str]] = Counter()
    duplicates = []
    for partner, files in sorted(site.received.items()):
        sets: Counter[tuple[str, str]] = Counter()
        controls: Counter[str] = Counter()
        for file in files:
            controls[_interchange_control(file.content)] += 1
            for kind, content in x12_sets(file.content):
                sets[(kind, content)] += 1
                kinds[(partner, kind)] += 1
        received[partner] = sets
        duplicates += [
            f"{site.name}: {partner} received interchange {control} {count} times"
            for control, count in controls.items()
            if count > 1
        ]
    messages: Counter[tuple[tuple[str, ...], str]] = Counter()
    bodies: Counter[tuple[str, str]] = Counter()
    fault_alerts: Counter[str] = Counter()
    copies: dict[str, list[int]] = {}
    received_messages = site.smtp.messages
    for index, message in enumerate(received_messages):
        subject = " ".join(str(message.message["Subject"]).split())
        message_id = str(message.message["Message-ID"])
        copies.setdefault(message_id, []).append(index)
        if len(copies[message_id]) > 1:
            continue  # judged apart: see `resent`
        if subject.startswith("[gateway]") and any(mark in subject for mark in FAULT_ALERTS):
            fault_alerts[subject] += 1
            continue
        messages[(tuple(sorted(message.rcpt_tos)), subject)] += 1
        if not subject.startswith("[gateway]"):
            text = OUR_CONTROL.sub(r"\1-<ours>", TIMESTAMP.sub("<time>", _text_of(message.message)))
            bodies[(subject, text)] += 1
    resent = {
        message_id: (indices, len({received_messages[i].raw for i in indices}) == 1)
        for message_id, indices in copies.items()
        if len(indices) > 1
    }
    return Snapshot(
        orders, documents, mails, received, kinds, messages, bodies, fault_alerts, duplicates,
        leftovers(site), resent,
    )  # fmt: skip


def _text_of(message: Any) -> str:
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""


def leftovers(site: Site) -> list[str]:
    """Files still waiting: in a partner's mailbox for us, in staging, quarantined."""
    found = []
    from tests.soak.traffic import PARTNERS  # noqa: PLC0415

    for partner in PARTNERS:
        found += [
            f"{site.name}: {partner.key}'s mailbox still holds {p.name}"
            for p in site.inbox(partner).iterdir()
        ]
    for folder in ("staging", "quarantine"):
        root = site.data / folder
        if root.exists():
            found += [
                f"{site.name}: {folder}/{p.relative_to(root)}"
                for p in sorted(root.rglob("*"))
                if p.is_file()
            ]
    return found


def _counter_differences(
    what: str, reference: Counter[Any], faulty: Counter[Any], shown: int = 20
) -> list[str]:
    found = []
    for key in sorted(set(reference) | set(faulty), key=repr):
        if reference[key] != faulty[key]:
            found.append(f"{what} {_short(key)}: reference {reference[key]}, faulty {faulty[key]}")
    if len(found) > shown:
        found = [*found[:shown], f"{what}: ... and {len(found) - shown} more"]
    return found


def _short(value: object, most: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= most else text[:most] + "..."


STATE_CHANGED = "DocumentStateChanged"


def _skipped_states(reference: dict[str, int], faulty: dict[str, int]) -> int:
    """How many document states the faulty site's history lacks, when that is all that
    differs: a kill between delivering a document and recording it delivered, then the
    partner's 997 taken in before the delivery is recorded, takes the document from queued
    straight to acknowledged (its final state the same). 0 for any other difference."""
    others = set(reference) | set(faulty)
    others.discard(STATE_CHANGED)
    if any(reference.get(name) != faulty.get(name) for name in others):
        return 0
    skipped = reference.get(STATE_CHANGED, 0) - faulty.get(STATE_CHANGED, 0)
    return max(skipped, 0)


def _order_differences(
    po: str, reference: dict[str, Any], faulty: dict[str, Any], notes: list[str]
) -> list[str]:
    found = []
    for key in sorted(set(reference) | set(faulty)):
        mine, theirs = reference.get(key), faulty.get(key)
        if mine == theirs:
            continue
        skipped = _skipped_states(mine, theirs) if key == "history" else 0
        if skipped:
            notes.append(f"order {po}: {skipped} document state(s) skipped in its history")
        else:
            found.append(f"order {po}: {key}: reference {_short(mine)}, faulty {_short(theirs)}")
    return found


def compare(reference: Snapshot, faulty: Snapshot, notes: list[str]) -> list[str]:
    """The differences between the two sites, and the duplicates and leftovers of each; what
    differs for a reason the faults explain is added to `notes` instead."""
    found: list[str] = []
    for po in sorted(set(reference.orders) - set(faulty.orders)):
        found.append(f"order {po}: only at the reference site (lost)")
    for po in sorted(set(faulty.orders) - set(reference.orders)):
        found.append(f"order {po}: only at the faulty site")
    for po in sorted(set(reference.orders) & set(faulty.orders)):
        found += _order_differences(po, reference.orders[po], faulty.orders[po], notes)
    found += _counter_differences("documents", reference.documents, faulty.documents)
    found += _counter_differences("emails listed", reference.mails, faulty.mails)
    for partner in sorted(set(reference.received) | set(faulty.received)):
        found += _counter_differences(
            f"{partner} received",
            reference.received.get(partner, Counter()),
            faulty.received.get(partner, Counter()),
        )
    found += _counter_differences("emails received", reference.messages, faulty.messages)
    found += _counter_differences("email text", reference.bodies, faulty.bodies, shown=5)
    found += reference.duplicates + faulty.duplicates
    found += reference.leftovers + faulty.leftovers
    return found


def summary_counts(snapshot: Snapshot) -> dict[str, Any]:
    """The figures of one site."""
    documents: Counter[str] = Counter()
    for (_, direction, sets, _), count in snapshot.documents.items():
        documents[f"{direction} {sets}"] += count
    received: Counter[str] = Counter()
    for (_, kind), count in snapshot.received_kinds.items():
        received[kind] += count
    flags: Counter[str] = Counter()
    for order in snapshot.orders.values():
        for flag in order.get("flags", []):
            flags[flag] += 1
    return {
        "orders": len(snapshot.orders),
        "order_flags": dict(sorted(flags.items())),
        "documents": dict(sorted(documents.items())),
        "received_by_partners": dict(sorted(received.items())),
        "emails": sum(snapshot.messages.values()),
        "fault_alerts": sum(snapshot.fault_alerts.values()),
    }


def join(lines: Iterable[str]) -> str:
    return "\n".join(f"  - {line}" for line in lines)

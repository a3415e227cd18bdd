"""Read models for people and scripts: an order as a plain, JSON-ready view (flags, lines with
their quantities, fulfilments, cancellations, returns, money, notes, documents and history).

Views read through a unit of work and change nothing. The CLI draws them as tables or prints them
as JSON; both come from the same view, so the two never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from gateway.domain import rules
from gateway.domain.model import Order
from gateway.domain.values import DATE_FIELDS, LineAnswer, LineAnswerStatus, LineQuantity
from gateway.service.export import find_order
from gateway.service.ports import OrderQuery, OrderSummary, UnitOfWork


def number_text(value: Decimal | None) -> str:
    """A quantity or amount as a person reads it: `2`, not `2.000`; `12.50` as sent."""
    if value is None:
        return ""
    text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return text


def _quantities(lines: Iterable[LineQuantity]) -> list[dict[str, str]]:
    return [{"line": q.line_number, "quantity": number_text(q.quantity)} for q in lines]


def _answer(answer: LineAnswer) -> str:
    """`backordered 1 on 2026-12-04 (IB)`, `quantity changed to 3 (IQ)`."""
    text = answer.status.value
    if answer.quantity is not None:
        to = " to" if answer.status is LineAnswerStatus.QUANTITY_CHANGED else ""
        text += f"{to} {number_text(answer.quantity)}"
    if answer.date is not None:
        text += f" on {answer.date.isoformat()}"
    return text + (f" ({answer.code})" if answer.code else "")


def _acknowledged(order: Order, line_number: str) -> str:
    """What the latest acknowledgement that answers the line says of it."""
    for confirmation in reversed(order.confirmations):
        answers = [_answer(a) for a in confirmation.lines if a.line_number == line_number]
        if answers:
            return ", ".join(answers)
    return ""


def order_view(order: Order, history: list[dict[str, object]]) -> dict[str, Any]:
    """Everything a person wants to see about one order; `history` is what the store keeps of
    it (`OrderRepository.history`)."""
    return {
        "partner": order.partner,
        "po_number": order.po_number,
        "our_role": order.our_role.value,
        "purpose": order.purpose_code.value,
        "order_date": order.order_date.isoformat(),
        "dates": {
            name.removesuffix("_date"): day.isoformat()
            for name in DATE_FIELDS
            if (day := getattr(order, name)) is not None
        },
        "currency": order.currency,
        "test": order.is_test,
        "flags": sorted(flag.value for flag in order.flags),
        "archived": rules.is_archived(order),
        "fulfilment_status": order.fulfilment_status.value,
        "payment_status": order.payment_status.value,
        "version": order.version,
        "parties": [
            {
                "role": party.entity_code,
                "name": party.name,
                "id": f"{party.id_qualifier} {party.id}".strip(),
                "address": ", ".join(
                    part
                    for part in (
                        *(party.address.lines if party.address else ()),
                        party.address.city if party.address else "",
                        party.address.state if party.address else "",
                        party.address.postal_code if party.address else "",
                        party.address.country if party.address else "",
                    )
                    if part
                ),
            }
            for party in order.parties
        ],
        "lines": [
            {
                "line": line.line_number,
                "product_ids": dict(line.product_ids),
                "description": line.description,
                "unit_of_measure": line.unit_of_measure,
                "unit_price": number_text(line.unit_price),
                "ordered": number_text(line.ordered),
                "fulfilled": number_text(line.fulfilled),
                "cancelled": number_text(line.cancelled),
                "returned": number_text(line.returned),
                "open": number_text(line.open),
                "acknowledged": _acknowledged(order, line.line_number),
            }
            for line in order.lines
        ],
        "confirmations": [
            {
                "how": c.how.value,
                "source": c.source,
                "at": c.at.isoformat(),
                "lines": [{"line": a.line_number, "answer": _answer(a)} for a in c.lines],
            }
            for c in order.confirmations
        ],
        "fulfilments": [
            {
                "id": f.id,
                "status": f.status.value,
                "carrier": f.carrier,
                "tracking_numbers": list(f.tracking_numbers),
                "tracking_url": f.tracking_url,
                "ship_date": f.ship_date.isoformat() if f.ship_date else "",
                "lines": _quantities(f.lines),
                "packs": [{"sscc": p.sscc or "", "lines": _quantities(p.lines)} for p in f.packs],
                "passed_on": f.passed_on,
            }
            for f in order.fulfilments
        ],
        "cancellations": [
            {
                "id": c.id,
                "requested_by": c.requested_by.value,
                "reason": c.reason,
                "source": c.source,
                "at": c.at.isoformat(),
                "lines": _quantities(c.lines),
            }
            for c in order.cancellations
        ],
        "returns": [
            {"id": r.id, "reason": r.reason, "at": r.at.isoformat(), "lines": _quantities(r.lines)}
            for r in order.returns
        ],
        "refunds": [
            {
                "id": r.id,
                "amount": number_text(r.amount),
                "reason": r.reason,
                "at": r.at.isoformat(),
                "lines": _quantities(r.lines),
            }
            for r in order.refunds
        ],
        "invoices": [
            {"number": i.number, "amount": number_text(i.amount), "accepted": i.accepted}
            for i in order.invoices
        ],
        "payments": [
            {
                "amount": number_text(p.amount),
                "in_full": p.in_full,
                "reference": p.reference,
                "at": p.at.isoformat(),
            }
            for p in order.payments
        ],
        "followed_documents": [
            {
                "document": d.document,
                "kind": d.kind.value,
                "state": d.state.value,
                "needs_acceptance": d.needs_acceptance,
                "fulfilments": list(d.fulfilment_ids),
                "queued_at": d.queued_at.isoformat(),
                "updated_at": d.updated_at.isoformat() if d.updated_at else "",
            }
            for d in order.dispatches
        ],
        "notes": [
            {"id": n.id, "author": n.author, "text": n.text, "at": n.created_at.isoformat()}
            for n in order.notes
        ],
        "source_documents": list(order.source_documents),
        "history": [
            {"at": _occurred(entry), "event": str(entry["name"]), "source": _source(entry)}
            for entry in history
        ],
    }


def _occurred(entry: dict[str, object]) -> str:
    """When a stored event happened, as the event said it (its payload keeps the time zone a
    database column may drop)."""
    payload = entry.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("at"), str):
        return str(payload["at"])
    occurred = entry.get("occurred_at")
    return occurred.isoformat() if isinstance(occurred, dt.datetime) else ""


def _source(entry: dict[str, object]) -> str:
    """Where the command behind a stored event came from (a document, or who acted), if told."""
    payload = entry.get("payload")
    source = payload.get("source") if isinstance(payload, dict) else None
    return source if isinstance(source, str) else ""


def summary_view(summary: OrderSummary) -> dict[str, Any]:
    """One line of an order listing."""
    return {
        "partner": summary.partner,
        "po_number": summary.po_number,
        "our_role": summary.our_role,
        "order_date": summary.order_date,
        "test": summary.is_test,
        "flags": list(summary.flags),
        "fulfilment_status": summary.fulfilment_status,
        "payment_status": summary.payment_status,
        "updated_at": summary.updated_at.isoformat(),
    }


def list_orders(uow: UnitOfWork, query: OrderQuery) -> dict[str, Any]:
    """A page of the orders held, as the query asks: `orders` (their summaries), `total` (how
    many the query finds in all; with `more`, at least that many: a broad search counts no
    further), `offset` and `limit`."""
    with uow:
        page = uow.orders.summaries(query)
    return {
        "orders": [summary_view(s) for s in page.summaries],
        "total": page.total,
        "more": page.more,
        "offset": page.offset,
        "limit": query.limit,
    }


def known_partners(uow: UnitOfWork) -> list[str]:
    """The partners that have orders in the store."""
    with uow:
        return uow.orders.partners()


def show_order(uow: UnitOfWork, po_number: str, partner: str | None = None) -> dict[str, Any]:
    """One order by PO number (and partner, when several partners used the same number)."""
    with uow:
        order = find_order(uow, po_number, partner)
        view = order_view(order, uow.orders.history(order.partner, order.po_number))
        view["documents"] = [
            {
                "id": d.id,
                "direction": d.direction,
                "sets": list(d.transaction_sets),
                "interchange": d.interchange_control,
                "status": d.status,
                "filename": d.filename,
            }
            for d in uow.documents.for_order(order.partner, order.po_number)
        ]
        return view

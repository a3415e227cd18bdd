"""The order list and the order page, with the order's actions as forms.

A PO number may hold a slash (`PO/2026/17`): it is the rest of the path, so the order page's
URL is `/orders/PARTNER/PO` whichever way the browser writes the slash; the routes of its
notes come before the other actions' for that reason.

The list takes what `gateway orders list` takes (search, flags, fulfilment and payment status,
partner, dates, test orders, scope, sort, pages) as query parameters, so a filtered list is a
URL to keep; with htmx the filter form swaps the results only. The order page shows what
`gateway orders show` shows. Each action is a POST to `/orders/{partner}/{po}/{action}`, read
by `forms` and done by the order desk exactly as the command line does it; done, the browser is
sent back to the order page (POST, redirect, GET); refused, the page is drawn again with the
rule's sentence beside the form that asked (409), or the field's problem beside the field (422).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import QueryParams

from gateway.domain.rules import Flag, FulfilmentStatus, PaymentStatus
from gateway.domain.values import ShipmentStatus, Side
from gateway.errors import ActionForbidden, FormRefused, OrderNotFound, PageNotFound, Refused
from gateway.service.ports import ORDER_SCOPES, ORDER_SORTS, SCOPE_STATUSES, OrderQuery
from gateway.service.views import known_partners, list_orders, show_order
from gateway.web import forms
from gateway.web.console import (
    Console,
    console_of,
    posted,
    refusal_message,
    signed_in,
)
from gateway.web.forms import Fields
from gateway.web.viewer import ORDER_ACTIONS, Viewer

if TYPE_CHECKING:
    from gateway.service.actions import ActionResult, OrderDesk

router = APIRouter()
PAGE_SIZE = 50
NO_SUCH_ORDER = "there is no such order here"
DONE = {
    "fulfil": "Fulfilment {record} recorded.",
    "shipment": "Shipment status of {record} recorded.",
    "cancel": "Cancellation {record} recorded.",
    "acknowledge": "Acknowledgement sent.",
    "invoice": "Invoice sent.",
    "pay": "Payment recorded.",
    "refund": "Refund {record} recorded.",
    "return": "Return {record} recorded.",
    "customer": "Customer changed.",
    "dates": "Dates recorded.",
    "note": "Note {record} added.",
    "note-edit": "Note {record} edited.",
    "note-delete": "Note {record} deleted.",
    "test": "Test order placed: its 850 goes out with the next pass.",
}
"""What the order page says after each action (its record id filled in)."""


def choices() -> dict[str, list[str]]:
    """The values the order list's filters and the shipment form offer (the API's too)."""
    return {
        "statuses": [flag.value for flag in Flag] + list(SCOPE_STATUSES),
        "fulfilment": [status.value for status in FulfilmentStatus],
        "payment": [status.value for status in PaymentStatus],
        "sorts": list(ORDER_SORTS),
        "scopes": list(ORDER_SCOPES),
        "shipment": [s.value for s in ShipmentStatus if s is not ShipmentStatus.AWAITING_SHIPMENT],
    }


# -- the list ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """The order list's filters as the query string gives them (text, not checked yet)."""

    search: str = ""
    statuses: tuple[str, ...] = ()
    fulfilment: str = ""
    payment: str = ""
    partner: str = ""
    since: str = ""
    until: str = ""
    test: bool = False
    scope: str = ""
    sort: str = "date"
    desc: bool = False

    @classmethod
    def of(cls, params: QueryParams) -> Filters:
        return cls(
            search=params.get("search", "").strip(),
            statuses=tuple(s for s in params.getlist("status") if s),
            fulfilment=params.get("fulfilment", ""),
            payment=params.get("payment", ""),
            partner=params.get("partner", ""),
            since=params.get("since", ""),
            until=params.get("until", ""),
            test=params.get("test", "") == "1",
            scope=params.get("scope", ""),
            sort=params.get("sort", "") or "date",
            desc=params.get("desc", "") == "1",
        )

    def query(self, names: dict[str, list[str]], partners: list[str], page: int) -> OrderQuery:
        """The store's query; FormRefused or ValueError for a value that is not one."""
        days = {"since": [self.since], "until": [self.until]}
        return OrderQuery(
            partner=forms.one_of("partner", self.partner, partners),
            statuses=tuple(
                forms.one_of("status", s, names["statuses"]) or "" for s in self.statuses
            ),
            fulfilment_status=forms.one_of("fulfilment", self.fulfilment, names["fulfilment"]),
            payment_status=forms.one_of("payment", self.payment, names["payment"]),
            since=forms.day(days, "since"),
            until=forms.day(days, "until"),
            search=self.search or None,
            scope=forms.one_of("scope", self.scope, names["scopes"]),
            include_test=self.test,
            sort=forms.one_of("sort", self.sort, names["sorts"]) or "date",
            descending=self.desc,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )


@router.get("/orders", response_class=HTMLResponse)
def order_list(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:  # noqa: B008
    console = console_of(request)
    params = request.query_params
    names = choices()
    chosen = Filters.of(params)
    partners = known_partners(console.uow())
    if viewer.is_partner:
        partners = [viewer.partner or ""]
        chosen = replace(chosen, partner=viewer.partner or "")
    problem = ""
    result: dict[str, Any] = {"orders": [], "total": 0, "more": False, "offset": 0}
    page = 1
    try:
        page = forms.page_number(params.get("page", "1"))
        result = list_orders(console.uow(), chosen.query(names, partners, page))
    except FormRefused as exc:
        problem = exc.message
    except ValueError as exc:
        problem = str(exc)
    kept = [(k, v) for k, v in params.multi_items() if k != "page" and v]
    context = {
        "title": "Orders",
        "names": names,
        "partners": partners,
        "chosen": chosen,
        "problem": problem,
        "result": result,
        "page": page,
        "pages": max(1, -(-result["total"] // PAGE_SIZE)),
        "page_url": lambda n: "/orders?" + urlencode([*kept, ("page", str(n))]),
        "sellers": [p.key for p in console.gateway.config.partners if p.role == "seller"],
    }
    template = "orders_results.html" if request.headers.get("hx-request") else "orders.html"
    return console.render(request, template, context, status_code=400 if problem else 200)


# -- one order --------------------------------------------------------------------------------


def order_view(console: Console, viewer: Viewer, partner: str, po_number: str) -> dict[str, Any]:
    """The order as `orders show` gives it, if this user (or token) may see it; else a 404,
    whether it is another partner's or none (the console's pages and the API alike)."""
    if not viewer.sees_partner(partner):
        raise PageNotFound(NO_SUCH_ORDER)
    try:
        return show_order(console.uow(), po_number, partner)
    except OrderNotFound:
        raise PageNotFound(NO_SUCH_ORDER) from None


def _order_page(
    request: Request,
    viewer: Viewer,
    view: dict[str, Any],
    *,
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    placed_with_them = view["our_role"] == "buyer"
    allowed = {
        action: viewer.may(action, order_partner=view["partner"], placed_with_them=placed_with_them)
        for action in (*ORDER_ACTIONS, "note-edit")
    }
    action = request.query_params.get("done", "")
    said = ""
    if action in DONE:
        said = DONE[action].format(record=request.query_params.get("record", ""))
    context = {
        "title": f"Order {view['po_number']}",
        "order": view,
        "allowed": allowed,
        "names": choices(),
        "refused": refused or {},
        "said": said,
        "open_lines": [line for line in view["lines"] if line["open"] not in ("0", "")],
    }
    return console_of(request).render(request, "order.html", context, status_code=status_code)


@router.get("/orders/{partner}/{po_number:path}", response_class=HTMLResponse)
def order_page(
    request: Request,
    partner: str,
    po_number: str,
    viewer: Viewer = Depends(signed_in),  # noqa: B008
) -> Response:
    return _order_page(request, viewer, order_view(console_of(request), viewer, partner, po_number))


@router.post("/orders/{partner}/{po_number:path}/notes/{note_id}/{verb}")
def note_action(
    request: Request,
    partner: str,
    po_number: str,
    note_id: str,
    verb: str,
    fields: Fields = Depends(posted),  # noqa: B008
) -> Response:
    if verb not in ("edit", "delete"):
        raise PageNotFound("there is no such page")
    return _act(request, partner, po_number, f"note-{verb}", fields, note_id=note_id)


@router.post("/orders/{partner}/{po_number:path}/{action}")
def order_action(
    request: Request,
    partner: str,
    po_number: str,
    action: str,
    fields: Fields = Depends(posted),  # noqa: B008
) -> Response:
    return _act(request, partner, po_number, action, fields, note_id="")


def _act(
    request: Request, partner: str, po_number: str, action: str, fields: Fields, *, note_id: str
) -> Response:
    viewer: Viewer = request.state.viewer
    view = order_view(console_of(request), viewer, partner, po_number)
    handler = ACTIONS.get(action)
    if handler is None:
        raise PageNotFound("there is no such page")
    if not viewer.may(action, order_partner=partner, placed_with_them=view["our_role"] == "buyer"):
        raise ActionForbidden(f"your role ({viewer.role}) may not do this on this order")
    desk = console_of(request).desk(viewer)
    try:
        result = handler(desk, Asked(view, fields, viewer, note_id))
    except FormRefused as problem:
        refused = {"action": action, "message": problem.message, "field": problem.field}
        view = order_view(console_of(request), viewer, partner, po_number)
        return _order_page(request, viewer, view, refused=refused, status_code=422)
    except Refused as error:
        message, rule = refusal_message(error)
        refused = {"action": action, "message": message, "rule": rule, "field": ""}
        view = order_view(console_of(request), viewer, partner, po_number)
        return _order_page(request, viewer, view, refused=refused, status_code=409)
    target = f"/orders/{_path(partner)}/{_path(po_number)}?" + urlencode(
        {"done": action, "record": result.record}
    )
    return RedirectResponse(target, status_code=303)


def _path(value: str) -> str:
    return quote(value, safe="")


# -- the actions: a form's fields to the desk's call ------------------------------------------


class Asked:
    """One action asked for: the order (as `order_view` gave it), the form, who asks, and the
    note it is about."""

    __slots__ = ("fields", "note_id", "our_role", "partner", "po_number", "viewer")

    def __init__(self, view: dict[str, Any], fields: Fields, viewer: Viewer, note_id: str = ""):
        self.po_number: str = view["po_number"]
        self.partner: str = view["partner"]
        self.our_role: str = view["our_role"]
        self.fields = fields
        self.viewer = viewer
        self.note_id = note_id


def _fulfil(desk: OrderDesk, asked: Asked) -> ActionResult:
    lines = forms.line_quantities(asked.fields, "qty-")
    if not lines:
        raise FormRefused("lines", "give the quantity shipped of at least one line")
    return desk.fulfil(
        asked.po_number,
        lines,
        partner=asked.partner,
        carrier=forms.text(asked.fields, "carrier", required=True, limit=60),
        tracking_numbers=forms.tracking_numbers(asked.fields),
        tracking_url=forms.web_address(asked.fields, "tracking_url"),
        ship_date=forms.day(asked.fields, "ship_date"),
    )


def _shipment(desk: OrderDesk, asked: Asked) -> ActionResult:
    status = forms.text(asked.fields, "status", required=True)
    if status not in choices()["shipment"]:
        raise FormRefused("status", f"{status!r} is not a shipment status")
    return desk.shipment_status(
        asked.po_number,
        forms.text(asked.fields, "fulfilment_id", required=True, limit=60),
        ShipmentStatus(status),
        partner=asked.partner,
    )


def _cancel(desk: OrderDesk, asked: Asked) -> ActionResult:
    whole = forms.text(asked.fields, "whole") == "1"
    lines = forms.line_quantities(asked.fields, "cancel-")
    if not whole and not lines:
        raise FormRefused("lines", "give the quantity to cancel of at least one line, or cancel "
                        "the whole order")  # fmt: skip
    by = forms.text(asked.fields, "by") or "us"
    if by not in ("us", "partner"):
        raise FormRefused("by", f"{by!r} is not us or partner")
    ours = Side.SELLER if asked.our_role == "seller" else Side.BUYER
    theirs = Side.BUYER if ours is Side.SELLER else Side.SELLER
    return desk.cancel(
        asked.po_number,
        [] if whole else lines,
        by=ours if by == "us" else theirs,
        reason=forms.text(asked.fields, "reason", required=True, limit=200),
        partner=asked.partner,
    )


def _acknowledge(desk: OrderDesk, asked: Asked) -> ActionResult:
    return desk.acknowledge(asked.po_number, forms.decision(asked.fields), partner=asked.partner)


def _invoice(desk: OrderDesk, asked: Asked) -> ActionResult:
    number = forms.text(asked.fields, "number", limit=22) or None
    return desk.invoice(asked.po_number, number=number, partner=asked.partner)


def _pay(desk: OrderDesk, asked: Asked) -> ActionResult:
    return desk.mark_paid(
        asked.po_number,
        amount=forms.amount(asked.fields, "amount"),
        reference=forms.text(asked.fields, "reference", limit=80),
        partner=asked.partner,
    )


def _refund(desk: OrderDesk, asked: Asked) -> ActionResult:
    amount = forms.amount(asked.fields, "amount", required=True)
    assert amount is not None
    return desk.refund(
        asked.po_number,
        amount,
        lines=forms.line_quantities(asked.fields, "refund-"),
        reason=forms.text(asked.fields, "reason", limit=200),
        partner=asked.partner,
    )


def _return(desk: OrderDesk, asked: Asked) -> ActionResult:
    lines = forms.line_quantities(asked.fields, "return-")
    if not lines:
        raise FormRefused("lines", "give the quantity coming back of at least one line")
    return desk.record_return(
        asked.po_number,
        lines,
        reason=forms.text(asked.fields, "reason", limit=200),
        partner=asked.partner,
    )


def _customer(desk: OrderDesk, asked: Asked) -> ActionResult:
    return desk.change_customer(
        asked.po_number,
        forms.party(asked.fields, "ship_to", "ST"),
        reason=forms.text(asked.fields, "reason", limit=200),
        partner=asked.partner,
    )


def _dates(desk: OrderDesk, asked: Asked) -> ActionResult:
    return desk.change_dates(
        asked.po_number,
        requested_ship_date=forms.day(asked.fields, "requested_ship"),
        requested_delivery_date=forms.day(asked.fields, "requested_delivery"),
        cancel_after_date=forms.day(asked.fields, "cancel_after"),
        reason=forms.text(asked.fields, "reason", limit=200),
        partner=asked.partner,
    )


def _note(desk: OrderDesk, asked: Asked) -> ActionResult:
    return desk.add_note(
        asked.po_number,
        forms.text(asked.fields, "text", required=True),
        author=asked.viewer.name,
        partner=asked.partner,
    )


def _note_edit(desk: OrderDesk, asked: Asked) -> ActionResult:
    return desk.edit_note(
        asked.po_number,
        asked.note_id,
        forms.text(asked.fields, "text", required=True),
        author=asked.viewer.name,
        partner=asked.partner,
    )


def _note_delete(desk: OrderDesk, asked: Asked) -> ActionResult:
    return desk.delete_note(
        asked.po_number, asked.note_id, author=asked.viewer.name, partner=asked.partner
    )


ACTIONS: dict[str, Callable[[OrderDesk, Asked], ActionResult]] = {
    "fulfil": _fulfil,
    "shipment": _shipment,
    "cancel": _cancel,
    "acknowledge": _acknowledge,
    "invoice": _invoice,
    "pay": _pay,
    "refund": _refund,
    "return": _return,
    "customer": _customer,
    "dates": _dates,
    "note": _note,
    "note-edit": _note_edit,
    "note-delete": _note_delete,
}


@router.post("/test-orders")
def test_order(request: Request, fields: Fields = Depends(posted)) -> Response:  # noqa: B008
    """Place a test order with a seller (operators)."""
    viewer: Viewer = request.state.viewer
    if not viewer.may("operate"):
        raise ActionForbidden(f"your role ({viewer.role}) may not place test orders")
    partner = forms.text(fields, "partner", required=False)
    try:
        result = console_of(request).desk(viewer).test_order(partner)
    except Refused as error:
        message, _rule = refusal_message(error)
        return console_of(request).render(
            request, "error.html", {"title": "Refused", "message": message}, status_code=409
        )
    return RedirectResponse(
        f"/orders/{_path(result.partner)}/{_path(result.po_number)}?done=test",
        status_code=303,
    )

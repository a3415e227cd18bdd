"""The JSON API under `/api/v1`: orders, their actions, documents and partners, for an ERP, a
warehouse system or a partner's own program; its OpenAPI description at `/api/v1/openapi.json`
(no Swagger page: it would load script from elsewhere).

A sub-application mounted by `create_app` at `/api/v1`, on the console's `Console`. Every call
carries `Authorization: Bearer TOKEN` (`gateway tokens add`): none, an unknown one or a revoked
one is a 401. A token acts as a console user of its role (`Viewer`, named `token NAME`, its
actions written in the order's history as `token NAME (api)`): a viewer's POST is a 403, a
partner token is answered 404 for anything of another partner's and 403 for what a partner
user may not do. Each token has a bucket of `[web] api_burst` requests refilled at
`api_requests_per_second` (in this process): over it, a 429 with Retry-After.

The order list takes the console's filters, search and sort, in pages of `limit` with an
opaque `cursor`. Each action is a POST of a JSON body (a pydantic model: a malformed one is a
422 naming the field) to a sub-resource of the order, turned into the console form's fields and
done by the console's `orders.ACTIONS` through the order desk: the same bus, rules and records;
done, a 201 with the desk's result; refused by a rule, a 409 with its sentence and name.

A POST with an `Idempotency-Key` header is answered once (`gateway.service.tokens`): the key
is claimed (inserted) before anything is done, the outcome kept with it, and a retry gets the
outcome back without anything applied again; the same key with another request is a 422, and
while its first request is being answered a 409; a request cut off before its outcome was kept
(no outcome `CUT_OFF` after its claim: the gateway stopped while answering) is a 409 saying so,
its outcome unknown.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import math
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.domain.values import ShipmentStatus
from gateway.errors import (
    ActionForbidden,
    DocumentActionRefused,
    FormRefused,
    IdempotencyConflict,
    PageNotFound,
    Refused,
    RequestRefused,
    StoreUnavailable,
    TokenNeeded,
    TooManyRequests,
)
from gateway.service import documents, tokens
from gateway.service.report import partner_health
from gateway.service.views import known_partners, list_orders
from gateway.web import forms, orders
from gateway.web.console import Console, console_of, refusal_message
from gateway.web.forms import Fields
from gateway.web.viewer import Viewer

PREFIX = "/api/v1"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
IDEMPOTENCY_HEADER = "idempotency-key"
NO_SUCH_ORDER = "there is no such order here"


# -- the rate of each token -------------------------------------------------------------------


class TokenBuckets:
    """A token bucket per API token, in this process: `burst` requests at once, refilled at
    `rate` a second."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._held: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, name: str) -> float:
        """Take a request from `name`'s bucket: 0 when taken, else the seconds until one is
        there."""
        now = self.clock()
        with self._lock:
            left, since = self._held.get(name, (float(self.burst), now))
            left = min(float(self.burst), left + (now - since) * self.rate)
            if left >= 1:
                self._held[name] = (left - 1, now)
                return 0.0
            self._held[name] = (left, now)
            return (1 - left) / self.rate


# -- who asks ---------------------------------------------------------------------------------

bearer = HTTPBearer(
    auto_error=False,
    description="A token made by `gateway tokens add NAME --role ROLE`.",
)


def token_holder(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
) -> Viewer:
    """The holder of the request's token, as a console user of its role (or a 401, a 429)."""
    if credentials is None or not credentials.credentials:
        raise TokenNeeded("give a token: Authorization: Bearer TOKEN")
    console = console_of(request)
    token = tokens.token_for(console.uow(), credentials.credentials, console.clock())
    if token is None:
        raise TokenNeeded("this token is unknown or revoked")
    buckets: TokenBuckets = request.app.state.buckets
    wait = buckets.take(token.name)
    if wait > 0:
        raise TooManyRequests(f"more than {buckets.burst} requests at once: slow down", wait)
    viewer = Viewer(f"token {token.name}", token.role, token.partner, "", channel="api")
    request.state.viewer = viewer
    request.state.token_name = token.name
    return viewer


Holder = Annotated[Viewer, Depends(token_holder)]


def token_actor(viewer: Holder) -> Viewer:
    """The holder of a token that may act at all (a viewer's is refused, 403, before its body
    is read); whether it may act on this order is decided with the order."""
    if viewer.role == "viewer":
        raise ActionForbidden(f"your role ({viewer.role}) reads only")
    return viewer


Actor = Annotated[Viewer, Depends(token_actor)]


# -- the bodies of the actions ----------------------------------------------------------------


class Body(BaseModel):
    """A request's JSON body: unknown fields refused (422), so that a misspelt one is told."""

    model_config = ConfigDict(extra="forbid")

    @abstractmethod
    def as_fields(self) -> Fields:
        """The body as the console's form for the action would send it."""


class LineQuantity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: str = Field(min_length=1, max_length=20, description="The order's line number.")
    quantity: Decimal = Field(gt=0)


def _lines(prefix: str, lines: list[LineQuantity]) -> dict[str, list[str]]:
    return {f"{prefix}{line.line}": [str(line.quantity)] for line in lines}


def _day(value: dt.date | None) -> list[str]:
    return [value.isoformat() if value else ""]


class Fulfilment(Body):
    lines: list[LineQuantity] = Field(min_length=1)
    carrier: str = Field(min_length=1, max_length=60)
    tracking_numbers: list[str] = []
    tracking_url: str = ""
    ship_date: dt.date | None = None

    def as_fields(self) -> Fields:
        return {
            **_lines("qty-", self.lines),
            "carrier": [self.carrier],
            "tracking_numbers": [" ".join(self.tracking_numbers)],
            "tracking_url": [self.tracking_url],
            "ship_date": _day(self.ship_date),
        }


class Cancellation(Body):
    lines: list[LineQuantity] = []
    whole: bool = Field(False, description="Cancel every open quantity (`lines` left out).")
    by: Literal["us", "partner"] = "us"
    reason: str = Field(min_length=1, max_length=200)

    def as_fields(self) -> Fields:
        return {
            **_lines("cancel-", self.lines),
            "whole": ["1" if self.whole else ""],
            "by": [self.by],
            "reason": [self.reason],
        }


class LineAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: str = Field(min_length=1, max_length=20)
    answer: Literal["accept", "reject", "change", "backorder"]
    quantity: Decimal | None = Field(None, gt=0, description="The new quantity (`change`).")
    date: dt.date | None = Field(None, description="When a backordered line ships.")


class Acknowledgement(Body):
    decision: Literal["accept", "reject", "lines"] = "accept"
    ship_date: dt.date | None = None
    lines: list[LineAnswer] = Field([], description="Each line's answer (`decision` lines).")

    def as_fields(self) -> Fields:
        fields: dict[str, list[str]] = {"whole": [self.decision], "ship_date": _day(self.ship_date)}
        for line in self.lines:
            fields[f"answer-{line.line}"] = [line.answer]
            if line.quantity is not None:
                fields[f"answer_qty-{line.line}"] = [str(line.quantity)]
            fields[f"answer_date-{line.line}"] = _day(line.date)
        return fields


class Invoice(Body):
    number: str = Field("", max_length=22, description="Empty: the gateway numbers it.")

    def as_fields(self) -> Fields:
        return {"number": [self.number]}


class Payment(Body):
    amount: Decimal | None = Field(None, gt=0)
    reference: str = Field("", max_length=80)

    def as_fields(self) -> Fields:
        return {"amount": [str(self.amount or "")], "reference": [self.reference]}


class Refund(Body):
    amount: Decimal = Field(gt=0)
    lines: list[LineQuantity] = []
    reason: str = Field("", max_length=200)

    def as_fields(self) -> Fields:
        return {
            "amount": [str(self.amount)],
            **_lines("refund-", self.lines),
            "reason": [self.reason],
        }


class Return(Body):
    lines: list[LineQuantity] = Field(min_length=1)
    reason: str = Field("", max_length=200)

    def as_fields(self) -> Fields:
        return {**_lines("return-", self.lines), "reason": [self.reason]}


class Note(Body):
    text: str = Field(min_length=1, max_length=forms.MAX_TEXT)

    def as_fields(self) -> Fields:
        return {"text": [self.text]}


class Shipment(Body):
    fulfilment_id: str = Field(min_length=1, max_length=60)
    status: ShipmentStatus = Field(description="Where the shipment is now ('in transit'...).")

    def as_fields(self) -> Fields:
        return {"fulfilment_id": [self.fulfilment_id], "status": [self.status.value]}


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    street: list[str] = []
    city: str = Field("", max_length=30)
    state: str = Field("", max_length=2)
    postal_code: str = Field("", max_length=15)
    country: str = Field("US", max_length=3)


class Customer(Body):
    ship_to: Address
    reason: str = Field("", max_length=200)

    def as_fields(self) -> Fields:
        party = self.ship_to
        return {
            "ship_to-name": [party.name],
            "ship_to-street": ["\n".join(party.street)],
            "ship_to-city": [party.city],
            "ship_to-state": [party.state],
            "ship_to-postal_code": [party.postal_code],
            "ship_to-country": [party.country],
            "reason": [self.reason],
        }


class Dates(Body):
    requested_ship: dt.date | None = None
    requested_delivery: dt.date | None = None
    cancel_after: dt.date | None = None
    reason: str = Field("", max_length=200)

    def as_fields(self) -> Fields:
        return {
            "requested_ship": _day(self.requested_ship),
            "requested_delivery": _day(self.requested_delivery),
            "cancel_after": _day(self.cancel_after),
            "reason": [self.reason],
        }


RESOURCES: dict[str, tuple[str, type[Body]]] = {
    "fulfilments": ("fulfil", Fulfilment),
    "cancellations": ("cancel", Cancellation),
    "acknowledgements": ("acknowledge", Acknowledgement),
    "invoices": ("invoice", Invoice),
    "payments": ("pay", Payment),
    "refunds": ("refund", Refund),
    "returns": ("return", Return),
    "notes": ("note", Note),
    "shipments": ("shipment", Shipment),
    "customer": ("customer", Customer),
    "dates": ("dates", Dates),
}
"""Each action's sub-resource of an order: the console's action and the body it takes."""


def _api_field(field: str) -> str:
    """A console form's field as the API's body names it."""
    for prefix in ("qty-", "cancel-", "refund-", "return-", "answer-", "answer_qty-"):
        if field.startswith(prefix):
            return "lines"
    if field.startswith("answer_date-"):
        return "lines"
    if field.startswith("ship_to-"):
        return "ship_to." + field.removeprefix("ship_to-")
    return {"whole": "decision"}.get(field, field)


# -- answering once ---------------------------------------------------------------------------


def _json(status: int, content: Any) -> JSONResponse:
    return JSONResponse(jsonable_encoder(content), status_code=status)


CUT_OFF = dt.timedelta(minutes=5)
"""A request claiming an idempotency key that has no outcome this long after was cut off (no
request takes that long): its outcome is unknown, and said so, rather than "being answered"."""


def _once(request: Request, body: str, answer: Callable[[], JSONResponse]) -> Response:
    """`answer()`, or with an Idempotency-Key the outcome kept for it (see the docstring)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return answer()
    if not 1 <= len(key) <= tokens.KEY_LENGTH or not key.isprintable():
        raise FormRefused("Idempotency-Key", f"an idempotency key is 1 to {tokens.KEY_LENGTH}"
                          " printable characters")  # fmt: skip
    console = console_of(request)
    token: str = request.state.token_name
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n{body}".encode()).hexdigest()
    kept = tokens.claim_key(console.uow(), token, key, digest, console.clock())
    if kept is not None:
        if kept.digest != digest:
            raise IdempotencyConflict(
                "idempotency-key-same-request",
                "this idempotency key was given with another request: use a new key",
                422,
            )
        if kept.status is None or kept.body is None:
            claimed = kept.claimed_at
            if claimed is not None and console.clock() - claimed > CUT_OFF:
                raise IdempotencyConflict(
                    "idempotency-key-outcome-kept",
                    "the request first sent with this idempotency key was cut off (the gateway"
                    " stopped while answering it): look at the order, then send what is still"
                    " needed with a new key",
                    409,
                )
            raise IdempotencyConflict(
                "idempotency-key-answered-once",
                "the request with this idempotency key is being answered: try again",
                409,
            )
        return Response(
            kept.body,
            status_code=kept.status,
            media_type="application/json",
            headers={"idempotent-replayed": "true"},
        )
    try:
        response = answer()
    except BaseException:
        tokens.release_key(console.uow(), token, key)  # nothing done: a retry may do it
        raise
    if response.status_code >= 500:
        tokens.release_key(console.uow(), token, key)
    else:
        tokens.settle_key(
            console.uow(), token, key, response.status_code, bytes(response.body).decode()
        )
    return response


# -- the application --------------------------------------------------------------------------


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    number = text.removeprefix("o:")
    if not text.startswith("o:") or not number.isdigit():
        raise FormRefused("cursor", "this cursor is not one the API gave")
    return int(number)


def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestRefused)
    content: dict[str, Any] = {"error": exc.message}
    headers: dict[str, str] = {}
    if isinstance(exc, IdempotencyConflict):
        content["rule"] = exc.rule
    if isinstance(exc, TokenNeeded):
        headers["www-authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequests):
        headers["retry-after"] = str(max(1, math.ceil(exc.retry_after)))
    return JSONResponse(content, status_code=exc.status, headers=headers)


def _form_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FormRefused)
    return JSONResponse({"error": exc.message, "field": _api_field(exc.field)}, status_code=422)


def _unavailable(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=503, headers={"retry-after": "5"})


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)


def create_api(console: Console) -> FastAPI:
    """The API's application on the console's `Console`, to be mounted at `PREFIX`."""
    settings = console.gateway.config.web
    api = FastAPI(
        title="EDI gateway API",
        version="1",
        description=__doc__,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.state.console = console
    api.state.buckets = TokenBuckets(settings.api_requests_per_second, settings.api_burst)
    api.add_exception_handler(RequestRefused, _refused)
    api.add_exception_handler(FormRefused, _form_refused)
    api.add_exception_handler(StoreUnavailable, _unavailable)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    _order_routes(api)
    _action_routes(api)
    _document_routes(api)
    return api


def _order_routes(api: FastAPI) -> None:
    @api.get("/orders", summary="The orders, filtered, searched and sorted, a page at a time")
    def order_list(
        request: Request,
        viewer: Holder,
        search: str = "",
        status: Annotated[list[str] | None, Query()] = None,
        fulfilment: str = "",
        payment: str = "",
        partner: str = "",
        since: str = "",
        until: str = "",
        test: bool = False,
        scope: str = "",
        sort: str = "date",
        desc: bool = False,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        console = console_of(request)
        chosen = orders.Filters(
            search=search.strip(),
            statuses=tuple(s for s in status or () if s),
            fulfilment=fulfilment,
            payment=payment,
            partner=(viewer.partner or "") if viewer.is_partner else partner,
            since=since,
            until=until,
            test=test,
            scope=scope,
            sort=sort or "date",
            desc=desc,
        )
        partners = [viewer.partner or ""] if viewer.is_partner else known_partners(console.uow())
        offset = _offset(cursor)
        try:
            query = chosen.query(orders.choices(), partners, 1)
        except ValueError as exc:
            raise FormRefused("filters", str(exc)) from None
        query = dataclasses.replace(query, limit=limit, offset=offset)
        found = list_orders(console.uow(), query)
        shown = found["orders"]
        more = len(shown) == limit and (offset + limit < found["total"] or found["more"])
        return {"orders": shown, "next_cursor": _cursor(offset + limit) if more else None}

    @api.get("/orders/{partner}/{po_number:path}", summary="One order")
    def order(request: Request, viewer: Holder, partner: str, po_number: str) -> dict[str, Any]:
        return orders.order_view(console_of(request), viewer, partner, po_number)


def _action_routes(api: FastAPI) -> None:
    for resource, (action, model) in RESOURCES.items():
        _action_route(api, resource, action, model)


def _action_route(api: FastAPI, resource: str, action: str, model: type[Body]) -> None:
    def act(request: Request, viewer: Actor, partner: str, po_number: str, body: Any) -> Response:
        console = console_of(request)

        def answer() -> JSONResponse:
            view = orders.order_view(console, viewer, partner, po_number)
            placed_with_them = view["our_role"] == "buyer"
            if not viewer.may(
                action, order_partner=view["partner"], placed_with_them=placed_with_them
            ):
                raise ActionForbidden(f"your role ({viewer.role}) may not do this on this order")
            asked = orders.Asked(view, body.as_fields(), viewer)
            try:
                result = orders.ACTIONS[action](console.desk(viewer), asked)
            except FormRefused as problem:
                return _json(422, {"error": problem.message, "field": _api_field(problem.field)})
            except Refused as error:
                message, rule = refusal_message(error)
                return _json(409, {"error": message, "rule": rule})
            return _json(201, result.as_dict())

        return _once(request, body.model_dump_json(), answer)

    act.__annotations__["body"] = model
    act.__name__ = f"post_{resource}"
    api.post(
        f"/orders/{{partner}}/{{po_number:path}}/{resource}",
        status_code=201,
        summary=f"{action.capitalize()}: through the order desk, as the console does",
        responses={
            403: {"description": "Not for this token's role"},
            404: {"description": "No such order for this token"},
            409: {"description": "Refused by a rule: `error` and `rule`"},
        },
    )(act)


def _document_routes(api: FastAPI) -> None:
    @api.get("/documents", summary="The documents received and sent, newest first")
    def document_list(
        request: Request,
        viewer: Holder,
        partner: str = "",
        direction: str = "",
        set_id: Annotated[str, Query(alias="set", description="A transaction set: 850...")] = "",
        status: str = "",
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        console = console_of(request)
        if viewer.is_partner:
            partner, partners = viewer.partner or "", [viewer.partner or ""]
        else:
            configured = [p.key for p in console.gateway.config.partners]
            partners = sorted({*configured, *known_partners(console.uow())})
        offset = _offset(cursor)
        rows = documents.list_documents(
            console.uow(),
            partner=forms.one_of("partner", partner, partners),
            direction=forms.one_of("direction", direction, list(documents.DIRECTIONS)),
            set_id=forms.one_of("set", set_id, documents.document_sets()),
            status=forms.one_of("status", status, documents.document_statuses()),
            limit=limit + 1,
            offset=offset,
        )
        more = len(rows) > limit
        return {"documents": rows[:limit], "next_cursor": _cursor(offset + limit) if more else None}

    @api.get("/documents/{document_id}", summary="One document, its sets and deliveries")
    def document(request: Request, viewer: Holder, document_id: int) -> dict[str, Any]:
        return _document_view(console_of(request), viewer, document_id)

    @api.get(
        "/documents/{document_id}/raw",
        summary="The document's bytes as received or sent",
        response_class=StreamingResponse,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    def raw(request: Request, viewer: Holder, document_id: int) -> Response:
        console = console_of(request)
        _document_view(console, viewer, document_id)
        with console.uow() as uow:
            stored = uow.documents.get(document_id)
        content = documents.content_of(stored, console.gateway.files) if stored else None
        if content is None:
            raise PageNotFound(f"the bytes of document {document_id} are not kept")
        chunks: Iterator[bytes] = iter(content())
        return StreamingResponse(chunks, media_type="application/octet-stream")

    @api.post(
        "/documents/{document_id}/resend",
        status_code=201,
        summary="Queue a document we sent to be delivered again",
        responses={409: {"description": "Refused by a rule: `error` and `rule`"}},
    )
    def resend(request: Request, viewer: Holder, document_id: int) -> Response:
        console = console_of(request)

        def answer() -> JSONResponse:
            _document_view(console, viewer, document_id)
            if not viewer.may("operate"):
                raise ActionForbidden(f"your role ({viewer.role}) may not resend documents")
            try:
                entry = documents.resend(console.gateway.uow_factory, document_id, console.clock())
            except Refused as error:
                message, rule = refusal_message(error)
                return _json(409, {"error": message, "rule": rule})
            return _json(
                201,
                {"document_id": document_id, "outbox": entry.id, "status": entry.status},
            )

        return _once(request, "", answer)

    @api.get("/partners", summary="The configured partners and their health")
    def partners(request: Request, viewer: Holder) -> list[dict[str, Any]]:
        if viewer.is_partner:
            raise PageNotFound("there is no such page")
        console = console_of(request)
        gateway = console.gateway
        health = partner_health(
            gateway.uow_factory, gateway.files, gateway.config.partners, console.clock()
        )
        found: list[dict[str, Any]] = jsonable_encoder(health)
        return found


def _document_view(console: Console, viewer: Viewer, document_id: int) -> dict[str, Any]:
    try:
        view = documents.show_document(console.uow(), document_id)
    except DocumentActionRefused:
        raise PageNotFound(f"no document {document_id}") from None
    if not viewer.sees_partner(view["partner"]):
        raise PageNotFound(f"no document {document_id}")
    return view

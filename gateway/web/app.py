"""The console's application: `create_app` wires one `Console` (the gateway, the templates,
the password hasher, the clock) into a FastAPI application with the pages of `home`, `orders`,
`documents` and `admin`, the sign-in and sign-out routes, the security headers and the error pages,
and the JSON API of `api` mounted at `/api/v1` (its own application, errors and OpenAPI).

Every page but the sign-in page, `/healthz` and `/metrics` needs a session (see `console`):
without one a request is sent to `/signin`, with where it was going, which is only ever a path
of this site. The sign-in
form, before any session, carries a token matched against a cookie of its own; a new session
(a new token) is made at every sign-in. Every response carries a Content-Security-Policy that
allows no inline script or style and nothing from elsewhere, and denies framing.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates

from gateway.adapters import metrics
from gateway.cxml import safe as cxml_safe
from gateway.errors import (
    ActionForbidden,
    PageNotFound,
    SignInNeeded,
    SignInRefused,
    StoreUnavailable,
)
from gateway.render import safe
from gateway.service import accounts
from gateway.web import admin, api, documents, home, orders
from gateway.web.console import (
    CSRF_FIELD,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Console,
    console_of,
    form_fields,
    local_target,
    posted,
    signed_in,
    web_link,
)
from gateway.web.forms import Fields
from gateway.web.viewer import Viewer

if TYPE_CHECKING:
    from gateway.bootstrap import Gateway
    from gateway.service.accounts import PasswordHasher


THROTTLED_RULE = "sign-in-attempts-limited"
CXML_BODY_LIMIT = cxml_safe.MAX_BYTES + 1
"""Read of a POSTed cXML document at most: one byte over the limit refuses it."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("gateway.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["web_link"] = web_link
    environment.filters["quoted"] = lambda value: quote(str(value), safe="")
    environment.filters["inert"] = safe  # control characters written out as escapes
    return environment


def create_app(
    gateway: Gateway,
    *,
    hasher: PasswordHasher | None = None,
    clock: Callable[[], dt.datetime] = _now,
) -> FastAPI:
    """The console's ASGI application on a wired gateway."""
    app = FastAPI(title="EDI gateway console", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(env=_environment())
    console = Console(gateway, templates, hasher or gateway.password_hasher, clock)
    app.state.console = console
    app.mount(api.PREFIX, api.create_api(console), name="api")
    app.mount("/static", StaticFiles(packages=[("gateway.web", "static")]), name="static")

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("cache-control", "no-store")
        return response

    @app.exception_handler(SignInNeeded)
    def to_sign_in(request: Request, exc: SignInNeeded) -> Response:
        target = "/signin" + (f"?next={quote(exc.target, safe='')}" if exc.target != "/" else "")
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(PageNotFound)
    def not_found(request: Request, exc: PageNotFound) -> Response:
        return console_of(request).render(
            request, "error.html", {"title": "Not found", "message": str(exc)}, status_code=404
        )

    @app.exception_handler(404)
    def no_route(request: Request, exc: Exception) -> Response:
        return not_found(request, PageNotFound("there is no such page"))

    @app.exception_handler(ActionForbidden)
    def forbidden(request: Request, exc: ActionForbidden) -> Response:
        return console_of(request).render(
            request, "error.html", {"title": "Refused", "message": exc.message}, status_code=403
        )

    @app.exception_handler(StoreUnavailable)
    def store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
        return console_of(request).render(
            request,
            "error.html",
            {"title": "The database cannot be used now", "message": str(exc)},
            status_code=503,
        )

    _sign_in_routes(app)
    _monitoring_routes(app, gateway)
    _cxml_route(app, gateway)

    @app.get("/", response_class=HTMLResponse)
    def home_page(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:  # noqa: B008
        return home.page(console_of(request), request, viewer)

    app.include_router(orders.router)
    app.include_router(documents.router)
    app.include_router(admin.router)
    return app


def _monitoring_routes(app: FastAPI, gateway: Gateway) -> None:
    """`/healthz` and `/metrics`, for load balancers and Prometheus: no session (they are not
    redirected to the sign-in page), so they answer whoever reaches the address `gateway serve`
    listens on. Keep that address behind the proxy, and let the proxy refuse `/metrics` to
    anyone but the monitoring (it tells the partners' names and the business's volumes)."""
    registry = metrics.registry(gateway.metrics_snapshot)

    @app.get("/healthz")
    def healthz() -> Response:
        status, body = metrics.health_answer(gateway.store_health())
        return Response(body, status_code=status, media_type="application/json")

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(registry), media_type=metrics.CONTENT_TYPE)


def _cxml_route(app: FastAPI, gateway: Gateway) -> None:
    """`POST /cxml`: procurement systems send their cXML documents over HTTP, each answered by
    the cXML Response in the same exchange (HTTP 200; the Response's status says what became of
    it). No session: the document's own credentials and shared secret authenticate it, with the
    checks and the exactly-once record of a file from the partner's mailbox."""

    @app.post("/cxml")
    async def take_cxml(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > CXML_BODY_LIMIT:
                break  # refused whole by its size: no need to read the rest
        client = request.client.host if request.client else "unknown"
        posted = await run_in_threadpool(
            gateway.pipeline.take_posted, bytes(body), f"POST /cxml from {client}"
        )
        return Response(posted.response, media_type="text/xml; charset=UTF-8")


def _sign_in_routes(app: FastAPI) -> None:
    @app.get("/signin", response_class=HTMLResponse)
    def sign_in_page(request: Request, next: str = "/") -> Response:
        return _sign_in_form(request, local_target(next), "")

    @app.post("/signin")
    def sign_in(request: Request, fields: Fields = Depends(form_fields)) -> Response:  # noqa: B008
        console = console_of(request)
        target = local_target((fields.get("next") or ["/"])[0])
        sent = (fields.get(CSRF_FIELD) or [""])[0]
        expected = request.cookies.get(SIGNIN_COOKIE, "")
        if not sent or not expected or not hmac.compare_digest(sent, expected):
            raise ActionForbidden("this form has expired: reload the sign-in page")
        name = (fields.get("name") or [""])[0].strip()
        password = (fields.get("password") or [""])[0]
        settings = console.gateway.config.web
        try:
            token, _session = accounts.sign_in(
                console.uow(),
                console.hasher,
                name,
                password,
                request.client.host if request.client else "",
                console.clock(),
                attempts=settings.login_attempts_per_minute,
            )
        except SignInRefused as refused:
            status = 429 if refused.rule == THROTTLED_RULE else 401
            return _sign_in_form(request, target, refused.message, status_code=status, name=name)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=console.secure(request),
            path="/",
        )
        response.delete_cookie(SIGNIN_COOKIE, path="/signin")
        return response

    @app.post("/signout")
    def sign_out(request: Request, fields: Fields = Depends(posted)) -> Response:  # noqa: B008
        console = console_of(request)
        accounts.sign_out(console.uow(), request.cookies.get(SESSION_COOKIE, ""), console.clock())
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def _sign_in_form(
    request: Request, target: str, message: str, *, status_code: int = 200, name: str = ""
) -> Response:
    console = console_of(request)
    token = secrets.token_urlsafe(32)
    response = console.render(
        request,
        "signin.html",
        {"title": "Sign in", "next": target, "csrf": token, "message": message, "name": name},
        status_code=status_code,
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=console.secure(request),
        path="/signin",
        max_age=3600,
    )
    return response

"""What the console's pages share: who is asking (the session), the forms they send (with
their CSRF token), the answers that are not pages (sign in first, not found, refused), and the
drawing of a page.

A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure when the request came
over HTTPS, or as `[web] secure_cookies` says), of which the store keeps only a digest. Every
form carries the session's CSRF token (htmx sends it as a header) and a POST without it is
refused (403). Route handlers that touch the store are plain functions (FastAPI runs them on
its thread pool); the ones that read a form await it in a dependency first (`posted`).
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from gateway.errors import ActionForbidden, GatewayError, SignInNeeded
from gateway.service import accounts
from gateway.web.forms import Fields
from gateway.web.viewer import Viewer

if TYPE_CHECKING:
    from gateway.bootstrap import Gateway
    from gateway.service.accounts import PasswordHasher
    from gateway.service.actions import OrderDesk
    from gateway.service.ports import UnitOfWork

SESSION_COOKIE = "gateway_session"
SIGNIN_COOKIE = "gateway_signin"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def local_target(target: str) -> str:
    """`target` if it is a path of this site, else `/`: the sign-in page sends nobody
    elsewhere (`//evil.example`, `https://...`, `/\\evil`)."""
    parts = urlsplit(target)
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or parts.scheme
        or parts.netloc
    ):
        return "/"
    return target


@dataclass(slots=True)
class Console:
    """What the pages share: the wired gateway, the templates, the hasher and the clock."""

    gateway: Gateway
    templates: Jinja2Templates
    hasher: PasswordHasher
    clock: Callable[[], dt.datetime]

    def uow(self) -> UnitOfWork:
        return self.gateway.uow_factory()

    def desk(self, viewer: Viewer) -> OrderDesk:
        """The order desk acting as `viewer` (their name goes in the order's history)."""
        return self.gateway.desk(actor=viewer.who)

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        viewer = request.state.viewer if hasattr(request.state, "viewer") else None
        return self.templates.TemplateResponse(
            request,
            template,
            {"viewer": viewer, "path": request.url.path, **context},
            status_code=status_code,
        )

    def secure(self, request: Request) -> bool:
        """Whether cookies get the Secure flag: as configured, else when the request came
        over HTTPS."""
        configured = self.gateway.config.web.secure_cookies
        return request.url.scheme == "https" if configured is None else configured


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def signed_in(request: Request) -> Viewer:
    """The signed-in user, or a redirect to the sign-in page."""
    console = console_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    settings = console.gateway.config.web
    session = (
        accounts.session_for(
            console.uow(),
            token,
            console.clock(),
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
            absolute=dt.timedelta(hours=settings.session_absolute_hours),
        )
        if token
        else None
    )
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(target)
    viewer = Viewer(session.user.name, session.user.role, session.user.partner, session.csrf_token)
    request.state.viewer = viewer
    return viewer


async def form_fields(request: Request) -> Fields:
    """The submitted form's text fields, each name with all its values."""
    form = await request.form()
    return {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form}


async def posted(request: Request, viewer: Viewer = Depends(signed_in)) -> Fields:  # noqa: B008
    """A form sent by a signed-in user, with their session's CSRF token (or a 403)."""
    fields = await form_fields(request)
    sent = (fields.get(CSRF_FIELD) or [""])[0] or request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent, viewer.csrf_token):
        raise ActionForbidden(
            "this form has expired or did not come from this site: reload the page"
        )
    return fields


def web_link(value: object) -> str:
    """`value` if it is an http or https address (a link may be drawn to it), else ''."""
    address = str(value or "")
    parts = urlsplit(address)
    if parts.scheme.lower() in ("http", "https") and parts.netloc and address.isprintable():
        return address
    return ""


def refusal_message(error: GatewayError) -> tuple[str, str]:
    """A refusal as the page shows it: the rule's sentence, and the rule's name."""
    return getattr(error, "message", str(error)), getattr(error, "rule", "") or ""

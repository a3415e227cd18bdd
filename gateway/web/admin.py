"""The console's users, for admins: the users with their roles, adding one, disabling one, and
the log of sign-ins: what `gateway users add|list|disable|sign-ins` do, through the same
service calls (`gateway.service.accounts`).

An operator or a viewer is refused (403); a partner user is told there is nothing here (404),
as on every page that is not theirs. A refused user (a name taken, a short password...) is shown
with the rule's sentence beside the form (409); a form that holds no usable value (two
different passwords, a partner that is not configured) with the field's problem (422). The
passwords typed are never drawn back into the page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.errors import AccountRefused, ActionForbidden, FormRefused, PageNotFound
from gateway.service import accounts
from gateway.web import forms
from gateway.web.console import console_of, posted, refusal_message, signed_in
from gateway.web.forms import Fields
from gateway.web.viewer import Viewer

router = APIRouter()
SIGN_INS_SHOWN = 50
DONE = {"added": "User {name} added.", "disabled": "User {name} disabled; its sessions ended."}


def _admins_only(viewer: Viewer) -> None:
    if viewer.is_partner:
        raise PageNotFound("there is no such page")
    if not viewer.may("manage users"):
        raise ActionForbidden(f"your role ({viewer.role}) may not manage users")


def _users_page(
    request: Request,
    *,
    refused: dict[str, Any] | None = None,
    asked: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    params = request.query_params
    done = params.get("done", "")
    context = {
        "title": "Users",
        "users": accounts.users(console.uow()),
        "sign_ins": accounts.sign_ins(console.uow(), SIGN_INS_SHOWN),
        "roles": accounts.ROLES,
        "partners": [p.key for p in console.gateway.config.partners],
        "refused": refused or {},
        "asked": asked or {},
        "said": DONE[done].format(name=params.get("name", "")) if done in DONE else "",
    }
    return console.render(request, "users.html", context, status_code=status_code)


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:  # noqa: B008
    _admins_only(viewer)
    return _users_page(request)


@router.post("/users")
def add_user(request: Request, fields: Fields = Depends(posted)) -> Response:  # noqa: B008
    """Add a user, as `gateway users add` does (admins)."""
    _admins_only(request.state.viewer)
    console = console_of(request)
    asked: dict[str, str] = {}
    try:
        for field in ("name", "role", "partner"):
            asked[field] = forms.text(fields, field, limit=200)
        password = (fields.get("password") or [""])[0]
        if password != (fields.get("password_again") or [""])[0]:
            raise FormRefused("password_again", "the two passwords differ")
        partners = [p.key for p in console.gateway.config.partners]
        if asked["partner"] and asked["partner"] not in partners:
            raise FormRefused(
                "partner", f"no partner {asked['partner']!r}; one of: {', '.join(partners)}"
            )
        user = accounts.add_user(
            console.uow(),
            console.hasher,
            asked["name"],
            asked["role"],
            asked["partner"] or None,
            password,
            console.clock(),
        )
    except FormRefused as problem:
        refused = {"action": "add", "message": problem.message, "field": problem.field}
        return _users_page(request, refused=refused, asked=asked, status_code=422)
    except AccountRefused as error:
        message, rule = refusal_message(error)
        refused = {"action": "add", "message": message, "rule": rule, "field": ""}
        return _users_page(request, refused=refused, asked=asked, status_code=409)
    target = "/users?" + urlencode({"done": "added", "name": user.name})
    return RedirectResponse(target, status_code=303)


@router.post("/users/disable")
def disable_user(request: Request, fields: Fields = Depends(posted)) -> Response:  # noqa: B008
    """Disable a user (the form's `name`) and end its sessions, as `gateway users disable`
    does (admins)."""
    _admins_only(request.state.viewer)
    console = console_of(request)
    try:
        name = forms.text(fields, "name", required=True, limit=200)
        user = accounts.disable_user(console.uow(), name, console.clock())
    except (FormRefused, AccountRefused) as error:
        message, rule = refusal_message(error)
        refused = {"action": "disable", "message": message, "rule": rule}
        return _users_page(request, refused=refused, status_code=409)
    target = "/users?" + urlencode({"done": "disabled", "name": user.name})
    return RedirectResponse(target, status_code=303)

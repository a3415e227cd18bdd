"""`users add|list|disable|passwd|sign-ins`: the web console's user accounts.

A password never comes as an argument (it would show in the process list and the shell's
history): it is read from the environment variable `GATEWAY_PASSWORD` when set, else asked
twice without echo on a terminal (never read from a pipe), the prompts on standard error so that
`--json` output stays one object.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from gateway.cli.shared import (
    Settings,
    configured_partner,
    described,
    emit,
    json_option,
    role_and_partner,
)

if TYPE_CHECKING:
    from gateway.service.accounts import User

PASSWORD_VARIABLE = "GATEWAY_PASSWORD"


def _roles() -> tuple[str, ...]:
    from gateway.service.accounts import ROLES

    return ROLES


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _password() -> str:
    """The new password: `GATEWAY_PASSWORD` when set, else typed twice, hidden."""
    given = os.environ.get(PASSWORD_VARIABLE)
    if given is not None:
        return given
    if not sys.stdin.isatty():  # getpass would read it from the pipe, echoing a warning
        raise click.UsageError(
            f"standard input is not a terminal to type the password on: set {PASSWORD_VARIABLE}"
        )
    typed = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return str(typed)


def _view(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "partner": user.partner,
        "disabled": user.disabled,
        "created": user.created_at.isoformat(),
    }


@click.group()
def users() -> None:
    """User accounts of the web console: add, list, disable, passwords."""


@users.command("add")
@click.argument("name")
@role_and_partner(
    _roles,
    "What the user may do: {names}.",
    "The partner a user of role partner belongs to (a configured partner's key).",
)
@json_option("Print the user added as JSON.")
@click.pass_obj
def users_add(
    settings: Settings, name: str, role: str, partner_key: str | None, as_json: bool
) -> None:
    """Add a user of the web console (password from GATEWAY_PASSWORD, or asked twice)."""
    from gateway.service.accounts import add_user, check_new_user

    configured_partner(settings.config(), partner_key)
    gateway = settings.gateway()
    check_new_user(gateway.uow_factory(), name, role, partner_key)  # before asking a password
    user = add_user(
        gateway.uow_factory(),
        gateway.password_hasher,
        name,
        role,
        partner_key,
        _password(),
        _now(),
    )
    if as_json:
        emit(_view(user))
    else:
        click.echo(f"user {user.name} added: {described(user.role, user.partner)}")


@users.command("list")
@json_option("Print JSON instead of a table.")
@click.pass_obj
def users_list(settings: Settings, as_json: bool) -> None:
    """Every user with its role, partner, whether it is disabled, and when it was added."""
    from gateway import render
    from gateway.service.accounts import users as all_users

    found = all_users(settings.gateway().uow_factory())
    if as_json:
        emit([_view(user) for user in found])
    elif not found:
        click.echo("no users: add one with `gateway users add NAME --role admin`")
    else:
        render.table(
            [
                {
                    "name": user.name,
                    "role": user.role,
                    "partner": user.partner or "",
                    "disabled": "yes" if user.disabled else "no",
                    "created": f"{user.created_at:%Y-%m-%d %H:%M} UTC",
                }
                for user in found
            ]
        )


@users.command("disable")
@click.argument("name")
@json_option("Print the user as JSON.")
@click.pass_obj
def users_disable(settings: Settings, name: str, as_json: bool) -> None:
    """Disable a user: it cannot sign in any more, and its sessions end now."""
    from gateway.service.accounts import disable_user

    user = disable_user(settings.gateway().uow_factory(), name, _now())
    if as_json:
        emit(_view(user))
    else:
        click.echo(f"user {user.name} disabled; its sessions ended")


@users.command("passwd")
@click.argument("name")
@json_option("Print the outcome as JSON.")
@click.pass_obj
def users_passwd(settings: Settings, name: str, as_json: bool) -> None:
    """Give a user a new password (from GATEWAY_PASSWORD, or asked twice); its sessions end."""
    from gateway.service.accounts import change_password, find_user

    gateway = settings.gateway()
    user = find_user(gateway.uow_factory(), name)  # before asking a password
    change_password(gateway.uow_factory(), gateway.password_hasher, user.name, _password(), _now())
    if as_json:
        emit({"name": user.name, "password_changed": True, "sessions_ended": True})
    else:
        click.echo(f"password of {user.name} changed; its sessions ended")


@users.command("sign-ins")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option("Print JSON instead of a table.")
@click.pass_obj
def users_sign_ins(settings: Settings, limit: int, as_json: bool) -> None:
    """The latest sign-ins to the web console and their outcomes, newest first."""
    from gateway import render
    from gateway.service.accounts import sign_ins

    found = sign_ins(settings.gateway().uow_factory(), limit)
    rows = [
        {"at": s.at.isoformat(), "name": s.name, "address": s.address, "outcome": s.outcome}
        for s in found
    ]
    if as_json:
        emit(rows)
    elif not rows:
        click.echo("no sign-ins")
    else:
        render.table(rows)  # names as people typed them: escaped, never obeyed

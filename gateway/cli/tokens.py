"""`tokens add|list|revoke`: the API's tokens.

`add` prints the token's secret once, on standard output (with `--json`, in the object): the
store keeps only its SHA-256, so a lost secret is replaced by a new token, never shown again.
"""

from __future__ import annotations

import datetime as dt
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
    from gateway.service.tokens import ApiToken


def _roles() -> tuple[str, ...]:
    from gateway.service.tokens import TOKEN_ROLES

    return TOKEN_ROLES


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _when(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _view(token: ApiToken) -> dict[str, Any]:
    return {
        "name": token.name,
        "role": token.role,
        "partner": token.partner,
        "created": token.created_at.isoformat(),
        "last_used": _when(token.last_used_at),
        "revoked": _when(token.revoked_at),
    }


def _shown(moment: dt.datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


@click.group()
def tokens() -> None:
    """Tokens of the API (`Authorization: Bearer TOKEN`): add, list, revoke."""


@tokens.command("add")
@click.argument("name")
@role_and_partner(
    _roles,
    "What the token may do, as a console user of that role: {names}.",
    "The partner a token of role partner belongs to (a configured partner's key).",
)
@json_option("Print the token added, with its secret, as JSON.")
@click.pass_obj
def tokens_add(
    settings: Settings, name: str, role: str, partner_key: str | None, as_json: bool
) -> None:
    """Add a token of the API and print its secret: once, it is never shown again."""
    from gateway.service.tokens import add_token

    configured_partner(settings.config(), partner_key)
    secret, token = add_token(settings.gateway().uow_factory(), name, role, partner_key, _now())
    if as_json:
        emit({**_view(token), "token": secret})
    else:
        click.echo(f"token {token.name} added: {described(token.role, token.partner)}", err=True)
        click.echo("its secret, shown this once (the gateway keeps only its hash):", err=True)
        click.echo(secret)


@tokens.command("list")
@json_option("Print JSON instead of a table.")
@click.pass_obj
def tokens_list(settings: Settings, as_json: bool) -> None:
    """Every token with its role, partner, when it was added, last used and revoked."""
    from gateway import render
    from gateway.service.tokens import tokens as all_tokens

    found = all_tokens(settings.gateway().uow_factory())
    if as_json:
        emit([_view(token) for token in found])
    elif not found:
        click.echo("no tokens: add one with `gateway tokens add NAME --role viewer`")
    else:
        render.table(
            [
                {
                    "name": token.name,
                    "role": token.role,
                    "partner": token.partner or "",
                    "created": _shown(token.created_at),
                    "last used": _shown(token.last_used_at),
                    "revoked": _shown(token.revoked_at),
                }
                for token in found
            ]
        )


@tokens.command("revoke")
@click.argument("name")
@json_option("Print the token as JSON.")
@click.pass_obj
def tokens_revoke(settings: Settings, name: str, as_json: bool) -> None:
    """Revoke a token: the API refuses it from its next request on."""
    from gateway.service.tokens import revoke_token

    token = revoke_token(settings.gateway().uow_factory(), name, _now())
    if as_json:
        emit(_view(token))
    else:
        click.echo(f"token {token.name} revoked")

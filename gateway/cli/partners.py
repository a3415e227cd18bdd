"""`partners list` and `partners check`: the trading partners configured in partners/*.toml."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from gateway.cli.shared import EXIT_OK, EXIT_REJECTED, Settings, emit, json_option

if TYPE_CHECKING:
    from gateway.config import CxmlCredential, Identity, PartnerProfile


@click.group()
def partners() -> None:
    """The trading partners configured in partners/*.toml."""


def _transport_line(profile: PartnerProfile) -> str:
    from gateway.service.report import transport_line

    return transport_line(profile)


@partners.command("list")
@json_option("Print JSON instead of a table.")
@click.pass_obj
def partners_list(settings: Settings, as_json: bool) -> None:
    """Every partner profile with its identity and transport."""
    from gateway import render

    config = settings.config()
    rows = [
        {
            "partner": p.key,
            "name": p.name,
            "role": p.role,
            "format": p.format,
            "isa": _identity(p, p.identity, p.cxml.them if p.cxml else None),
            "us": _identity(p, p.us, p.cxml.us if p.cxml else None),
            "version": p.x12.version if p.format == "x12" else "",
            "acknowledgements": f"send {p.acknowledgements.send}, expect"
            f" {p.acknowledgements.expect} within {p.acknowledgements.deadline_hours:g} h",
            "transport": _transport_line(p),
        }
        for p in config.partners
    ]
    if as_json:
        emit(rows)
    elif not rows:
        click.echo(f"no partner profiles ({config.source})")
    else:
        render.table(rows)


def _identity(profile: PartnerProfile, x12: Identity, cxml: CxmlCredential | None) -> str:
    """How a side is named: its ISA qualifier and id, its cXML credential, or nothing (CSV)."""
    if profile.format == "x12":
        return f"{x12.isa_qualifier}/{x12.isa_id}"
    return str(cxml) if cxml is not None else ""


@partners.command("check")
@click.argument("keys", nargs=-1)
@json_option("Print each partner's verdict as JSON.")
@click.pass_obj
def partners_check(settings: Settings, keys: tuple[str, ...], as_json: bool) -> None:
    """Connect to each partner's mailboxes (all, or those named): folders exist and can be
    written; SFTP servers show the pinned host key, let us in, and have the folders."""
    from gateway.errors import GatewayError

    gateway = settings.gateway(migrated=False)
    chosen = [p for p in gateway.config.partners if not keys or p.key in keys]
    unknown = set(keys) - {p.key for p in chosen}
    if unknown:
        known = sorted(p.key for p in gateway.config.partners)
        valid = f"one of: {', '.join(known)}" if known else "there are no partner profiles"
        raise click.BadParameter(f"no partner profile {', '.join(sorted(unknown))}; {valid}")
    failed = False
    verdicts = []
    for profile in chosen:
        try:
            problems = gateway.check_mailbox(profile)
        except GatewayError as exc:
            problems = [str(exc)]
        failed = failed or bool(problems)
        verdicts.append(
            {
                "partner": profile.key,
                "transport": _transport_line(profile),
                "ok": not problems,
                "problems": problems,
            }
        )
        if not as_json:
            verdict = "ok" if not problems else "; ".join(problems)
            click.echo(f"{profile.key}: {_transport_line(profile)}: {verdict}")
    if as_json:
        emit(verdicts)
    sys.exit(EXIT_REJECTED if failed else EXIT_OK)

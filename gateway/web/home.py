"""The home page: what needs a person now, and two pictures: orders per day by state for the
last 30 days, and per partner the share of orders acknowledged and shipped on time. A partner
user sees their partner's alone."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup

from gateway.service import dashboard
from gateway.service.ports import OrderQuery
from gateway.web import charts
from gateway.web.console import Console
from gateway.web.viewer import Viewer

DAYS = 30


def page(console: Console, request: Request, viewer: Viewer) -> Response:
    """The home page for `viewer`."""
    now = console.clock()
    partner = viewer.partner if viewer.is_partner else None
    days, series = dashboard.orders_per_day(console.uow(), now.date(), DAYS, partner)
    profiles = {p.key: p for p in console.gateway.config.partners}
    shares = dashboard.on_time(console.uow(), profiles, now, DAYS, partner)
    with console.uow() as uow:
        open_orders = uow.orders.summaries(OrderQuery(partner=partner, limit=1)).total
    tiles = [
        ("Open orders", open_orders, "/orders"),
        ("Shipped, not completed", _count(console, partner, "shipped"), "/orders?status=shipped"),
    ]
    if not viewer.is_partner:
        quarantined = len(console.gateway.files.quarantined())
        tiles.append(("Files in quarantine", quarantined, "/quarantine"))
    context = {
        "title": "Home",
        "tiles": tiles,
        # SVG written by `charts`, every text in it escaped there
        "per_day": Markup(charts.orders_per_day(days, series)),
        "on_time": Markup(charts.partner_shares([s.shares() for s in shares])),
        "days": DAYS,
    }
    return console.render(request, "home.html", context)


def _count(console: Console, partner: str | None, status: str) -> int:
    with console.uow() as uow:
        return uow.orders.summaries(
            OrderQuery(partner=partner, statuses=(status,), scope="open", limit=1)
        ).total

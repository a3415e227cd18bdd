"""Who is asking, and what their role lets them see and do.

A `viewer` reads everything; an `operator` also acts on orders, documents and mail; an `admin`
also manages the console's users. A `partner` user is one partner's: they see that partner's
orders and documents only (any other is answered as if it did not exist: 404, never 403, so
that its existence is not told), and may act only as the specification's direct vendor does on
an order placed with them: create fulfilments, record shipment statuses, add notes.
"""

from __future__ import annotations

from dataclasses import dataclass

ORDER_ACTIONS = (
    "fulfil",
    "shipment",
    "cancel",
    "acknowledge",
    "invoice",
    "pay",
    "refund",
    "return",
    "customer",
    "dates",
    "note",
)
"""The actions of the order page, each a form and a POST of its own."""
PARTNER_ACTIONS = frozenset({"fulfil", "shipment", "note"})
"""What a partner user may do on an order placed with them."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of one request, with their session's CSRF token; or the holder of
    an API token (`channel` "api", named `token NAME`, no CSRF token)."""

    name: str
    role: str
    partner: str | None
    csrf_token: str
    channel: str = "web"

    @property
    def is_partner(self) -> bool:
        return self.role == "partner"

    def sees_partner(self, partner: str) -> bool:
        """Whether this user may see anything of `partner`'s."""
        return not self.is_partner or partner == self.partner

    def may(self, action: str, *, order_partner: str = "", placed_with_them: bool = False) -> bool:
        """Whether this user may take `action` (an order action, or `operate`: documents and
        mail; `manage users`). For a partner user, on an order of their partner's that we
        placed with them (`placed_with_them`)."""
        if self.role == "admin":
            return True
        if self.role == "operator":
            return action != "manage users"
        if self.is_partner:
            return action in PARTNER_ACTIONS and order_partner == self.partner and placed_with_them
        return False

    @property
    def who(self) -> str:
        """How the order's history names this user's actions."""
        return f"{self.name} ({self.channel})"

"""What the cXML documents we send share: the order they answer and their deployment mode
(not a kind: the registry reads the modules named after a format only)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from gateway.cxml.model import OrderReference
from gateway.kinds.base import BuildRequest


def reference(request: BuildRequest) -> OrderReference:
    """The buyer's order a document answers: its orderID, the payloadID it came in and its
    date."""
    order = request.order
    return OrderReference(
        order.po_number,
        request.answering,
        dt.datetime.combine(order.order_date, dt.time(), tzinfo=dt.UTC),
    )


def mode(request: BuildRequest) -> Literal["production", "test"]:
    return "test" if request.test else "production"

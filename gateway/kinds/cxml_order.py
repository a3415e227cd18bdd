"""The cXML OrderRequest: a buyer's order sent by its procurement system (Ariba, Coupa...). Its
type `new`, `update` or `delete` opens, replaces or cancels the order we sell, as an 850's
purpose code would."""

from __future__ import annotations

from gateway.domain.values import Role
from gateway.kinds.base import Kind, Reads
from gateway.mapping.cxml_orders import order_request

KIND = Kind(
    "OrderRequest",
    "cXML order request",
    reads=Reads(
        "cxml-order-in", Role.SELLER, order_request, "cXML order (OrderRequest)", opens_orders=True
    ),
    format="cxml",
    stands_for="850",
    extension="xml",
)

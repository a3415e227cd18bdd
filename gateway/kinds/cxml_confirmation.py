"""The cXML ConfirmationRequest: the seller's decision on a cXML buyer's order, as our 855 to an
X12 buyer (accept or reject the whole order, or `detail` line by line); sending it records the
same on the order."""

from __future__ import annotations

from gateway.cxml.writer import confirmation_request
from gateway.domain.values import DocumentKind, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Writes
from gateway.kinds.references import mode, reference
from gateway.kinds.x12_855 import acknowledged
from gateway.mapping.cxml_orders import confirmation
from gateway.mapping.outbound_settings import ConfirmationSettings


def build(request: BuildRequest) -> Built:
    order, decision = request.order, request.decision
    assert decision is not None  # required
    found = confirmation(
        order,
        decision,
        reference(request),
        request.document_id,
        request.now,
        whole_order=request.settings.whole_order,
    )
    content = confirmation_request(request.header, found, mode=mode(request))
    return Built(
        [], acknowledged(order, decision, request.now, "ConfirmationRequest"), content=content
    )


KIND = Kind(
    "ConfirmationRequest",
    "cXML order confirmation",
    writes=Writes(
        "cxml-confirmation-out",
        Role.SELLER,
        ConfirmationSettings,
        DocumentKind.ACKNOWLEDGEMENT,
        build,
        options={"decision": "seller's decision"},
        required={"decision": "a ConfirmationRequest needs the seller's decision"},
    ),
    format="cxml",
    stands_for="855",
    extension="xml",
)

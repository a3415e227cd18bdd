"""The purchase order change acknowledgement (865): the seller's answer to a buyer's 860. We send
it as we take an 860 in (when the partner's settings ask for it) and take it in for a change we
asked."""

from __future__ import annotations

from gateway.domain.values import DocumentKind, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Writes
from gateway.mapping.inbound import change_acknowledgement as read_change_acknowledgement
from gateway.mapping.outbound import change_acknowledgement
from gateway.mapping.outbound_settings import ChangeAcknowledgementSettings


def build(request: BuildRequest) -> Built:
    answer = request.change_answer
    assert answer is not None  # required
    return Built(
        [change_acknowledgement(request.order, answer, request.settings, request.now.date())]
    )


KIND = Kind(
    "865",
    "purchase order change acknowledgement",
    reads=Reads("865-in", Role.BUYER, read_change_acknowledgement, "change acknowledgement (865)"),
    writes=Writes(
        "865-out",
        Role.SELLER,
        ChangeAcknowledgementSettings,
        DocumentKind.CHANGE_ANSWER,
        build,
        options={"change_answer": "answer to a change order"},
        required={
            "change_answer": "an 865 answers a buyer's change order (860): the gateway sends it"
            " as it takes the 860 in"
        },
    ),
)

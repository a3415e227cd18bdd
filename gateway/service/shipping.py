"""A fulfilment's carrier as the order records it: a SCAC of the carriers table.

Strategy: whoever reports a shipment (an operator typing "FedEx", a seller's 856 with TD503
`UPSN` or only a TD505 "UPS GROUND") names the carrier their way; before the fulfilment reaches
the order, its carrier is resolved through the partner's aliases (`[carriers]` in their profile)
and the table's names, and recorded as the SCAC. A carrier nobody knows is refused with the list
of known ones (`carrier-must-be-known`), since a fulfilment is never edited. A fulfilment given
without a tracking URL gets the carrier's public tracking page for its first number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from gateway.domain import carriers
from gateway.domain.commands import Command, CreateFulfilment
from gateway.domain.rules import refusal
from gateway.errors import UnknownCarrier


def with_carrier_resolved(command: Command, aliases: Mapping[str, str]) -> Command:
    """`command` with its carrier as a SCAC (and a tracking URL when it had none) when it is a
    fulfilment; any other command as it is. RuleViolation for a carrier nobody knows."""
    if not isinstance(command, CreateFulfilment):
        return command
    try:
        carrier = carriers.resolve(command.carrier, aliases)
    except UnknownCarrier as exc:
        raise refusal("carrier-must-be-known", str(exc), po_number=command.po_number) from None
    url = command.tracking_url
    if not url and command.tracking_numbers:
        url = carriers.tracking_url(carrier, command.tracking_numbers[0])
    return dataclasses.replace(command, carrier=carrier.scac, tracking_url=url)

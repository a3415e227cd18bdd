"""The cXML InvoiceDetailRequest: what shipped and is not invoiced yet, as our 810 to an X12
buyer; sending it records the invoice on the order."""

from __future__ import annotations

import dataclasses

from gateway.cxml.writer import invoice_detail_request
from gateway.domain.values import DocumentKind, Role
from gateway.kinds.base import BuildRequest, Built, Kind, Writes
from gateway.kinds.references import mode, reference
from gateway.kinds.x12_810 import invoice_number, invoiced
from gateway.mapping.cxml_orders import invoice
from gateway.mapping.outbound_settings import CxmlInvoiceSettings


def build(request: BuildRequest) -> Built:
    order, now = request.order, request.now
    number = invoice_number(request)
    found, amount, quantities = invoice(order, number, reference(request), now)
    found = dataclasses.replace(found, tax_description=request.settings.tax_description)
    content = invoice_detail_request(request.header, found, mode=mode(request))
    return Built([], invoiced(order, number, amount, quantities, now), content=content)


KIND = Kind(
    "InvoiceDetailRequest",
    "cXML invoice",
    writes=Writes(
        "cxml-invoice-out",
        Role.SELLER,
        CxmlInvoiceSettings,
        DocumentKind.INVOICE,
        build,
        options={"invoice_number": "invoice number"},
    ),
    format="cxml",
    stands_for="810",
    extension="xml",
)

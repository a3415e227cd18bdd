"""The cXML Response: the answer to a cXML document, as a 997 is to an X12 one. We write one for
every document a cXML partner sends us (200 when applied, 4xx naming the problem otherwise) and
take theirs in for ours (2xx accepted, anything else rejected)."""

from __future__ import annotations

from gateway.kinds.base import Kind

KIND = Kind(
    "Response",
    "cXML response",
    acknowledges=True,
    format="cxml",
    extension="xml",
)

"""The X12 codec, usable as a library: read and validate files (streaming, with the tolerances
real translators need and a strict mode), parse them into interchanges, write interchanges, and
build and read the acknowledgements (TA1, 997, 999). It imports nothing but the standard library.

    from gateway import x12

    report = x12.read_bytes(data)            # or x12.read_chunks(chunks, strict=True)
    if report.accepted:
        interchanges, _ = x12.parse_bytes(data)
    answers = x12.build_acknowledgements(report.interchanges[0], x12.CountingControlNumbers(),
                                         x12.Stamp("20261207", "1200"))
    x12.serialize(answers[0])

Importing the package imports the codec (reader, acknowledgements, serializer, trees): what
`import gateway.x12` costs is what using it costs.
"""

from __future__ import annotations

from gateway.x12.ack import (
    AckFormat,
    CountingControlNumbers,
    Stamp,
    build_acknowledgements,
    read_functional_ack,
    read_ta1,
)
from gateway.x12.document import Element, FunctionalGroup, Interchange, Segment, TransactionSet
from gateway.x12.model import (
    TOLERANCES,
    Delimiters,
    FileReport,
    GroupReport,
    InterchangeReport,
    Issue,
    Tolerance,
    TransactionReport,
)
from gateway.x12.reader import Reader, parse_bytes, read_bytes, read_chunks
from gateway.x12.schema import Catalog, load_catalog
from gateway.x12.serializer import serialize
from gateway.x12.tree import Loop, build_tree

__all__ = [
    "TOLERANCES",
    "AckFormat",
    "Catalog",
    "CountingControlNumbers",
    "Delimiters",
    "Element",
    "FileReport",
    "FunctionalGroup",
    "GroupReport",
    "Interchange",
    "InterchangeReport",
    "Issue",
    "Loop",
    "Reader",
    "Segment",
    "Stamp",
    "Tolerance",
    "TransactionReport",
    "TransactionSet",
    "build_acknowledgements",
    "build_tree",
    "load_catalog",
    "parse_bytes",
    "read_bytes",
    "read_chunks",
    "read_functional_ack",
    "read_ta1",
    "serialize",
]

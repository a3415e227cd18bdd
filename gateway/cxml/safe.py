"""Safe XML parsing for partner files: the only way the cXML codec turns bytes into elements.

The rules, each a `CxmlError` naming the problem:

- more than `max_bytes` bytes: refused before anything is parsed;
- a DOCTYPE with an internal subset declaring entities (billion laughs, XXE, parameter
  entities): refused, nothing expanded or fetched. A plain external DOCTYPE, as real cXML
  starts (`<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/...">`), is accepted and never loaded;
- elements nested deeper than `max_depth`: refused while parsing, at the first one too deep;
- bytes that do not decode in the declared (or default) encoding: refused with lxml's line;
- processing instructions are dropped; a text node over libxml2's own limit stays refused
  (`huge_tree` is off).
"""

from __future__ import annotations

from typing import Any, cast

from lxml import etree

from gateway.errors import CxmlError

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
_CHUNK = 512  # bytes fed to the parser at a time

# `<!ENTITY` as it appears in the bytes of the encodings a partner may declare
_ENTITY_MARKS = tuple("<!ENTITY".encode(codec) for codec in ("ascii", "utf-16-le", "utf-16-be"))


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def source_line(element: etree._Element) -> int:
    """The line `element` started on, 0 when lxml does not know it."""
    line = element.sourceline
    return line if isinstance(line, int) else 0


def _refuse_entity_declarations(data: bytes) -> None:
    """Refuse before parsing when the bytes declare an entity, so that nothing is expanded."""
    for mark in _ENTITY_MARKS:
        found = data.find(mark)
        if found >= 0:
            raise CxmlError(
                "the DOCTYPE declares an entity (<!ENTITY): entities are refused",
                line=_line_of(data, found),
            )


def parse(data: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> etree._Element:
    """The root element of `data`, parsed under the rules above; `CxmlError` otherwise."""
    if len(data) > max_bytes:
        raise CxmlError(f"the document is {len(data)} bytes, over the limit of {max_bytes}")
    _refuse_entity_declarations(data)
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )
    depth = 0
    root: etree._Element | None = None
    try:
        # fed in small chunks so that the depth is checked long before libxml2's own limit
        for offset in [*range(0, len(data), _CHUNK), -1]:
            if offset < 0:
                parser.close()
            else:
                parser.feed(data[offset : offset + _CHUNK])
            for event, element in parser.read_events():
                if not isinstance(element, etree._Element):  # only start-ns events carry tuples
                    continue
                if event == "end":
                    depth -= 1
                    continue
                depth += 1
                if root is None:
                    root = element
                    _refuse_internal_entities(element)
                if depth > max_depth:
                    raise CxmlError(
                        f"elements nested deeper than {max_depth}", line=source_line(element)
                    )
    except etree.XMLSyntaxError as error:
        message = str(error.msg or error).splitlines()[0]
        raise CxmlError(f"not well-formed XML: {message}", line=error.lineno or 0) from None
    if root is None:  # pragma: no cover - iterparse raises on a document without a root
        raise CxmlError("no root element")
    return root


def _refuse_internal_entities(root: etree._Element) -> None:
    """Second guard, for encodings the byte scan does not see: entities the parser recorded."""
    dtd = root.getroottree().docinfo.internalDTD
    # lxml-stubs lacks DTD.iterentities
    if dtd is not None and any(True for _ in cast(Any, dtd).iterentities()):
        raise CxmlError(
            "the DOCTYPE declares an entity (<!ENTITY): entities are refused",
            line=source_line(root),
        )

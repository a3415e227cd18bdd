"""The words an order is found by, and how a search text becomes an index range.

Strategy: an order's search terms are taken from its stored state (the JSON of
`gateway.adapters.state.dump`), so the store and the migration that fills the terms of orders
stored before them compute the same ones from the same data. A term is lower-cased and cut to
`orm.SEARCH_TERM_LENGTH`; a search matches the terms that start with the text searched, which
is one range of the terms' index (`term >= text AND term < text with its last character
incremented`): both SQLite and PostgreSQL (the column's collation is "C" there) compare the
terms code point by code point, so the range holds exactly the terms with that prefix. A match
inside a term (not at its start, nor at the start of a word of the ship-to name) cannot be
read from a B-tree index and is not offered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.adapters.orm import SEARCH_TERM_LENGTH

SHIP_TO = "ST"
_WORD = re.compile(r"\w+")
_SURROGATES = range(0xD800, 0xE000)
_PUNCTUATION = ".,;:'\"()[]{}&/-"


def normalized(text: str) -> str:
    """A term or a search text as the index holds it: trimmed, lower-cased, with single spaces,
    cut to length."""
    return " ".join(text.split()).lower()[:SEARCH_TERM_LENGTH]


def search_terms(state: Mapping[str, Any]) -> frozenset[str]:
    """The terms of an order, from its stored state: the PO number, every product id of every
    line, the ship-to name whole and each word of it (split on white space and on anything
    that is not a letter or digit), every tracking number of every fulfilment."""
    found: set[str] = {state.get("po_number") or ""}
    for line in state.get("lines") or ():
        if ids := line.get("product_ids"):
            found.update(ids.values())
    for party in state.get("parties") or ():
        if party.get("entity_code") == SHIP_TO and (name := party.get("name")):
            found.add(name)
            found.update(word.strip(_PUNCTUATION) for word in name.split())
            found.update(_WORD.findall(name))
    for fulfilment in state.get("fulfilments") or ():
        found.update(fulfilment.get("tracking_numbers") or ())
    return frozenset(term for term in map(normalized, found) if term)


def prefix_range(text: str) -> tuple[str, str | None]:
    """The range of terms that start with `text` (normalized): `low <= term < high`; high None
    when no string is above every term starting with it (the text ends with the highest code
    point)."""
    low = normalized(text)
    last = ord(low[-1]) + 1
    if last in _SURROGATES:
        last = _SURROGATES.stop
    if last > 0x10FFFF:
        return low, None
    return low, low[:-1] + chr(last)

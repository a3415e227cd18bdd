"""A small catalog written in the schema format, so unit tests do not depend on the shipped data."""

from __future__ import annotations

from gateway.x12.schema import Catalog, Family, parse_segments, parse_transaction_set

SEGMENTS = """
segment ST Transaction Set Header
  ST01 143 M ID 3/3
  ST02 329 M AN 4/9
  ST03 1705 O AN 1/35
segment SE Transaction Set Trailer
  SE01 96 M N0 1/10
  SE02 329 M AN 4/9
segment BEG Beginning Segment for Purchase Order
  BEG01 353 M ID 2/2 codes=00,01,05,06,07
  BEG02 92 M ID 2/2
  BEG03 324 M AN 1/22
  BEG04 328 O AN 1/30
  BEG05 373 M DT 8/8
segment REF Reference Identification
  REF01 128 M ID 2/3
  REF02 127 X AN 1/30
  REF03 352 X AN 1/80
  REF04 C040 O
  rule R0203
segment DTM Date/Time Reference
  DTM01 374 M ID 3/3
  DTM02 373 X DT 8/8
  DTM03 337 X TM 4/8
  rule R020305
segment PO1 Baseline Item Data
  PO101 350 O AN 1/20
  PO102 330 X R 1/15
  PO103 355 O ID 2/2
  PO104 212 O R 1/17
  PO105 639 O ID 2/2
  PO106 235 X ID 2/2
  PO107 234 X AN 1/48
  rule P0607
segment PID Product/Item Description
  PID01 349 M ID 1/1 codes=F,S,X
  PID02 750 O ID 2/3
  PID03 559 X ID 2/2
  PID04 751 X AN 1/12
  PID05 352 X AN 1/80
segment CTT Transaction Totals
  CTT01 354 M N0 1/6
  CTT02 347 O R 1/10
segment AK1 Functional Group Response Header
  AK101 479 M ID 2/2
  AK102 28 M N0 1/9
  AK103 480 O AN 1/12
segment AK9 Functional Group Response Trailer
  AK901 715 M ID 1/1 codes=A,E,M,P,R,W,X
  AK902 97 M N0 1/6
  AK903 123 M N0 1/6
  AK904 2 M N0 1/6
composite C040 Reference Identifier
  C04001 128 M ID 2/3
  C04002 127 M AN 1/30
"""

PURCHASE_ORDER = """
transaction 850 PO Purchase Order
ST M 1
BEG M 1
REF O >1
DTM O 10
loop PO1 M 100000
  PO1 M 1
  loop PID O 1000
    PID M 1
  end
end
loop CTT O 1
  CTT M 1
end
SE M 1
"""

FUNCTIONAL_ACK = """
transaction 997 FA Functional Acknowledgment
ST M 1
AK1 M 1
AK9 M 1
SE M 1
"""


def mini_catalog() -> Catalog:
    catalog = Catalog()
    for version in ("004010", "005010"):
        family = Family(version)
        family.segments, family.composites = parse_segments("mini", SEGMENTS)
        family.sets["850"] = parse_transaction_set("mini-850", PURCHASE_ORDER, version)
        family.sets["997"] = parse_transaction_set("mini-997", FUNCTIONAL_ACK, version)
        catalog.families[version] = family
    return catalog


def purchase_order_body(lines: int = 2) -> list[str]:
    """Segments between ST and SE of a valid mini 850."""
    body = ["BEG*00*SA*PO-1001**20261121", "REF*DP*042", "DTM*002*20261201"]
    for number in range(1, lines + 1):
        body.append(f"PO1*{number}*{number * 2}*EA*9.99**UP*01234567890{number % 10}")
        body.append(f"PID*F****WIDGET {number}")
    body.append(f"CTT*{lines}")
    return body


def interchange_text(
    sets: list[list[str]] | None = None,
    *,
    set_id: str = "850",
    functional_id: str = "PO",
    version: str = "004010",
    control_version: str = "00401",
    isa13: str = "000000905",
    iea02: str | None = None,
    gs06: str = "905",
    ge02: str | None = None,
    ge01: str | None = None,
    iea01: str | None = None,
    se01_delta: int = 0,
    ack_requested: str = "0",
) -> bytes:
    """An interchange of one group with the given set bodies, counts computed unless overridden."""
    sets = sets if sets is not None else [purchase_order_body()]
    repetition = "^" if control_version >= "00501" else "U"
    lines = [
        "ISA*00*          *00*          *ZZ*BUYERCO        *ZZ*SELLERCO       *261121*1200*"
        f"{repetition}*{control_version}*{isa13}*{ack_requested}*P*>",
        f"GS*{functional_id}*BUYERCO*SELLERCO*20261121*1200*{gs06}*X*{version}",
    ]
    for number, body in enumerate(sets, start=1):
        control = f"{number:04d}"
        lines.append(f"ST*{set_id}*{control}")
        lines.extend(body)
        lines.append(f"SE*{len(body) + 2 + se01_delta}*{control}")
    lines.append(f"GE*{ge01 if ge01 is not None else len(sets)}*{ge02 or gs06}")
    lines.append(f"IEA*{iea01 if iea01 is not None else 1}*{iea02 or isa13}")
    return ("~\n".join(lines) + "~\n").encode("latin-1")

"""Units of measure between cXML and X12: cXML documents carry UN/CEFACT Recommendation 20 codes
(`EA`, `MTR`, `KGM`...), X12 ones the two-letter codes of element 355 (`EA`, `MR`, `KG`...). The
order model keeps X12's, so that an order taken in from a cXML buyer can be placed with an X12
seller; a cXML document we send spells them back in UN/CEFACT. Pairs the table does not hold
pass as they are; a partner's mapping adds or changes pairs (`[settings.units]`)."""

from __future__ import annotations

from collections.abc import Mapping

TO_X12: Mapping[str, str] = {
    "EA": "EA",  # each
    "C62": "EA",  # one
    "H87": "EA",  # piece
    "PCE": "EA",  # piece (an older spelling)
    "MTR": "MR",  # metre
    "CMT": "CM",  # centimetre
    "MMT": "MM",  # millimetre
    "KGM": "KG",  # kilogram
    "GRM": "GR",  # gram
    "LTR": "LT",  # litre
    "MTK": "SM",  # square metre
    "FOT": "FT",  # foot
    "INH": "IN",  # inch
    "YRD": "YD",  # yard
    "LBR": "LB",  # pound
    "ONZ": "OZ",  # ounce
    "GLL": "GA",  # gallon
    "DZN": "DZ",  # dozen
    "PR": "PR",  # pair
    "BX": "BX",  # box
    "CS": "CA",  # case
    "PK": "PK",  # pack
    "SET": "ST",  # set
    "HUR": "HR",  # hour
}
"""UN/CEFACT code -> X12 unit (355)."""

TO_CXML: Mapping[str, str] = {
    x12: cefact for cefact, x12 in TO_X12.items() if cefact not in ("C62", "H87", "PCE")
}
"""X12 unit -> the UN/CEFACT code a cXML document carries."""


def to_x12(unit: str, overrides: Mapping[str, str] = {}) -> str:
    """The X12 unit a cXML unit is kept as (the partner's pair first)."""
    return overrides.get(unit) or TO_X12.get(unit, unit)


def to_cxml(unit: str, overrides: Mapping[str, str] = {}) -> str:
    """The UN/CEFACT code an order's unit is sent as (the partner's pair, read backwards,
    first)."""
    mine = {x12: cefact for cefact, x12 in overrides.items()}
    return mine.get(unit) or TO_CXML.get(unit, unit)

"""Carriers and the checks a fulfilment's carrier and tracking number pass before they are recorded.

Strategy: a fulfilment can never be edited, so its carrier and tracking numbers are checked first.
The carrier the user or the partner gave (a SCAC, a name or an alias) is looked up, after
normalising case, surrounding spaces and inner spaces, hyphens, dots and underscores, in three
places in turn: the partner's aliases (alias -> SCAC), the carriers the user configured, then the
built-in table `CARRIERS` of common US parcel and LTL carriers; the carrier recorded is the one
found, under its SCAC (the code an 856 sends in TD503). A tracking number passes generic checks
(letters and digits only, 6 to 40 of them, not a placeholder such as TBD or 000000), then the
format and check digit of its carrier's family (`Carrier.tracking`): UPS 1Z numbers, FedEx 12, 15,
20 and 22 digits, USPS IMpb and S10 numbers, DHL Express waybills. A carrier without a family
(the LTL carriers, whose PRO numbers have no common format) gets the generic checks only. A check
digit catches most, not all, typing mistakes: each family's function says what it cannot see.
Everything here is pure: no I/O, standard library and `gateway.errors` only.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import quote, urlsplit

from gateway.errors import ConfigurationError, UnknownCarrier
from gateway.errors import shown as _shown

__all__ = [
    "CARRIERS",
    "Carrier",
    "by_scac",
    "resolve",
    "tracking_problem",
    "tracking_url",
    "tracking_url_problem",
]

_SCAC = re.compile(r"[A-Z]{2,4}")
_IGNORED_IN_NAMES = re.compile(r"[\s.\-_]+")
_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SHORTEST, _LONGEST = 6, 40
_LONGEST_URL = 2048
_PLACEHOLDERS = frozenset(
    {
        "NA", "NONE", "NULL", "NIL", "TBD", "TBA", "UNKNOWN", "PENDING", "DUMMY", "SAMPLE",
        "NOTRACKING", "NOTAVAILABLE", "NOTAPPLICABLE",
    }
)  # fmt: skip


def _key(text: str) -> str:
    """`text` as compared with carrier SCACs, names and aliases."""
    return _IGNORED_IN_NAMES.sub("", text).upper()


def _known_families() -> frozenset[str]:
    return frozenset(_FAMILY_CHECKS) | {""}


@dataclass(frozen=True)
class Carrier:
    """A carrier as the gateway records it. Built from configuration too, so it checks itself:
    a malformed SCAC, an unknown tracking family or an unsafe URL template is a
    `ConfigurationError`."""

    scac: str  # the SCAC code recorded, e.g. "UPSN"
    name: str  # "UPS"
    aliases: tuple[str, ...]  # other spellings accepted on input
    tracking: str  # "ups", "fedex", "usps", "dhl_express" or "" (generic checks only)
    tracking_url: str  # a URL template with {tracking}, or ""

    def __post_init__(self) -> None:
        if not _SCAC.fullmatch(self.scac):
            raise ConfigurationError(
                f"carrier SCAC {_shown(self.scac)} is not 2 to 4 capital letters"
            )
        if not _key(self.name) or any(not _key(alias) for alias in self.aliases):
            raise ConfigurationError(f"carrier {self.scac} has an empty name or alias")
        if self.tracking not in _known_families():
            families = ", ".join(sorted(_FAMILY_CHECKS))
            raise ConfigurationError(
                f"carrier {self.scac}: tracking family {_shown(self.tracking)} is not one of "
                f"{families} or empty"
            )
        if self.tracking_url:
            problem = _template_problem(self.tracking_url)
            if problem:
                raise ConfigurationError(f"carrier {self.scac}: {problem}")


def _keys(carrier: Carrier) -> frozenset[str]:
    """The normalised SCAC, name and aliases that resolve to `carrier`."""
    return frozenset({_key(carrier.scac), _key(carrier.name), *map(_key, carrier.aliases)})


# Tracking-number families ---------------------------------------------------------------------


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod 10 check digit of `digits` (an SSCC-18, a GTIN, a FedEx SSCC-style tracking
    number): weights 3, 1, 3, ... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return -total % 10


def _gs1_valid(number: str) -> bool:
    return gs1_check_digit(number[:-1]) == int(number[-1])


def _ups_problem(number: str) -> str | None:
    """UPS: only "1Z" + 6 shipper + 2 service + 7 package characters + 1 check digit. Letters
    count as (ord(c) - 63) % 10 (A=2 ... H=9, I=0, ...); over the 15 characters after 1Z, odd
    positions weigh 1 and even ones 2; the check digit brings the sum to a multiple of 10. Blind
    spots: a letter swapped for one with the same value, a digit at an even position changed by 5.
    Not accepted in this version: Mail Innovations, freight (T + 10 digits) and other non-1Z
    numbers."""
    upper = number.upper()
    if len(upper) != 18 or not upper.startswith("1Z"):
        return f"{_shown(number)} is not a UPS 1Z tracking number (1Z and 16 letters or digits)"
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in upper[2:17]]
    total = sum(v * (1 if i % 2 == 0 else 2) for i, v in enumerate(values))
    if not upper[17].isdigit() or -total % 10 != int(upper[17]):
        return f"{_shown(number)} fails the UPS check digit"
    return None


def _fedex_12_valid(number: str) -> bool:
    total = sum(int(d) * (1, 3, 7)[i % 3] for i, d in enumerate(reversed(number[:11])))
    return total % 11 % 10 == int(number[11])


def _fedex_problem(number: str) -> str | None:
    """FedEx, digits only:
    - 12 (Express and Ground): weights 1, 3, 7 repeating from the right over the first 11 digits,
      the sum mod 11 then mod 10 is the check digit (blind spot: a change moving the sum's
      remainder between 0 and 10);
    - 15 (Ground): GS1 mod 10 over all 15;
    - 22 starting 96 (Ground barcode): GS1 mod 10 over the last 15 (the first 7 are prefixes);
    - 22 starting 92 (SmartPost/Ground Economy, USPS IMpb): GS1 mod 10 over all 22;
    - 20 (SmartPost without its 92): GS1 mod 10 over 92 + the 20 digits.
    A 34-digit barcode is refused with a hint: its last 12 digits are the tracking number."""
    if not number.isdigit():
        return f"{_shown(number)} is not a FedEx tracking number (FedEx numbers are digits only)"
    length = len(number)
    if length == 12:
        valid = _fedex_12_valid(number)
    elif length == 15:
        valid = _gs1_valid(number)
    elif length == 20:
        valid = _gs1_valid("92" + number)
    elif length == 22 and number.startswith("96"):
        valid = _gs1_valid(number[7:])
    elif length == 22 and number.startswith("92"):
        valid = _gs1_valid(number)
    elif length == 34:
        return (
            f"{_shown(number)} is a 34-digit FedEx barcode, not a tracking number: enter the "
            "tracking number printed on the label (the barcode's last 12 digits)"
        )
    else:
        return (
            f"{_shown(number)} is not a FedEx tracking number "
            "(12, 15 or 20 digits, or 22 starting 92 or 96)"
        )
    return None if valid else f"{_shown(number)} fails the FedEx check digit"


_S10 = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")


def _s10_check_digit(digits: str) -> int:
    """The UPU S10 check digit of 8 digits: weights 8, 6, 4, 2, 3, 5, 9, 7; 11 - (sum mod 11),
    with 10 -> 0 and 11 -> 5 (so remainders 0 and 6 both give 5: the check's blind spot)."""
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def _usps_problem(number: str) -> str | None:
    """USPS:
    - S10 international: 2 letters, 8 digits, the S10 check digit, 2 letters (EA123456785US);
    - IMpb 22 or 26 digits: GS1 mod 10 over all of them;
    - 30 or 34 digits starting 420 (routing: 420 + ZIP or ZIP+4, then the IMpb): the GS1 check
      over what follows the ZIP (22 digits after 420+ZIP, 22 after 420+ZIP+4, 26 after 420+ZIP;
      a 34-digit number passes when either reading does);
    - 20 digits (older numbers): GS1 mod 10 over the 20, or over 91 + the 20 (certified mail
      numbers such as 7196 9010 ... print without the 91 their check digit covers); accepting
      both weakens this form's check (a check digit off by 2 can pass)."""
    upper = number.upper()
    if _S10.fullmatch(upper):
        if _s10_check_digit(upper[2:10]) != int(upper[10]):
            return f"{_shown(number)} fails the S10 check digit"
        return None
    usps_forms = "20, 22, 26, 30 or 34 digits, or an S10 number such as EA123456785US"
    if not number.isdigit():
        return f"{_shown(number)} is not a USPS tracking number ({usps_forms})"
    length = len(number)
    if length in (22, 26):
        candidates = [number]
    elif length == 20:
        candidates = [number, "91" + number]
    elif length in (30, 34) and number.startswith("420"):
        candidates = [number[8:], number[12:]]
        candidates = [c for c in candidates if len(c) in (22, 26)]
    else:
        return f"{_shown(number)} is not a USPS tracking number ({usps_forms})"
    if not any(_gs1_valid(candidate) for candidate in candidates):
        return f"{_shown(number)} fails the USPS check digit"
    return None


def _dhl_express_problem(number: str) -> str | None:
    """DHL Express waybill: 10 digits, the last one the first nine (as a number) mod 7. Blind
    spot: a digit changed by 7 (0 and 7, 1 and 8, 2 and 9)."""
    if len(number) != 10 or not number.isdigit():
        return f"{_shown(number)} is not a DHL Express waybill number (10 digits)"
    if int(number[:9]) % 7 != int(number[9]):
        return f"{_shown(number)} fails the DHL Express check digit"
    return None


_FAMILY_CHECKS: Mapping[str, Callable[[str], str | None]] = MappingProxyType(
    {
        "ups": _ups_problem,
        "fedex": _fedex_problem,
        "usps": _usps_problem,
        "dhl_express": _dhl_express_problem,
    }
)


# Generic checks ---------------------------------------------------------------------------------


def _is_run(text: str) -> bool:
    """All digits going up or down by one (wrapping 9-0: 123456789, 7890123), or all letters
    going up or down by one (ABCDEFG)."""
    for alphabet in ("0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if not all(c in alphabet for c in text):
            continue
        steps = {
            (alphabet.index(b) - alphabet.index(a)) % len(alphabet)
            for a, b in itertools.pairwise(text)
        }
        return steps in ({1}, {len(alphabet) - 1})
    return False


def _character_problem(number: str) -> str | None:
    for c in number:
        if c in _ALPHANUMERIC:
            continue
        if c == " ":
            what = "a space"
        elif not c.isprintable():
            what = "a control or invisible character"
        else:
            what = f"the character {c!r}"
        return (
            f"tracking number {_shown(number)} contains {what}; "
            "only ASCII letters and digits are allowed"
        )
    return None


def _generic_problem(number: str) -> str | None:
    if not number:
        return "the tracking number is empty"
    upper = number.upper()
    compact = "".join(c for c in upper if c.isalnum())
    if compact in _PLACEHOLDERS or compact.startswith("TEST"):
        return f"{_shown(number)} is a placeholder, not a tracking number"
    problem = _character_problem(number)
    if problem:
        return problem
    if len(set(upper)) == 1 or (len(upper) >= 10 and len(set(upper[2:])) == 1):
        return f"{_shown(number)} is a placeholder, not a tracking number"
    if not _SHORTEST <= len(number) <= _LONGEST:
        return (
            f"tracking number {_shown(number)} has {len(number)} characters; "
            f"a tracking number has {_SHORTEST} to {_LONGEST}"
        )
    if _is_run(upper):
        return f"{_shown(number)} is a placeholder, not a tracking number"
    return None


def tracking_problem(carrier: Carrier | None, tracking_number: str) -> str | None:
    """None when `tracking_number` is acceptable for `carrier`, else one short sentence saying
    why, for an operator's terminal (the number is shown with `repr`, cut after 40 characters).

    Surrounding whitespace is ignored (record the stripped number); letters are compared without
    regard to case. Every number, whatever the carrier (also None, or a carrier whose `tracking`
    is ""), must be non-empty; only ASCII letters and digits (no spaces, X12 delimiters or
    control characters); 6 to 40 characters; and not a placeholder: TEST..., NA, N/A, NONE,
    TBD, UNKNOWN and the like, one character repeated (000000, XXXXXXX), one repeated after a
    two-character prefix (1Z0000000000000000), a run such as 123456789. Then the carrier's family
    decides: "ups" (1Z numbers only), "fedex" (12, 15, 20, 22 digits), "usps" (IMpb 20 to 34
    digits, S10), "dhl_express" (10 digits); each with its check digit, described in
    `_ups_problem`, `_fedex_problem`, `_usps_problem` and `_dhl_express_problem`."""
    number = tracking_number.strip()
    problem = _generic_problem(number)
    if problem or carrier is None or not carrier.tracking:
        return problem
    return _FAMILY_CHECKS[carrier.tracking](number)


# Tracking URLs ----------------------------------------------------------------------------------


def tracking_url_problem(url: str) -> str | None:
    """None when `url` is "" or an absolute http:// or https:// URL with a host, no user name or
    password, no whitespace or control characters, at most 2048 characters; else one sentence
    saying why (e.g. "tracking URL scheme 'javascript' is not http or https")."""
    if not url:
        return None
    if len(url) > _LONGEST_URL:
        return f"tracking URL has {len(url)} characters; at most {_LONGEST_URL} are allowed"
    for c in url:
        if c.isspace() or not c.isprintable():
            what = "a space" if c == " " else "whitespace or a control character"
            return f"tracking URL {_shown(url)} contains {what}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"tracking URL {_shown(url)} cannot be read as a URL"
    scheme = parts.scheme.lower()
    if not scheme:
        return f"tracking URL {_shown(url)} is not absolute (it needs http:// or https://)"
    if scheme not in ("http", "https"):
        return f"tracking URL scheme {_shown(parts.scheme)} is not http or https"
    if not parts.hostname:
        return f"tracking URL {_shown(url)} has no host"
    if parts.username is not None or parts.password is not None:
        return f"tracking URL {_shown(url)} carries a user name or password"
    if port == 0:
        return f"tracking URL {_shown(url)} has port 0"
    return None


def _template_problem(template: str) -> str | None:
    """Why a carrier's URL template is unusable, or None."""
    if "{tracking}" not in template:
        return f"tracking URL template {_shown(template)} has no {{tracking}}"
    if "{tracking}" in urlsplit(template).netloc:
        return f"tracking URL template {_shown(template)} has {{tracking}} in its host"
    problem = tracking_url_problem(template.replace("{tracking}", "1Z999AA10123456784"))
    return f"tracking URL template: {problem}" if problem else None


def tracking_url(carrier: Carrier, tracking_number: str) -> str:
    """The customer-facing link for `tracking_number`: the carrier's template with {tracking}
    replaced by the stripped number, URL-quoted. "" when the carrier has no template or the
    number is empty."""
    number = tracking_number.strip()
    if not carrier.tracking_url or not number:
        return ""
    return carrier.tracking_url.replace("{tracking}", quote(number, safe=""))


# The table ---------------------------------------------------------------------------------------

_UPS_URL = "https://www.ups.com/track?tracknum={tracking}"
_FEDEX_URL = "https://www.fedex.com/fedextrack/?trknbr={tracking}"

CARRIERS: tuple[Carrier, ...] = (
    Carrier(
        "UPSN",
        "UPS",
        (
            "UPSS", "UPS GROUND", "UPS NEXT DAY AIR", "UPS 2ND DAY AIR", "UPS 3 DAY SELECT",
            "UPS SUREPOST", "UNITED PARCEL SERVICE",
        ),
        "ups",
        _UPS_URL,
    ),
    Carrier(
        "FDEG",
        "FedEx Ground",
        (
            "FEDEX", "FEDX", "FDX", "FDXG", "FEDEX HOME DELIVERY", "FEDEX GROUND ECONOMY",
            "FEDEX SMARTPOST", "FXSP",
        ),
        "fedex",
        _FEDEX_URL,
    ),
    Carrier(
        "FDEN",
        "FedEx Express",
        (
            "FDE", "FDXE", "FEDERAL EXPRESS", "FEDEX AIR", "FEDEX PRIORITY OVERNIGHT",
            "FEDEX STANDARD OVERNIGHT", "FEDEX 2DAY", "FEDEX INTERNATIONAL PRIORITY",
        ),
        "fedex",
        _FEDEX_URL,
    ),
    Carrier(
        "FXFE",
        "FedEx Freight",
        ("FXNL", "FXFR", "FEDEX FREIGHT PRIORITY", "FEDEX FREIGHT ECONOMY", "FEDEX LTL"),
        "",
        "",
    ),
    Carrier(
        "USPS",
        "USPS",
        ("US POSTAL SERVICE", "UNITED STATES POSTAL SERVICE", "US MAIL", "POSTAL SERVICE"),
        "usps",
        "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}",
    ),
    Carrier(
        "DHLC",
        "DHL Express",
        ("DHL", "DHL WORLDWIDE EXPRESS", "DHL EXPRESS USA"),
        "dhl_express",
        "https://www.dhl.com/us-en/home/tracking/tracking-express.html?submit=1&tracking-id={tracking}",
    ),
    Carrier(
        "EMSY",
        "OnTrac",
        ("ONTC", "EXPRESS MESSENGER SYSTEMS"),
        "",
        "https://www.ontrac.com/tracking/?number={tracking}",
    ),
    Carrier("LASR", "LaserShip", ("LSHP",), "", ""),
    Carrier(
        "AMZL",
        "Amazon Logistics",
        ("AMAZON", "AMZN", "AMAZON SHIPPING"),
        "",
        "https://track.amazon.com/tracking/{tracking}",
    ),
    Carrier(
        "PRLA",
        "Purolator",
        ("PURO", "PUROLATOR COURIER"),
        "",
        "https://www.purolator.com/en/shipping/tracker?pin={tracking}",
    ),
    Carrier(
        "CAPO",
        "Canada Post",
        ("POSTES CANADA", "CANADA POST CORPORATION"),
        "",
        "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={tracking}",
    ),
    Carrier("ODFL", "Old Dominion Freight Line", ("OLD DOMINION", "OD"), "", ""),
    Carrier("SAIA", "Saia", ("SAIA LTL FREIGHT", "SAIA MOTOR FREIGHT"), "", ""),
    Carrier(
        "CNWY",
        "XPO",
        ("XPOL", "XPO LOGISTICS", "XPO LTL", "CONWAY", "CONWAY FREIGHT"),
        "",
        "",
    ),
    Carrier("EXLA", "Estes Express Lines", ("ESTES", "ESTES EXPRESS"), "", ""),
    Carrier("RLCA", "R+L Carriers", ("R+L", "R&L", "RL CARRIERS", "R AND L CARRIERS"), "", ""),
    Carrier("ABFS", "ABF Freight", ("ABF", "ABF FREIGHT SYSTEM", "ARCBEST"), "", ""),
)  # fmt: skip

_BUILT_IN_BY_KEY: Mapping[str, Carrier] = MappingProxyType(
    {key: carrier for carrier in CARRIERS for key in _keys(carrier)}
)
_NO_ALIASES: Mapping[str, str] = MappingProxyType({})


def by_scac(scac: str, extra: Iterable[Carrier] = ()) -> Carrier | None:
    """The carrier recorded under `scac` (surrounding spaces and case ignored; aliases are not
    consulted): the first of `extra` with it, else the built-in one, else None."""
    wanted = scac.strip().upper()
    for carrier in (*extra, *CARRIERS):
        if carrier.scac == wanted:
            return carrier
    return None


def resolve(
    given: str, aliases: Mapping[str, str] = _NO_ALIASES, extra: Iterable[Carrier] = ()
) -> Carrier:
    """The carrier meant by `given` (a SCAC, a name or an alias; case, surrounding spaces and
    inner runs of spaces, hyphens, dots and underscores ignored): first the caller's `aliases`
    (alias -> SCAC, e.g. a partner's "UPS GROUND RESIDENTIAL" -> "UPSN"), then the `extra`
    carriers (configured by the user, replacing built-ins with the same SCAC, also when a
    built-in's alias is what matched), then the built-in table. Raises UnknownCarrier when
    nothing matches (also for an empty string), ConfigurationError when the matching alias names
    a SCAC neither in the table nor in `extra`."""
    extras = tuple(extra)
    key = _key(given)
    if key:
        for alias, scac in aliases.items():
            if _key(alias) == key:
                found = by_scac(scac, extras)
                if found is None:
                    known = ", ".join(sorted({c.scac for c in (*extras, *CARRIERS)}))
                    raise ConfigurationError(
                        f"carrier alias {_shown(alias)} names {_shown(scac)}, which is not a "
                        f"known carrier: known carriers are {known}"
                    )
                return found
        for carrier in extras:
            if key in _keys(carrier):
                return carrier
        built_in = _BUILT_IN_BY_KEY.get(key)
        if built_in is not None:
            return by_scac(built_in.scac, extras) or built_in
    raise UnknownCarrier(given, [c.scac for c in (*extras, *CARRIERS)])

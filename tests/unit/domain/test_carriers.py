"""The carrier table, carrier resolution and the tracking-number and tracking-URL checks.

Valid numbers come from two independent places: public examples (UPS's own 1Z999AA10123456784,
the test numbers of the jkeen/tracking_number_data project) and the small reference
implementations below, written from the published descriptions and deliberately unlike the
module's code. Each check digit has blind spots (a change the check cannot see); the properties
state them exactly instead of pretending every single-digit change is caught.
"""

from __future__ import annotations

import pickle
import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gateway.domain.carriers import (
    CARRIERS,
    Carrier,
    UnknownCarrier,
    by_scac,
    resolve,
    tracking_problem,
    tracking_url,
    tracking_url_problem,
)
from gateway.errors import ConfigurationError

UPS = resolve("UPSN")
FEDEX = resolve("FDEG")
USPS = resolve("USPS")
DHL = resolve("DHLC")
ODFL = resolve("ODFL")

# Reference check digits -----------------------------------------------------------------------

# UPS's published letter values: A=2, B=3, ... H=9, I=0, J=1, ... (the digits 2-9, 0-9, 0-7 in turn)
UPS_LETTER_VALUES = dict(zip(string.ascii_uppercase, "23456789012345678901234567", strict=True))


def ups_check(body: str) -> str:
    """The check digit of the 15 characters after 1Z."""
    values = [int(UPS_LETTER_VALUES.get(c, c)) for c in body]
    odd = sum(values[0::2])
    even = sum(values[1::2])
    remainder = (odd + 2 * even) % 10
    return str(0 if remainder == 0 else 10 - remainder)


def fedex_12_remainder(first_11: str) -> int:
    weights = [3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1]  # left to right, as FedEx publishes them
    return sum(int(d) * w for d, w in zip(first_11, weights, strict=True)) % 11


def fedex_12_check(first_11: str) -> str:
    remainder = fedex_12_remainder(first_11)
    return "0" if remainder == 10 else str(remainder)


def gs1_check(data: str) -> str:
    """GS1 mod 10: the rightmost data digit weighs 3, the next 1, and so on."""
    total = 0
    for i, d in enumerate(data):
        total += int(d) * (3 if (len(data) - i) % 2 == 1 else 1)
    return str((10 - total % 10) % 10)


def s10_remainder(digits: str) -> int:
    return sum(int(d) * w for d, w in zip(digits, [8, 6, 4, 2, 3, 5, 9, 7], strict=True)) % 11


def s10_check(digits: str) -> str:
    return {0: "5", 1: "0"}.get(s10_remainder(digits), str(11 - s10_remainder(digits)))


def test_reference_check_digits_agree_with_public_examples():
    assert ups_check("999AA1012345678") == "4"  # UPS's documented 1Z999AA10123456784
    assert fedex_12_check("98657878885") == "5"  # 986578788855
    assert gs1_check("00614141123456789") == "0"  # GS1's SSCC example 006141411234567890
    assert s10_check("12345678") == "5"  # EA123456785US, the UPU S10 example


def change_digit(number: str, position: int, digit: int) -> str:
    return number[:position] + str(digit) + number[position + 1 :]


# The table ---------------------------------------------------------------------------------------


def test_table_holds_the_common_parcel_and_ltl_carriers():
    scacs = {carrier.scac for carrier in CARRIERS}
    wanted = {"UPSN", "FDEG", "FDEN", "USPS", "DHLC", "AMZL", "ODFL", "SAIA", "CNWY", "EXLA"}
    assert wanted | {"RLCA"} <= scacs
    assert len(scacs) == len(CARRIERS)


def test_no_spelling_resolves_to_two_built_in_carriers():
    seen: dict[str, str] = {}
    for carrier in CARRIERS:
        for spelling in (carrier.scac, carrier.name, *carrier.aliases):
            key = "".join(c for c in spelling.upper() if c not in " .-_")
            assert seen.setdefault(key, carrier.scac) == carrier.scac, spelling


def test_ltl_carriers_check_only_the_generic_rules():
    for scac in ("ODFL", "SAIA", "CNWY", "EXLA", "RLCA", "ABFS", "FXFE"):
        assert resolve(scac).tracking == ""


# Resolution --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "scac"),
    [
        ("UPSN", "UPSN"),
        ("upsn", "UPSN"),
        ("  UPS  ", "UPSN"),
        ("U.P.S.", "UPSN"),
        ("ups   ground", "UPSN"),
        ("UPS-Ground", "UPSN"),
        ("United Parcel Service", "UPSN"),
        ("FedEx", "FDEG"),
        ("fed-ex", "FDEG"),
        ("FedEx Ground", "FDEG"),
        ("FDE", "FDEN"),
        ("FedEx Express", "FDEN"),
        ("Federal Express", "FDEN"),
        ("FXFE", "FXFE"),
        ("U.S. Postal Service", "USPS"),
        ("DHL", "DHLC"),
        ("OnTrac", "EMSY"),
        ("Amazon", "AMZL"),
        ("Old Dominion", "ODFL"),
        ("Con-way", "CNWY"),
        ("XPO Logistics", "CNWY"),
        ("R+L", "RLCA"),
    ],
)
def test_carrier_resolves_by_scac_name_or_alias_ignoring_case_and_spacing(given, scac):
    assert resolve(given).scac == scac


@pytest.mark.parametrize("given", ["", "   ", "XYZ", "UPSX", "Pony Express"])
def test_unknown_carrier_is_refused(given):
    with pytest.raises(UnknownCarrier) as refused:
        resolve(given)
    assert refused.value.given == given


def test_unknown_carrier_message_lists_the_known_scacs_on_one_line():
    with pytest.raises(UnknownCarrier) as refused:
        resolve("XYZ")
    known = tuple(sorted(carrier.scac for carrier in CARRIERS))
    assert refused.value.known == known
    assert str(refused.value) == f"unknown carrier 'XYZ': known carriers are {', '.join(known)}"
    assert isinstance(refused.value, ValueError)


def test_unknown_carrier_survives_pickling():
    copy = pickle.loads(pickle.dumps(UnknownCarrier("XYZ", ["UPSN", "FDEG"])))
    assert (copy.given, copy.known, str(copy)) == (
        "XYZ",
        ("FDEG", "UPSN"),
        "unknown carrier 'XYZ': known carriers are FDEG, UPSN",
    )


def test_unknown_carrier_message_escapes_control_characters():
    with pytest.raises(UnknownCarrier) as refused:
        resolve("EVIL\x1b[2J\nCARRIER")
    assert "\x1b" not in str(refused.value)
    assert "\n" not in str(refused.value)


def test_partner_alias_takes_precedence_over_the_table():
    aliases = {"FedEx": "FDEN", "UPS Ground Residential": "UPSN"}
    assert resolve("FEDEX", aliases).scac == "FDEN"
    assert resolve("ups-ground  residential", aliases).scac == "UPSN"
    assert resolve("FedEx Ground", aliases).scac == "FDEG"


def test_partner_alias_to_an_unknown_scac_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="'ZZZZ'"):
        resolve("Fast Freight", {"FAST FREIGHT": "ZZZZ"})


def test_partner_alias_may_name_an_extra_carrier():
    local = Carrier("ZIPT", "Zip Trucking", (), "", "")
    assert resolve("fast", {"FAST": "ZIPT"}, [local]) is local


def test_extra_carriers_resolve_and_join_the_known_list():
    local = Carrier("ZIPT", "Zip Trucking", ("ZIP",), "", "")
    assert resolve("zip trucking", extra=[local]) is local
    assert resolve("Zip", extra=[local]) is local
    with pytest.raises(UnknownCarrier) as refused:
        resolve("XYZ", extra=[local])
    assert "ZIPT" in refused.value.known


def test_extra_carrier_replaces_the_built_in_with_the_same_scac():
    mine = Carrier("UPSN", "UPS", (), "", "https://tracking.example.com/ups/{tracking}")
    assert resolve("UPSN", extra=[mine]) is mine
    assert resolve("UPS Ground", extra=[mine]) is mine  # a built-in alias, the user's carrier
    assert by_scac("upsn", [mine]) is mine
    assert by_scac("UPSN") is UPS


def test_by_scac_matches_only_scacs():
    assert by_scac(" fdeg ") is FEDEX
    assert by_scac("FEDEX") is None
    assert by_scac("") is None


@pytest.mark.parametrize(
    "carrier",
    [
        lambda: Carrier("UPS1", "UPS", (), "", ""),
        lambda: Carrier("U", "UPS", (), "", ""),
        lambda: Carrier("ZIPT", " ", (), "", ""),
        lambda: Carrier("ZIPT", "Zip", ("",), "", ""),
        lambda: Carrier("ZIPT", "Zip", (), "ontrac", ""),
        lambda: Carrier("ZIPT", "Zip", (), "", "https://zip.example.com/track"),
        lambda: Carrier("ZIPT", "Zip", (), "", "javascript:alert('{tracking}')"),
        lambda: Carrier("ZIPT", "Zip", (), "", "https://{tracking}.example.com/"),
    ],
)
def test_configured_carrier_is_checked_when_built(carrier):
    with pytest.raises(ConfigurationError):
        carrier()


# Generic tracking-number checks ---------------------------------------------------------------


@pytest.mark.parametrize("carrier", [None, ODFL, UPS])
@pytest.mark.parametrize(
    "number",
    [
        "",
        "   ",
        "1Z999AA1 0123456784",
        "PRO~12345678",
        "PRO*12345678",
        "PRO:12345678",
        "12345\n678",
        "1234\x0056789",
        "1234\t56789",
        "PRO\u202e12345678",
        "PRO\xa012345678",
        "PRÖ12345678",
    ],
)
def test_tracking_number_must_be_ascii_letters_and_digits(carrier, number):
    problem = tracking_problem(carrier, number)
    assert problem is not None
    assert problem.isprintable()


@pytest.mark.parametrize(
    "number",
    [
        "000000",
        "111111111111",
        "XXXXXXXX",
        "xxxxxx",
        "123456789",
        "1234567890",
        "987654321",
        "ABCDEFGH",
        "TEST",
        "test1234567",
        "NA",
        "n/a",
        "None",
        "TBD",
        "unknown",
        "1Z0000000000000000",
    ],
)
def test_placeholder_tracking_number_is_refused(number):
    problem = tracking_problem(None, number)
    assert problem is not None
    assert "placeholder" in problem


@pytest.mark.parametrize("number", ["PRO12", "A1B2C3D4E5" * 4 + "F"])
def test_tracking_number_has_6_to_40_characters(number):
    problem = tracking_problem(ODFL, number)
    assert problem is not None
    assert "6 to 40" in problem


@pytest.mark.parametrize("number", ["48213977", "0712345678", "  48213977  ", "PRO7734210"])
def test_carrier_without_family_accepts_any_plausible_number(number):
    assert tracking_problem(ODFL, number) is None
    assert tracking_problem(None, number) is None


def test_problem_never_echoes_control_characters():
    problem = tracking_problem(UPS, "1Z\x1b[31m999\r\n")
    assert problem is not None
    assert problem.isprintable()
    assert "\\x1b" in problem


def test_problem_shows_at_most_40_characters_of_the_number():
    problem = tracking_problem(None, "A1" * 5000)
    assert problem is not None
    assert len(problem) < 200


# UPS -----------------------------------------------------------------------------------------

UPS_VALID = [
    "1Z999AA10123456784",  # UPS's documented example
    "1Z5R89390357567127",  # public test numbers
    "1Z879E930346834440",
    "1Z" + "8E47W1039128475" + ups_check("8E47W1039128475"),
    "1Z" + "4A90F2037721590" + ups_check("4A90F2037721590"),
    "1z999aa10123456784",  # case does not matter
]


@pytest.mark.parametrize("number", UPS_VALID)
def test_valid_ups_number_passes(number):
    assert tracking_problem(UPS, number) is None


def test_ups_number_with_a_wrong_check_digit_fails():
    assert tracking_problem(UPS, "1Z999AA10123456785") == (
        "'1Z999AA10123456785' fails the UPS check digit"
    )
    assert tracking_problem(UPS, "1Z999AA10123456884") is not None
    assert tracking_problem(UPS, "1Z999AA1012345678A") is not None


@pytest.mark.parametrize("number", ["1Z999AA1012345678", "1Y999AA10123456784", "T1234567890"])
def test_ups_accepts_only_1z_numbers(number):
    problem = tracking_problem(UPS, number)
    assert problem is not None
    assert "1Z" in problem


@given(
    st.text(alphabet=string.digits + string.ascii_uppercase, min_size=15, max_size=15),
    st.integers(2, 17),
    st.integers(0, 9),
)
def test_ups_single_digit_change_fails_unless_a_doubled_digit_moves_by_five(body, position, new):
    valid = "1Z" + body + ups_check(body)
    assume(tracking_problem(UPS, valid) is None)  # not a placeholder such as 1Z0000000000000000
    old = valid[position]
    doubled = position < 17 and (position - 2) % 2 == 1
    if not old.isdigit() or int(old) == new or (doubled and abs(int(old) - new) == 5):
        return
    assert tracking_problem(UPS, change_digit(valid, position, new)) is not None


def test_ups_check_cannot_see_a_doubled_digit_changed_by_five():
    # The second 9 of 1Z999AA10123456784 weighs 2: 2 * 9 and 2 * 4 leave the same remainder.
    assert tracking_problem(UPS, "1Z949AA10123456784") is None


# FedEx ---------------------------------------------------------------------------------------

FEDEX_VALID = [
    "986578788855",  # public 12-digit test numbers
    "477179081230",
    "748900000010",  # the README's 748900000012 with its check digit corrected
    "20461" + "938570" + fedex_12_check("20461938570"),
    "041441760228964",  # 15 digits, Ground
    "568283610012000",
    "61299998820821171811",  # 20 digits, SmartPost without its 92
    "9611020987654312345672",  # 22 digits, Ground barcode (96)
    "9261292700768711948021",  # 22 digits, SmartPost (92)
]


@pytest.mark.parametrize("number", FEDEX_VALID)
def test_valid_fedex_number_passes(number):
    assert tracking_problem(FEDEX, number) is None
    assert tracking_problem(resolve("FDEN"), number) is None


@pytest.mark.parametrize(
    "number",
    [
        "748900000012",  # the README's number: fails its check digit
        "996578788855",
        "568283610012732",
        "61299998820821171812",
        "9611020987654312345673",
        "9261292700768711948020",
    ],
)
def test_fedex_number_with_a_wrong_digit_fails(number):
    assert tracking_problem(FEDEX, number) == f"{number!r} fails the FedEx check digit"


@pytest.mark.parametrize("number", ["98657878885", "1Z999AA10123456784", "9911020987654312345672"])
def test_fedex_number_of_another_shape_is_refused(number):
    problem = tracking_problem(FEDEX, number)
    assert problem is not None
    assert "not a FedEx tracking number" in problem


def test_fedex_34_digit_barcode_points_to_its_last_12_digits():
    barcode = "1001921334250001000300779017972697"
    problem = tracking_problem(FEDEX, barcode)
    assert problem is not None
    assert "last 12 digits" in problem
    assert tracking_problem(FEDEX, barcode[-12:]) is None


@given(st.text(alphabet=string.digits, min_size=11, max_size=11), st.integers(0, 11))
def test_fedex_12_single_digit_change_fails_unless_remainder_moves_between_0_and_10(first, at):
    valid = first + fedex_12_check(first)
    for new in range(10):
        changed = change_digit(valid, at, new)
        if changed == valid:
            continue
        unseen = at < 11 and {fedex_12_remainder(first), fedex_12_remainder(changed[:11])} == {
            0,
            10,
        }
        if not unseen:
            assert tracking_problem(FEDEX, changed) is not None


def test_fedex_12_check_cannot_see_a_remainder_moving_between_0_and_10():
    # Remainders 0 and 10 both give the check digit 0: the last data digit weighs 1, so raising
    # it by one moves a remainder of 10 to 0, and both numbers pass.
    first = next(
        f"{n:011d}"
        for n in range(10_000_000_000, 10_000_100_000)
        if fedex_12_remainder(f"{n:011d}") == 10 and f"{n:011d}"[10] != "9"
    )
    changed = change_digit(first, 10, int(first[10]) + 1)
    assert tracking_problem(FEDEX, first + "0") is None
    assert tracking_problem(FEDEX, changed + "0") is None


# USPS ----------------------------------------------------------------------------------------

USPS_VALID = [
    "9400111201080805483016",  # 22-digit IMpb, public test numbers
    "9361289878700317633795",
    "9505511069605048600624",
    "940010000000012345678" + gs1_check("940010000000012345678"),
    "92748931507708513018050063",  # 26 digits
    "420221539101026837331000039521",  # 420 + ZIP + 22
    "4201028200009261290113185417468510",  # 420 + ZIP+4 + 22
    "03071790000523483741",  # 20 digits
    "71969010756003077385",  # 20 digits, check digit over 91 + the number
    "EA123456785US",  # S10
    "RR" + "47329156" + s10_check("47329156") + "US",
    "cp" + "90000015" + s10_check("90000015") + "ca",
]


@pytest.mark.parametrize("number", USPS_VALID)
def test_valid_usps_number_passes(number):
    assert tracking_problem(USPS, number) is None


@pytest.mark.parametrize(
    "number",
    [
        "9400111201080805483017",
        "9361289878700317633705",
        "92748931507708513018050064",
        "420221539101026837331000039522",
        "4201028200009261290113185417468511",
        "03071790000523483742",
        "EA123456784US",
        "EA123456885US",
    ],
)
def test_usps_number_with_a_wrong_digit_fails(number):
    problem = tracking_problem(USPS, number)
    assert problem is not None
    assert "check digit" in problem


@pytest.mark.parametrize(
    "number", ["940011120108080548301", "1Z999AA10123456784", "E123456785US", "4209021012345678"]
)
def test_usps_number_of_another_shape_is_refused(number):
    problem = tracking_problem(USPS, number)
    assert problem is not None
    assert "not a USPS tracking number" in problem


@given(st.text(alphabet=string.digits, min_size=21, max_size=21), st.integers(0, 21))
def test_usps_22_any_single_digit_change_fails(data, position):
    valid = data + gs1_check(data)
    for new in range(10):
        changed = change_digit(valid, position, new)
        if changed != valid:
            assert tracking_problem(USPS, changed) is not None


@given(
    st.sampled_from(["EA", "RR", "CP", "LZ"]),
    st.text(alphabet=string.digits, min_size=8, max_size=8),
    st.integers(2, 10),
)
def test_s10_single_digit_change_fails_unless_remainder_moves_between_0_and_6(
    prefix, digits, position
):
    valid = prefix + digits + s10_check(digits) + "US"
    for new in range(10):
        changed = change_digit(valid, position, new)
        if changed == valid:
            continue
        unseen = position < 10 and {s10_remainder(digits), s10_remainder(changed[2:10])} == {0, 6}
        if not unseen:
            assert tracking_problem(USPS, changed) is not None


# DHL Express ---------------------------------------------------------------------------------

DHL_VALID = [
    "3318810025",  # public test numbers
    "8487135506",
    "1099255990",
    "572048391" + str(572048391 % 7),
]


@pytest.mark.parametrize("number", DHL_VALID)
def test_valid_dhl_express_number_passes(number):
    assert tracking_problem(DHL, number) is None


@pytest.mark.parametrize("number", ["3318810026", "3318810125", "8487135503"])
def test_dhl_express_number_with_a_wrong_digit_fails(number):
    assert tracking_problem(DHL, number) == f"{number!r} fails the DHL Express check digit"


@pytest.mark.parametrize("number", ["331881002", "33188100250", "JJD0099999999"])
def test_dhl_express_number_of_another_shape_is_refused(number):
    problem = tracking_problem(DHL, number)
    assert problem is not None
    assert "not a DHL Express waybill number" in problem


# Tracking URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "http://tracking.example.com/t/748900000010",
        "HTTPS://EXAMPLE.COM:8443/track#top",
    ],
)
def test_http_and_https_tracking_urls_are_accepted(url):
    assert tracking_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("javascript:alert(1)", "scheme 'javascript' is not http or https"),
        ("data:text/html,<script>alert(1)</script>", "scheme 'data' is not http or https"),
        ("ftp://example.com/track", "scheme 'ftp' is not http or https"),
        ("/track/1Z999AA10123456784", "is not absolute"),
        ("www.ups.com/track", "is not absolute"),
        ("https:///track", "has no host"),
        ("https://www.ups.com/track?n=1Z999 AA1", "contains a space"),
        ("https://www.ups.com/track\n", "control character"),
        ("https://example.com/\x1b[2J", "control character"),
        ("https://ups.com@evil.example/track", "user name or password"),
        ("https://[::1/track", "cannot be read"),
        ("https://example.com/" + "a" * 2030, "at most 2048"),
    ],
)
def test_unsafe_tracking_url_is_refused(url, words):
    problem = tracking_url_problem(url)
    assert problem is not None
    assert words in problem
    assert problem.isprintable()


def test_tracking_url_fills_the_template_url_quoted():
    assert tracking_url(UPS, " 1Z999AA10123456784 ") == (
        "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    )
    odd = Carrier("ZIPT", "Zip", (), "", "https://zip.example.com/t?n={tracking}")
    assert tracking_url(odd, "A B/&?") == "https://zip.example.com/t?n=A%20B%2F%26%3F"


def test_tracking_url_is_empty_without_a_template_or_a_number():
    assert tracking_url(ODFL, "48213977") == ""
    assert tracking_url(UPS, "  ") == ""


def test_every_built_in_tracking_url_is_safe():
    for carrier in CARRIERS:
        if carrier.tracking_url:
            assert tracking_url_problem(tracking_url(carrier, "1Z999AA10123456784")) is None

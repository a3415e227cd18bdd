"""`gateway check` on cXML and CSV files, as a user runs it: the format told from the file's first
bytes (or `--format`), the CSV layout from `--layout`, one line per file (or one JSON object),
partner text escaped, exit 1 for a file rejected and 2 for a usage mistake, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.codec import sniffed_format
from tests.e2e.test_cli import GOOD, ROOT, gateway

CXML = ROOT / "samples" / "cxml"
ORDER = CXML / "order_request_new.xml"
RESPONSE = CXML / "outbound" / "response_200.xml"
CONFIRMATION = CXML / "outbound" / "confirmation_detail.xml"
CSV = ROOT / "samples" / "csv"
LAYOUTS = CSV / "layouts.toml"
ORDERS = CSV / "orders.csv"
BAD_ROW = CSV / "orders_bad_row.csv"
SHIP_NOTICES = CSV / "ship_notices.csv"

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE cXML [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<cXML payloadID="p-1" timestamp="2026-12-01T09:00:00Z"><Header/>&secret;</cXML>
"""


def checked_json(*args: str | Path) -> tuple[int, list[dict[str, Any]]]:
    result = gateway("check", "--json", *args)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.mark.parametrize(
    ("head", "has_layouts", "expected"),
    [
        (b"<?xml version='1.0'?><cXML/>", False, "cxml"),
        (b"\xef\xbb\xbf \r\n <cXML/>", False, "cxml"),
        ("\ufeff\n<cXML/>".encode("utf-16-le"), False, "cxml"),
        ("\ufeff<cXML/>".encode("utf-16-be"), True, "cxml"),
        (b"ISA*00*", True, "x12"),
        (b"\xef\xbb\xbf  \tISA*00*", True, "x12"),
        (b"Bestellnummer;Position", True, "csv"),
        (b"Bestellnummer;Position", False, "x12"),
        (b"", False, "x12"),
    ],
)
def test_auto_format_reads_xml_as_cxml_isa_as_x12_and_the_rest_as_csv_given_layouts(
    head: bytes, has_layouts: bool, expected: str
):
    assert sniffed_format(head, has_layouts=has_layouts) == expected


def test_a_cxml_order_request_is_accepted_with_its_order_and_lines():
    result = gateway("check", ORDER)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{ORDER}: accepted (cXML OrderRequest new, order NW-PO-20481, 3 lines,"
        " payloadID 1765100000.4711@procure.northwind-buyer.example)\n"
    )


def test_a_cxml_response_is_accepted_with_its_status():
    result = gateway("check", RESPONSE)
    assert result.returncode == 0
    assert result.stdout == f"{RESPONSE}: accepted (cXML Response 200 OK)\n"


def test_a_cxml_document_the_gateway_does_not_take_in_is_accepted_with_a_warning():
    result = gateway("check", CONFIRMATION)
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"{CONFIRMATION}: accepted (cXML ConfirmationRequest,"
        " payloadID 1765200000.1@gateway.example)",
        "  warning: ConfirmationRequest is not a document the gateway takes in",
    ]


def test_a_cxml_declaring_an_entity_is_rejected_and_nothing_is_fetched(tmp_path: Path):
    path = tmp_path / "xxe.xml"
    path.write_bytes(XXE)
    result = gateway("check", GOOD, path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[1] == (
        f"{path}: rejected: line 2: the DOCTYPE declares an entity (<!ENTITY): entities are refused"
    )
    assert "root:" not in result.stdout and "Traceback" not in result.stderr


def test_a_truncated_cxml_is_rejected_as_not_well_formed(tmp_path: Path):
    path = tmp_path / "cut.xml"
    data = ORDER.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = gateway("check", path)
    assert result.returncode == 1
    assert result.stdout.startswith(f"{path}: rejected: line ")
    assert "not well-formed XML" in result.stdout and result.stdout.count("\n") == 1


def test_a_cxml_order_missing_a_part_is_rejected_naming_its_path(tmp_path: Path):
    path = tmp_path / "no_quantity.xml"
    path.write_bytes(ORDER.read_bytes().replace(b'quantity="', b'amount="', 1))
    result = gateway("check", "--format", "cxml", path)
    assert result.returncode == 1
    assert "rejected: OrderRequest/ItemOut[1]/@quantity (line " in result.stdout


def test_csv_orders_are_accepted_with_the_layout_whose_header_fits():
    result = gateway("check", "--layout", LAYOUTS, ORDERS, SHIP_NOTICES)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{ORDERS}: accepted (CSV orders: 2 orders, 5 lines)",
        f"{SHIP_NOTICES}: accepted (CSV ship_notices: 1 orders, 3 lines)",
    ]


def test_a_csv_bad_row_rejects_its_order_naming_row_and_column():
    result = gateway("check", "--format", "csv", "--layout", LAYOUTS, BAD_ROW)
    assert result.returncode == 1
    problem = (
        "order PO-7102, row 5, Menge: 'zwei' is not a number (digits, with ',' before any decimals)"
    )
    assert result.stdout.splitlines() == [
        f"{BAD_ROW}: rejected: 1 of 2 orders refused (first: {problem})",
        f"  error: {problem}",
    ]


def test_a_csv_whose_header_fits_no_layout_is_rejected_naming_the_tables(tmp_path: Path):
    path = tmp_path / "other.csv"
    path.write_text("Auftrag;Artikel;Stück\nA-1;VP-100;3\n", encoding="utf-8")
    result = gateway("check", "--layout", LAYOUTS, path)
    assert result.returncode == 1
    assert result.stdout == (
        f"{path}: rejected: the header matches no layout of {LAYOUTS}"
        " (tables: orders, ship_notices)\n"
    )


def test_a_named_layout_reads_the_file_with_that_table_only():
    result = gateway("check", "--layout", f"{LAYOUTS}:ship_notices", ORDERS)
    assert result.returncode == 1
    assert result.stdout == (
        f"{ORDERS}: rejected: line 1: the header row has no column 'Versanddatum' (the ship_date)\n"
    )


def test_x12_and_cxml_are_still_told_apart_when_a_layout_is_given():
    result = gateway("check", "--layout", LAYOUTS, GOOD, ORDER, ORDERS)
    assert result.returncode == 0, result.stderr
    verdicts = [line.split(": accepted (")[1] for line in result.stdout.splitlines()]
    assert [v.split()[0] for v in verdicts] == ["1", "cXML", "CSV"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "csv", str(ORDERS)], "--format csv needs --layout"),
        (["--layout", str(CSV / "missing.toml"), str(ORDERS)], "missing.toml"),
        (["--layout", f"{LAYOUTS}:invoices", str(ORDERS)], "has no table 'invoices'"),
        (["--layout", str(ORDERS), str(ORDERS)], "not a TOML file"),
    ],
    ids=["csv-without-layout", "layout-missing", "table-unknown", "layout-not-toml"],
)
def test_a_missing_or_wrong_layout_is_a_usage_error_in_one_line(args: list[str], message: str):
    result = gateway("check", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_json_tells_each_format_with_the_same_top_keys(tmp_path: Path):
    xxe = tmp_path / "xxe.xml"
    xxe.write_bytes(XXE)
    code, found = checked_json("--layout", LAYOUTS, GOOD, ORDER, RESPONSE, xxe, ORDERS, BAD_ROW)
    assert code == 1
    x12, order, response, refused, orders, bad_row = found
    common = {"file", "format", "accepted", "errors", "warnings"}
    assert all(common <= set(entry) for entry in found)
    assert [entry["format"] for entry in found] == ["x12", "cxml", "cxml", "cxml", "csv", "csv"]
    assert x12["accepted"] is True and x12["interchanges"] == 1 and x12["errors"] == []
    assert list(x12)[:3] == ["file", "format", "accepted"]
    assert order["document"] == {
        "kind": "OrderRequest",
        "payload_id": "1765100000.4711@procure.northwind-buyer.example",
        "order_id": "NW-PO-20481",
        "order_type": "new",
        "lines": 3,
        "status": None,
    }
    assert response["document"]["kind"] == "Response"
    assert response["document"]["status"] == {"code": 200, "text": "OK"}
    assert refused["accepted"] is False and refused["document"] is None
    assert refused["errors"] == [
        {"message": "the DOCTYPE declares an entity (<!ENTITY): entities are refused", "line": 2}
    ]
    assert orders == {
        "file": str(ORDERS),
        "format": "csv",
        "accepted": True,
        "errors": [],
        "warnings": [],
        "csv": {"kind": "orders", "layout": "orders", "records": 2, "lines": 5},
    }
    assert bad_row["accepted"] is False
    assert bad_row["csv"] == {"kind": "orders", "layout": "orders", "records": 1, "lines": 2}
    assert bad_row["errors"] == [
        {
            "message": "'zwei' is not a number (digits, with ',' before any decimals)",
            "row": 5,
            "column": "Menge",
            "po_number": "PO-7102",
        }
    ]


def test_json_names_the_path_of_a_cxml_fault_and_no_layout_fitting(tmp_path: Path):
    cut = tmp_path / "no_quantity.xml"
    cut.write_bytes(ORDER.read_bytes().replace(b'quantity="', b'amount="', 1))
    other = tmp_path / "other.csv"
    other.write_text("a;b\n1;2\n", encoding="utf-8")
    code, (cxml, csv) = checked_json("--layout", LAYOUTS, cut, other)
    assert code == 1
    (error,) = cxml["errors"]
    assert error["path"] == "OrderRequest/ItemOut[1]/@quantity" and error["line"] > 1
    assert csv["csv"] is None and csv["errors"][0]["message"].startswith("the header matches no")


def test_a_usage_mistake_with_json_is_one_json_object():
    result = gateway("check", "--json", "--format", "csv", ORDERS)
    assert result.returncode == 2
    assert json.loads(result.stdout)["exit"] == 2


def test_partner_text_with_terminal_controls_is_printed_escaped(tmp_path: Path):
    orders = tmp_path / "orders.csv"
    text = ORDERS.read_text(encoding="utf-8")
    orders.write_text(
        text + "PO-\x1b[31m7003;02.11.2026;;;;;;;;1;VP-1;;;zwei;EA;;\n",
        encoding="utf-8",
    )
    order = tmp_path / "order.xml"
    order.write_bytes(
        ORDER.read_bytes().replace(b'orderID="NW-PO-20481"', b'orderID="NW&#x9B;31m&#x202E;"')
    )
    result = gateway("check", "--layout", LAYOUTS, orders, order)
    assert result.returncode == 1
    assert "\x1b" not in result.stdout and "\x9b" not in result.stdout
    assert "\u202e" not in result.stdout
    assert "  error: order PO-\\x1b[31m7003, row " in result.stdout
    assert "order NW\\x9b31m\\u202e, 3 lines" in result.stdout
    code, found = checked_json("--layout", LAYOUTS, orders, order)
    assert code == 1 and found[1]["document"]["order_id"] == "NW\x9b31m\u202e"


def test_a_csv_file_is_read_with_a_configured_partners_layouts(tmp_path: Path):
    notice = tmp_path / "versand.csv"
    notice.write_text(
        "Bestellnummer;Position;Menge;Spediteur;Sendungsnummer;Sendungsverfolgung;Versanddatum\r\n"
        "CR-1;1;2;UPS;1Z999AA10123456784;;03.12.2026\r\n"
        "CR-1;2;1,5;UPS;1Z999AA10123456784;;03.12.2026\r\n",
        encoding="utf-8",
    )
    config = ROOT / "config" / "gateway.toml"
    result = gateway("--config", config, "check", "--partner", "alpenhof", notice)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "accepted (CSV ship_notices: 1 orders, 2 lines)" in result.stdout
    refused = gateway("--config", config, "check", "--partner", "northwind", notice)
    assert refused.returncode == 2 and "no partner sending CSV" in refused.stderr
    assert "Traceback" not in refused.stderr

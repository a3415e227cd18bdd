"""Reading CSV files: the samples into the model exactly, a bad row refusing its own order only,
order fields that disagree, hostile cells kept as data, bytes in the wrong encoding refused."""

from __future__ import annotations

import codecs
import datetime
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.csvformat.layout import CsvLayout
from gateway.csvformat.model import (
    CancellationRow,
    CsvOrder,
    CsvOrderLine,
    RowProblem,
    ShipNoticeRow,
    ShipTo,
)
from gateway.csvformat.reader import read_cancellations, read_orders, read_ship_notices
from gateway.errors import CsvError, PartnerError

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "csv"
TABLES = tomllib.loads((SAMPLES / "layouts.toml").read_text(encoding="utf-8"))
ORDERS = CsvLayout.from_table(TABLES["orders"], "layouts.toml [orders]")
SHIP_NOTICES = CsvLayout.from_table(TABLES["ship_notices"], "layouts.toml [ship_notices]")
FORMULA = "=cmd|' /C calc'!A0"

SIMPLE = CsvLayout(
    kind="orders",
    columns=(
        ("po_number", "po"),
        ("order_date", "date"),
        ("line_number", "line"),
        ("vendor_part", "part"),
        ("quantity", "qty"),
        ("description", "description"),
        ("ship_to_city", "city"),
    ),
)
CANCELLATIONS = CsvLayout(
    kind="cancellations",
    columns=(("po_number", "po"), ("line_number", "line"), ("quantity", "qty"), ("reason", "why")),
)


def d(text: str) -> Decimal:
    return Decimal(text)


MUELLER = ShipTo("Müller Haushaltswaren GmbH", "Hauptstraße 12", "München", "BY", "80331", "DE")
CAFE = ShipTo("Café Schöne Aussicht", "Seestraße 4", "Konstanz", "BW", "78462", "DE")


def test_the_orders_sample_reads_into_the_model_exactly():
    read = read_orders((SAMPLES / "orders.csv").read_bytes(), ORDERS)
    assert read.problems == []
    assert read.orders == [
        CsvOrder(
            po_number="PO-7001",
            order_date=datetime.date(2026, 11, 2),
            partner_reference="REF-A1",
            ship_to=MUELLER,
            lines=(
                CsvOrderLine(
                    "1",
                    "VP-100",
                    d("12"),
                    "KM-5501",
                    "Schraubendreher-Set, 6-teilig",
                    "EA",
                    d("14.50"),
                    datetime.date(2026, 11, 20),
                ),
                CsvOrderLine(
                    "2",
                    "VP-220",
                    d("4"),
                    "KM-5502",
                    "Wasserwaage 60 cm; Aluminium",
                    "EA",
                    d("22.90"),
                    datetime.date(2026, 11, 20),
                ),
                CsvOrderLine("3", "VP-310", d("1.5"), "", "Holzleim 250 g", "KG", d("8.25"), None),
            ),
        ),
        CsvOrder(
            po_number="PO-7002",
            order_date=datetime.date(2026, 11, 3),
            partner_reference="REF-B7",
            ship_to=CAFE,
            lines=(
                CsvOrderLine(
                    "1",
                    "VP-100",
                    d("3"),
                    "KS-9",
                    "Schraubendreher-Set, 6-teilig",
                    "EA",
                    d("14.50"),
                    datetime.date(2026, 11, 27),
                ),
                CsvOrderLine(
                    "2",
                    "VP-415",
                    d("1"),
                    "KS-12",
                    "Akkuschrauber 18 V",
                    "EA",
                    d("89.00"),
                    datetime.date(2026, 11, 27),
                ),
            ),
        ),
    ]


def test_a_bad_row_refuses_its_whole_order_and_only_that_one():
    read = read_orders((SAMPLES / "orders_bad_row.csv").read_bytes(), ORDERS)
    assert [order.po_number for order in read.orders] == ["PO-7101"]
    assert read.problems == [
        RowProblem(
            5, "Menge", "'zwei' is not a number (digits, with ',' before any decimals)", "PO-7102"
        ),
    ]
    assert str(read.problems[0]).startswith("order PO-7102, row 5, Menge: 'zwei'")
    # the formula in a description is text, kept as the partner wrote it
    assert read.orders[0].lines[0].description == FORMULA


def test_the_ship_notice_sample_reads_one_row_per_line_shipped():
    read = read_ship_notices((SAMPLES / "ship_notices.csv").read_bytes(), SHIP_NOTICES)
    assert read.problems == []
    dhl = "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode="
    assert read.notices == [
        ShipNoticeRow(
            "PO-7001",
            "1",
            d("12"),
            datetime.date(2026, 11, 18),
            "DHL",
            "00340434161234567890",
            dhl + "00340434161234567890",
        ),
        ShipNoticeRow(
            "PO-7001",
            "2",
            d("4"),
            datetime.date(2026, 11, 18),
            "DHL",
            "00340434161234567890",
            dhl + "00340434161234567890",
        ),
        ShipNoticeRow(
            "PO-7001",
            "3",
            d("1.5"),
            datetime.date(2026, 11, 19),
            "DPD",
            "01505012345678",
            "https://tracking.dpd.de/status/de_DE/parcel/01505012345678",
        ),
    ]


def simple(*rows: str) -> bytes:
    return ("po,date,line,part,qty,description,city\n" + "\n".join(rows) + "\n").encode()


def test_every_problem_of_a_refused_order_is_listed_with_row_and_column():
    read = read_orders(
        simple(
            "A,2026-11-02,1,P1,1,,Lyon",
            "A,2026-13-02,2,,=1+2,,Lyon",  # bad date, no part, a formula as quantity
            "A,2026-11-02,2,P3,0,,Lyon",  # line 2 again, quantity zero
            "B,2026-11-02,1,P1,5,,Nice",
        ),
        SIMPLE,
    )
    assert [order.po_number for order in read.orders] == ["B"]
    assert [(p.row, p.column, p.po_number) for p in read.problems] == [
        (3, "date", "A"),
        (3, "qty", "A"),
        (3, "part", "A"),
        (3, "date", "A"),  # the date differs from the order's first row
        (4, "qty", "A"),
        (4, "line", "A"),
    ]
    assert "'=1+2' is not a number" in read.problems[1].message
    assert "not above zero" in read.problems[4].message
    assert read.problems[5].message == "line '2' given twice (first on row 3)"


def test_order_fields_that_disagree_between_rows_refuse_the_order():
    read = read_orders(simple("A,2026-11-02,1,P1,1,,Lyon", "A,2026-11-02,2,P2,1,,Paris"), SIMPLE)
    assert read.orders == []
    assert read.problems == [
        RowProblem(3, "city", "'Paris' differs from 'Lyon' on row 2 of the same order", "A")
    ]


def test_a_row_without_a_po_number_is_a_problem_of_no_order():
    read = read_orders(simple(",2026-11-02,1,P1,1,,Lyon", "B,2026-11-02,1,P1,5,,Nice"), SIMPLE)
    assert [order.po_number for order in read.orders] == ["B"]
    assert read.problems == [RowProblem(2, "po", "empty, and a value is required", "")]


@pytest.mark.parametrize("cell", [FORMULA, "+1+2", "-2+3", "@SUM(A1:A9)", "'=still text"])
def test_formula_like_cells_are_data(cell):
    quoted = '"' + cell.replace('"', '""') + '"'
    read = read_orders(simple(f"A,2026-11-02,1,P1,2,{quoted},Lyon"), SIMPLE)
    assert read.orders[0].lines[0].description == cell.removeprefix("'")
    assert read.orders[0].lines[0].quantity == 2


def test_a_formula_as_a_quantity_is_a_problem_not_a_number():
    read = read_orders(simple(f'A,2026-11-02,1,P1,"{FORMULA}",,Lyon'), SIMPLE)
    assert read.orders == []
    assert read.problems[0].column == "qty"
    assert read.problems[0].message.endswith(
        "is not a number (digits, with '.' before any decimals)"
    )


def test_bytes_not_in_the_declared_encoding_refuse_the_file_naming_the_offset():
    data = simple("A,2026-11-02,1,P1,1,Caf\u00e9 cr\u00e8me,Lyon").decode().encode("latin-1")
    offset = data.index(b"\xe9")
    with pytest.raises(CsvError, match=f"byte {offset} \\(0xe9, line 2\\) is not utf-8") as refused:
        read_orders(data, SIMPLE)
    assert refused.value.offset == offset and refused.value.line == 2
    assert isinstance(refused.value, PartnerError)


def test_a_utf8_byte_order_mark_is_accepted_and_offsets_count_it():
    data = codecs.BOM_UTF8 + simple("A,2026-11-02,1,P1,1,Café,Lyon")
    assert read_orders(data, SIMPLE).orders[0].lines[0].description == "Café"
    with pytest.raises(CsvError) as refused:
        read_orders(data + b"\xff", SIMPLE)
    assert refused.value.offset == len(data)


def test_the_header_row_is_matched_in_any_order_and_case():
    data = b"City , QTY,Part,Line,Date,PO\r\nLyon,7,P1,1,2026-11-02,A\r\n"
    read = read_orders(data, SIMPLE)
    assert read.problems == []
    assert read.orders[0].ship_to.city == "Lyon"
    assert read.orders[0].lines == (CsvOrderLine("1", "P1", d("7")),)


def test_a_header_row_without_a_required_column_refuses_the_file():
    with pytest.raises(CsvError, match="line 1: the header row has no column 'qty'"):
        read_orders(b"po,date,line,part\r\nA,2026-11-02,1,P1\r\n", SIMPLE)


def test_broken_quoting_refuses_the_file_naming_the_line():
    with pytest.raises(CsvError, match="line 2: not readable as CSV"):
        read_orders(simple('A,2026-11-02,1,P1,1,"half"quoted,Lyon'), SIMPLE)


def test_a_layout_by_position_without_a_header_row():
    layout = CsvLayout(
        kind="ship_notices",
        columns=(("po_number", 2), ("line_number", 3), ("quantity_shipped", 4), ("ship_date", 1)),
        header=False,
        date_format="%Y%m%d",
    )
    read = read_ship_notices(b"20261118,A,1,2\n\n20261118,A,2\n", layout)
    assert read.notices == []  # the second row has no quantity: the whole order is refused
    assert read.problems == [
        RowProblem(3, "column 4", "empty, and a value is required", "A"),
    ]


def test_cancellations_of_an_order_a_line_and_part_of_a_line():
    read = read_cancellations(
        b"po,line,qty,why\nA,,,buyer changed its mind\nB,1,,\nB,2,3,short\n"
        b"C,,2,\nD,1,,\nD,1,,again\n",
        CANCELLATIONS,
    )
    assert read.cancellations == [
        CancellationRow("A", "", None, "buyer changed its mind"),
        CancellationRow("B", "1", None, ""),
        CancellationRow("B", "2", d("3"), "short"),
    ]
    assert [(p.row, p.column, p.po_number) for p in read.problems] == [
        (5, "qty", "C"),
        (7, "line", "D"),
    ]


def test_a_layout_reads_only_its_own_kind():
    with pytest.raises(ValueError, match="cannot read ship_notices"):
        read_ship_notices(b"", SIMPLE)

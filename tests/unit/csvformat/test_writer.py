"""Writing CSV files: the layout's columns, separators and encoding, formula-like text behind an
apostrophe, and what is written read back equal (ship notices and cancellations)."""

from __future__ import annotations

import datetime
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import csvformat
from gateway.csvformat.layout import CsvLayout
from gateway.csvformat.model import AcknowledgementRow, CancellationRow, ShipNoticeRow
from gateway.csvformat.reader import read_cancellations, read_ship_notices
from gateway.csvformat.writer import (
    write_acknowledgements,
    write_cancellations,
    write_ship_notices,
)
from gateway.errors import SerializationError

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "csv"
TABLES = tomllib.loads((SAMPLES / "layouts.toml").read_text(encoding="utf-8"))
SHIP_NOTICES = CsvLayout.from_table(TABLES["ship_notices"], "layouts.toml [ship_notices]")
FORMULA = "=cmd|' /C calc'!A0"

ACKS = CsvLayout(
    kind="acknowledgements",
    columns=(
        ("po_number", "PO"),
        ("line_number", "Line"),
        ("status", "Status"),
        ("quantity", "Qty"),
        ("unit_price", "Price"),
        ("ship_date", "Ships"),
        ("note", "Note"),
    ),
)
CANCELLATIONS = CsvLayout(
    kind="cancellations",
    columns=(("po_number", 1), ("line_number", 2), ("quantity", 4), ("reason", 5)),
    header=False,
    delimiter="\t",
    quote="'",
    encoding="latin-1",
    decimal_separator=",",
)
DAY = datetime.date(2026, 11, 18)


def test_the_ship_notice_sample_is_what_the_writer_writes_from_it():
    data = (SAMPLES / "ship_notices.csv").read_bytes()
    read = read_ship_notices(data, SHIP_NOTICES)
    assert write_ship_notices(read.notices, SHIP_NOTICES) == data


def test_acknowledgements_with_a_header_row_numbers_and_dates():
    written = write_acknowledgements(
        [
            AcknowledgementRow("A", "1", "accepted", Decimal("12"), Decimal("14.50"), DAY),
            AcknowledgementRow("A", "2", "rejected", note="out of stock, sorry"),
        ],
        ACKS,
    )
    assert written == (
        b"PO,Line,Status,Qty,Price,Ships,Note\r\n"
        b"A,1,accepted,12,14.50,2026-11-18,\r\n"
        b'A,2,rejected,,,,"out of stock, sorry"\r\n'
    )


@pytest.mark.parametrize("text", [FORMULA, "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'=x"])
def test_formula_like_text_is_written_behind_an_apostrophe(text):
    written = write_acknowledgements([AcknowledgementRow("A", "1", "accepted", note=text)], ACKS)
    cell = written.decode().split("\r\n")[1].split(",", 6)[6]
    assert cell.strip('"').startswith("'" + text[0])


def test_the_formula_cell_of_the_brief_as_written():
    written = write_acknowledgements([AcknowledgementRow("A", "1", "accepted", note=FORMULA)], ACKS)
    assert written.endswith(b",,,,'=cmd|' /C calc'!A0\r\n")


def test_cancellations_by_position_tab_separated_in_latin1_with_decimal_commas():
    rows = [
        CancellationRow("A", "", None, "Kunde storniert"),
        CancellationRow("B", "2", Decimal("1.5"), "Café fermé"),
        CancellationRow("C", "1", None, "-3 short"),
    ]
    written = write_cancellations(rows, CANCELLATIONS)
    assert written == (
        b"A\t\t\t\tKunde storniert\r\nB\t2\t\t1,5\tCaf\xe9 ferm\xe9\r\nC\t1\t\t\t'''-3 short'\r\n"
    )
    assert read_cancellations(written, CANCELLATIONS).cancellations == rows


def test_what_cannot_be_written_is_ours_to_fix():
    with pytest.raises(SerializationError, match="cannot be written in latin-1"):
        write_cancellations([CancellationRow("A", "1", None, "中文")], CANCELLATIONS)
    with pytest.raises(SerializationError, match="quantity: -1 is not a number to write"):
        write_cancellations([CancellationRow("A", "1", Decimal(-1))], CANCELLATIONS)
    with pytest.raises(ValueError, match="cannot write ship_notices"):
        write_ship_notices([], CANCELLATIONS)


ids = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=12
)
texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**9), places=3)
layouts = st.builds(
    lambda delimiter, quote, decimal: CsvLayout.from_table(
        {
            **TABLES["ship_notices"],
            "delimiter": delimiter,
            "quote": quote,
            "decimal_separator": decimal,
        },
        "round trip",
    ),
    st.sampled_from([";", "\t", "|"]),
    st.sampled_from(['"', "'"]),
    st.sampled_from([",", "."]),
)


@given(
    layouts,
    st.lists(
        st.builds(
            ShipNoticeRow,
            po_number=ids,
            line_number=ids,
            quantity=quantities,
            ship_date=st.dates(datetime.date(1900, 1, 1), datetime.date(2199, 12, 31)),
            carrier=texts,
            tracking_number=texts,
            tracking_url=texts,
        ),
        max_size=6,
    ),
)
def test_ship_notices_written_read_back_equal(layout, rows):
    read = read_ship_notices(write_ship_notices(rows, layout), layout)
    assert read.problems == []
    by_po: dict[str, list[ShipNoticeRow]] = {}
    for row in rows:
        by_po.setdefault(row.po_number, []).append(row)
    assert read.notices == [row for group in by_po.values() for row in group]


def test_the_package_gives_the_whole_codec():
    layout = csvformat.CsvLayout(
        kind="cancellations", columns=(("po_number", "po"), ("line_number", "line"))
    )
    rows = [csvformat.CancellationRow("A", "1")]
    written = csvformat.write_cancellations(rows, layout)
    assert csvformat.read_cancellations(written, layout).cancellations == rows

"""A partner's CSV layout: read from a TOML-like table with defaults, every mistake refused with
a message naming the key."""

from __future__ import annotations

import pytest

from gateway.csvformat.layout import CsvLayout

SOURCE = "partners/vendor.toml [csv.orders]"


def orders_table(**overrides: object) -> dict[str, object]:
    table: dict[str, object] = {
        "kind": "orders",
        "columns": {
            "po_number": "PO",
            "order_date": "Date",
            "line_number": "Line",
            "vendor_part": "Article",
            "quantity": "Qty",
        },
    }
    table.update(overrides)
    return table


def test_defaults_are_comma_double_quote_utf8_iso_dates_and_a_point():
    layout = CsvLayout.from_table(orders_table(), SOURCE)
    assert (layout.delimiter, layout.quote, layout.encoding) == (",", '"', "utf-8")
    assert (layout.date_format, layout.decimal_separator, layout.header) == ("%Y-%m-%d", ".", True)
    assert layout.fields == ("po_number", "order_date", "line_number", "vendor_part", "quantity")
    assert layout.column("quantity") == "Qty" and layout.column("unit_price") is None
    assert layout.label("quantity") == "Qty"
    assert layout.is_utf8


def test_a_european_layout_by_position():
    layout = CsvLayout.from_table(
        orders_table(
            columns={
                "po_number": 1,
                "order_date": 2,
                "line_number": 3,
                "vendor_part": 4,
                "quantity": 5,
            },
            header=False,
            delimiter=";",
            decimal_separator=",",
            date_format="%d.%m.%Y",
            encoding="cp1252",
        ),
        SOURCE,
    )
    assert layout.label("quantity") == "column 5"
    assert not layout.is_utf8


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"kind": "invoices"}, "key 'kind'"),
        ({"columns": "PO,Date"}, "key 'columns'"),
        ({"columns": {"po_number": "PO"}}, "key 'columns.order_date' is required"),
        ({"columns": {**orders_table()["columns"], "colour": "C"}}, "key 'columns.colour'"),
        ({"columns": {**orders_table()["columns"], "unit": "qty"}}, "given twice"),
        ({"columns": {**orders_table()["columns"], "unit": 3}}, "key 'columns.unit'"),
        ({"header": False}, "key 'columns.po_number'"),
        ({"header": "yes"}, "key 'header'"),
        ({"delimiter": ";;"}, "key 'delimiter'"),
        ({"delimiter": ""}, "key 'delimiter'"),
        ({"delimiter": "\n"}, "key 'delimiter'"),
        ({"quote": ","}, "key 'quote'"),
        ({"encoding": "klingon-8"}, "key 'encoding'"),
        ({"encoding": 8}, "key 'encoding'"),
        ({"decimal_separator": "'"}, "key 'decimal_separator'"),
        ({"decimal_separator": ","}, "key 'decimal_separator'"),  # the comma delimits already
        ({"date_format": "%Q"}, "key 'date_format'"),
        ({"date_format": "%Y-%m"}, "key 'date_format'"),
    ],
)
def test_each_mistake_is_refused_naming_its_key(overrides, named):
    with pytest.raises(ValueError, match=r"^partners/vendor\.toml") as refused:
        CsvLayout.from_table(orders_table(**overrides), SOURCE)
    assert named in str(refused.value)


def test_a_layout_built_directly_is_checked_too():
    with pytest.raises(ValueError, match=r"key .columns\.po_number. is required"):
        CsvLayout(kind="cancellations", columns=(("line_number", "Line"),))


def test_a_layout_is_frozen():
    layout = CsvLayout.from_table(orders_table(), SOURCE)
    with pytest.raises(AttributeError):
        layout.delimiter = ";"  # type: ignore[misc]

"""How one partner's CSV files are laid out: which column holds which field, the delimiter and
quote character, the encoding, the date format and the decimal separator.

A layout is read from a TOML-like table (a partner profile's `[csv.orders]` and the like) by
`CsvLayout.from_table`; everything wrong in it is a `ValueError` naming the key, so that the
profile loader can turn it into its own configuration error. Constructing a `CsvLayout` directly
runs the same checks.

With `header = true` the first row of a file names its columns and `columns` maps each field to a
column name (matched whatever the order of the columns, ignoring case and surrounding spaces);
with `header = false` `columns` maps each field to a column position, counted from 1.
"""

from __future__ import annotations

import codecs
import datetime
from collections.abc import Mapping
from dataclasses import dataclass

ORDER_FIELDS = (
    "po_number",
    "order_date",
    "partner_reference",
    "ship_to_name",
    "ship_to_street",
    "ship_to_city",
    "ship_to_state",
    "ship_to_postal_code",
    "ship_to_country",
    "line_number",
    "vendor_part",
    "buyer_part",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "requested_ship_date",
)
ORDER_HEADER_FIELDS = (
    "order_date",
    "partner_reference",
    "ship_to_name",
    "ship_to_street",
    "ship_to_city",
    "ship_to_state",
    "ship_to_postal_code",
    "ship_to_country",
)
"""The fields of an order (not of a line), repeated on each of its rows: they must agree."""

SHIP_NOTICE_FIELDS = (
    "po_number",
    "line_number",
    "quantity_shipped",
    "carrier",
    "tracking_number",
    "tracking_url",
    "ship_date",
)
CANCELLATION_FIELDS = ("po_number", "line_number", "quantity", "reason")
ACKNOWLEDGEMENT_FIELDS = (
    "po_number",
    "line_number",
    "status",
    "quantity",
    "unit_price",
    "ship_date",
    "note",
)

FIELDS: dict[str, tuple[str, ...]] = {
    "orders": ORDER_FIELDS,
    "ship_notices": SHIP_NOTICE_FIELDS,
    "cancellations": CANCELLATION_FIELDS,
    "acknowledgements": ACKNOWLEDGEMENT_FIELDS,
}
"""Each kind of CSV file with the fields its columns can hold."""

REQUIRED: dict[str, tuple[str, ...]] = {
    "orders": ("po_number", "order_date", "line_number", "vendor_part", "quantity"),
    "ship_notices": ("po_number", "line_number", "quantity_shipped", "ship_date"),
    "cancellations": ("po_number", "line_number"),
    "acknowledgements": ("po_number", "line_number", "status"),
}
"""The fields a layout of each kind must give a column to."""

KEYS = (
    "kind",
    "columns",
    "delimiter",
    "quote",
    "encoding",
    "date_format",
    "decimal_separator",
    "header",
)

_PROBE_DATE = datetime.date(2026, 11, 21)


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """One kind of CSV file as one partner writes or reads it (see the module's docstring)."""

    kind: str
    columns: tuple[tuple[str, str | int], ...]
    """(field, column name or 1-based position), in the order the writer writes them."""
    delimiter: str = ","
    quote: str = '"'
    encoding: str = "utf-8"
    """Any codec Python knows; with UTF-8 a leading byte order mark is accepted on reading."""
    date_format: str = "%Y-%m-%d"
    decimal_separator: str = "."
    header: bool = True

    def __post_init__(self) -> None:
        self._check()

    @classmethod
    def from_table(cls, table: Mapping[str, object], source: str) -> CsvLayout:
        """The layout a table declares; `source` (a file and table name) starts every message."""
        unknown = sorted(set(table) - set(KEYS))
        if unknown:
            raise ValueError(
                f"{source}: unknown key {unknown[0]!r}; allowed keys are {', '.join(KEYS)}"
            )
        kind = _string(table, "kind", "", source)
        if not kind:
            raise ValueError(f"{source}: key 'kind' is required (one of {', '.join(FIELDS)})")
        raw_columns = table.get("columns")
        if not isinstance(raw_columns, Mapping):
            raise ValueError(f"{source}: key 'columns' must be a table of field = column")
        columns: list[tuple[str, str | int]] = []
        for name, column in raw_columns.items():
            if isinstance(column, bool) or not isinstance(column, str | int):
                raise ValueError(
                    f"{source}: key 'columns.{name}' must be a column name or a position"
                )
            columns.append((str(name), column))
        header = table.get("header", True)
        if not isinstance(header, bool):
            raise ValueError(f"{source}: key 'header' must be true or false")
        try:
            return cls(
                kind=kind,
                columns=tuple(columns),
                delimiter=_string(table, "delimiter", ",", source),
                quote=_string(table, "quote", '"', source),
                encoding=_string(table, "encoding", "utf-8", source),
                date_format=_string(table, "date_format", "%Y-%m-%d", source),
                decimal_separator=_string(table, "decimal_separator", ".", source),
                header=header,
            )
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None

    def _check(self) -> None:
        if self.kind not in FIELDS:
            raise ValueError(f"key 'kind': {self.kind!r} is not one of {', '.join(FIELDS)}")
        allowed = FIELDS[self.kind]
        seen: set[str | int] = set()
        for name, column in self.columns:
            if name not in allowed:
                raise ValueError(
                    f"key 'columns.{name}': not a field of {self.kind} files"
                    f" (fields are {', '.join(allowed)})"
                )
            if self.header and not (isinstance(column, str) and column.strip()):
                raise ValueError(f"key 'columns.{name}': with a header row, a column is named")
            if not self.header and (
                isinstance(column, bool) or not isinstance(column, int) or column < 1
            ):
                raise ValueError(
                    f"key 'columns.{name}': without a header row, a column is a"
                    " position counted from 1"
                )
            key = column.strip().casefold() if isinstance(column, str) else column
            if key in seen:
                raise ValueError(f"key 'columns.{name}': column {column!r} given twice")
            seen.add(key)
        given = {name for name, _ in self.columns}
        if len(given) != len(self.columns):
            raise ValueError("key 'columns': a field is given twice")
        for name in REQUIRED[self.kind]:
            if name not in given:
                raise ValueError(f"key 'columns.{name}' is required for {self.kind} files")
        for setting, value in (("delimiter", self.delimiter), ("quote", self.quote)):
            if len(value) != 1 or value in "\r\n" or value.isalnum():
                raise ValueError(
                    f"key {setting!r}: {value!r} is not one character other than a letter,"
                    " a digit or a line break"
                )
        if self.delimiter == self.quote:
            raise ValueError("key 'quote': the same character as the delimiter")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"key 'encoding': unknown encoding {self.encoding!r}") from None
        if self.decimal_separator not in (".", ","):
            raise ValueError("key 'decimal_separator': must be '.' or ','")
        if self.decimal_separator == self.delimiter:
            raise ValueError("key 'decimal_separator': the same character as the delimiter")
        try:
            written = _PROBE_DATE.strftime(self.date_format)
            read = datetime.datetime.strptime(written, self.date_format).date()
        except ValueError as exc:
            raise ValueError(f"key 'date_format': {self.date_format!r}: {exc}") from None
        if read != _PROBE_DATE:
            raise ValueError(
                f"key 'date_format': {self.date_format!r} does not give the year,"
                " the month and the day"
            )

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields this layout gives a column to, in the writer's order."""
        return tuple(name for name, _ in self.columns)

    def column(self, field: str) -> str | int | None:
        """The column (name or position) of `field`, or None when the layout has none for it."""
        for name, column in self.columns:
            if name == field:
                return column
        return None

    def label(self, field: str) -> str:
        """How a message names the column of `field`: its header name, or 'column N'."""
        column = self.column(field)
        if isinstance(column, int):
            return f"column {column}"
        return column if column is not None else field

    @property
    def is_utf8(self) -> bool:
        return codecs.lookup(self.encoding).name == "utf-8"


def _string(table: Mapping[str, object], key: str, default: str, source: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{source}: key {key!r} must be a string")
    return value

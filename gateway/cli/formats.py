"""`check` on cXML and CSV files: each read by its codec as the gateway would take it in, its
verdict told in the lines and the JSON object `check` prints for an X12 file.

Strategy: `gateway.cli.codec` imports this module only for a file read as cXML or CSV, and each
function here imports its own codec (lxml for cXML, `csv` for CSV), so that `gateway check` on
X12 files starts without either.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.cli.codec import Checked

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.csvformat import CsvLayout, RowProblem
    from gateway.errors import CxmlError

INBOUND = ("orders", "ship_notices", "cancellations")
"""The kinds of CSV files the gateway reads (acknowledgements it only writes)."""


def _entry(name: str, file_format: str, accepted: bool, **details: Any) -> dict[str, Any]:
    """A file's `--json` object: the keys of an X12 file's where they mean something."""
    return {
        "file": name,
        "format": file_format,
        "accepted": accepted,
        "errors": [],
        "warnings": [],
        **details,
    }


# -- cXML ---------------------------------------------------------------------------------------


def _cxml_error(exc: CxmlError) -> dict[str, Any]:
    """A refusal's `--json` error: its reason, and its element path and line when known."""
    error: dict[str, Any] = {"message": exc.reason}
    if exc.path:
        error["path"] = exc.path
    if exc.line:
        error["line"] = exc.line
    return error


def check_cxml(name: str, data: bytes) -> Checked:
    """An OrderRequest or a Response read as the gateway reads them; any other cXML document
    parsed as safely, and accepted with a warning that the gateway does not take it in."""
    from gateway.cxml.reader import document_kind, read_order_request, read_response
    from gateway.cxml.safe import parse
    from gateway.errors import CxmlError

    try:
        root = parse(data)
        kind = document_kind(root)
        document: dict[str, Any] = {
            "kind": kind,
            "payload_id": (root.get("payloadID") or "").strip(),
            "order_id": None,
            "order_type": None,
            "lines": None,
            "status": None,
        }
        warnings = []
        if kind == "OrderRequest":
            order = read_order_request(data)
            header = order.header
            document.update(
                order_id=header.order_id, order_type=header.order_type, lines=len(order.lines)
            )
            summary = (
                f"OrderRequest {header.order_type}, order {header.order_id},"
                f" {len(order.lines)} lines, payloadID {order.payload_id}"
            )
        elif kind == "Response":
            response = read_response(data)
            document["status"] = {"code": response.status_code, "text": response.text}
            summary = f"Response {response.status_code} {response.text}".rstrip()
        else:
            summary = f"{kind}, payloadID {document['payload_id']}"
            warnings.append(f"{kind} is not a document the gateway takes in")
    except CxmlError as exc:
        as_json = _entry(name, "cxml", False, errors=[_cxml_error(exc)], document=None)
        return Checked(False, [f"{name}: rejected: {exc}"], as_json)
    lines = [f"{name}: accepted (cXML {summary})", *(f"  warning: {w}" for w in warnings)]
    as_json = _entry(
        name, "cxml", True, warnings=[{"message": w} for w in warnings], document=document
    )
    return Checked(True, lines, as_json)


# -- CSV ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layouts:
    """The CSV layouts `--layout` gives: every table of its file, in the file's order, and the
    one it names (None: each file is read with the first that fits its header row)."""

    path: str
    tables: dict[str, CsvLayout]
    named: str | None = None


def load_layouts(spec: str) -> Layouts:
    """The layouts of `PATH` or `PATH:TABLE`; a usage error naming what is wrong otherwise."""
    from gateway.csvformat import CsvLayout

    path, named = Path(spec), None
    if not path.is_file() and ":" in spec:
        where, _, named = spec.rpartition(":")
        path = Path(where)

    def refuse(message: str) -> click.BadParameter:
        return click.BadParameter(message, param_hint="'--layout'")

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise refuse(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise refuse(f"{path}: not a TOML file: {exc}") from None
    tables: dict[str, CsvLayout] = {}
    for table, value in raw.items():
        if not isinstance(value, dict):
            raise refuse(f"{path}: {table!r} is not a table of a CSV layout")
        try:
            tables[table] = CsvLayout.from_table(value, f"{path} [{table}]")
        except ValueError as exc:
            raise refuse(str(exc)) from None
    if named is not None:
        if named not in tables:
            raise refuse(f"{path} has no table {named!r} (tables: {', '.join(tables) or 'none'})")
        if tables[named].kind not in INBOUND:
            raise refuse(
                f"{path} [{named}] lays out {tables[named].kind} files, which the gateway does not"
                f" read (it reads {', '.join(INBOUND)})"
            )
    return Layouts(str(path), tables, named)


def partner_layouts(config: GatewayConfig, key: str) -> Layouts:
    """The layouts of the CSV files a configured partner sends, with its overrides, named by
    their kind (`csv-orders`...); a usage error for a partner who does not send CSV."""
    from gateway import kinds
    from gateway.config import load_mappings
    from gateway.errors import ConfigurationError
    from gateway.mapping.csv_orders import layout
    from gateway.mapping.engine import Mappings

    profile = config.partner(key)
    if profile is None or profile.format != "csv":
        found = sorted(p.key for p in config.partners if p.format == "csv")
        raise click.BadParameter(
            f"{key!r} is no partner sending CSV (those who do: {', '.join(found) or 'none'})",
            param_hint="'--partner'",
        )
    try:
        mappings = Mappings(load_mappings(), {key: profile.mapping_overrides()})
        tables = {
            found.set_id: layout(mappings.get(found.reads.mapping, key))
            for found in kinds.readers("csv").values()
            if found.reads is not None
        }
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="'--partner'") from None
    return Layouts(f"partner {key}'s mappings", tables)


def _layout_for(data: bytes, layouts: Layouts) -> tuple[str, CsvLayout] | None:
    """The table named, else the inbound one whose columns the header row of `data` names
    (all it requires, and the most of its others: as the gateway chooses when it takes a file
    in)."""
    from gateway.csvformat import header_matches

    if layouts.named is not None:
        return layouts.named, layouts.tables[layouts.named]
    scored = [
        (header_matches(data, layout), table, layout)
        for table, layout in layouts.tables.items()
        if layout.kind in INBOUND
    ]
    score, table, layout = max(scored, key=lambda found: found[0], default=(0, "", None))
    return (table, layout) if score > 0 and layout is not None else None


def _read(data: bytes, layout: CsvLayout) -> tuple[int, int, list[RowProblem]]:
    """The orders kept, their lines (rows for ship notices and cancellations) and the problems
    of the rows refused."""
    from gateway.csvformat import read_cancellations, read_orders, read_ship_notices

    if layout.kind == "orders":
        orders = read_orders(data, layout)
        lines = sum(len(order.lines) for order in orders.orders)
        return len(orders.orders), lines, orders.problems
    if layout.kind == "ship_notices":
        notices = read_ship_notices(data, layout)
        kept = {notice.po_number for notice in notices.notices}
        return len(kept), len(notices.notices), notices.problems
    cancellations = read_cancellations(data, layout)
    kept = {cancellation.po_number for cancellation in cancellations.cancellations}
    return len(kept), len(cancellations.cancellations), cancellations.problems


def _refusal(kept: int, problems: list[RowProblem]) -> str:
    """`N of M orders refused (first: ...)`, with the rows without a PO number left out."""
    refused = len({problem.po_number for problem in problems if problem.po_number})
    unnamed = sum(1 for problem in problems if not problem.po_number)
    parts = [f"{refused} of {kept + refused} orders refused"] if refused else []
    parts += [f"{unnamed} rows without a PO number left out"] if unnamed else []
    return f"{', '.join(parts)} (first: {problems[0]})"


def check_csv(name: str, data: bytes, layouts: Layouts) -> Checked:
    """A CSV file read with the layout that fits it: accepted when every row is taken."""
    from gateway.errors import CsvError

    found = _layout_for(data, layouts)
    if found is None:
        reason = (
            f"the header matches no layout of {layouts.path}"
            f" (tables: {', '.join(layouts.tables) or 'none'})"
        )
        as_json = _entry(name, "csv", False, errors=[{"message": reason}], csv=None)
        return Checked(False, [f"{name}: rejected: {reason}"], as_json)
    table, layout = found
    try:
        kept, lines, problems = _read(data, layout)
    except CsvError as exc:
        error = {"message": str(exc), **({"line": exc.line} if exc.line else {})}
        as_json = _entry(name, "csv", False, errors=[error], csv=None)
        return Checked(False, [f"{name}: rejected: {exc}"], as_json)
    summary = {"kind": layout.kind, "layout": table, "records": kept, "lines": lines}
    errors = [
        {"message": p.message, "row": p.row, "column": p.column, "po_number": p.po_number}
        for p in problems
    ]
    as_json = _entry(name, "csv", not problems, errors=errors, csv=summary)
    if problems:
        verdict = f"{name}: rejected: {_refusal(kept, problems)}"
    else:
        verdict = f"{name}: accepted (CSV {layout.kind}: {kept} orders, {lines} lines)"
    return Checked(not problems, [verdict, *(f"  error: {p}" for p in problems)], as_json)

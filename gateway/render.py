"""Drawing views for a person on a terminal, with rich: tables, flags as badges. In a pipe rich
draws the same tables without colour. Scripts use `--json` instead, from the same views.

rich is imported by the functions that draw, not with the module: `safe`, which every command
uses on a partner's text, must not cost the commands that draw nothing (`check`) rich's start-up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID
    from rich.text import Text

FLAG_STYLES = {
    "confirmed": "bold white on blue",
    "shipped": "bold white on green",
    "settled": "white on dark_green",
    "paid": "bold black on yellow",
    "completed": "bold white on dark_green",
    "returned": "bold white on magenta",
    "cancelled": "bold white on red",
    "test": "bold black on bright_white",
}


DOCUMENT_STYLES = {  # a document's state in the order's trail: its acknowledgement, mostly
    "acknowledged": "green",
    "accepted": "green",
    "sent": "yellow",  # delivered; its 997/999 may still be owed
    "queued": "yellow",
    "partly rejected": "bold red",
    "rejected": "bold red",
    "overdue": "bold red",
    "quarantined": "bold red",
}


UNSAFE = frozenset(
    [chr(c) for c in range(0x20) if chr(c) not in "\t"]
    + [chr(0x7F)]
    + [chr(c) for c in range(0x80, 0xA0)]
    + [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
)
"""What a terminal acts on rather than shows: C0 and C1 controls (ESC, CSI, a line break...),
DEL, and the bidirectional overrides that reorder what is shown."""


def safe(value: Any) -> Any:
    """`value` (a view: text, or dicts and lists of them) with every character a terminal would
    act on written out as an escape (`\x1b`, `\u202e`): partners' text (a file name, a note,
    a ship-to name) is shown, never obeyed."""
    if isinstance(value, str):
        if not any(c in UNSAFE for c in value):
            return value
        return "".join(
            c.encode("unicode_escape").decode("ascii") if c in UNSAFE else c for c in value
        )
    if isinstance(value, dict):
        return {k: safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe(v) for v in value]
    return value


def _escaped(character: str) -> str:
    return character.encode("unicode_escape").decode("ascii")


def console() -> Console:
    """A console as wide as the terminal, or wide enough for whole values in a pipe. Strings are
    printed as they are, never read as markup: they hold partners' data ("[gateway]", a name
    with brackets); styles are given with `Text`."""
    from rich.console import Console

    out = Console(soft_wrap=False, highlight=False, markup=False)
    if not out.is_terminal:
        out = Console(soft_wrap=False, highlight=False, markup=False, width=max(out.width, 200))
    return out


def badges(flags: list[str]) -> Text:
    """Flags as coloured badges (plain words in a pipe)."""
    from rich.text import Text

    text = Text()
    for flag in flags:
        if text:
            text.append(" ")
        text.append(f" {flag} ", style=FLAG_STYLES.get(flag, "reverse"))
    return text


def table(rows: list[dict[str, Any]]) -> None:
    """Rows of plain values as a table, one column per key of the first row."""
    from rich.table import Table

    rows = safe(rows)
    out = console()
    drawn = Table(show_lines=False)
    for heading in rows[0]:
        drawn.add_column(heading)
    for row in rows:
        drawn.add_row(*(str(value) for value in row.values()))
    out.print(drawn)


def order_table(
    orders: list[dict[str, Any]], *, total: int | None = None, offset: int = 0, more: bool = False
) -> None:
    """The `orders list` table: a page of `total` orders (of more than `total`, with `more`),
    starting after `offset` of them, and which ones it shows below it (`showing 1-50 of 1,234
    orders`, `showing 1-50 of more than 1,000 orders`)."""
    from rich.table import Table

    orders = safe(orders)
    out = console()
    total = len(orders) if total is None else total
    if not orders:
        out.print("no orders" if not total else f"no orders past {offset:,} (of {total:,})")
        return
    table = Table(show_lines=False)
    for heading in ("partner", "PO", "role", "date", "flags", "fulfilment", "payment"):
        table.add_column(heading)
    for order in orders:
        table.add_row(
            order["partner"],
            order["po_number"],
            order["our_role"],
            order["order_date"],
            badges(order["flags"]),
            order["fulfilment_status"],
            order["payment_status"],
        )
    out.print(table)
    out.print(
        f"showing {offset + 1:,}-{offset + len(orders):,} of {'more than ' if more else ''}"
        f"{total:,} order" + ("s" if total != 1 or more else "")
    )


def order_detail(view: dict[str, Any]) -> None:
    """The `orders show` page."""
    from rich.table import Table
    from rich.text import Text

    view = safe(view)
    out = console()
    title = Text(f"PO {view['po_number']} from {view['partner']}  ", style="bold")
    title.append_text(badges(view["flags"]))
    out.print(title)
    out.print(
        f"we are the {view['our_role']} · ordered {view['order_date']} · {view['currency']} · "
        f"fulfilment: {view['fulfilment_status']} · payment: {view['payment_status']}"
        + (" · TEST ORDER" if view["test"] else "")
    )
    if view["dates"]:
        out.print(
            "  " + " · ".join(f"{k.replace('_', ' ')} {day}" for k, day in view["dates"].items())
        )
    for party in view["parties"]:
        out.print(f"  {party['role']}: {party['name']} {party['id']}  {party['address']}")

    lines = Table(title="lines", title_justify="left")
    for heading in ("line", "product", "description", "uom", "price"):
        lines.add_column(heading)
    for heading in ("ordered", "fulfilled", "cancelled", "returned", "open"):
        lines.add_column(heading, justify="right")
    acknowledged = any(line["acknowledged"] for line in view["lines"])
    if acknowledged:
        lines.add_column("acknowledged")
    for line in view["lines"]:
        ids = " ".join(f"{q}:{v}" for q, v in line["product_ids"].items())
        lines.add_row(
            line["line"],
            ids,
            line["description"],
            line["unit_of_measure"],
            line["unit_price"],
            line["ordered"],
            line["fulfilled"],
            line["cancelled"],
            line["returned"],
            line["open"],
            *((line["acknowledged"],) if acknowledged else ()),
        )
    out.print(lines)

    if view["fulfilments"]:
        table = Table(title="fulfilments", title_justify="left")
        for heading in ("id", "status", "carrier", "tracking", "ship date", "lines", "passed on"):
            table.add_column(heading)
        for f in view["fulfilments"]:
            tracking = Text(", ".join(f["tracking_numbers"]))
            if f["tracking_url"]:
                tracking.stylize(f"link {f['tracking_url']}")
            table.add_row(
                f["id"],
                f["status"],
                f["carrier"],
                tracking,
                f["ship_date"],
                _line_quantities(f["lines"]),
                "yes" if f["passed_on"] else "no",
            )
        out.print(table)
    if view["cancellations"]:
        table = Table(title="cancellations", title_justify="left")
        for heading in ("id", "by", "reason", "lines", "source", "at"):
            table.add_column(heading)
        for c in view["cancellations"]:
            table.add_row(
                c["id"],
                c["requested_by"],
                c["reason"],
                _line_quantities(c["lines"]),
                c["source"],
                c["at"],
            )
        out.print(table)
    for confirmation in view["confirmations"]:  # what was decided; Confirmed when it arrives
        out.print(
            f"acknowledgement: {confirmation['how']} at {confirmation['at']}"
            f" ({confirmation['source']})"
        )
    for kind in ("returns", "refunds", "invoices", "payments", "notes"):
        for entry in view[kind]:
            details = ", ".join(
                f"{k}={_line_quantities(v) if k == 'lines' else v}"
                for k, v in entry.items()
                if k != "lines" or v
            )
            out.print(f"{kind[:-1]}: {details}")
    if view.get("documents"):
        table = Table(title="documents", title_justify="left")
        for heading in ("id", "direction", "sets", "interchange", "state", "file"):
            table.add_column(heading)
        for d in view["documents"]:
            table.add_row(
                str(d["id"]),
                d["direction"],
                ",".join(d["sets"]),
                d["interchange"] or "",
                Text(d["status"], style=DOCUMENT_STYLES.get(d["status"], "")),
                d["filename"] or "",
            )
        out.print(table)
    history = Table(title="history", title_justify="left")
    history.add_column("at")
    history.add_column("event")
    for entry in view["history"]:
        history.add_row(entry["at"], entry["event"])
    out.print(history)


class IngestProgress:
    """A progress bar for `gateway ingest` on a terminal: files taken in, and the sets of the
    file in hand; nothing at all when standard error is not a terminal (a pipe, cron)."""

    def __init__(self, files: int):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.disable = not self.bar.console.is_terminal
        self.files = self.bar.add_task("files", total=files)
        self.current: TaskID | None = None

    def start_file(self, name: str) -> None:
        if self.current is not None:
            self.bar.remove_task(self.current)
        self.current = self.bar.add_task(f"  {name[:40]} sets", total=None)

    def sets(self, done: int, total: int) -> None:
        if self.current is not None:
            self.bar.update(self.current, completed=done, total=total or None)

    def file_done(self) -> None:
        self.bar.advance(self.files)


@contextlib.contextmanager
def ingest_progress(files: int) -> Iterator[IngestProgress]:
    """The progress of `files` being taken in, shown while the block runs."""
    progress = IngestProgress(files)
    with progress.bar:
        yield progress


def _line_quantities(lines: list[dict[str, str]]) -> str:
    """`1x2, 3x1`: each line and its quantity."""
    return ", ".join(f"{q['line']}x{q['quantity']}" for q in lines)

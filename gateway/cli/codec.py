"""`check` and `ack-file`: the codec on files, without the store. They import the codec only
(standard library), inside the commands: they start about as fast as Python itself. `check`
reads cXML and CSV files too; those codecs (lxml, csv) are imported by `gateway.cli.formats`
only when a file is read as one of them."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.cli.shared import EXIT_OK, EXIT_REJECTED, emit, json_option

if TYPE_CHECKING:
    from gateway.cli.formats import Layouts
    from gateway.x12.document import Interchange
    from gateway.x12.model import FileReport


def _chunks(path: Path) -> Iterator[bytes]:
    from gateway.x12.reader import CHUNK_SIZE

    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


def check_file(path: Path, *, strict: bool = False) -> FileReport:
    """Validate one file, streaming it (`strict`: no deviation read as meant)."""
    from gateway.x12.reader import Reader

    reader = Reader(strict=strict)
    for chunk in _chunks(path):
        reader.feed(chunk)
    return reader.close()


def report_lines(name: str, report: FileReport) -> list[str]:
    """The `check` lines for one file: its verdict, then a line per deviation read as meant."""
    warnings = [f"  warning: {t.describe()}" for t in report.all_tolerated()]
    if report.accepted:
        groups = sum(len(i.groups) for i in report.interchanges)
        sets = sum(len(g.transactions) for i in report.interchanges for g in i.groups)
        verdict = (
            f"{name}: accepted ({len(report.interchanges)} interchanges, {groups} groups, "
            f"{sets} transaction sets)"
        )
        return [verdict, *warnings]
    first = report.first_issue()
    reason = first.describe() if first else "no interchange found"
    return [f"{name}: rejected: {reason}", *warnings]


FORMATS = ("auto", "x12", "cxml", "csv")
_HEAD = 4096  # bytes `--format auto` looks at


@dataclass(frozen=True, slots=True)
class Checked:
    """One file's verdict in `check`: accepted or not, its lines (the verdict first, then its
    warnings and errors, not yet escaped) and its `--json` object."""

    accepted: bool
    lines: list[str]
    as_json: dict[str, Any]


def sniffed_format(head: bytes, *, has_layouts: bool) -> str:
    """What `--format auto` reads a file as, from its first bytes: cXML when the first that are
    not blank (after a UTF-8 or UTF-16 byte order mark) open a tag, X12 when they are `ISA`, CSV
    when `--layout` is given, else X12 (which rejects the file with its own reason)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    start = text.lstrip()
    if start.startswith("<"):
        return "cxml"
    return "csv" if has_layouts and not start.startswith("ISA") else "x12"


def check_path(path: Path, file_format: str, layouts: Layouts | None, *, strict: bool) -> Checked:
    """`check` on one file read as `file_format` (`auto`: as `sniffed_format` says)."""
    name = str(path)
    if file_format == "auto":
        with path.open("rb") as handle:
            file_format = sniffed_format(handle.read(_HEAD), has_layouts=layouts is not None)
    if file_format == "x12":
        from gateway.x12.model import report_json

        report = check_file(path, strict=strict)
        as_json = {"file": name, "format": "x12", **report_json(name, report)}
        return Checked(report.accepted, report_lines(name, report), as_json)
    from gateway.cli import formats

    if file_format == "cxml":
        return formats.check_cxml(name, path.read_bytes())
    assert layouts is not None, "`check` refuses --format csv without --layout"
    return formats.check_csv(name, path.read_bytes(), layouts)


@click.command("check")
@json_option("Print a JSON array instead of lines.")
@click.option(
    "--strict",
    is_flag=True,
    help="Reject every deviation from the standard, even one read as meant by default.",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="Read the files as X12, cXML or CSV; auto: cXML when a file starts with '<', X12 when"
    " with ISA, else CSV when --layout is given, else X12.",
)
@click.option(
    "--layout",
    "layout",
    metavar="PATH[:TABLE]",
    default=None,
    help="A TOML file of CSV layouts (as samples/csv/layouts.toml); TABLE names the one to use,"
    " else a file is read with the first inbound layout whose columns its header row has.",
)
@click.option(
    "--partner",
    "partner",
    metavar="KEY",
    default=None,
    help="Read CSV files with the layouts of a configured CSV partner (the shipped mappings"
    " with its profile's overrides) instead of --layout.",
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.pass_context
def check(
    ctx: click.Context,
    as_json: bool,
    strict: bool,
    file_format: str,
    layout: str | None,
    partner: str | None,
    files: tuple[Path, ...],
) -> None:
    """Validate X12, cXML and CSV files. X12: envelopes, segment order and elements against the
    schemas; what real translators send that bends the standard without changing what the file
    says (layout whitespace, padding, an unpadded ISA...) is read as meant and listed as a
    warning. cXML: an OrderRequest or a Response read as the gateway reads it, any other
    document checked well-formed and safe. CSV: every row read with its layout."""
    from gateway import render

    if file_format == "csv" and layout is None and partner is None:
        raise click.UsageError(
            "--format csv needs --layout PATH[:TABLE] (a TOML file of layouts) or --partner KEY"
        )
    if layout is not None and partner is not None:
        raise click.UsageError("give --layout or --partner, not both")
    layouts = None
    if layout is not None:
        from gateway.cli.formats import load_layouts

        layouts = load_layouts(layout)
    elif partner is not None:
        from gateway.cli.formats import partner_layouts
        from gateway.cli.shared import Settings

        layouts = partner_layouts(ctx.ensure_object(Settings).config(), partner)
    results = [check_path(path, file_format, layouts, strict=strict) for path in files]
    if as_json:
        emit([checked.as_json for checked in results])
    else:
        for checked in results:
            for line in checked.lines:
                click.echo(render.safe(line))
    sys.exit(EXIT_OK if all(checked.accepted for checked in results) else EXIT_REJECTED)


def _kind(acknowledgement: Interchange) -> str:
    """TA1, 997 or 999: what an acknowledgement interchange carries."""
    sets = {t.set_id for g in acknowledgement.groups for t in g.transactions}
    return ",".join(sorted(sets)) if sets else "TA1"


@click.command("ack-file")
@click.option(
    "--format",
    "ack_format",
    type=click.Choice(["997", "999"]),
    default="997",
    show_default=True,
    help="Functional acknowledgement to build (999 answers 005010 groups; others get a 997).",
)
@click.option(
    "--control",
    type=click.IntRange(1, 999_999_999),
    default=1,
    show_default=True,
    help="First interchange and group control number to use.",
)
@click.option("--date", "when_date", default=None, help="CCYYMMDD to stamp (default: today, UTC).")
@click.option("--time", "when_time", default=None, help="HHMM to stamp (default: now, UTC).")
@json_option("Print the acknowledgements as a JSON object instead of X12.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ack_file(
    ack_format: str,
    control: int,
    when_date: str | None,
    when_time: str | None,
    as_json: bool,
    file: Path,
) -> None:
    """Print the acknowledgements (TA1, 997 or 999) the gateway would send for FILE."""
    from gateway.errors import X12SyntaxError
    from gateway.x12.ack import AckFormat, CountingControlNumbers, Stamp, build_acknowledgements
    from gateway.x12.serializer import serialize

    now = dt.datetime.now(dt.UTC)
    date = when_date or now.strftime("%Y%m%d")
    time = when_time or now.strftime("%H%M")
    if len(date) != 8 or not date.isdigit() or len(time) != 4 or not time.isdigit():
        raise click.UsageError("--date takes CCYYMMDD and --time takes HHMM")
    report = check_file(file)
    if not report.interchanges:
        first = report.first_issue()
        raise X12SyntaxError(
            f"{file}: no interchange to acknowledge: {first.describe() if first else ''}"
        )
    numbers = CountingControlNumbers(control, control)
    stamp = Stamp(date, time)
    written = []
    for interchange in report.interchanges:
        for acknowledgement in build_acknowledgements(
            interchange, numbers, stamp, ack_format=AckFormat(ack_format)
        ):
            text = serialize(acknowledgement).decode("latin-1")
            written.append(
                {
                    "kind": _kind(acknowledgement),
                    "control": acknowledgement.control_number,
                    "x12": text,
                }
            )
            if not as_json:
                click.echo(text, nl=False)
    if as_json:
        emit({"file": str(file), "acknowledgements": written})
    if not written:
        click.echo(
            f"{file}: nothing to acknowledge (acknowledgements are not acknowledged)", err=True
        )

"""`check` and `ack-file`: the codec on files, without the store. They import the codec only
(standard library), inside the commands: they start about as fast as Python itself."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.cli.shared import EXIT_OK, EXIT_REJECTED, emit, json_option

if TYPE_CHECKING:
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


@click.command("check")
@json_option("Print a JSON array instead of lines.")
@click.option(
    "--strict",
    is_flag=True,
    help="Reject every deviation from the standard, even one read as meant by default.",
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def check(as_json: bool, strict: bool, files: tuple[Path, ...]) -> None:
    """Validate X12 files: envelopes, segment order and elements against the schemas. What real
    translators send that bends the standard without changing what the file says (layout
    whitespace, padding, an unpadded ISA...) is read as meant and listed as a warning."""
    from gateway import render
    from gateway.x12.model import report_json

    results = [(str(path), check_file(path, strict=strict)) for path in files]
    if as_json:
        emit([report_json(name, r) for name, r in results])
    else:
        for name, report in results:
            for line in report_lines(name, report):
                click.echo(render.safe(line))
    sys.exit(EXIT_OK if all(r.accepted for _, r in results) else EXIT_REJECTED)


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

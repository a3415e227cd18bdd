"""The `gateway` command line: a thin edge that parses arguments, calls the codec and the
services, and turns the gateway's errors into one line and an exit code (0 success, 1 a file
rejected or an action refused, 2 a usage or configuration error). Never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from gateway import render
from gateway.adapters.migrate import current_revision, head_revision
from gateway.bootstrap import Gateway, bootstrap
from gateway.config import FolderTransport, PartnerProfile, load_config
from gateway.domain.rules import Flag, FulfillmentStatus, PaymentStatus
from gateway.domain.values import Address, LineQuantity, Party, ShipmentStatus, Side
from gateway.errors import GatewayError, GatewayFault, StoreUnavailable, X12SyntaxError
from gateway.mapping.outbound import Decision, LineDecision
from gateway.mapping.outbound_settings import HierarchyStructure
from gateway.service.actions import ActionResult, OrderDesk, parse_answer, parse_line_quantity
from gateway.service.documents import (
    DocumentActionRefused,
    list_documents,
    replay,
    resend,
    show_document,
)
from gateway.service.export import export
from gateway.service.notify import list_mail, retry_mail, show_mail
from gateway.service.ports import MAX_PAGE, ORDER_SORTS, SCOPE_STATUSES, OrderQuery
from gateway.service.report import build_report
from gateway.service.views import known_partners, list_orders, show_order
from gateway.x12.ack import AckFormat, CountingControlNumbers, Stamp, build_acknowledgements
from gateway.x12.model import FileReport, Issue
from gateway.x12.reader import CHUNK_SIZE, Reader
from gateway.x12.serializer import serialize

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_TEMPFAIL = 75  # sysexits' EX_TEMPFAIL: the database could not be used; run again later
STOP_CHECK_SECONDS = 0.25  # how soon a running gateway notices SIGINT/SIGTERM while idle


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


def check_file(path: Path, *, strict: bool = False) -> FileReport:
    """Validate one file, streaming it (`strict`: no deviation read as meant)."""
    reader = Reader(strict=strict)
    for chunk in _chunks(path):
        reader.feed(chunk)
    return reader.close()


def _issue_json(issue: Issue) -> dict[str, Any]:
    return {
        "code": issue.code_label,
        "line": issue.line,
        "segment_index": issue.segment_index,
        "segment_id": issue.segment_id,
        "element": issue.element,
        "message": issue.message,
    }


def report_json(name: str, report: FileReport) -> dict[str, Any]:
    """The `check --json` object for one file."""
    transactions = [
        {
            "set": t.set_id,
            "version": g.version,
            "control": t.control_number,
            "accepted": t.accepted and not g.issues and not i.issues,
        }
        for i in report.interchanges
        for g in i.groups
        for t in g.transactions
    ]
    return {
        "file": name,
        "accepted": report.accepted,
        "interchanges": len(report.interchanges),
        "groups": sum(len(i.groups) for i in report.interchanges),
        "transactions": transactions,
        "errors": [_issue_json(i) for i in report.all_issues()],
        "warnings": [
            {
                "tolerance": t.name,
                "code": f"TA105:{t.code}",
                "line": t.line,
                "segment_index": t.segment_index,
                "count": t.count,
                "message": t.message,
            }
            for t in report.all_tolerated()
        ],
    }


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


class Settings:
    """What the global options say; the gateway is wired only when a command needs the store."""

    def __init__(self, config_path: Path | None, data_dir: Path | None):
        self.config_path = config_path
        self.data_dir = data_dir
        self._gateway: Gateway | None = None

    def gateway(self, *, migrated: bool = True) -> Gateway:
        if self._gateway is None:
            config = load_config(self.config_path, data_dir=self.data_dir)
            self._gateway = bootstrap(config)
        if migrated:
            self._gateway.check_database()
        return self._gateway

    def close(self) -> None:
        if self._gateway is not None:
            self._gateway.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edi-gateway")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="GATEWAY_CONFIG",
    help="gateway.toml to use (default: the embedded defaults). Env: GATEWAY_CONFIG.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="GATEWAY_DATA_DIR",
    help="Data folder (SQLite store, archives), over the configuration. Env: GATEWAY_DATA_DIR.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, data_dir: Path | None) -> None:
    """EDI trading-partner gateway: X12 in and out, one trusted order record."""
    # paramiko logs a failed SSH negotiation (a refused host key...) with its traceback; the
    # gateway reports the failure itself, in one line
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    settings = Settings(config_path, data_dir)
    ctx.obj = settings
    ctx.call_on_close(settings.close)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of lines.")
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
    results = [(str(path), check_file(path, strict=strict)) for path in files]
    if as_json:
        click.echo(json.dumps([report_json(name, r) for name, r in results], indent=2))
    else:
        for name, report in results:
            for line in report_lines(name, report):
                click.echo(render.safe(line))
    sys.exit(EXIT_OK if all(r.accepted for _, r in results) else EXIT_REJECTED)


@cli.command("ack-file")
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
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ack(
    ack_format: str, control: int, when_date: str | None, when_time: str | None, file: Path
) -> None:
    """Print the acknowledgements (TA1, 997 or 999) the gateway would send for FILE."""
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
    written = 0
    for interchange in report.interchanges:
        for acknowledgement in build_acknowledgements(
            interchange, numbers, stamp, ack_format=AckFormat(ack_format)
        ):
            click.echo(serialize(acknowledgement).decode("latin-1"), nl=False)
            written += 1
    if not written:
        click.echo(
            f"{file}: nothing to acknowledge (acknowledgements are not acknowledged)", err=True
        )


# -- the store ---------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """The gateway's database."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Create or migrate the database schema to the newest revision."""
    gateway = settings.gateway(migrated=False)
    before, after = gateway.upgrade_database()
    where = gateway.config.database_url
    if before == after:
        click.echo(f"{where}: already at revision {after}")
    else:
        click.echo(f"{where}: upgraded from {before or 'empty'} to revision {after}")


@db.command("status")
@click.pass_obj
def db_status(settings: Settings) -> None:
    """Say which revision the database is at."""
    gateway = settings.gateway(migrated=False)
    current, head = current_revision(gateway.engine), head_revision()
    state = "up to date" if current == head else "needs `gateway db upgrade`"
    click.echo(f"{gateway.config.database_url}: revision {current or 'none'} ({state})")
    sys.exit(EXIT_OK if current == head else EXIT_REJECTED)


# -- orders ----------------------------------------------------------------------------------


@cli.group()
def orders() -> None:
    """Orders held by the gateway."""


def _status_names() -> list[str]:
    return [flag.value for flag in Flag] + list(SCOPE_STATUSES)


def _fulfillment_names() -> list[str]:
    return [status.value for status in FulfillmentStatus]


def _payment_names() -> list[str]:
    return [status.value for status in PaymentStatus]


def _one_of(valid: Callable[[], list[str]]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback taking names from `valid` (read when the command runs), whatever their
    case and spacing; an unknown one is a usage error naming the valid ones."""

    def check(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        names = valid()
        chosen = []
        for given in value if isinstance(value, tuple) else (value,):
            name = " ".join(given.split()).lower()
            if name not in names:
                raise click.BadParameter(f"{given!r} is not one of: {', '.join(names)}")
            chosen.append(name)
        return tuple(chosen) if isinstance(value, tuple) else chosen[0]

    return check


def _iso_day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: give YYYY-MM-DD") from None


@orders.command("list")
@click.option(
    "--partner", metavar="KEY", help="Only this partner's orders (a partner profile's key)."
)
@click.option(
    "--status",
    "statuses",
    metavar="NAME",
    multiple=True,
    callback=_one_of(_status_names),
    help="Only orders with this flag, or open / archived; repeat it for several, all of which "
    f"must hold ({', '.join(_status_names())}).",
)
@click.option(
    "--fulfilment",
    "fulfillment",
    metavar="NAME",
    callback=_one_of(_fulfillment_names),
    help=f"Only orders with this fulfilment status ({', '.join(_fulfillment_names())}).",
)
@click.option(
    "--payment",
    metavar="NAME",
    callback=_one_of(_payment_names),
    help=f"Only orders with this payment status ({', '.join(_payment_names())}).",
)
@click.option(
    "--since", metavar="YYYY-MM-DD", callback=_iso_day, help="Ordered on this day or later."
)
@click.option(
    "--until", metavar="YYYY-MM-DD", callback=_iso_day, help="Ordered on this day or earlier."
)
@click.option(
    "--search",
    metavar="TEXT",
    help="Orders with a PO number, a line's product id, a tracking number, or a ship-to name "
    "or a word of it that starts with TEXT (any case). Only the start is matched, which the "
    "index answers: `1Z999` finds 1Z999AA10123456784, `456784` does not.",
)
@click.option(
    "--sort",
    type=click.Choice(ORDER_SORTS),
    default="date",
    show_default=True,
    help="Order date, PO number, partner (then PO number) or last change.",
)
@click.option("--desc", "descending", is_flag=True, help="Sort the other way round.")
@click.option(
    "--limit",
    metavar="N",
    type=click.IntRange(1, MAX_PAGE),
    default=50,
    show_default=True,
    help="Orders on the page.",
)
@click.option(
    "--offset",
    metavar="N",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Orders skipped before the page.",
)
@click.option(
    "--archived",
    is_flag=True,
    help="Only archived orders (completed or cancelled) instead of open work.",
)
@click.option("--all", "every", is_flag=True, help="Open and archived orders alike.")
@click.option("--include-test", is_flag=True, help="Include test orders (left out by default).")
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON instead of a table.")
@click.pass_obj
def orders_list(
    settings: Settings,
    partner: str | None,
    statuses: tuple[str, ...],
    fulfillment: str | None,
    payment: str | None,
    since: dt.date | None,
    until: dt.date | None,
    search: str | None,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
    archived: bool,
    every: bool,
    include_test: bool,
    as_json: bool,
) -> None:
    """List orders with their flags and statuses, a page at a time: open work (neither
    completed nor cancelled) unless --archived or --all, or a --status of completed, cancelled
    or archived, says otherwise; oldest order date first unless --sort and --desc say
    otherwise."""
    if archived and every:
        raise click.UsageError("give --archived or --all, not both")
    if since is not None and until is not None and since > until:
        raise click.UsageError(f"--since {since} is after --until {until}")
    if search is not None and not search.strip():
        raise click.BadParameter("give some text to search for", param_hint="--search")
    gateway = settings.gateway()
    if partner is not None:
        _check_partner(gateway, partner)
    query = OrderQuery(
        partner=partner,
        statuses=statuses,
        fulfillment_status=fulfillment,
        payment_status=payment,
        since=since,
        until=until,
        search=search,
        scope="archived" if archived else "all" if every else None,
        include_test=include_test,
        sort=sort,
        descending=descending,
        limit=limit,
        offset=offset,
    )
    found = list_orders(gateway.uow_factory(), query)
    if as_json:
        click.echo(json.dumps(found["orders"], indent=2))
        return
    render.order_table(
        found["orders"], total=found["total"], offset=found["offset"], more=found["more"]
    )


def _check_partner(gateway: Gateway, partner: str) -> None:
    """A partner is one of the profiles, or one whose orders the store holds (a sender without
    a profile); any other is a usage error naming those."""
    configured = {profile.key for profile in gateway.config.partners}
    if partner in configured:
        return
    known = configured | set(known_partners(gateway.uow_factory()))
    if partner not in known:
        valid = (
            f"one of: {', '.join(sorted(known))}"
            if known
            else "there are no partner profiles and no orders"
        )
        raise click.BadParameter(f"no partner {partner!r}; {valid}", param_hint="--partner")


@orders.command("show")
@click.argument("po_number")
@click.option("--partner", help="The partner, when several used this PO number.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_obj
def orders_show(settings: Settings, po_number: str, partner: str | None, as_json: bool) -> None:
    """Show one order: flags, lines and quantities, fulfilments, cancellations, history."""
    gateway = settings.gateway()
    view = show_order(gateway.uow_factory(), po_number, partner)
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    render.order_detail(view)


# -- ingest ----------------------------------------------------------------------------------


@cli.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.pass_obj
def ingest(settings: Settings, files: tuple[Path, ...]) -> None:
    """Take in X12 files: validate, store, acknowledge, map and apply them to the orders.

    The acknowledgements are queued for the partners and delivered to their outbound mailboxes
    (DATA/outbox/PARTNER/ for a partner without a profile)."""
    gateway = settings.gateway()
    rejected = False
    partners: set[str] = set()
    with render.ingest_progress(len(files)) as progress:
        gateway.ingestor.progress = progress.sets
        results = []
        for path in files:
            progress.start_file(path.name)
            results.append((path, gateway.pipeline.ingest_file(path, str(path))))
            progress.file_done()
    for path, result in results:
        if result.duplicate and not result.sets and not result.acknowledgements:
            click.echo(f"{path}: duplicate: {result.duplicate}")
            continue
        verdict = "accepted" if result.accepted else f"rejected: {result.first_issue}"
        rejected = rejected or not result.accepted
        click.echo(f"{path}: {verdict}")
        if result.duplicate:
            click.echo(render.safe(f"  duplicate: {result.duplicate}"))
        for line in result.reused:
            click.echo(render.safe(f"  {line}"))
        for line in result.tolerated:
            click.echo(render.safe(f"  warning: {line}"))
        for outcome in result.sets:
            what = f"  {outcome.set_id} #{outcome.control_number}"
            if outcome.po_number:
                what += f" PO {outcome.po_number}"
            click.echo(
                f"{what}: {outcome.action}" + (f" ({outcome.message})" if outcome.message else "")
            )
            rejected = rejected or outcome.action in ("refused", "rejected")
        for ack in result.acknowledgements:
            partners.add(ack.partner)
            click.echo(f"  {ack.kind} {ack.control_number} queued for {ack.partner}")
    for delivery in gateway.deliverer.drain(partners=partners):
        if delivery.status == "sent":
            click.echo(f"delivered document {delivery.document_id} to {delivery.where}")
        else:
            click.echo(
                f"document {delivery.document_id} for {delivery.partner} not delivered yet:"
                f" {delivery.error}"
            )
    sys.exit(EXIT_REJECTED if rejected else EXIT_OK)


# -- export ----------------------------------------------------------------------------------


@cli.command("export")
@click.argument("po_number")
@click.option(
    "--set", "set_id", required=True, type=click.Choice(["855", "856", "810", "850", "860"])
)
@click.option("--partner", help="The partner, when several used this PO number.")
@click.option("--accept-all", is_flag=True, help="855: accept every line as ordered.")
@click.option("--reject-all", is_flag=True, help="855: reject the whole order.")
@click.option(
    "--line",
    "answers",
    multiple=True,
    metavar="LINE=STATUS[:QTY][@CCYYMMDD]",
    help="855: answer one line (accept, reject, change:QTY, backorder); others are accepted.",
)
@click.option("--ship-date", metavar="CCYYMMDD", help="855: the promised ship date.")
@click.option(
    "--fulfillment",
    "fulfillment_ids",
    multiple=True,
    metavar="ID",
    help="856: the fulfilment to pass on (default: every shipped one not yet sent).",
)
@click.option(
    "--structure",
    type=click.Choice([s.value for s in HierarchyStructure]),
    help="856: the hierarchy, instead of the mapping's.",
)
@click.option("--invoice", "invoice_number", help="810: the invoice number (default: PO-n).")
@click.option("--sender-id", help="Our ISA id, when no document of the order tells it.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the X12 here.")
@click.pass_obj
def export_document(
    settings: Settings,
    po_number: str,
    set_id: str,
    partner: str | None,
    accept_all: bool,
    reject_all: bool,
    answers: tuple[str, ...],
    ship_date: str | None,
    fulfillment_ids: tuple[str, ...],
    structure: str | None,
    invoice_number: str | None,
    sender_id: str | None,
    out: Path | None,
) -> None:
    """Send a document about order PO_NUMBER: build it, store it, queue it for the partner and
    record it on the order; print the X12 (or write it to --out)."""
    decision = None
    if set_id == "855":
        decision = _decision(accept_all, reject_all, answers, ship_date)
    elif accept_all or reject_all or answers or ship_date:
        raise click.UsageError("--accept-all, --reject-all, --line and --ship-date are for an 855")
    gateway = settings.gateway()
    result = export(
        gateway.uow_factory,
        po_number,
        set_id,
        partner,
        decision,
        fulfillment_ids,
        mappings=gateway.mappings,
        invoice_number=invoice_number,
        structure=HierarchyStructure(structure) if structure else None,
        sender_id=sender_id,
        profiles={p.key: p for p in gateway.config.partners},
    )
    summary = (
        f"{result.po_number}: {result.set_id} #{','.join(result.set_controls)} in interchange "
        f"{result.interchange_control} queued for {result.partner} (document "
        f"{result.document_id}); recorded: {', '.join(result.recorded) or 'nothing'}"
    )
    if out is None:
        click.echo(result.content.decode("latin-1"), nl=False)
        click.echo(summary, err=True)
    else:
        out.write_bytes(result.content)
        click.echo(f"{summary}; written to {out}")


def _decision(
    accept_all: bool, reject_all: bool, answers: tuple[str, ...], ship_date: str | None
) -> Decision:
    if sum((accept_all, reject_all, bool(answers))) != 1:
        raise click.UsageError("an 855 takes one of --accept-all, --reject-all or --line ...")
    when = _date(ship_date, "--ship-date")
    if reject_all:
        if when:
            raise click.UsageError("--ship-date makes no sense with --reject-all")
        return Decision.reject_all()
    if accept_all:
        return Decision.accept_all(ship_date=when)
    try:
        lines = [LineDecision.parse(answer) for answer in answers]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--line") from None
    return Decision.with_changes(*lines, ship_date=when)


# -- run -------------------------------------------------------------------------------------


def event_logger(log_format: str) -> Callable[..., None]:
    """One line per event on standard output: text, or JSON objects with --log-format json."""

    def log(event: str, **fields: object) -> None:
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        shown = {k: v for k, v in fields.items() if v not in ("", None)}
        if log_format == "json":
            click.echo(json.dumps({"at": at, "event": event, **shown}, default=str))
        else:
            details = " ".join(f"{k}={log_value(v)}" for k, v in shown.items())
            click.echo(f"{at} {event}" + (f" {details}" if details else ""))

    return log


def log_value(value: object) -> str:
    """A field's value in a text log line: as it is when it is plain printable text without
    spaces, quotes or `=`; else quoted with every control, non-ASCII and quote character
    escaped, so that text from a partner (a file name, a reason) can neither split the line, nor
    forge a field or a line, nor reach the terminal as an escape sequence."""
    text = str(value)
    if text and text.isascii() and text.isprintable() and not any(c in text for c in ' "=\\'):
        return text
    return json.dumps(text)


@cli.command("run")
@click.option("--once", is_flag=True, help="One pass of everything, then exit (cron, batch jobs).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per event, as text or JSON.",
)
@click.pass_obj
def run_gateway(settings: Settings, once: bool, log_format: str) -> None:
    """Pick up from every partner's mailbox, take the files in, deliver the outbox, watch the
    acknowledgements owed; until SIGINT/SIGTERM (the file in hand is finished first).

    With --once the exit code is 1 when a mailbox was unreachable, a file in one could not be
    picked up, a file was quarantined or a mail server refused an email for good; 75 when the
    database could not be used."""
    gateway = settings.gateway()
    log = event_logger(log_format)
    runner = gateway.runner(log=log)
    if once:
        summary = runner.run_once(wait_settling=True)
        quarantined = [f for f in summary.files if f.quarantined is not None]  # duplicates too
        refused = [m for m in summary.mails if m.status == "failed"]  # for good: a person acts
        log(
            "pass done",
            files=len(summary.files),
            quarantined=len(quarantined),
            delivered=sum(1 for d in summary.deliveries if d.status == "sent"),
            unreachable=",".join(summary.unreachable),
            emails_failed=len(refused),
            unmovable=len(summary.unmovable),
        )
        if summary.store_unavailable:
            click.echo(
                f"error: {render.safe(summary.store_unavailable)}; the pass stopped there and"
                " nothing was lost: run it again once the database is back",
                err=True,
            )
            sys.exit(EXIT_TEMPFAIL)
        troubled = quarantined or summary.unreachable or refused or summary.unmovable
        sys.exit(EXIT_REJECTED if troubled else EXIT_OK)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log("stop requested", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # watchdog's inotify emitter logs an error when the observer stops while the emitter thread
    # is reading (a race inside watchdog at shutdown, harmless): not an event of ours
    logging.getLogger("watchdog.observers.inotify").setLevel(logging.CRITICAL)
    with gateway.watcher() as watcher:

        def wake(timeout: float) -> bool:
            """Wait for a watched folder to change, a stop request, or `timeout`."""
            deadline = time.monotonic() + timeout
            while not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if watcher.wait(min(left, STOP_CHECK_SECONDS)):
                    return True
            return True

        runner.run(stop, wake)


# -- partners --------------------------------------------------------------------------------


@cli.group()
def partners() -> None:
    """The trading partners configured in partners/*.toml."""


def _transport_line(profile: PartnerProfile) -> str:
    transport = profile.transport
    if isinstance(transport, FolderTransport):
        return f"folder in={transport.inbox} out={transport.outbox}"
    return (
        f"sftp {transport.user}@{transport.host}:{transport.port} in={transport.remote_inbox}"
        f" out={transport.remote_outbox} every {profile.poll_seconds / 60:g} min"
    )


@partners.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def partners_list(settings: Settings, as_json: bool) -> None:
    """Every partner profile with its identity and transport."""
    config = load_config(settings.config_path, data_dir=settings.data_dir)
    rows = [
        {
            "partner": p.key,
            "name": p.name,
            "role": p.role,
            "isa": f"{p.identity.isa_qualifier}/{p.identity.isa_id}",
            "us": f"{p.us.isa_qualifier}/{p.us.isa_id}",
            "version": p.x12.version,
            "acknowledgements": f"send {p.acknowledgements.send}, expect"
            f" {p.acknowledgements.expect} within {p.acknowledgements.deadline_hours:g} h",
            "transport": _transport_line(p),
        }
        for p in config.partners
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo(f"no partner profiles ({config.source})")
    else:
        render.table(rows)


@partners.command("check")
@click.argument("keys", nargs=-1)
@click.pass_obj
def partners_check(settings: Settings, keys: tuple[str, ...]) -> None:
    """Connect to each partner's mailboxes (all, or those named): folders exist and can be
    written; SFTP servers show the pinned host key, let us in, and have the folders."""
    gateway = settings.gateway(migrated=False)
    chosen = [p for p in gateway.config.partners if not keys or p.key in keys]
    unknown = set(keys) - {p.key for p in chosen}
    if unknown:
        raise click.BadParameter(f"no partner profile {', '.join(sorted(unknown))}")
    failed = False
    for profile in chosen:
        try:
            problems = gateway.check_mailbox(profile)
        except GatewayError as exc:
            problems = [str(exc)]
        failed = failed or bool(problems)
        verdict = "ok" if not problems else "; ".join(problems)
        click.echo(f"{profile.key}: {_transport_line(profile)}: {verdict}")
    sys.exit(EXIT_REJECTED if failed else EXIT_OK)


# -- documents -------------------------------------------------------------------------------


@cli.group()
def documents() -> None:
    """Documents received and sent."""


@documents.command("list")
@click.option("--partner", help="Only this partner's documents.")
@click.option("--direction", type=click.Choice(["in", "out"]), help="Received or sent.")
@click.option("--status", help="Only documents in this state (queued, sent, acknowledged, ...).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def documents_list(
    settings: Settings,
    partner: str | None,
    direction: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The latest documents, newest first."""
    gateway = settings.gateway()
    rows = list_documents(
        gateway.uow_factory(), partner=partner, direction=direction, status=status, limit=limit
    )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("no documents")
    else:
        render.table(
            [{**row, "sets": ",".join(row["sets"])} for row in rows],
        )


@documents.command("show")
@click.argument("document_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--raw", is_flag=True, help="Print the document's X12 as it was received or sent.")
@click.pass_obj
def documents_show(settings: Settings, document_id: int, as_json: bool, raw: bool) -> None:
    """A document: its envelope, what became of each set, its deliveries and orders."""
    gateway = settings.gateway()
    if raw:
        with gateway.uow_factory() as uow:
            document = uow.documents.get(document_id)
        if document is None or (document.raw is None and document.raw_path is None):
            raise DocumentActionRefused("document-exists", f"no document {document_id}")
        if document.raw is not None:
            click.echo(document.raw.decode("latin-1"), nl=False)
        else:
            for chunk in gateway.files.chunks(Path(document.raw_path or "")):
                click.echo(chunk.decode("latin-1"), nl=False)
        return
    view = show_document(gateway.uow_factory(), document_id)
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    view = render.safe(view)  # a file name, a set's message: the partner's words, escaped
    for key in ("id", "partner", "direction", "sets", "interchange", "status", "file", "at",
                "sha256", "sender", "receiver", "processed_at"):  # fmt: skip
        value = view[key]
        click.echo(f"{key}: {','.join(value) if isinstance(value, list) else value}")
    for warning in view["warnings"]:  # deviations from the standard read as the partner meant
        click.echo(f"  warning: {warning}")
    for record in view["transaction_sets"]:
        po = f" PO {record['po_number']}" if record["po_number"] else ""
        click.echo(
            f"  {record['set_id']} #{record['set']}{po}: {record['action']} {record['message']}"
        )
    for delivery in view["deliveries"]:
        click.echo(
            f"  delivery {delivery['outbox']}: {delivery['status']} after"
            f" {delivery['attempts']} attempt(s) {delivery['where'] or delivery['last_error']}"
        )
    for order in view["orders"]:
        click.echo(f"  order {order['partner']} {order['po_number']}")


@documents.command("resend")
@click.argument("document_id", type=int)
@click.pass_obj
def documents_resend(settings: Settings, document_id: int) -> None:
    """Deliver a document we sent again (same content and control numbers)."""
    gateway = settings.gateway()
    entry = resend(gateway.uow_factory, document_id, dt.datetime.now(dt.UTC))
    click.echo(f"document {document_id} queued again (outbox {entry.id})")
    for delivery in gateway.deliverer.drain(partners={entry.partner}):
        if delivery.document_id == document_id:
            click.echo(f"  {delivery.status} {delivery.where or delivery.error}")


@documents.command("replay")
@click.argument("document_id", type=int)
@click.pass_obj
def documents_replay(settings: Settings, document_id: int) -> None:
    """Take a received document in again for its sets that were refused, rejected or not
    mapped (after the order arrived, or a mapping or profile was fixed)."""
    gateway = settings.gateway()
    result = replay(gateway.uow_factory, gateway.ingestor, document_id, gateway.files)
    failed = False
    for outcome in result.sets:
        po = f" PO {outcome.po_number}" if outcome.po_number else ""
        click.echo(
            f"{outcome.set_id} #{outcome.control_number}{po}: {outcome.action}"
            + (f" ({outcome.message})" if outcome.message else "")
        )
        failed = failed or outcome.action in ("refused", "rejected")
    sys.exit(EXIT_REJECTED if failed else EXIT_OK)


# -- mail --------------------------------------------------------------------------------------


@cli.group()
def mail() -> None:
    """Emails queued for partners and operators."""


@mail.command("list")
@click.option("--status", type=click.Choice(["queued", "sent", "failed"]), help="Only these.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def mail_list(settings: Settings, status: str | None, limit: int, as_json: bool) -> None:
    """The latest emails, newest first."""
    rows = list_mail(settings.gateway().uow_factory(), status=status, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("no emails")
    else:
        render.table(
            [
                {
                    "id": row["id"],
                    "status": row["status"],
                    "kind": row["kind"],
                    "to": ", ".join(row["to"]),
                    "subject": row["subject"],
                    "attempts": row["attempts"],
                    "error": row["last_error"],
                }
                for row in rows
            ]
        )


@mail.command("show")
@click.argument("outbox_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part instead of the text.")
@click.pass_obj
def mail_show(settings: Settings, outbox_id: int, as_json: bool, as_html: bool) -> None:
    """One email: its state, headers and text."""
    view = show_mail(settings.gateway().uow_factory(), outbox_id)
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    if as_html:
        click.echo(view["html"], nl=False)
        return
    shown = render.safe(view)  # a subject or text quoting a partner: shown, never obeyed
    for key in ("id", "status", "kind", "message_id", "from", "to", "subject", "attempts",
                "queued_at", "sent_at", "next_attempt_at", "last_error"):  # fmt: skip
        value = shown[key]
        click.echo(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    click.echo("")
    for line in str(view["text"]).splitlines():  # its line breaks kept, each line escaped
        click.echo(render.safe(line))


@mail.command("retry")
@click.argument("outbox_id", type=int)
@click.pass_obj
def mail_retry(settings: Settings, outbox_id: int) -> None:
    """Send an email again now (after a failure, or once more: same Message-ID)."""
    gateway = settings.gateway()
    retry_mail(gateway.uow_factory, outbox_id, dt.datetime.now(dt.UTC))
    click.echo(f"email {outbox_id} queued again")
    for sent in gateway.mailer.drain():
        if sent.outbox_id == outbox_id:
            click.echo(f"  {sent.status} {sent.error}".rstrip())
            if sent.status != "sent":
                sys.exit(EXIT_REJECTED)


# -- an operator's actions on an order ------------------------------------------------------


def _desk(settings: Settings) -> OrderDesk:
    gateway = settings.gateway()
    return OrderDesk(
        gateway.uow_factory, gateway.mappings, {p.key: p for p in gateway.config.partners}
    )


def _quantities(values: tuple[str, ...], option: str = "--line") -> list[LineQuantity]:
    try:
        return [parse_line_quantity(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _amount(value: str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except ArithmeticError:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0:
        raise click.BadParameter(f"{value!r} is not an amount, like 12.50", param_hint=option)
    return amount


def _date(value: str | None, option: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not CCYYMMDD", param_hint=option) from None


def _done(result: ActionResult, as_json: bool) -> None:
    """Print what an action did: one line (JSON with --json); a document owed that could not
    be built is said on standard error (the action itself is done: exit 0)."""
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        record = f" {result.record}" if result.record else ""
        sent = "".join(
            f"; {d['set']} queued (document {d['document_id']})" for d in result.documents
        )
        flags = f" [{', '.join(result.flags)}]" if result.flags else ""
        click.echo(f"{result.po_number} ({result.partner}): {result.action}{record}{sent}{flags}")
    if result.later:
        click.echo(f"note: {result.later}")
    if result.unsent:
        click.echo(f"warning: {result.unsent}", err=True)


SHIPMENT_STATUSES = [s.value for s in ShipmentStatus if s is not ShipmentStatus.AWAITING_SHIPMENT]
PARTNER_OPTION = click.option("--partner", help="The partner, when several used this PO number.")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@cli.command()
@click.argument("po_number")
@click.option("--line", "lines", multiple=True, required=True, metavar="N:QTY",
              help="A line and the quantity shipped (repeat for several lines).")  # fmt: skip
@click.option("--carrier", required=True, help="The carrier (UPS, FedEx, a SCAC...).")
@click.option("--tracking", multiple=True, help="A tracking number (one per package shipped).")
@click.option("--tracking-url", default="", help="Where the shipment can be followed.")
@click.option("--ship-date", metavar="CCYYMMDD", help="When it shipped (default: today).")
@click.option("--id", "record_id", help="The fulfilment's id (default: a new F-xxxxxxxx).")
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def fulfill(
    settings: Settings,
    po_number: str,
    lines: tuple[str, ...],
    carrier: str,
    tracking: tuple[str, ...],
    tracking_url: str,
    ship_date: str | None,
    record_id: str | None,
    partner: str | None,
    as_json: bool,
) -> None:
    """Record a shipment of some lines of an order (an order we sell sends its 856)."""
    result = _desk(settings).fulfill(
        po_number,
        _quantities(lines),
        partner=partner,
        carrier=carrier,
        tracking_numbers=tracking,
        tracking_url=tracking_url,
        ship_date=_date(ship_date, "--ship-date"),
        fulfillment_id=record_id,
    )
    _done(result, as_json)


@cli.command()
@click.argument("po_number")
@click.argument("fulfillment_id")
@click.option(
    "--status",
    required=True,
    type=click.Choice(
        [s.value for s in ShipmentStatus if s is not ShipmentStatus.AWAITING_SHIPMENT]
    ),
    help="Where the shipment is now, as the carrier's tracking says.",
)
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def shipment(
    settings: Settings,
    po_number: str,
    fulfillment_id: str,
    status: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Record a shipment's status (in transit, delivered, delivery failed, returned to
    sender...), also after the order is Shipped or Completed."""
    result = _desk(settings).shipment_status(
        po_number, fulfillment_id, ShipmentStatus(status), partner=partner
    )
    _done(result, as_json)


@cli.command()
@click.argument("po_number")
@click.option("--line", "lines", multiple=True, metavar="N:QTY",
              help="A line and the open quantity to cancel (none: the whole order).")  # fmt: skip
@click.option("--reason", required=True, help="Why (it goes to the other side).")
@click.option("--by", "by", type=click.Choice(["buyer", "seller"]), required=True,
              help="Who asks for the cancellation.")  # fmt: skip
@click.option("--id", "record_id", help="The cancellation's id (default: a new C-xxxxxxxx).")
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def cancel(
    settings: Settings,
    po_number: str,
    lines: tuple[str, ...],
    reason: str,
    by: str,
    record_id: str | None,
    partner: str | None,
    as_json: bool,
) -> None:
    """Cancel open quantity of some lines, or the whole order. Cancelled by our side, the
    partner on EDI gets its document: an 860 for an order we placed; for an order we sell, an
    855 that replaces ours (or, not acknowledged yet, the cancellation rides in the first 855).
    The other side is emailed either way."""
    result = _desk(settings).cancel(
        po_number,
        _quantities(lines),
        by=Side(by),
        reason=reason,
        partner=partner,
        cancellation_id=record_id,
    )
    _done(result, as_json)


@cli.command("ack")
@click.argument("po_number")
@click.option("--accept-all", is_flag=True, help="Accept every line as ordered.")
@click.option("--reject-all", is_flag=True, help="Reject the whole order.")
@click.option("--line", "answers", multiple=True, metavar="N:ANSWER",
              help="N:accept, N:reject, N:qty=Q or N:backorder[@CCYYMMDD].")  # fmt: skip
@click.option("--ship-date", metavar="CCYYMMDD", help="The promised ship date.")
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def ack_order(
    settings: Settings,
    po_number: str,
    accept_all: bool,
    reject_all: bool,
    answers: tuple[str, ...],
    ship_date: str | None,
    partner: str | None,
    as_json: bool,
) -> None:
    """The seller's decision on an order we sell, sent as an 855."""
    try:
        written = tuple(parse_answer(answer) for answer in answers)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--line") from None
    decision = _decision(accept_all, reject_all, written, ship_date)
    _done(_desk(settings).acknowledge(po_number, decision, partner=partner), as_json)


@cli.command("return")
@click.argument("po_number")
@click.option("--line", "lines", multiple=True, required=True, metavar="N:QTY",
              help="A line and the quantity coming back.")  # fmt: skip
@click.option("--reason", default="", help="Why it comes back.")
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def return_goods(
    settings: Settings,
    po_number: str,
    lines: tuple[str, ...],
    reason: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Record goods coming back (only what was shipped can come back)."""
    result = _desk(settings).record_return(
        po_number, _quantities(lines), reason=reason, partner=partner
    )
    _done(result, as_json)


@cli.command()
@click.argument("po_number")
@click.option("--amount", required=True, help="The amount given back.")
@click.option("--line", "lines", multiple=True, metavar="N:QTY", help="Lines it is for.")
@click.option("--reason", default="", help="Why.")
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def refund(
    settings: Settings,
    po_number: str,
    amount: str,
    lines: tuple[str, ...],
    reason: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Record money given back, for some lines or the order."""
    result = _desk(settings).refund(
        po_number,
        _amount(amount, "--amount") or Decimal(0),
        lines=_quantities(lines),
        reason=reason,
        partner=partner,
    )
    _done(result, as_json)


@cli.command()
@click.argument("po_number")
@click.option("--number", help="The invoice number (default: PO-n).")
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def invoice(
    settings: Settings, po_number: str, number: str | None, partner: str | None, as_json: bool
) -> None:
    """Invoice what shipped and was not invoiced yet, as an 810."""
    _done(_desk(settings).invoice(po_number, number=number, partner=partner), as_json)


@cli.command("mark-paid")
@click.argument("po_number")
@click.option("--amount", help="The amount paid (default: everything still owed).")
@click.option("--reference", default="", help="The payment's reference.")
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def mark_paid(
    settings: Settings,
    po_number: str,
    amount: str | None,
    reference: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Record a payment."""
    result = _desk(settings).mark_paid(
        po_number, amount=_amount(amount, "--amount"), reference=reference, partner=partner
    )
    _done(result, as_json)


@cli.command()
@click.argument("po_number")
@click.argument("what", type=click.Choice(["add", "edit", "delete"]))
@click.argument("words", nargs=-1, metavar="[NOTE_ID] [TEXT]")
@click.option("--author", envvar="USER", default="operator", show_default=True,
              help="Who writes it (env: USER).")  # fmt: skip
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def note(
    settings: Settings,
    po_number: str,
    what: str,
    words: tuple[str, ...],
    author: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Notes on an order: `add TEXT`, `edit NOTE_ID TEXT`, `delete NOTE_ID`."""
    desk = _desk(settings)
    expected = {"add": 1, "edit": 2, "delete": 1}[what]
    if len(words) != expected:
        usage = {"add": "add TEXT", "edit": "edit NOTE_ID TEXT", "delete": "delete NOTE_ID"}
        raise click.UsageError(f"note {po_number} {usage[what]}")
    if what == "add":
        result = desk.add_note(po_number, words[0], author=author, partner=partner)
    elif what == "edit":
        result = desk.edit_note(po_number, words[0], words[1], author=author, partner=partner)
    else:
        result = desk.delete_note(po_number, words[0], author=author, partner=partner)
    _done(result, as_json)


@cli.command("change-customer")
@click.argument("po_number")
@click.option("--ship-to", required=True, help="The new ship-to name.")
@click.option("--address", "address_lines", multiple=True, help="A street line (repeatable).")
@click.option("--city", default="")
@click.option("--state", default="")
@click.option("--postal-code", default="")
@click.option("--country", default="")
@click.option("--reason", default="", help="Why.")
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def change_customer(
    settings: Settings,
    po_number: str,
    ship_to: str,
    address_lines: tuple[str, ...],
    city: str,
    state: str,
    postal_code: str,
    country: str,
    reason: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Change whom the order ships to."""
    address = Address(address_lines, city, state, postal_code, country)
    result = _desk(settings).change_customer(
        po_number, Party("ST", ship_to, address=address), reason=reason, partner=partner
    )
    _done(result, as_json)


@cli.command("change-dates")
@click.argument("po_number")
@click.option("--ship-date", metavar="CCYYMMDD", help="The new requested ship date.")
@click.option("--delivery-date", metavar="CCYYMMDD", help="The new requested delivery date.")
@click.option("--cancel-after", metavar="CCYYMMDD", help="The new cancel-after date.")
@click.option("--reason", default="", help="Why.")
@PARTNER_OPTION
@JSON_OPTION
@click.pass_obj
def change_dates(
    settings: Settings,
    po_number: str,
    ship_date: str | None,
    delivery_date: str | None,
    cancel_after: str | None,
    reason: str,
    partner: str | None,
    as_json: bool,
) -> None:
    """Move the order's requested ship or delivery date or its cancel-after date (an order we
    placed with a seller who takes EDI sends its 860)."""
    if not (ship_date or delivery_date or cancel_after):
        raise click.UsageError("give --ship-date, --delivery-date or --cancel-after")
    result = _desk(settings).change_dates(
        po_number,
        requested_ship_date=_date(ship_date, "--ship-date"),
        requested_delivery_date=_date(delivery_date, "--delivery-date"),
        cancel_after_date=_date(cancel_after, "--cancel-after"),
        reason=reason,
        partner=partner,
    )
    _done(result, as_json)


@cli.command("test-order")
@click.option("--partner", required=True, help="The seller to try (its profile's key).")
@JSON_OPTION
@click.pass_obj
def test_order(settings: Settings, partner: str, as_json: bool) -> None:
    """Place a test order with a seller (ISA15 = T through the whole flow) to try their set-up."""
    _done(_desk(settings).test_order(partner), as_json)


@cli.command()
@click.option("--since", metavar="CCYYMMDD", help="Only what changed since this day.")
@click.option("--include-test", is_flag=True, help="Count test orders too.")
@JSON_OPTION
@click.pass_obj
def report(settings: Settings, since: str | None, include_test: bool, as_json: bool) -> None:
    """Orders per partner and state, overdue acknowledgements, quarantined files, mailboxes
    unreachable."""
    gateway = settings.gateway()
    found = build_report(
        gateway.uow_factory(),
        gateway.files,
        since=_date(since, "--since"),
        include_test=include_test,
        profiles={p.key: p for p in gateway.config.partners},
    )
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    heading = f"since {found['since']}" if found["since"] else "all time"
    click.echo(f"orders ({heading}{', test orders included' if include_test else ''})")
    if found["orders"]:
        render.table(found["orders"])
    else:
        click.echo("  none")
    overdue = found["overdue_acknowledgements"]
    click.echo(f"acknowledgements overdue: {len(overdue)}")
    if overdue:
        render.table([{**d, "sets": ",".join(d["sets"])} for d in overdue])
    quarantined = found["quarantined_files"]
    click.echo(f"files in quarantine: {len(quarantined)}")
    if quarantined:
        render.table([{k: q[k] for k in ("day", "partner", "file", "why")} for q in quarantined])
    unreachable = found["unreachable_mailboxes"]
    if unreachable:
        click.echo(f"mailboxes unreachable: {len(unreachable)}")
        render.table(unreachable)
    late = found["late_documents"]
    click.echo(f"late documents: {len(late)}")
    if late:
        render.table(late)
    failed = found["failed_emails"]
    if failed:
        click.echo(f"emails refused for good: {len(failed)} (`gateway mail retry ID` once fixed)")
        render.table(failed)


def main() -> None:
    """Console entry point: run the CLI, turning the gateway's errors into one line."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_REJECTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except StoreUnavailable as exc:
        click.echo(f"error: {render.safe(str(exc))}; nothing was changed: try again", err=True)
        sys.exit(EXIT_TEMPFAIL)
    except GatewayFault as exc:
        click.echo(f"error: {render.safe(str(exc))}", err=True)
        sys.exit(EXIT_USAGE)
    except GatewayError as exc:  # its text may quote a partner's: shown, never obeyed
        click.echo(f"error: {render.safe(str(exc))}", err=True)
        sys.exit(EXIT_REJECTED)
    except OSError as exc:
        click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)

"""`run`: the gateway itself, as a daemon or one pass (`--once`, for cron), logging one line per
event on standard error (`gateway.logs`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from gateway.cli.shared import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_TEMPFAIL,
    LOG_FORMAT_OPTION,
    LOG_LEVEL_OPTION,
    Failure,
    Settings,
    emit,
    json_option,
)

if TYPE_CHECKING:
    from gateway.bootstrap import Gateway
    from gateway.logs import Log
    from gateway.service.runner import PassSummary, Runner

STOP_CHECK_SECONDS = 0.25  # how soon a running gateway notices SIGINT/SIGTERM while idle
TROUBLED_FILES = ("quarantined", "duplicate", "failed")
"""The file outcomes that need a person and make `run --once` exit 1 (their files are put
aside in the quarantine folder with a report); `applied` and `recovered` (taken in before a
crash) do not."""


def pass_counts(summary: PassSummary) -> dict[str, Any]:
    """What one pass did, counted: the files by outcome (applied, quarantined, duplicate,
    failed, recovered), the documents delivered, the mailboxes unreachable, the emails refused
    for good, the files that could not be removed from their mailbox, the webhook events
    delivered and those to be tried again."""
    by_status = {
        status: sum(1 for f in summary.files if f.status == status)
        for status in ("applied", "recovered", *TROUBLED_FILES)
    }
    return {
        "files": len(summary.files),
        "applied": by_status["applied"],
        "quarantined": by_status["quarantined"],
        "duplicates": by_status["duplicate"],
        "failed": by_status["failed"],
        "recovered": by_status["recovered"],
        "delivered": sum(1 for d in summary.deliveries if d.status == "sent"),
        "unreachable": sorted(summary.unreachable),
        "emails_failed": sum(1 for m in summary.mails if m.status == "failed"),
        "unmovable": len(summary.unmovable),
        "webhooks_delivered": sum(1 for w in summary.webhooks if w.status == "delivered"),
        "webhooks_retrying": sum(1 for w in summary.webhooks if w.status == "retry"),
    }


def pass_exit_code(summary: PassSummary) -> int:
    """75 when the store could not be used; 1 when a file was quarantined, a duplicate or
    failed (or ended any other way than applied or recovered), a mailbox was unreachable, a
    file could not be removed from one, or a mail server refused an email for good; else 0."""
    if summary.store_unavailable:
        return EXIT_TEMPFAIL
    troubled = any(
        f.status not in ("applied", "recovered") or f.quarantined is not None for f in summary.files
    )
    refused = any(m.status == "failed" for m in summary.mails)  # for good: a person acts
    if troubled or summary.unreachable or refused or summary.unmovable:
        return EXIT_REJECTED
    return EXIT_OK


@click.command("run")
@click.option("--once", is_flag=True, help="One pass of everything, then exit (cron, batch jobs).")
@LOG_FORMAT_OPTION
@LOG_LEVEL_OPTION
@json_option("With --once: the pass's summary as one JSON object on standard output.")
@click.option(
    "--metrics-port",
    metavar="N",
    type=click.IntRange(0, 65535),
    help="Serve /metrics (Prometheus) and /healthz on this port while the gateway runs, for "
    "when the console (`gateway serve`, which has both) is not served; 0: any free port, logged.",
)
@click.option(
    "--metrics-host",
    metavar="ADDRESS",
    default="127.0.0.1",
    show_default=True,
    help="The address /metrics and /healthz listen on (no authentication: keep it private).",
)
@click.pass_obj
def run(
    settings: Settings,
    once: bool,
    log_format: str,
    log_level: str,
    as_json: bool,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Pick up from every partner's mailbox, take the files in, deliver the outbox, watch the
    acknowledgements owed; until SIGINT/SIGTERM (the file in hand is finished first).

    With --once the exit code is 1 when a mailbox was unreachable, a file in one could not be
    picked up, a file was quarantined, a duplicate or failed, or a mail server refused an email
    for good; 75 when the database could not be used."""
    from gateway import render

    if as_json and not once:
        raise click.UsageError("--json is for --once; a running gateway logs with --log-format")
    if once and metrics_port is not None:
        raise click.UsageError("--metrics-port is for a running gateway, not --once")
    from gateway import logs

    gateway = settings.gateway()
    logs.configure(log_format, log_level)
    log = logs.emitter("gateway.runner")
    runner = gateway.runner(log=log)
    if once:
        summary = runner.run_once(wait_settling=True)
        counts = pass_counts(summary)
        log("pass done", **{**counts, "unreachable": ",".join(counts["unreachable"])})
        code = pass_exit_code(summary)
        if summary.store_unavailable:
            why = (
                f"{render.safe(summary.store_unavailable)}; the pass stopped there and nothing"
                " was lost: run it again once the database is back"
            )
            if as_json:
                emit({**Failure(why, None, code).as_json(), "pass": counts})
            else:
                click.echo(f"error: {why}", err=True)
        elif as_json:
            emit({**counts, "exit": code})
        sys.exit(code)
    if metrics_port is None:
        _run_until_stopped(gateway, runner, log)
        return
    from gateway.adapters import metrics

    server = metrics.MetricsServer(
        metrics_host, metrics_port, metrics.registry(gateway.metrics_snapshot), gateway.store_health
    )
    log("metrics served", url=server.url)
    try:
        _run_until_stopped(gateway, runner, log)
    finally:
        server.close()


def _run_until_stopped(gateway: Gateway, runner: Runner, log: Log) -> None:
    """Run the gateway until SIGINT or SIGTERM, waking early when a watched folder changes."""
    import logging
    import signal
    import threading
    import time

    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log("stop requested", signal=signal.Signals(signum).name)
        # watchdog's inotify emitter logs an error when the observer stops while its thread is
        # reading (a race inside watchdog at shutdown, harmless): quiet from here on only
        logging.getLogger("watchdog.observers.inotify").setLevel(logging.CRITICAL)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
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

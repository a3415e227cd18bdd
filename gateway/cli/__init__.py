"""The `gateway` command line: a thin edge that parses arguments, calls the codec and the
services, and turns the gateway's errors into one line and an exit code (0 success, 1 a file
rejected or an action refused, 2 a usage or configuration error, 75 the database could not be
used). Never a traceback. With `--json`, a command's result is JSON, and so is its failure:
`{"error", "rule", "exit"}` on standard output.

One module per group of commands, each importing the store, the services and rich only inside
its commands (see `shared`), so that `gateway --help`, `check` and `ack-file` start fast::

    shared      settings, exit codes and errors, `--json`, the parameter types
    codec       check, ack-file
    orders      orders list, orders show, report
    actions     fulfil, shipment, cancel, ack, return, refund, invoice, mark-paid, note,
                change-customer, change-dates, test-order, export
    documents   documents list/show/resend/replay, ingest
    mail        mail list/show/retry
    run         run (and its event log lines)
    serve       serve (the web console)
    db          db upgrade/status
    partners    partners list/check
    users       users add/list/disable/passwd/sign-ins (the web console's accounts)
    tokens      tokens add/list/revoke (the API's tokens)
    webhooks    webhooks add/list/remove/log/events (events POSTed to other systems)
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.cli.shared import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_TEMPFAIL,
    EXIT_USAGE,
    FAILURES,
    GatewayGroup,
    Settings,
    fail,
)

__all__ = [
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_TEMPFAIL",
    "EXIT_USAGE",
    "Settings",
    "cli",
    "main",
]


@click.group(cls=GatewayGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    settings = Settings(config_path, data_dir)
    ctx.obj = settings
    ctx.call_on_close(settings.close)


COMMANDS = {
    "check": "codec:check",
    "ack-file": "codec:ack_file",
    "db": "db:db",
    "orders": "orders:orders",
    "report": "orders:report",
    "ingest": "documents:ingest",
    "documents": "documents:documents",
    "export": "actions:export",
    "fulfil": "actions:fulfil",
    "shipment": "actions:shipment",
    "cancel": "actions:cancel",
    "ack": "actions:ack",
    "return": "actions:return_",
    "refund": "actions:refund",
    "invoice": "actions:invoice",
    "mark-paid": "actions:mark_paid",
    "note": "actions:note",
    "change-customer": "actions:change_customer",
    "change-dates": "actions:change_dates",
    "test-order": "actions:test_order",
    "run": "run:run",
    "serve": "serve:serve",
    "partners": "partners:partners",
    "mail": "mail:mail",
    "users": "users:users",
    "tokens": "tokens:tokens",
    "webhooks": "webhooks:webhooks",
}
"""Each command and where it is defined (module of `gateway.cli`, attribute): a command's
module is imported when the command is run or its help drawn, so `gateway check` imports the
codec's commands and no other."""
cli.lazy_commands.update(COMMANDS)


def main() -> None:
    """Console entry point: run the CLI, turning the gateway's errors into one line."""
    from gateway.errors import GatewayError

    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (*FAILURES, GatewayError) as exc:
        fail(exc, as_json=False)
    except KeyboardInterrupt:
        sys.exit(130)

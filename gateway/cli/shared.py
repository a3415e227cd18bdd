"""What every command of the command line shares: the global settings and the store they open,
the exit codes and how an error becomes one line (or one JSON object) and a code, the options
several commands take, and the parameter types that turn arguments into values.

Strategy: this module, like every command module, imports only click and the standard library
when it is loaded. The store, the services, rich and the domain are imported inside the
functions that use them, so that `gateway --help`, `gateway check` and `gateway ack-file` start
about as fast as Python itself; a name list that lives in the domain or the services (statuses,
sort orders) is read when a command converts a value or draws its help, not before.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from gateway.bootstrap import Gateway
    from gateway.config import GatewayConfig
    from gateway.mapping.outbound import LineDecision

    ParamType = click.ParamType[Any]  # generic from click 8.4 on; plain before
else:
    ParamType = click.ParamType

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_TEMPFAIL = 75  # sysexits' EX_TEMPFAIL: the database could not be used; run again later


class Settings:
    """What the global options say; the gateway is wired only when a command needs the store.
    `json_requested` is set as soon as a command's `--json` is read, so that its failure is
    told as JSON too."""

    def __init__(self, config_path: Path | None, data_dir: Path | None):
        self.config_path = config_path
        self.data_dir = data_dir
        self.json_requested = False
        self._config: GatewayConfig | None = None
        self._gateway: Gateway | None = None

    def config(self) -> GatewayConfig:
        """The configuration, loaded once."""
        if self._config is None:
            from gateway import logs
            from gateway.config import load_config

            # a key read under its old spelling, other libraries' warnings (paramiko's on a
            # failed SSH negotiation...) go to standard error, one escaped line each; `run`
            # chooses its own format and level
            logs.configure("text", "warning")
            self._config = load_config(self.config_path, data_dir=self.data_dir)
        return self._config

    def gateway(self, *, migrated: bool = True) -> Gateway:
        """The wired gateway (`migrated`: refusing a store whose schema is not the newest)."""
        if self._gateway is None:
            from gateway.bootstrap import bootstrap

            self._gateway = bootstrap(self.config())
        if migrated:
            self._gateway.check_database()
        return self._gateway

    def close(self) -> None:
        if self._gateway is not None:
            self._gateway.close()


# -- errors and exit codes --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """How a command that failed ends: one line, the rule that refused it (if one did), and
    the exit code."""

    message: str
    rule: str | None
    exit_code: int

    def as_json(self) -> dict[str, Any]:
        """The `--json` form: `{"error", "rule", "exit"}`."""
        return {"error": self.message, "rule": self.rule, "exit": self.exit_code}


FAILURES = (click.ClickException, click.Abort, OSError)
"""What a command may end with besides the gateway's own errors (`GatewayError`)."""


def failure_of(exc: BaseException) -> Failure:
    """The line, rule and exit code for an error a command ended with: a usage mistake 2, a
    file rejected or an action refused 1, a misconfiguration 2, the store unavailable 75."""
    from gateway import render
    from gateway.errors import (
        GatewayFault,
        MappingError,
        NamedRefusal,
        Refused,
        RuleViolation,
        StoreUnavailable,
    )

    if isinstance(exc, click.ClickException):
        return Failure(exc.format_message(), None, EXIT_USAGE)
    if isinstance(exc, click.Abort):
        return Failure("aborted", None, EXIT_REJECTED)
    if isinstance(exc, StoreUnavailable):
        return Failure(
            f"{render.safe(str(exc))}; nothing was changed: try again", None, EXIT_TEMPFAIL
        )
    if isinstance(exc, GatewayFault):
        return Failure(render.safe(str(exc)), None, EXIT_USAGE)
    if isinstance(exc, Refused):  # its text may quote a partner's: shown, never obeyed
        named = (RuleViolation, MappingError, NamedRefusal)
        rule = getattr(exc, "rule", None) if isinstance(exc, named) else None
        return Failure(render.safe(str(exc)), rule, EXIT_REJECTED)
    if isinstance(exc, OSError):
        where = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        return Failure(render.safe(where), None, EXIT_USAGE)
    raise TypeError(f"not a failure the command line reports: {exc!r}")


def fail(exc: BaseException, *, as_json: bool) -> NoReturn:
    """End the process for `exc`: one JSON object on standard output with `as_json`, else one
    line on standard error (click's usage text and line for a usage mistake)."""
    failure = failure_of(exc)
    if as_json:
        click.echo(json.dumps(failure.as_json()))
    elif isinstance(exc, click.ClickException):
        exc.show()
    elif isinstance(exc, click.Abort):
        click.echo(failure.message, err=True)
    else:
        click.echo(f"error: {failure.message}", err=True)
    sys.exit(failure.exit_code)


def emit(value: Any) -> None:
    """A command's result as JSON on standard output."""
    click.echo(json.dumps(value, indent=2, default=str))


OLD_COMMAND_NAMES = {"fulfill": "fulfil"}
"""Commands once named another way, and the command each name runs now: hidden (neither the help
nor completion offers them), they run the command as it is, saying nothing more, so that
scripts written before go on working."""


class GatewayGroup(click.Group):
    """The root group: a command given `--json` that fails says so as one JSON object
    (`{"error", "rule", "exit"}`) on standard output, with the exit code it would have had
    without it; other failures go on to `gateway.cli.main`, which prints their line. A command's
    old name (`OLD_COMMAND_NAMES`) runs it too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = {}
        """Commands not imported yet: name -> "module:attribute" in `gateway.cli`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = OLD_COMMAND_NAMES.get(cmd_name, cmd_name)
        where = self.lazy_commands.get(name)
        if where is not None and name not in self.commands:
            module, attribute = where.split(":")
            command = getattr(importlib.import_module(f"gateway.cli.{module}"), attribute)
            if not isinstance(command, click.Command) or command.name != name:
                raise TypeError(f"gateway.cli.{where} is not the command {name!r}")
            self.add_command(command)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        from gateway.errors import GatewayError

        try:
            return super().invoke(ctx)
        except (*FAILURES, GatewayError) as exc:
            settings = ctx.find_object(Settings)
            if settings is None or not settings.json_requested:
                raise
            fail(exc, as_json=True)


def _json_requested(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        settings = ctx.find_object(Settings)
        if settings is not None:
            settings.json_requested = True
    return value


def json_option(help: str = "Print JSON for scripts.") -> Callable[[Any], Any]:
    """`--json` (as `as_json`): read before the command's other parameters, so that a mistake
    in them is told as JSON too."""
    return click.option(
        "--json", "as_json", is_flag=True, is_eager=True, callback=_json_requested, help=help
    )


LOG_FORMAT_OPTION = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per event on standard error, as text or JSON.",
)
LOG_LEVEL_OPTION = click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    envvar="GATEWAY_LOG_LEVEL",
    help="The gateway's events from this level (other libraries' from warning). Env:"
    " GATEWAY_LOG_LEVEL.",
)
PARTNER_OPTION = click.option("--partner", help="The partner, when several used this PO number.")


def role_and_partner(
    roles: Callable[[], Sequence[str]], role_help: str, partner_help: str
) -> Callable[[Any], Any]:
    """`--role` (one of `roles()`, required) and `--partner` (as `partner_key`) of a command
    adding a user or a token, who acts in a role, a partner's own for role partner."""

    def decorate(command: Any) -> Any:
        command = click.option("--partner", "partner_key", help=partner_help)(command)
        return click.option(
            "--role", required=True, cls=NamesOption, type=Names(roles), help=role_help
        )(command)

    return decorate


def described(role: str, partner: str | None) -> str:
    """A role as people read it: `partner of harborview`, `operator`."""
    return f"{role} of {partner}" if partner else role


def configured_partner(config: GatewayConfig, partner_key: str | None) -> None:
    """A `--partner` naming whom a user or token belongs to is a configured partner's key (a
    usage error naming them otherwise)."""
    if partner_key is not None and config.partner(partner_key) is None:
        known = sorted(profile.key for profile in config.partners)
        valid = f"one of: {', '.join(known)}" if known else "there are no partner profiles"
        raise click.BadParameter(f"no partner {partner_key!r}; {valid}", param_hint="--partner")


def check_partner(
    gateway: Gateway, partner: str, *, holds: Callable[[], bool] | None = None
) -> None:
    """A partner filter names one of the profiles, or a partner whose orders the store holds
    (a sender without a profile), or one `holds` says the store has something of; any other is
    a usage error naming the partners known."""
    from gateway.service.views import known_partners

    configured = {profile.key for profile in gateway.config.partners}
    if partner in configured:
        return
    known = configured | set(known_partners(gateway.uow_factory()))
    if partner in known or (holds is not None and holds()):
        return
    valid = (
        f"one of: {', '.join(sorted(known))}"
        if known
        else "there are no partner profiles and no orders"
    )
    raise click.BadParameter(f"no partner {partner!r}; {valid}", param_hint="--partner")


# -- parameter types --------------------------------------------------------------------------

_CCYYMMDD = re.compile(r"\d{8}", re.ASCII)
_ISO_DAY = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)


def parse_day(text: str) -> dt.date:
    """A day written CCYYMMDD (as X12 writes dates) or YYYY-MM-DD (ISO); ValueError otherwise."""
    written = text.strip()
    if _CCYYMMDD.fullmatch(written) or _ISO_DAY.fullmatch(written):
        try:
            return dt.date.fromisoformat(written)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date: give CCYYMMDD or YYYY-MM-DD")


class DateType(ParamType):
    """A day, CCYYMMDD or YYYY-MM-DD: a `datetime.date`."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.date):
            return value
        try:
            return parse_day(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _decimals(amount: Decimal) -> int:
    """How many decimals a finite amount needs (12.50 needs 1; 1E+309 none): trailing zeros
    aside, counted without rounding, so an absurd amount is left to the order rules to refuse."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    while exponent < 0 and len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return max(0, -exponent)


class AmountType(ParamType):
    """An amount of money: a `Decimal`, not below zero, in whole cents (`places` decimals)."""

    name = "amount"

    def __init__(self, places: int = 2):
        self.places = places

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Decimal):
            return value
        try:
            amount = Decimal(str(value).strip())
            valid = amount.is_finite() and amount >= 0 and _decimals(amount) <= self.places
        except ArithmeticError:  # InvalidOperation: not a number
            valid = False
        if not valid:
            self.fail(
                f"{value!r} is not an amount, like 12.50: a number not below 0 with at most"
                f" {self.places} decimals",
                param,
                ctx,
            )
        return amount


class LineQuantityType(ParamType):
    """`LINE:QTY`, a line and a quantity above zero (`parse_line_quantity`): a `LineQuantity`."""

    name = "line_quantity"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from gateway.service.actions import parse_line_quantity

        if not isinstance(value, str):
            return value
        try:
            return parse_line_quantity(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DECISION_WORDS = ("accept", "reject", "change", "backorder")
LINE_DECISION_GRAMMAR = (
    "LINE=STATUS[:QTY][@DATE] or LINE:STATUS[@DATE], STATUS one of accept, reject, change:QTY"
    " (or qty=QTY), backorder; DATE CCYYMMDD or YYYY-MM-DD"
)


def parse_line_decision(text: str) -> LineDecision:
    """The seller's answer for one line, as `ack` and `export` take it: `LINE=STATUS[:QTY]
    [@DATE]` (`3=change:2`, `4=backorder@20261204`) or `LINE:STATUS[@DATE]` (`2:reject`,
    `3:qty=2`, `3:change:2`, `4:backorder@2026-12-04`); STATUS accept, reject, change (with the
    new quantity) or backorder, in any case; DATE CCYYMMDD or YYYY-MM-DD. ValueError otherwise.
    """
    from gateway.mapping.outbound import LineDecision
    from gateway.service.actions import parse_answer

    equals, colon = text.find("="), text.find(":")
    if colon == -1 and equals == -1:
        raise ValueError(f"{text!r} is not {LINE_DECISION_GRAMMAR}")
    by_colon = colon != -1 and (equals == -1 or colon < equals)
    line, rest = text.split(":" if by_colon else "=", 1)
    word = re.split(r"[:=@]", rest, maxsplit=1)[0].strip().lower()
    if not line.strip() or word not in (*DECISION_WORDS, "qty" if by_colon else "change"):
        raise ValueError(f"{text!r} is not {LINE_DECISION_GRAMMAR}")
    try:
        written = parse_answer(text) if by_colon else text  # LINE:... as `ack` wrote it
        answer, at, when = written.partition("@")
        if at and _ISO_DAY.fullmatch(when.strip()):
            written = f"{answer}@{parse_day(when).strftime('%Y%m%d')}"
        return LineDecision.parse(written)
    except ValueError as exc:  # a quantity or a date that is not one
        reason = str(exc)
        raise ValueError(reason if repr(text) in reason else f"{text!r}: {reason}") from None


class LineDecisionType(ParamType):
    """One line's answer in the seller's decision (`parse_line_decision`): a `LineDecision`."""

    name = "line_decision"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parse_line_decision(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Names(ParamType):
    """One of the names `names` gives, read when a value is converted or the help drawn (they
    live in the domain or the services, which the command line imports only when a command
    runs); whatever the case and spacing given, the name as listed; an unknown one is a usage
    error naming the valid ones."""

    name = "name"

    def __init__(self, names: Callable[[], Sequence[str]]):
        self.names = names

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        names = list(self.names())
        given = " ".join(str(value).split()).casefold()
        for name in names:
            if name.casefold() == given:
                return name
        self.fail(f"{value!r} is not one of: {', '.join(names)}", param, ctx)


class NamesOption(click.Option):
    """An option whose help lists its `Names`: `{names}` in the help text stands for them."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None or not isinstance(self.type, Names):
            return record
        spec, text = record
        return spec, text.replace("{names}", ", ".join(self.type.names()))


class BoundedCount(click.IntRange):
    """A whole number from `low` to `high()`, the upper bound read when first needed."""

    def __init__(self, low: int, high: Callable[[], int]):
        super().__init__(low, None)
        self._high = high

    def _bound(self) -> None:
        if self.max is None:
            self.max = self._high()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        self._bound()
        return super().convert(value, param, ctx)

    def _describe_range(self) -> str:
        self._bound()
        return super()._describe_range()


DATE = DateType()
AMOUNT = AmountType()
LINE_QUANTITY = LineQuantityType()
LINE_DECISION = LineDecisionType()

"""The command line's parameter types (`gateway/cli/shared.py`): dates in either form, amounts
of money, `LINE:QTY`, and the one grammar of a line's answer that `ack` and `export` share; a
value they refuse is a usage error (exit 2) naming what is valid."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import click
import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.cli.shared import AMOUNT, DATE, LINE_DECISION, LINE_QUANTITY, parse_line_decision
from gateway.domain.values import LineQuantity
from gateway.mapping.outbound import LineDecision, LineStatus


def converted(kind: click.ParamType, text: str):
    return kind.convert(text, None, None)


def refused(kind: click.ParamType, text: str) -> str:
    with pytest.raises(click.BadParameter) as caught:
        kind.convert(text, None, None)
    return caught.value.format_message()


@pytest.mark.parametrize("text", ["20261204", "2026-12-04", " 2026-12-04 "])
def test_a_date_is_taken_as_ccyymmdd_or_iso(text: str):
    assert converted(DATE, text) == dt.date(2026, 12, 4)


@pytest.mark.parametrize(
    "text",
    [
        "2026-13-01",
        "20261301",
        "2026124",
        "04/12/2026",
        "",
        "\uff12\uff10\uff12\uff16\uff11\uff12\uff10\uff14",
    ],
)
def test_a_bad_date_names_both_forms(text: str):
    message = refused(DATE, text)
    assert "CCYYMMDD" in message and "YYYY-MM-DD" in message


@pytest.mark.parametrize(
    ("text", "amount"), [("12.50", "12.50"), ("0", "0"), ("7", "7"), ("1.500", "1.500")]
)
def test_an_amount_is_a_decimal_in_whole_cents(text: str, amount: str):
    assert converted(AMOUNT, text) == Decimal(amount)


@pytest.mark.parametrize("text", ["-1", "12.345", "NaN", "Infinity", "twelve", "1.0e-3"])
def test_a_negative_or_fractional_cent_amount_is_a_usage_error(text: str):
    assert "is not an amount, like 12.50" in refused(AMOUNT, text)


@pytest.mark.parametrize("text", ["1e999999999", "1E+309", "123456789012345678901234567890.10"])
def test_an_absurd_amount_in_whole_cents_is_left_to_the_rules_to_refuse(text: str):
    assert converted(AMOUNT, text) == Decimal(text)  # amount-within-limit refuses it (exit 1)


def test_a_line_quantity_is_parsed_by_the_desks_rule():
    assert converted(LINE_QUANTITY, "2:3") == LineQuantity("2", Decimal(3))
    assert "LINE:QUANTITY" in refused(LINE_QUANTITY, "2")
    assert "LINE:QUANTITY" in refused(LINE_QUANTITY, "2:0")


ACCEPTED = LineDecision("2", LineStatus.ACCEPTED)
REJECTED = LineDecision("2", LineStatus.REJECTED)
CHANGED = LineDecision("3", LineStatus.QUANTITY_CHANGED, Decimal(2))
BACKORDERED = LineDecision("4", LineStatus.BACKORDERED, ship_date=dt.date(2026, 12, 4))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # as `export` took them
        ("2=accept", ACCEPTED),
        ("2=reject", REJECTED),
        ("2=REJECT", REJECTED),
        ("3=change:2", CHANGED),
        ("4=backorder@20261204", BACKORDERED),
        # as `ack` took them
        ("2:accept", ACCEPTED),
        ("2:reject", REJECTED),
        ("3:qty=2", CHANGED),
        ("3:change:2", CHANGED),
        ("4:backorder@20261204", BACKORDERED),
        # either, with an ISO date
        ("4=backorder@2026-12-04", BACKORDERED),
        ("4:backorder@2026-12-04", BACKORDERED),
    ],
)
def test_ack_and_export_share_one_grammar_of_line_answers(text: str, expected: LineDecision):
    assert parse_line_decision(text) == expected
    assert converted(LINE_DECISION, text) == expected


@pytest.mark.parametrize(
    "text",
    ["2=maybe", "2", "=reject", ":reject", "3=qty=2", "3=change:x", "4:backorder@2026-13-01"],
)
def test_a_line_answer_outside_the_grammar_is_a_usage_error(text: str):
    message = refused(LINE_DECISION, text)
    assert text in message


@pytest.mark.parametrize(
    ("command", "line"),
    [
        (["ack", "PO-1", "--line"], "2=maybe"),
        (["export", "PO-1", "--set", "855", "--line"], "2:maybe"),
        (["ack", "PO-1", "--ship-date"], "2026-13-01"),
        (["refund", "PO-1", "--amount"], "1.005"),
        (["fulfil", "PO-1", "--carrier", "UPS", "--line"], "1"),
        (["report", "--since"], "yesterday"),
    ],
)
def test_a_value_the_types_refuse_is_exit_2_before_the_store_is_opened(tmp_path, command, line):
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "none"), *command, line])
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output and line in result.output
    assert not (tmp_path / "none").exists()


def every_command(group: click.Group, path: tuple[str, ...] = ()):
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


@pytest.mark.parametrize(("name", "command"), list(every_command(cli)), ids=str)
def test_every_command_takes_json(name: str, command: click.Command):
    (option,) = [p for p in command.params if "--json" in getattr(p, "opts", ())]
    assert option.is_eager, f"{name}: --json is read first, so that its usage errors are JSON"

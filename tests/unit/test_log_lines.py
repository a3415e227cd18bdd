"""A text log line stays one line whatever a partner puts in a file name or a reason: no line
break to forge a line, no escape sequence for the terminal, no `=` or quote to forge a field."""

from __future__ import annotations

import json

import pytest

from gateway.cli import event_logger, log_value


def test_plain_values_are_written_as_they_are():
    assert log_value("850_004010_good.x12") == "850_004010_good.x12"
    assert log_value(3) == "3"


@pytest.mark.parametrize(
    "hostile",
    [
        "a.x12\n2026-12-07T00:00:00+00:00 file applied partner=forged",
        "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
        "\x9b31mred",  # a C1 control: CSI on some terminals
        'name" sha256="forged',
        "two words=x",
        "caf\u00e9\u202e.x12",  # non-ASCII, a right-to-left override among it
    ],
)
def test_partner_text_is_quoted_and_escaped(hostile: str, capsys: pytest.CaptureFixture[str]):
    event_logger("text")("file quarantined", partner="harborview", file=hostile)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("\n")
    line = out.rstrip("\n")
    assert line.isascii() and line.isprintable()
    written = line.split(" file=", 1)[1]
    assert json.loads(written) == hostile  # nothing lost: the escaped text reads back whole

"""Logging through the standard library (`gateway.logs`): one line per record on standard error,
as text or JSON; a text line stays one line whatever a partner puts in a file name or a reason
(no line break to forge a line, no escape sequence for the terminal, no `=` or quote to forge a
field); other libraries' records are routed, from WARNING."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gateway import logs
from gateway.logs import emitter, event, log_value


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    written = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield written
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("gateway").setLevel(logging.NOTSET)


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
def test_partner_text_is_quoted_and_escaped(hostile: str, stream: io.StringIO):
    logs.configure("text", "info", stream)
    emitter("gateway.runner")("file quarantined", partner="harborview", file=hostile)
    out = stream.getvalue()
    assert out.count("\n") == 1 and out.endswith("\n")
    line = out.rstrip("\n")
    assert line.isascii() and line.isprintable()
    assert " file quarantined partner=harborview file=" in line
    written = line.split(" file=", 1)[1]
    assert json.loads(written) == hostile  # nothing lost: the escaped text reads back whole
    logs.configure("json", "info", stream)
    emitter("gateway.ingest")("file quarantined", file=hostile)
    last = stream.getvalue().splitlines()[-1]
    assert last.isascii() and last.isprintable()
    record = json.loads(last)
    assert (record["event"], record["file"], record["logger"]) == (
        "file quarantined", hostile, "gateway.ingest",
    )  # fmt: skip


def test_levels_and_other_libraries_are_routed_not_silenced(stream: io.StringIO):
    logs.configure("text", "warning", stream)
    event(logging.getLogger("gateway.export"), "document queued", partner="x")  # INFO: below
    event(logging.getLogger("gateway.mail"), "email refused", logging.WARNING, to="a@b")
    logging.getLogger("paramiko.transport").info("Connected (version 2.0)")  # below WARNING
    logging.getLogger("paramiko.transport").error("Socket exception: reset\nsecond line")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith(" warning email refused to=a@b")
    assert ' error paramiko.transport: "Socket exception: reset\\nsecond line"' in lines[1]
    logs.configure("json", "debug", stream)
    event(logging.getLogger("gateway.ingest"), "set applied", logging.DEBUG, set="850")
    assert json.loads(stream.getvalue().splitlines()[-1])["level"] == "debug"


def test_a_format_or_level_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="xml"):
        logs.configure("xml")
    with pytest.raises(ValueError, match="loud"):
        logs.configure("text", "loud")


def test_a_traceback_logged_a_line_at_a_time_keeps_only_its_telling_lines(stream: io.StringIO):
    logs.configure("text", "info", stream)
    transport = logging.getLogger("paramiko.transport")
    for line in [
        "Exception (client): Incompatible ssh peer (no acceptable host key)",
        "Traceback (most recent call last):",
        '  File "/venv/paramiko/transport.py", line 2094, in run',
        "    self._handler_table[ptype](m)",
        "paramiko.ssh_exception.IncompatiblePeer: Incompatible ssh peer (no acceptable host key)",
        "",
    ]:
        transport.error(line)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "Traceback" not in stream.getvalue()
    assert "Exception (client)" in lines[0] and "IncompatiblePeer" in lines[1]

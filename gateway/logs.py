"""Logging through the standard library: one logger per layer, one line per event on standard
error, as text or JSON lines.

Loggers: `gateway.runner` (the passes, mailboxes, alerts), `gateway.ingest` (files and their
sets), `gateway.export` (documents built and queued), `gateway.delivery` (documents delivered),
`gateway.mail` (emails queued, sent, refused), `gateway.webhooks` (webhook events delivered or
retried), `gateway.config` (a configuration key read under
its old spelling: a warning, a whole sentence, as it may come before any handler is installed).
An event is a short fixed phrase (`file applied`, `document queued`) with named fields
(`event(logger, "file applied", partner=..., file=...)`), so that a line can be searched for and
its fields read by a machine.

`configure` installs one handler on the root logger: the gateway's loggers at the level asked for
(INFO by default), other libraries' (paramiko, SQLAlchemy, watchdog) routed through the same
handler at WARNING, never silenced. Every field and message is written safely: in text, a value
that is not plain printable ASCII without spaces, quotes or `=` is quoted with every control,
non-ASCII and quote character escaped, so that a file name or a reason from a partner can
neither split the line, nor forge a field or a line, nor reach a terminal as an escape sequence;
in JSON, `ensure_ascii` does the same.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Callable
from typing import IO, Any

GATEWAY = "gateway"
FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
OTHERS_LEVEL = logging.WARNING  # other libraries' records below this stay out

Log = Callable[..., None]
"""`log(event, **fields)`: one event, as `event` gives it."""


def event(logger: logging.Logger, what: str, level: int = logging.INFO, **fields: object) -> None:
    """Log one event with its fields (empty ones left out)."""
    if logger.isEnabledFor(level):
        shown = {k: v for k, v in fields.items() if v not in ("", None)}
        logger.log(level, what, extra={"fields": shown})


def emitter(name: str, level: int = logging.INFO) -> Log:
    """A `log(event, **fields)` callable writing to the logger `name`."""
    logger = logging.getLogger(name)

    def log(what: str, **fields: object) -> None:
        event(logger, what, level, **fields)

    return log


def log_value(value: object) -> str:
    """A field's value in a text log line: as it is when it is plain printable text without
    spaces, quotes or `=`; else quoted with every control, non-ASCII and quote character
    escaped (see the module docstring)."""
    text = str(value)
    if text and text.isascii() and text.isprintable() and not any(c in text for c in ' "=\\'):
        return text
    return json.dumps(text)


def _stamp(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="seconds")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    found = getattr(record, "fields", None)
    return dict(found) if isinstance(found, dict) else {}


class TextFormatter(logging.Formatter):
    """`AT EVENT key=value ...` for the gateway's events at INFO; the level and the logger's
    name before anything else (`AT warning paramiko.transport: "message"`)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        ours = record.name == GATEWAY or record.name.startswith(GATEWAY + ".")
        message = record.getMessage()
        level = record.levelname.lower()
        if ours:
            head = message if record.levelno == logging.INFO else f"{level} {message}"
        else:
            head = f"{level} {record.name}: {log_value(message)}"
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        details = " ".join(f"{k}={log_value(v)}" for k, v in fields.items())
        return f"{_stamp(record)} {head}" + (f" {details}" if details else "")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: `at`, `level`, `logger`, `event` and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": _stamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in _fields(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=True)


TRACEBACK_LINES = ("Traceback (most recent call last)", "  File ", "    ")
"""How the lines of a traceback start: paramiko logs one, a record per line, after the one-line
`Exception (client): ...` record that says it all (the gateway reports the failure too)."""


class _Routed(logging.Filter):
    """Lets the gateway's records through at their logger's level, others from WARNING, but for
    the lines of a traceback that a library logs one record at a time (paramiko)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name == GATEWAY or record.name.startswith(GATEWAY + ".")
        if ours:
            return True
        if record.levelno < OTHERS_LEVEL:
            return False
        message = record.getMessage()
        return bool(message.strip()) and not message.startswith(TRACEBACK_LINES)


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes (a test or an embedding program
    may have swapped it since the handler was made)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def configure(
    log_format: str = "text", level: str = "info", stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log record to `stream` (standard error by default) in `log_format`; the
    gateway's loggers from `level`, other libraries' from WARNING. Replaces a handler installed
    before by this function; returns the handler."""
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(FORMATS)}")
    if level not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StandardError()
    )
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_Routed())
    handler.set_name("gateway")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "gateway"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level == "debug" else min(OTHERS_LEVEL, _level(level)))
    logging.getLogger(GATEWAY).setLevel(_level(level))
    logging.captureWarnings(True)  # Python's warnings, routed like the rest
    return handler


def _level(name: str) -> int:
    return int(logging.getLevelName(name.upper()))

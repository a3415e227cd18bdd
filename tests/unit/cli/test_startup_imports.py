"""`gateway --help`, `gateway check`, `gateway ack-file` and `gateway users --help` start without
the store, the services, argon2, the mail templates, SSH, the folder watcher, rich, or the cXML
and CSV codecs (lxml; `check` imports them only for a file read as cXML or CSV): the command
line imports those inside the commands that use them (see `gateway/cli/shared.py`), so the
commands that need none of them start about as fast as Python (`benchmarks/bench_startup.py`)."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

import gateway.cli
from gateway.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "samples" / "850" / "850_004010_good.x12"
HEAVY = (
    "sqlalchemy", "alembic", "jinja2", "paramiko", "watchdog", "psycopg", "rich", "argon2",
    "fastapi", "starlette", "uvicorn", "prometheus_client", "lxml",
)  # fmt: skip
OURS = (
    "gateway.adapters", "gateway.service", "gateway.bootstrap", "gateway.cxml", "gateway.csvformat",
)  # fmt: skip

PROBE = """
import json, sys
from gateway.cli import main
sys.argv = ["gateway", *sys.argv[2:]]
try:
    main()
except SystemExit as stop:
    code = stop.code
else:
    code = 0
with open(OUT, "w") as out:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, out)
"""


def loaded_by(tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    """The exit code of `gateway ARGS` run in a fresh interpreter, and the modules it had
    imported when it ended."""
    out = tmp_path / "modules.json"
    code = PROBE.replace("OUT", repr(str(out)))
    result = subprocess.run(
        [sys.executable, "-c", code, "--", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.exists(), result.stderr
    found = json.loads(out.read_text())
    return found["exit"], found["modules"]


def heavy(modules: list[str]) -> list[str]:
    return [
        name
        for name in modules
        if name.split(".")[0] in HEAVY or any(name == o or name.startswith(f"{o}.") for o in OURS)
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("check", str(SAMPLE)),
        ("check", "--json", str(SAMPLE)),
        ("ack-file", "--date", "20261121", "--time", "1200", str(SAMPLE)),
        ("ack-file", "--json", str(SAMPLE)),
        ("users", "--help"),
    ],
    ids=["help", "check", "check-json", "ack-file", "ack-file-json", "users-help"],
)
def test_commands_without_the_store_start_without_its_modules(tmp_path: Path, args):
    code, modules = loaded_by(tmp_path, *args)
    assert code == 0
    assert heavy(modules) == []
    ours = {name for name in modules if name.startswith("gateway.cli.")}
    if args[0] == "--help":  # the help imports every command's module for its short help
        assert {"gateway.cli.codec", "gateway.cli.users", "gateway.cli.serve"} <= ours
    else:  # a command imports its own module and no other
        module = "gateway.cli.users" if args[0] == "users" else "gateway.cli.codec"
        assert ours == {module, "gateway.cli.shared"}


def test_a_command_with_the_store_does_load_them(tmp_path: Path):
    """The probe sees what a store command imports (so an empty list above means something)."""
    code, modules = loaded_by(tmp_path, "--data-dir", str(tmp_path / "data"), "db", "status")
    assert code == 1  # a new store, not migrated yet
    assert "sqlalchemy" in modules and "gateway.bootstrap" in modules


def test_check_loads_the_cxml_codec_for_a_cxml_file_only(tmp_path: Path):
    """The probe sees lxml when `check` reads cXML (so its absence above means something)."""
    code, modules = loaded_by(tmp_path, "check", str(ROOT / "samples/cxml/order_request_new.xml"))
    assert code == 0
    assert "lxml.etree" in modules and "gateway.cxml.reader" in modules
    assert not any(name.startswith("gateway.csvformat") for name in modules)


def test_help_still_lists_every_command_with_its_short_help():
    result = subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split("Commands:\n", 1)[1]
    context = click.Context(cli)
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        assert command is not None
        line = next(line for line in listed.splitlines() if line.split()[0] == name)
        first_words = " ".join(command.get_short_help_str(limit=200).split()[:4])
        assert first_words and first_words in line, (name, line)


def test_every_command_defined_is_listed_where_the_group_finds_it():
    """A command written in a module of `gateway.cli` but missing from `COMMANDS` would never
    be offered: every top-level command (one no group of the package holds) is in the table,
    under its own name, and the table names nothing else."""
    defined: dict[str, click.Command] = {}
    held: set[int] = set()
    for module_info in pkgutil.iter_modules(gateway.cli.__path__):
        module = importlib.import_module(f"gateway.cli.{module_info.name}")
        for attribute, value in vars(module).items():
            if isinstance(value, click.Command) and value is not cli:
                defined[f"{module_info.name}:{attribute}"] = value
                if isinstance(value, click.Group):
                    held.update(id(c) for c in value.commands.values())
    top_level = {where: c for where, c in defined.items() if id(c) not in held}
    assert sorted(top_level) == sorted(COMMANDS.values())
    for name, where in COMMANDS.items():
        assert top_level[where].name == name

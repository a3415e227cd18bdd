"""`gateway --help`, `gateway check`, `gateway ack-file` and `gateway users --help` start without
the store, the services, argon2, the mail templates, SSH, the folder watcher or rich: the command
line imports those inside the commands that use them (see `gateway/cli/shared.py`), so the
commands that need none of them start about as fast as Python (`benchmarks/bench_startup.py`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import cli

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "samples" / "850" / "850_004010_good.x12"
HEAVY = ("sqlalchemy", "alembic", "jinja2", "paramiko", "watchdog", "psycopg", "rich", "argon2")
OURS = ("gateway.adapters", "gateway.service", "gateway.bootstrap")

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
    assert "gateway.cli.codec" in modules and "gateway.cli.users" in modules  # the probe ran


def test_a_command_with_the_store_does_load_them(tmp_path: Path):
    """The probe sees what a store command imports (so an empty list above means something)."""
    code, modules = loaded_by(tmp_path, "--data-dir", str(tmp_path / "data"), "db", "status")
    assert code == 1  # a new store, not migrated yet
    assert "sqlalchemy" in modules and "gateway.bootstrap" in modules


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
    for name, command in cli.commands.items():
        line = next(line for line in listed.splitlines() if line.split()[0] == name)
        first_words = " ".join(command.get_short_help_str(limit=200).split()[:4])
        assert first_words and first_words in line, (name, line)

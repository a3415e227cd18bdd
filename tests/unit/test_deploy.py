"""The deployment files in deploy/ cannot go stale against the CLI: every command line they run
(the container's ENTRYPOINT + CMD, every Exec*= of the systemd units) is parsed by click itself,
down to the command that would run, with its options, so that a command or an option renamed in
the CLI fails here rather than in production. Nothing is invoked: contexts are made, never run.

They are also checked for what would be unsafe and nothing here would show otherwise (Docker is
not run by the tests): the container runs as a non-root user with its data folder a volume, the
units as a non-root user without new privileges, and no password or key is written in any of them.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from gateway.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"  # BuildKit's ignore file for this Dockerfile
DAEMON_UNIT = DEPLOY / "gateway.service"
ONCE_UNIT = DEPLOY / "gateway-once.service"
ONCE_TIMER = DEPLOY / "gateway-once.timer"
UNITS = (DAEMON_UNIT, ONCE_UNIT)

CONFIG = Path("/etc/gateway/gateway.toml")
DATA_DIR = "/var/lib/gateway"
EX_USAGE, EX_TEMPFAIL = 2, 75  # a bad configuration; the database could not be used (README)

SECRET_NAME = re.compile(r"PASSW(OR)?D|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.I)
SECRET_VALUES = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I),  # user:password@host
    re.compile(r"(passw(or)?d|secret|token|api_?key)\w*\s*[=:]\s*[^\s\\`]+", re.I),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # an AWS access key id
]


def console_script() -> str:
    """The name of the console script that runs `gateway.cli`, from pyproject.toml."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    (name,) = [name for name, target in scripts.items() if re.match(r"gateway\.cli[.:]", target)]
    return str(name)


# -- click: a command line down to its command, without running it ----------------------------


def _left_for_subcommand(ctx: click.Context) -> list[str]:
    """What a group's parsing left for its subcommand: the subcommand's name, then its
    arguments. click keeps the name apart, in `_protected_args` since 8.2 (where the public
    `protected_args` is deprecated) and in `protected_args` before."""
    name = ctx._protected_args if hasattr(ctx, "_protected_args") else ctx.protected_args
    return [*name, *ctx.args]


def parse_command_line(args: list[str]) -> click.Context:
    """The context click makes of `gateway ARGS` for the command that would run. Each group's
    options and then the command's are parsed and converted as on a real start (an unknown
    command or option, a missing value, a value outside a choice: a click.UsageError), but no
    callback is invoked: contexts are made, never run."""
    ctx = cli.make_context(console_script(), list(args), resilient_parsing=False)
    while isinstance(ctx.command, click.Group):
        rest = _left_for_subcommand(ctx)
        if not rest:
            raise click.UsageError(f"{ctx.command_path}: no command given", ctx)
        name, command, rest = ctx.command.resolve_command(ctx, rest)
        assert command is not None and name is not None
        ctx = command.make_context(name, rest, parent=ctx, resilient_parsing=False)
    return ctx


def root_of(ctx: click.Context) -> click.Context:
    return ctx.find_root()


def option(ctx: click.Context, flag: str) -> object:
    """The value `flag` was given (or defaults to) in `ctx`: looked up by the option as the
    command line spells it, not by the Python name of its parameter."""
    (param,) = [p for p in ctx.command.params if flag in p.opts]
    assert param.name is not None
    return ctx.params[param.name]


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the command lines count: not the environment's GATEWAY_CONFIG/GATEWAY_DATA_DIR."""
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    monkeypatch.delenv("GATEWAY_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        ["--config", "gateway.toml", "run", "--log-fmt", "json"],  # an option renamed
        ["--config", "gateway.toml", "run", "--log-format", "xml"],  # a value not in the choice
        ["--config", "gateway.toml", "start"],  # a command renamed
        ["--configuration", "gateway.toml", "run"],  # a global option renamed
        ["--config", "gateway.toml", "db", "migrate"],  # a subcommand renamed
        ["--config", "gateway.toml", "db"],  # a group without its command
        ["run", "--config", "gateway.toml"],  # a global option after the command
    ],
)
def test_the_parser_refuses_what_the_cli_would_refuse(args: list[str]):
    with pytest.raises(click.UsageError):
        parse_command_line(args)


def test_parsing_runs_nothing(tmp_path: Path):
    ctx = parse_command_line(["--config", str(tmp_path / "gateway.toml"), "db", "upgrade"])
    assert ctx.command_path == "gateway db upgrade"
    assert root_of(ctx).obj is None  # the group's callback (which sets up the gateway) never ran
    assert list(tmp_path.iterdir()) == []  # no store, no data folder


# -- the Dockerfile ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str


def dockerfile_instructions(text: str) -> list[Instruction]:
    """The instructions, continuation lines joined, comments and parser directives left out."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and pending):  # also inside a continuation
            continue
        if not line:
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, value = (pending + line).partition(" ")
        pending = ""
        instructions.append(Instruction(keyword.upper(), value.strip()))
    assert not pending, "the Dockerfile ends inside a continuation line"
    return instructions


def stages() -> list[list[Instruction]]:
    """The build stages, each from its FROM on."""
    found: list[list[Instruction]] = []
    for instruction in dockerfile_instructions(DOCKERFILE.read_text("utf-8")):
        if instruction.keyword == "FROM":
            found.append([instruction])
        elif found:
            found[-1].append(instruction)
    return found


def runtime_stage() -> list[Instruction]:
    return stages()[-1]


def last(stage: list[Instruction], keyword: str) -> Instruction | None:
    matching = [i for i in stage if i.keyword == keyword]
    return matching[-1] if matching else None


def exec_form(instruction: Instruction | None) -> list[str]:
    """An ENTRYPOINT or CMD's argv. The exec form (a JSON array) only: in the shell form the
    gateway runs under `/bin/sh -c`, which does not pass `docker stop`'s SIGTERM on."""
    assert instruction is not None
    try:
        argv = json.loads(instruction.value)
    except json.JSONDecodeError:
        argv = None
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), (
        f"not in the exec form (a JSON array of strings): {instruction}"
    )
    return argv


def test_both_stages_are_python_3_11_slim_and_the_build_stage_makes_the_wheel():
    build, runtime = stages()
    assert [s[0].value.split()[0] for s in (build, runtime)] == ["python:3.11-slim"] * 2
    assert any("pip wheel --no-deps" in i.value for i in build if i.keyword == "RUN")
    installs = [i.value for i in runtime if i.keyword == "RUN" and "pip install" in i.value]
    assert installs and all("[postgresql]" in v for v in installs), "the PostgreSQL driver"


def test_the_container_runs_the_daemon_with_json_logs():
    runtime = runtime_stage()
    argv = exec_form(last(runtime, "ENTRYPOINT")) + exec_form(last(runtime, "CMD"))
    assert argv[0] == console_script()
    ctx = parse_command_line(argv[1:])
    assert ctx.command_path == "gateway run"
    assert option(ctx, "--once") is False
    assert option(ctx, "--log-format") == "json"
    assert option(root_of(ctx), "--config") == CONFIG


def test_the_entrypoint_alone_takes_any_command():
    """`docker run IMAGE db upgrade` replaces CMD: the entrypoint must end with global options."""
    entrypoint = exec_form(last(runtime_stage(), "ENTRYPOINT"))
    ctx = parse_command_line([*entrypoint[1:], "db", "upgrade"])
    assert ctx.command_path == "gateway db upgrade"


def test_the_container_runs_as_the_unprivileged_user_it_creates():
    runtime = runtime_stage()
    user = last(runtime, "USER")
    assert user is not None, "no USER: the container would run as root"
    name, _, group = user.value.partition(":")
    assert name not in {"root", "0", ""} and group not in {"root", "0"}, user
    created = " ".join(i.value for i in runtime if i.keyword == "RUN" and "useradd" in i.value)
    assert created, "the runtime stage creates no user"
    if name.isdigit():
        assert re.search(rf"--uid\s+{name}\b", created), f"no user is created with uid {name}"
    else:
        assert re.search(rf"useradd\b.*\s{re.escape(name)}(\s|$)", created), name
    assert "nologin" in created, "the user has a login shell"
    assert not re.search(r"(^|\s)(-p|--password)\s", created), "the user has a password"


def test_the_data_folder_is_the_working_directory_and_a_volume():
    runtime = runtime_stage()
    workdir = last(runtime, "WORKDIR")
    assert workdir is not None and workdir.value == DATA_DIR
    volumes: list[str] = []
    for instruction in runtime:
        if instruction.keyword == "VOLUME":
            value = instruction.value
            volumes += json.loads(value) if value.startswith("[") else value.split()
    assert DATA_DIR in volumes, f"the data folder is not a VOLUME: {volumes}"


def test_the_build_context_is_only_what_the_wheel_is_built_from():
    """The context is the repository root: the ignore file leaves out all but what the build
    copies (no configuration, data folder or key file reaches the builder), and the build copies
    all the wheel needs, the readme pyproject.toml names included."""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text("utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert patterns[0] == "*", "the ignore file must leave everything out first"
    kept = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    copied: set[str] = set()
    for stage in stages():
        for instruction in stage:
            if instruction.keyword in {"COPY", "ADD"} and "--from=" not in instruction.value:
                sources = [a for a in shlex.split(instruction.value) if not a.startswith("--")]
                copied.update(s.removeprefix("./").rstrip("/") for s in sources[:-1])
    for source in copied:
        assert any(fnmatch.fnmatch(source, p) for p in kept), f"{source} is not in the context"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    needed = {"pyproject.toml", project["readme"], "gateway"}
    assert needed <= copied, f"the build does not copy {sorted(needed - copied)}"


def test_the_dockerfile_holds_no_secret():
    text = DOCKERFILE.read_text("utf-8")
    for pattern in SECRET_VALUES:
        assert not pattern.search(text), f"secret-looking text: {pattern.search(text)}"
    for stage in stages():
        for instruction in stage:
            if instruction.keyword == "ARG":  # build arguments stay in the image's history
                assert not SECRET_NAME.search(instruction.value), instruction
            if instruction.keyword == "ENV":
                for pair in shlex.split(instruction.value):
                    key, _, value = pair.partition("=")
                    assert not (SECRET_NAME.search(key) and value), instruction


# -- the systemd units -------------------------------------------------------------------------

EXEC_PREFIXES = "-@:+!"  # systemd's `-` (failure ignored), `@`, `:`, `+`, `!`, `!!`


def unit_settings(path: Path) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> values in order (systemd allows a key several times)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    pending = ""
    for raw in path.read_text("utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, equals, value = line.partition("=")
        assert equals and current is not None, f"{path.name}: not a setting: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def setting(path: Path, section: str, key: str) -> str | None:
    values = unit_settings(path).get(section, {}).get(key)
    return values[-1] if values else None


def command_lines(path: Path) -> dict[str, list[list[str]]]:
    """Every Exec*= of the [Service] section as argv, prefixes dropped; an empty assignment
    resets the list, as systemd does."""
    found: dict[str, list[list[str]]] = {}
    for key, values in unit_settings(path).get("Service", {}).items():
        if not key.startswith("Exec"):
            continue
        found[key] = []
        for value in values:
            if value:
                found[key].append(shlex.split(value.lstrip(EXEC_PREFIXES)))
            else:
                found[key] = []
    return found


def gateway_command(argv: list[str]) -> click.Context:
    """The parsed command of a unit's command line: the console script, by its absolute path
    (systemd does not search the virtual environment), with the shared configuration."""
    executable = Path(argv[0])
    assert executable.is_absolute() and executable.name == console_script(), argv
    ctx = parse_command_line(argv[1:])
    assert option(root_of(ctx), "--config") == CONFIG, argv
    return ctx


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_every_command_line_of_the_units_is_one_the_cli_takes(unit: Path):
    lines = command_lines(unit)
    assert lines.get("ExecStart"), f"{unit.name}: no ExecStart"
    for argvs in lines.values():
        for argv in argvs:
            gateway_command(argv)


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_the_units_migrate_the_database_first(unit: Path):
    (upgrade,) = command_lines(unit)["ExecStartPre"]
    assert gateway_command(upgrade).command_path == "gateway db upgrade"


def test_the_daemon_unit_runs_the_gateway_until_stopped():
    (argv,) = command_lines(DAEMON_UNIT)["ExecStart"]
    ctx = gateway_command(argv)
    assert ctx.command_path == "gateway run"
    assert option(ctx, "--once") is False and option(ctx, "--log-format") == "json"
    assert setting(DAEMON_UNIT, "Service", "Type") == "simple"
    assert setting(DAEMON_UNIT, "Service", "Restart") == "on-failure"
    assert setting(DAEMON_UNIT, "Service", "KillSignal") == "SIGTERM"  # it stops on SIGTERM
    assert setting(DAEMON_UNIT, "Service", "TimeoutStopSec")
    prevented = (setting(DAEMON_UNIT, "Service", "RestartPreventExitStatus") or "").split()
    assert str(EX_TEMPFAIL) not in prevented, "a database down at the start is retried"
    assert setting(DAEMON_UNIT, "Install", "WantedBy") == "multi-user.target"


def test_the_oneshot_unit_runs_one_pass_and_reports_the_database_down_as_a_failure():
    (argv,) = command_lines(ONCE_UNIT)["ExecStart"]
    ctx = gateway_command(argv)
    assert ctx.command_path == "gateway run" and option(ctx, "--once") is True
    assert setting(ONCE_UNIT, "Service", "Type") == "oneshot"
    success = set((setting(ONCE_UNIT, "Service", "SuccessExitStatus") or "").split())
    assert success.isdisjoint({str(EX_USAGE), str(EX_TEMPFAIL)})


def test_the_timer_starts_the_oneshot_unit():
    timer = unit_settings(ONCE_TIMER)
    started = timer["Timer"].get("Unit", [ONCE_TIMER.with_suffix(".service").name])[-1]
    assert (DEPLOY / started) == ONCE_UNIT
    assert timer["Timer"].get("OnCalendar") or timer["Timer"].get("OnUnitActiveSec")
    assert timer["Install"]["WantedBy"] == ["timers.target"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_the_units_run_unprivileged_and_write_only_the_data_folder(unit: Path):
    for key in ("User", "Group"):
        value = setting(unit, "Service", key)
        assert value and value not in {"root", "0"}, f"{unit.name}: {key}={value}"
    no_new_privileges = setting(unit, "Service", "NoNewPrivileges")
    assert no_new_privileges in {"yes", "true", "on", "1"}, f"{unit.name}: NoNewPrivileges"
    assert setting(unit, "Service", "ProtectSystem") == "strict", f"{unit.name}: ProtectSystem"
    writable = " ".join(unit_settings(unit)["Service"].get("ReadWritePaths", [])).split()
    state = " ".join(unit_settings(unit)["Service"].get("StateDirectory", [])).split()
    assert DATA_DIR in writable or DATA_DIR.removeprefix("/var/lib/") in state


@pytest.mark.parametrize("unit", [*UNITS, ONCE_TIMER], ids=lambda p: p.name)
def test_the_units_hold_no_secret(unit: Path):
    text = unit.read_text("utf-8")
    for pattern in SECRET_VALUES:
        assert not pattern.search(text), f"{unit.name}: secret-looking text: {pattern.search(text)}"
    for assignment in unit_settings(unit).get("Service", {}).get("Environment", []):
        for pair in shlex.split(assignment):
            key, _, value = pair.partition("=")
            assert not (SECRET_NAME.search(key) and value), f"{unit.name}: {pair}"
    if unit in UNITS:  # the secrets come from a root-only file, if at all
        assert setting(unit, "Service", "EnvironmentFile")

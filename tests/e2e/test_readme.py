"""The README cannot go stale: every command of its `console` blocks is run, in order, by one
bash session from a copy of `config/` and `samples/`, and must succeed; every command of its
synopsis exists."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from gateway.cli import cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)


def readme_commands() -> list[str]:
    blocks = CONSOLE.findall(README.read_text(encoding="utf-8"))
    return [
        line.removeprefix("$ ")
        for block in blocks
        for line in block.splitlines()
        if line.startswith("$ ")
    ]


def test_the_readme_tour_runs_as_written(tmp_path: Path):
    commands = readme_commands()
    assert len(commands) >= 15 and commands[0].startswith("export GATEWAY_CONFIG")
    site = tmp_path / "site"
    shutil.copytree(ROOT / "config", site / "config")
    shutil.copytree(ROOT / "samples", site / "samples")
    for key in (p.stem for p in (ROOT / "config" / "partners").glob("*.toml")):
        for side in ("in", "out"):
            (site / "data" / "mailboxes" / key / side).mkdir(parents=True)
    bin_folder = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{bin_folder}:{os.environ['PATH']}"}
    for name in ("GATEWAY_CONFIG", "GATEWAY_DATA_DIR", "GATEWAY_CRASH_AT"):
        env.pop(name, None)
    script = "set -euo pipefail\n" + "\n".join(
        f"echo '>>> {command.replace(chr(39), '')}'\n{command}" for command in commands
    )
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert out.count(">>> ") == len(commands)  # every one of them ran
    assert "refused, as it should be" in out
    assert "HV4500871250 (harborview): cancelled" in out
    assert "(pinecrest): test order placed" in out and " test " in out


def test_every_command_of_the_synopsis_exists():
    text = README.read_text(encoding="utf-8")
    synopsis = text[text.index("## Commands") :]
    synopsis = synopsis[synopsis.index("```\n") + 4 :]
    synopsis = synopsis[: synopsis.index("\n```")]
    names = set()
    for line in synopsis.splitlines():
        words = [w for w in re.sub(r"\[--config gateway.toml\] |\[--data-dir DIR\] ", "",
                                   line).split() if w]  # fmt: skip
        if words and words[0] == "gateway":
            names.add(words[1])
    assert {"check", "ack-file", "ingest", "run", "fulfil", "cancel", "ack", "report"} <= names
    runner = CliRunner()
    for name in sorted(names):
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)

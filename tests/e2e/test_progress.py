"""`gateway ingest` shows a progress bar on a terminal (a real pseudo-terminal, through pexpect)
and nothing of it in a pipe, where its output is plain lines for scripts and cron."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect

from benchmarks.generate import write

ROOT = Path(__file__).resolve().parents[2]
BAR = "━"  # rich's bar


def command(data: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", "from gateway.cli import main; main()", "--data-dir",
            str(data), *args]  # fmt: skip


def big_file(folder: Path) -> Path:
    return write(folder / "po-400x20.x12", 400, 20)


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", "TERM": "xterm-256color"}
    for name in ("GATEWAY_CRASH_AT", "NO_COLOR", "CI", "GITHUB_ACTIONS", "TERM_PROGRAM"):
        env.pop(name, None)
    return env


def test_a_progress_bar_on_a_terminal(tmp_path: Path):
    data = tmp_path / "data"
    subprocess.run(command(data, "db", "upgrade"), env=environment(), check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    session = pexpect.spawn(
        command(data, "ingest", str(big_file(tmp_path)))[0],
        command(data, "ingest", str(big_file(tmp_path)))[1:],
        env=environment(),
        dimensions=(40, 120),
        timeout=300,
        encoding="utf-8",
    )
    session.expect(BAR)  # drawn while the file's sets are applied
    session.expect(pexpect.EOF)
    seen = session.before or ""
    session.close()
    assert session.exitstatus == 0, seen
    assert "po-400x20.x12: accepted" in seen


def test_no_progress_bar_in_a_pipe(tmp_path: Path):
    data = tmp_path / "data"
    env = environment()
    subprocess.run(command(data, "db", "upgrade"), env=env, check=True, capture_output=True,
                   timeout=120)  # fmt: skip
    result = subprocess.run(command(data, "ingest", str(big_file(tmp_path))), env=env,
                            capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert BAR not in result.stdout + result.stderr and "\x1b[" not in result.stdout + result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines()[0].endswith("po-400x20.x12: accepted")

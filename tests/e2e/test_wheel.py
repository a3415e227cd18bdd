"""The package installs anywhere (issue 15): a wheel built from the repository, installed in a
fresh virtual environment with its declared dependencies only (no extras: SQLite needs no
PostgreSQL driver), runs the main job from a folder holding a copy of `config/` and `samples/`,
far from the source tree: its mappings, schemas, mail templates and migrations come from the
installed package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


def run(*args: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "PYTHON"))},
    )
    if check:
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` folder of a fresh virtual environment with the built wheel installed."""
    where = tmp_path_factory.mktemp("wheel")
    source = where / "source"  # a clean copy: no build leftovers of the working tree
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".build", ".git", "data", "build", "*.egg-info", "__pycache__", ".*cache"
        ),
    )
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "-w",
        where / "dist",
        source,
        cwd=where,
    )
    (wheel,) = (where / "dist").glob("edi_gateway-*.whl")
    run(sys.executable, "-m", "venv", where / "venv", cwd=where)
    run(where / "venv" / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=where)
    return where / "venv" / "bin"


def test_the_wheel_carries_its_data_and_runs_the_main_job_far_from_the_source(
    installed: Path, tmp_path: Path
):
    found = run(installed / "python", "-c", "import gateway; print(gateway.__file__)", cwd=tmp_path)
    assert str(installed.parent) in found.stdout  # the installed package, not the source tree
    absent = run(installed / "python", "-c", "import psycopg", cwd=tmp_path, check=False)
    assert absent.returncode != 0  # an extra, not a dependency
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    for partner in ("harborview", "pinecrest"):
        for box in ("in", "out"):
            (tmp_path / "data" / "mailboxes" / partner / box).mkdir(parents=True)
    gateway = [installed / "gateway", "--config", "config/gateway.toml"]
    upgraded = run(*gateway, "db", "upgrade", cwd=tmp_path)
    assert "upgraded from empty" in upgraded.stdout
    inbox = tmp_path / "data" / "mailboxes" / "harborview" / "in"
    for sample in ("850/850_004010_good.x12", "850/850_004010_bad_SE01_count.x12"):
        shutil.copy(tmp_path / "samples" / sample, inbox)
    passed = run(*gateway, "run", "--once", cwd=tmp_path, check=False)
    assert passed.returncode == 1, passed.stderr[-2000:]  # one file quarantined
    assert "file applied" in passed.stderr + passed.stdout
    listed = json.loads(run(*gateway, "orders", "list", "--json", cwd=tmp_path).stdout)
    assert [o["po_number"] for o in listed] == ["HV4500871234"]
    sent = sorted(
        p.name for p in (tmp_path / "data" / "mailboxes" / "harborview" / "out").iterdir()
    )
    assert len(sent) == 2 and all(n.startswith("997_") for n in sent)
    assert any((tmp_path / "data" / "mail" / "captured").iterdir())  # the templates rendered
    postgres = tmp_path / "config" / "postgres.toml"
    postgres.write_text(
        '[gateway]\ndata_dir = "../data"\n\n'
        '[database]\nurl = "postgresql+psycopg://gateway@127.0.0.1:9/gateway"\n'
    )
    refused = run(
        installed / "gateway", "--config", postgres, "db", "upgrade", cwd=tmp_path, check=False
    )
    assert refused.returncode == 2 and "edi-gateway[postgresql]" in refused.stderr
    assert "Traceback" not in refused.stderr

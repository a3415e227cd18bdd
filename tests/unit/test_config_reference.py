"""The configuration reference in the README cannot go stale: every key `gateway/config.py`
accepts, in `gateway.toml` and in a partner profile of either transport, is described in the
README's Configuration section, and every key described there is one the gateway accepts."""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway import config as config_module

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def reference() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Configuration\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def accepted_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every key of every table the configuration reader checks, reading the shipped
    configuration and the SFTP example (which between them reach every table)."""
    seen: set[str] = set()
    check = config_module._check_keys

    def recording(table: dict[str, Any], allowed: set[str], where: str) -> None:
        seen.update(allowed)
        check(table, allowed, where)

    monkeypatch.setattr(config_module, "_check_keys", recording)
    site = tmp_path / "config"
    shutil.copytree(ROOT / "config", site)
    shutil.copy(site / "examples" / "bluewater-sftp.toml", site / "partners")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BLUEWATER_SFTP_PASSWORD", "unused")
        # a key file or folder of the example missing here is refused after its table is read
        with contextlib.suppress(config_module.ConfigurationError):
            config_module.load_config(site / "gateway.toml")
    return seen


def test_every_key_the_gateway_accepts_is_described_in_the_readme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    keys = accepted_keys(tmp_path, monkeypatch)
    # the tables of gateway.toml, of a profile and of both transports were all read
    assert {"data_dir", "url", "operators", "isa_id", "deadline_hours"} <= keys
    assert {"settle_seconds", "host_key", "after_pickup"} <= keys
    quoted = " ".join(re.findall(r"`([^`]*)`", reference()))
    missing = sorted(
        k for k in keys if not re.search(rf"(?<![\w.]){re.escape(k)}(?![\w.])", quoted)
    )
    assert missing == [], f"keys the gateway accepts but the README does not describe: {missing}"


def test_every_key_the_readme_describes_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    keys = accepted_keys(tmp_path, monkeypatch)
    described = set()
    for row in re.findall(r"^\| (`[^|]+) \|", reference(), flags=re.M):
        for cell in re.findall(r"`([^`]*)`", row):
            words = cell.split("] ")[-1]  # `[mail] from` -> from
            described.update(re.findall(r"[a-z][a-z0-9_]*", words.split(".")[0]))
    assert described, "no key rows found in the Configuration section"
    unknown = sorted(described - keys)
    assert unknown == [], f"keys the README describes but the gateway does not accept: {unknown}"

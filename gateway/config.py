"""Configuration: frozen objects loaded once from `gateway.toml`, validated, with named defaults.

Nothing is read at import time. `load_config(path)` reads the file the operator names (or finds
none and uses the embedded defaults); every unknown key or bad value is a `ConfigurationError`
that names the file, the key and the fix. Paths in the file are relative to the file's folder.
Secrets never sit in the file: a database password, when needed, comes from the environment
variable the file names.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import ConfigurationError

DEFAULT_DATA_DIR = Path("data")
DEFAULT_DATABASE_FILE = "gateway.db"
KNOWN_SECTIONS = {"gateway", "database"}


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """Where the store lives: an SQLAlchemy URL. Empty means SQLite in the data folder."""

    url: str = ""
    password_env: str = ""  # variable holding the password, merged into the URL at connect time
    pool_size: int = 5

    def resolved_url(self, data_dir: Path) -> str:
        """The URL to connect to (without its password)."""
        if not self.url:
            return f"sqlite:///{(data_dir / DEFAULT_DATABASE_FILE).resolve()}"
        return self.url

    def password(self) -> str | None:
        """The password from the environment variable named in `password_env`, if any."""
        if not self.password_env:
            return None
        password = os.environ.get(self.password_env)
        if password is None:
            raise ConfigurationError(
                f"database.password_env names {self.password_env}, which is not set: "
                "export it or remove the key"
            )
        return password


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Everything the gateway is configured with."""

    data_dir: Path = DEFAULT_DATA_DIR
    database: DatabaseConfig = DatabaseConfig()
    source: str = "embedded defaults"

    @property
    def database_url(self) -> str:
        return self.database.resolved_url(self.data_dir)


DEFAULT_CONFIG = GatewayConfig()
# The mappings shipped with the gateway (the repository's mappings/ folder).
DEFAULT_MAPPINGS_DIR = Path(__file__).resolve().parents[1] / "mappings"


def load_mappings(folder: Path = DEFAULT_MAPPINGS_DIR) -> dict[str, dict[str, Any]]:
    """Every `<name>.toml` mapping in `folder`, read (the mapping engine checks them)."""
    if not folder.is_dir():
        raise ConfigurationError(f"{folder}: no mappings folder")
    found = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            found[path.stem] = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
    return found


def _expect(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigurationError(
            f"{where}: {key} must be a {kind.__name__}, not {type(value).__name__} {value!r}"
        )
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(sorted(allowed))}"
        )


def load_config(path: Path | None, *, data_dir: Path | None = None) -> GatewayConfig:
    """Load and validate a configuration file; None gives the embedded defaults (with the data
    folder `data/` under the current directory, or `data_dir` when given)."""
    if path is None:
        return GatewayConfig(data_dir=data_dir or DEFAULT_DATA_DIR.resolve())
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
    where = str(path)
    _check_keys(raw, KNOWN_SECTIONS, where)
    base = path.resolve().parent
    gateway = raw.get("gateway", {})
    _check_keys(gateway, {"data_dir"}, f"{where} [gateway]")
    folder = base / _expect(gateway, "data_dir", str, f"{where} [gateway]") if gateway else None
    database = raw.get("database", {})
    _check_keys(database, {"url", "password_env", "pool_size"}, f"{where} [database]")
    section = f"{where} [database]"
    url = _expect(database, "url", str, section) if "url" in database else ""
    if url and not url.startswith(("sqlite:", "postgresql")):
        raise ConfigurationError(
            f"{section}: url must be sqlite:///... or postgresql+psycopg://..."
        )
    if "password" in url.split("@")[0].split("//")[-1] or (
        ":" in url.split("@")[0].split("//")[-1] and "@" in url
    ):
        raise ConfigurationError(
            f"{section}: url holds a password; put it in an environment variable and name the "
            "variable in password_env"
        )
    pool = _expect(database, "pool_size", int, section) if "pool_size" in database else 5
    if pool < 1:
        raise ConfigurationError(f"{section}: pool_size must be at least 1")
    return GatewayConfig(
        data_dir=data_dir or folder or base / DEFAULT_DATA_DIR,
        database=DatabaseConfig(
            url=url,
            password_env=_expect(database, "password_env", str, section)
            if "password_env" in database
            else "",
            pool_size=pool,
        ),
        source=where,
    )

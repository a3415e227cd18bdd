"""Schema migrations with Alembic, run on the gateway's own engine (`gateway db upgrade`).

The schema is never created any other way in production; tests check that the migrations give
exactly the tables of `orm.py`. Alembic is imported when a migration is run or looked at, not
when the module is: it costs a seventh of a second, and every CLI command starts here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from gateway.errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # noqa: PLC0415  (see the module docstring)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default)."""
    from alembic import command  # noqa: PLC0415

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: not migrated yet)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version")).first()
        return str(found[0]) if found is not None else None


def head_revision() -> str | None:
    """The newest revision shipped with the gateway."""
    revisions: dict[str, str | None] = {}
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision = _ASSIGNED.search(source)
        down = re.search(r'^down_revision = (?:"([^"]+)"|None)', source, re.MULTILINE)
        if revision is not None:
            revisions[revision.group(1)] = down.group(1) if down else None
    heads = set(revisions) - set(revisions.values())
    if len(heads) > 1:
        raise ConfigurationError(f"the shipped migrations have several heads: {sorted(heads)}")
    return heads.pop() if heads else None


_ASSIGNED = re.compile(r'^revision = "([^"]+)"', re.MULTILINE)

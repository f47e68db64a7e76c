"""The schema the Alembic migrations build is the one the models describe: on a fresh SQLite
database migrated to head, Alembic's autogenerate (with the options of migrations/env.py)
finds nothing to add, drop or alter. A model changed without its migration fails here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import cadence.core.models  # noqa: F401  (registers the tables)
from cadence.core.db import alembic_config, get_engine


def differences(url: str) -> list[Any]:
    """What `alembic revision --autogenerate` would write for the database at ``url``. Server
    defaults are not compared, as in migrations/env.py: migrations that add a NOT NULL column
    give it a server default to fill the rows already there, which the models (Python-side
    defaults) need not repeat."""
    with create_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_the_migrated_schema_matches_the_models(database: str) -> None:
    found = differences(database)
    assert found == [], f"the models and the migrations differ (add a migration): {found}"


def test_the_comparison_sees_a_missing_migration(tmp_path: Path) -> None:
    """The check can fail: a database one revision behind head differs from the models."""
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    get_engine(url)  # creates the file's folder
    config = alembic_config(url)
    head = ScriptDirectory.from_config(config).get_revision("head")
    previous = head.down_revision
    assert isinstance(previous, str)
    command.upgrade(config, previous)
    assert differences(url), f"the models show none of revision {head.revision}'s changes"

"""Database engine, sessions and migrations (Alembic)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine

from cadence.core.config import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: the configured database), one per URL."""
    return _engine_for(url or get_settings().require_database_url())


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url or get_settings().require_database_url())
    return cfg


def migrate(url: str | None = None) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    url = url or get_settings().require_database_url()
    get_engine(url)  # creates the SQLite folder
    command.upgrade(alembic_config(url), "head")


def insert_ignoring_duplicates(
    target: Session | Connection, table: type[SQLModel], values: dict[str, Any]
) -> None:
    """One INSERT that does nothing when a unique key already holds the row (SQLite and
    PostgreSQL), instead of a SELECT then an INSERT."""
    bind = target.get_bind() if isinstance(target, Session) else target
    insert_fn = postgresql_insert if bind.dialect.name == "postgresql" else sqlite_insert
    target.execute(insert_fn(table).values(**values).on_conflict_do_nothing())


P = ParamSpec("P")
R = TypeVar("R")


@lru_cache(maxsize=1)
def _db_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=get_settings().db_threads, thread_name_prefix="cadence-db"
    )


async def run_db(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run blocking database work from async code (activities) on the database threads."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_db_executor(), lambda: fn(*args, **kwargs))

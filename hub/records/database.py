"""The hub's SQL database: one engine per process, migrated by Alembic at start-up.

Everything relational lives in one database: the ingest ledger, the OAuth clients and
signing keys, and the audit trail. SQLite serves the embedded default; PostgreSQL
(asyncpg) is the production choice. The schema is owned by the migrations in
``hub/records/migrations``; ``hub.records.tables.all_tables`` is what the code expects,
and a test keeps the two equal.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# aiosqlite logs every statement with its bound values at DEBUG: partners' payloads,
# webhook signing secrets. HUB_LOG_LEVEL=DEBUG must not write those to the log.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"  # the schema the hub created before it had migrations
# Any constant will do: hub processes starting together take turns to migrate.
MIGRATION_LOCK = 7_251_604_118

# What a failing database call may raise; ``unavailable`` tells which of these mean the
# database could not be reached. Catch these, then re-raise what is not unavailable.
DATABASE_ERRORS = (DBAPIError, OSError, ConnectionError, TimeoutError)
# SQLite reports a missing table or a bad statement as an OperationalError too: a bug.
_SQLITE_BUGS = ("no such table", "no such column", "syntax error", "has no column")


_UNREACHABLE_CLASSES = ("08", "57")


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database could not be reached (refused, lost, restarted,
    locked for too long): the same call may succeed later, so the hub answers 503 and
    its workers wait. Anything else the driver raises (a constraint, a type, a missing
    table) is a bug, and is raised, logged and answered as one: never as "unavailable",
    which tells a partner that nothing was stored and to send it again."""
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        # PostgreSQL's own word: 08 connection exception, 57 operator intervention (the
        # server shutting down or restarting: 57P01 admin_shutdown, 57P03 cannot connect
        # now), whatever class the driver maps it to.
        code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        if isinstance(code, str) and code[:2] in _UNREACHABLE_CLASSES:
            return True
        if not isinstance(error, OperationalError | InterfaceError):
            return False
        return not any(bug in str(error.orig).lower() for bug in _SQLITE_BUGS)
    return isinstance(error, DATABASE_ERRORS)


def async_url(url: str) -> str:
    """The SQLAlchemy URL with the async driver: sqlite:/// -> aiosqlite, postgresql -> asyncpg."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{path}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url.removeprefix(plain)
    return url


def open_engine(url: str) -> AsyncEngine:
    # pre_ping: after a database restart, pooled connections are dead; test each one
    # as it is checked out so the first request after recovery does not fail.
    return create_async_engine(async_url(url), pool_pre_ping=True)


async def migrate(engine: AsyncEngine, to: str = "head") -> None:
    """Bring the database to the newest schema, or to revision ``to`` (a restore loads a
    backup into the schema it was made from; idempotent; safe from several processes)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, to)


def known_revisions() -> list[str]:
    """The schema revisions this code can build, oldest first (the last is the head)."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def _upgrade(connection: Connection, to: str = "head") -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    tables = set(inspect(connection).get_table_names())
    if "ingestions" in tables and "alembic_version" not in tables:
        command.stamp(config, BASELINE)  # made by create_all before migrations existed
    command.upgrade(config, to)


def utc(moment: datetime) -> datetime:
    """A datetime read back from the database, in UTC (SQLite hands back naive ones;
    everything the hub stores is UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()

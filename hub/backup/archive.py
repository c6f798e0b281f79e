"""The backup file, and writing one.

A backup is a zip file: ``tables/<table>.jsonl`` holds one JSON object per row (columns
by name, in the table's order), ``manifest.json`` says what the file is (format
version, the schema revision it was made at, the database it came from), and for each
table its row count, its columns' kinds and the SHA-256 of its member. Payload bytes
are base64, times ISO 8601 in UTC, JSON columns as they are: a backup of SQLite
restores into PostgreSQL and the other way round.

The table list is the code's own (``hub.records.tables.all_tables``), so a table added
with a migration is backed up without anyone remembering to; ``LEFT_OUT`` names the
few that are deliberately not, and why. Rows are read in primary-key order, a page at a
time (a few rows when they hold payloads), inside one read transaction (a snapshot on PostgreSQL, a read lock on SQLite), so
a backup taken while the hub runs is consistent and never holds a table in memory.
Signing keys are copied as the table holds them: if they are encrypted at rest, the
key-encryption key is not in the backup and has to be kept separately.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, DateTime, LargeBinary, Table, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.records.audit import GENESIS, audit_head
from hub.records.database import current_revision, known_revisions, utc
from hub.records.tables import all_tables

FORMAT = "partnerhub-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PAGE_ROWS = 500
# A payload may be as large as HUB_INGEST_MAX_BYTES (100 MB by default): rows holding
# bytes are read a few at a time, and a restore writes a page once it holds this much.
PAGE_ROWS_WITH_BYTES = 4
PAGE_BYTES = 16 * 1024 * 1024

# Tables not in a backup: state that lives for minutes and is worthless after a
# restore (a sign-in half done is simply started again).
LEFT_OUT = {
    "authorization_codes": "a person's one-time sign-in codes, valid for minutes",
    "oidc_logins": "sign-ins through an organization's provider in progress, valid for minutes",
}


class BackupError(Exception):
    """The file is not a backup this code can restore, or the database cannot take it;
    the message names the file's member or the table, and what was expected."""


class ColumnKind(StrEnum):
    """How a column's values are written in JSON."""

    BYTES = "bytes"  # base64
    TIME = "time"  # ISO 8601, UTC
    JSON = "json"  # the value itself
    PLAIN = "plain"  # a string, number, boolean or null as JSON has them


class TableContent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    member: str
    rows: int
    sha256: str
    columns: dict[str, ColumnKind]


class AuditHead(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    hash: str


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    schema_revision: str
    made_at: datetime
    source: str  # the database kind it was made from: sqlite, postgresql
    tables: list[TableContent]
    left_out: dict[str, str]
    audit_head: AuditHead

    def table(self, name: str) -> TableContent | None:
        return next((table for table in self.tables if table.name == name), None)


def backed_up_tables() -> list[Table]:
    """Every table of the code's metadata but those ``LEFT_OUT``, parents first."""
    return [table for table in all_tables().sorted_tables if table.name not in LEFT_OUT]


def column_kinds(table: Table) -> dict[str, ColumnKind]:
    return {column.name: _kind(column.type) for column in table.columns}


def _kind(column_type: Any) -> ColumnKind:
    if isinstance(column_type, LargeBinary):
        return ColumnKind.BYTES
    if isinstance(column_type, DateTime):
        return ColumnKind.TIME
    if isinstance(column_type, JSON):
        return ColumnKind.JSON
    return ColumnKind.PLAIN


def encode_row(row: Mapping[Any, Any], columns: Mapping[str, ColumnKind]) -> bytes:
    values = {name: _encode(row[name], kind) for name, kind in columns.items()}
    line = json.dumps(values, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    return line.encode() + b"\n"


def _encode(value: Any, kind: ColumnKind) -> Any:
    if value is None:
        return None
    if kind is ColumnKind.BYTES:
        return base64.b64encode(value).decode("ascii")
    if kind is ColumnKind.TIME:
        return utc(value).isoformat()
    return value


def decode_row(line: bytes, columns: Mapping[str, ColumnKind], where: str) -> dict[str, Any]:
    """One row of a member back to Python values; a bad line is named by ``where``."""
    try:
        values = json.loads(line)
        if not isinstance(values, dict) or set(values) != set(columns):
            raise ValueError(f"expected the columns {sorted(columns)}")
        return {name: _decode(values[name], kind) for name, kind in columns.items()}
    except ValueError as error:  # json.JSONDecodeError and binascii.Error are ValueErrors
        raise BackupError(f"{where}: not a row of this table: {error}") from None


def _decode(value: Any, kind: ColumnKind) -> Any:
    if value is None:
        return None
    if kind is ColumnKind.BYTES:
        return base64.b64decode(value, validate=True)
    if kind is ColumnKind.TIME:
        return utc(datetime.fromisoformat(value))
    return value


async def write_backup(engine: AsyncEngine, destination: Path) -> Manifest:
    """Write every table to ``destination`` (first as ``<name>.partial``, renamed when
    whole, so a failed backup never looks like a finished one)."""
    partial = destination.with_name(destination.name + ".partial")
    try:
        manifest = await _write(engine, partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(destination)
    return manifest


async def _write(engine: AsyncEngine, partial: Path) -> Manifest:
    async with engine.connect() as conn:
        await _read_snapshot(conn)
        revision = await conn.run_sync(current_revision)
        if revision != known_revisions()[-1]:
            raise BackupError(
                f"the database is at schema revision {revision}, this code writes"
                f" {known_revisions()[-1]}: run `partnerhub db upgrade` first"
            )
        with (
            _owner_only(partial) as file,
            zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            contents = [await _write_table(conn, table, archive) for table in backed_up_tables()]
            head = (await conn.execute(select(audit_head.c.seq, audit_head.c.hash))).first()
            manifest = Manifest(
                schema_revision=revision,
                made_at=datetime.now(UTC),
                source=conn.dialect.name,
                tables=contents,
                left_out=LEFT_OUT,
                audit_head=AuditHead(seq=head[0], hash=head[1])
                if head
                else AuditHead(seq=0, hash=GENESIS),
            )
            archive.writestr(MANIFEST, manifest.model_dump_json(indent=2))
        await conn.rollback()
    return manifest


def _owner_only(path: Path) -> BinaryIO:
    """A new file only its owner may read: a backup holds password hashes, webhook
    secrets and (unless encrypted at rest) the token signing keys."""
    path.unlink(missing_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


async def _read_snapshot(conn: AsyncConnection) -> None:
    """Make every read of ``conn`` see the same moment of the database."""
    if conn.dialect.name == "postgresql":
        await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    else:
        # Python's sqlite3 begins no transaction before a SELECT: begin one, so that
        # the tables are read under one lock (SQLAlchemy's rollback ends it).
        await conn.exec_driver_sql("BEGIN")


async def _write_table(
    conn: AsyncConnection, table: Table, archive: zipfile.ZipFile
) -> TableContent:
    columns = column_kinds(table)
    member = f"tables/{table.name}.jsonl"
    digest, rows = hashlib.sha256(), 0
    page_rows = PAGE_ROWS_WITH_BYTES if ColumnKind.BYTES in columns.values() else PAGE_ROWS
    key = tuple_(*table.primary_key.columns)
    first_page = select(table).order_by(*table.primary_key.columns).limit(page_rows)
    query = first_page
    with archive.open(member, "w", force_zip64=True) as out:
        # Keyset pages, not a server-side cursor: asyncpg's cursor reads ahead 50 rows
        # whatever the page, which is 5 GB of payloads at 100 MB each.
        while page := (await conn.execute(query)).mappings().all():
            for row in page:
                line = encode_row(row, columns)
                digest.update(line)
                out.write(line)
            rows += len(page)
            last = [literal(page[-1][c.name], c.type) for c in table.primary_key.columns]
            query = first_page.where(key > tuple_(*last))
    return TableContent(
        name=table.name, member=member, rows=rows, sha256=digest.hexdigest(), columns=columns
    )

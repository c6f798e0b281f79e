"""Restoring a backup: check the whole file, then load it in one transaction.

Before a row is written, the file is read once through: the manifest must be this
format at a version this code reads and a schema revision its migrations know (a
backup of a newer hub is refused, not half understood); each table's member must have
the manifest's SHA-256 and row count; and the audit trail in it must chain from its
first entry to the head the manifest names. A database that already holds data is
refused, naming the tables that do, unless the caller asks to replace what it holds; even
then, audit entries and received payloads are never deleted (the database's triggers
refuse it), so a database holding either is refused whatever the caller asks.

Loading migrates the database to the backup's schema revision, writes every table in
one transaction (checking each member's digest again as it goes: a file changed in
between rolls everything back), then migrates to the newest revision, verifies the
audit chain in the database, and records the restore on it.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import MetaData, Table, delete, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.backup.archive import (
    FORMAT,
    FORMAT_VERSION,
    LEFT_OUT,
    MANIFEST,
    PAGE_BYTES,
    PAGE_ROWS,
    BackupError,
    Manifest,
    TableContent,
    backed_up_tables,
    decode_row,
)
from hub.records import audit
from hub.records.audit import GENESIS, Actor, audit_log, entry_of
from hub.records.database import current_revision, known_revisions, migrate

# Made by the migrations themselves (the audit chain's genesis head): not data.
_MADE_BY_MIGRATIONS = {"audit_head"}
# Their triggers refuse deletes (migration 0002): what was audited or received is never
# removed, so not by a restore either.
APPEND_ONLY = ("audit_log", "ingestions")


class NotEmpty(BackupError):
    """The database holds rows already; ``tables`` says which, and how many."""

    def __init__(self, tables: Mapping[str, int]) -> None:
        self.tables = dict(tables)
        listed = ", ".join(f"{name} ({rows} rows)" for name, rows in sorted(tables.items()))
        super().__init__(
            f"the database already holds data: {listed}. Restore into a new database, or"
            " pass --into-nonempty to replace what it holds with the backup"
        )


@dataclass(slots=True)
class RestoreSummary:
    manifest: Manifest
    rows: dict[str, int]  # table -> rows restored
    replaced: dict[str, int] = field(default_factory=dict)  # table -> rows there before
    audit_entries: int = 0
    audit_head_hash: str = GENESIS  # of the backup's last entry, as found in the database


def read_manifest(path: Path) -> Manifest:
    try:
        with zipfile.ZipFile(path) as archive:
            raw = archive.read(MANIFEST)
    except (zipfile.BadZipFile, OSError) as error:
        raise BackupError(f"{path}: not a PartnerHub backup (a zip file): {error}") from None
    except KeyError:
        raise BackupError(f"{path}: not a PartnerHub backup: it has no {MANIFEST}") from None
    try:
        found = json.loads(raw)
    except ValueError as error:
        raise BackupError(f"{path}: {MANIFEST} is not JSON: {error}") from None
    if not isinstance(found, dict) or found.get("format") != FORMAT:
        raise BackupError(f"{path}: {MANIFEST} does not say format {FORMAT!r}")
    if found.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path}: backup format version {found.get('format_version')!r}; this code reads"
            f" version {FORMAT_VERSION} (a newer hub made it: restore with that version)"
        )
    try:
        manifest = Manifest.model_validate(found)
    except ValidationError as error:
        raise BackupError(f"{path}: {MANIFEST} is not as expected: {error}") from None
    known = known_revisions()
    if manifest.schema_revision not in known:
        raise BackupError(
            f"{path}: made at schema revision {manifest.schema_revision!r}, which this code"
            f" does not know (it knows up to {known[-1]}): restore with the hub that made it"
        )
    return manifest


def check_backup(path: Path) -> Manifest:
    """Read the whole file once and refuse it, naming the member, unless it is whole."""
    manifest = read_manifest(path)
    expected = {table.name for table in backed_up_tables()}
    named = {table.name for table in manifest.tables}
    if manifest.schema_revision == known_revisions()[-1] and named != expected:
        missing, unknown = sorted(expected - named), sorted(named - expected)
        raise BackupError(
            f"{path}: the manifest's tables are not this schema's: missing {missing},"
            f" unknown {unknown}"
        )
    chain = _ChainCheck(path)
    for table in manifest.tables:
        for row, _ in _rows(path, table):
            if table.name == "audit_log":
                chain.feed(row)
    chain.finish(manifest)
    return manifest


def _rows(path: Path, table: TableContent) -> Iterator[tuple[dict[str, Any], int]]:
    """The member's rows, decoded, each with its size in the file; at the end, its digest and count checked against
    the manifest (a caller writing them inside a transaction rolls back on a mismatch)."""
    digest, count = hashlib.sha256(), 0
    try:
        with zipfile.ZipFile(path) as archive, archive.open(table.member) as member:
            for line in member:
                digest.update(line)
                count += 1
                where = f"{path}: {table.member} line {count}"
                yield decode_row(line, table.columns, where), len(line)
    except KeyError:
        raise BackupError(
            f"{path}: the manifest names {table.member}, which is not in it"
        ) from None
    except (zipfile.BadZipFile, OSError) as error:  # a zip member's CRC fails as BadZipFile
        raise BackupError(f"{path}: {table.member} cannot be read: {error}") from None
    if digest.hexdigest() != table.sha256:
        raise BackupError(
            f"{path}: {table.member} does not have the SHA-256 the manifest names"
            f" ({table.sha256[:12]}...): the file was changed or damaged; nothing was written"
        )
    if count != table.rows:
        raise BackupError(
            f"{path}: {table.member} holds {count} rows, the manifest says {table.rows}"
        )


class _ChainCheck:
    """The audit trail inside a backup, checked as ``audit.verify`` checks a database."""

    def __init__(self, path: Path) -> None:
        self.path, self.seq, self.hash = path, 0, GENESIS

    def feed(self, row: Mapping[str, Any]) -> None:
        entry = entry_of(row)
        where = f"{self.path}: audit entry {entry.seq}"
        if entry.seq != self.seq + 1:
            raise BackupError(f"{self.path}: audit entry {self.seq + 1} is missing")
        if entry.prev_hash != self.hash or entry.expected_hash() != entry.hash:
            raise BackupError(f"{where} does not hold: the audit chain breaks there")
        self.seq, self.hash = entry.seq, entry.hash

    def finish(self, manifest: Manifest) -> None:
        if (self.seq, self.hash) != (manifest.audit_head.seq, manifest.audit_head.hash):
            raise BackupError(
                f"{self.path}: the audit trail ends at entry {self.seq}, the manifest's head"
                f" is entry {manifest.audit_head.seq}"
            )


async def restore_backup(
    engine: AsyncEngine, path: Path, actor: Actor, *, into_nonempty: bool = False
) -> RestoreSummary:
    manifest = check_backup(path)
    async with engine.connect() as conn:
        revision = await conn.run_sync(current_revision)
        holding = await _rows_held(conn)
    if holding and not into_nonempty:
        raise NotEmpty(holding)
    kept = [f"{name} ({holding[name]} rows)" for name in APPEND_ONLY if name in holding]
    if kept:
        raise BackupError(
            f"the database holds {' and '.join(kept)}: the audit trail and the ledger are"
            " append-only, so even --into-nonempty does not replace them; restore into a new"
            " database"
        )
    if revision not in (None, manifest.schema_revision):
        raise BackupError(
            f"the database is at schema revision {revision}, the backup at"
            f" {manifest.schema_revision}: restore into a new database"
        )
    await migrate(engine, to=manifest.schema_revision)
    summary = RestoreSummary(manifest, rows={}, replaced=holding)
    async with engine.begin() as conn:
        tables = await conn.run_sync(_reflected)
        for name in [*LEFT_OUT, *_MADE_BY_MIGRATIONS, *(t.name for t in manifest.tables)]:
            if name in tables:
                await conn.execute(delete(tables[name]))
        for content in manifest.tables:
            summary.rows[content.name] = await _load(conn, tables[content.name], path, content)
    await migrate(engine)
    verdict = await audit.verify(engine)
    if not verdict.intact:
        raise BackupError(f"after the restore, the audit trail does not hold: {verdict.reason}")
    summary.audit_entries = verdict.checked
    summary.audit_head_hash = await _hash_of_entry(engine, manifest.audit_head.seq)
    if summary.audit_head_hash != manifest.audit_head.hash:
        raise BackupError(
            f"after the restore, audit entry {manifest.audit_head.seq} is not the backup's head"
        )
    await audit.record(
        engine,
        actor,
        "database.restored",
        path.name,
        "verified",
        {
            "made_at": manifest.made_at.isoformat(),
            "schema_revision": manifest.schema_revision,
            "audit_head": manifest.audit_head.model_dump(),
            "rows": summary.rows,
            "replaced": summary.replaced,
        },
    )
    return summary


async def _hash_of_entry(engine: AsyncEngine, seq: int) -> str:
    if seq == 0:
        return GENESIS
    async with engine.connect() as conn:
        found = await conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == seq))
        return str(found.scalar_one_or_none())


async def _rows_held(conn: AsyncConnection) -> dict[str, int]:
    """Tables of the hub that hold rows (those the migrations fill themselves aside)."""
    present = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    held = {}
    for table in backed_up_tables():
        if table.name in present and table.name not in _MADE_BY_MIGRATIONS:
            count = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            if count:
                held[table.name] = int(count)
    return held


def _reflected(sync_conn: Any) -> dict[str, Table]:
    # The database's own tables at the backup's revision, which may be older than
    # the code's metadata.
    reflected = MetaData()
    reflected.reflect(sync_conn)
    return dict(reflected.tables)


async def _load(conn: AsyncConnection, table: Table, path: Path, content: TableContent) -> int:
    unknown = set(content.columns) - set(table.columns.keys())
    if unknown:
        raise BackupError(
            f"{path}: {content.member} has columns {sorted(unknown)} that table {table.name} lacks"
        )
    page: list[dict[str, Any]] = []
    loaded = page_bytes = 0
    for row, size in _rows(path, content):
        page.append(row)
        page_bytes += size
        if len(page) == PAGE_ROWS or page_bytes >= PAGE_BYTES:
            await conn.execute(table.insert(), page)
            loaded, page, page_bytes = loaded + len(page), [], 0
    if page:
        await conn.execute(table.insert(), page)
        loaded += len(page)
    return loaded

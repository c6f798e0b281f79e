"""``partnerhub backup --to FILE`` and ``partnerhub restore --from FILE``, on HUB_DATABASE."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.principal import LOCAL_OPERATOR
from hub.backup.archive import BackupError, Manifest, write_backup
from hub.backup.restore import RestoreSummary, restore_backup
from hub.records.audit import Actor
from hub.records.database import open_engine
from hub.settings import Settings

T = TypeVar("T")
console = Console()


def _on_database(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = open_engine(Settings().database_url())
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except BackupError as error:
        console.print(f"[red]{error}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


def backup(
    to: Annotated[
        Path, typer.Option("--to", help="The backup file to write (a zip).", dir_okay=False)
    ],
) -> None:
    """Back up every table of HUB_DATABASE (ledger and payloads, audit trail, clients,
    keys, people, identifiers, alert targets) to one file. The graph is not in it:
    `partnerhub replay` rebuilds it from the ledger."""
    manifest = _on_database(lambda engine: write_backup(engine, to))
    console.print(_rows_table(f"backup {to}", {t.name: t.rows for t in manifest.tables}))
    console.print(
        f"schema revision {manifest.schema_revision}, audit trail to entry"
        f" {manifest.audit_head.seq} ({manifest.audit_head.hash[:16]}...);"
        f" left out: {', '.join(manifest.left_out)}"
    )


def restore(
    source: Annotated[
        Path,
        typer.Option(
            "--from", help="A file `partnerhub backup` wrote.", exists=True, dir_okay=False
        ),
    ],
    into_nonempty: Annotated[
        bool,
        typer.Option(
            "--into-nonempty",
            help="Replace what the database holds (keys, clients, ...) with the backup;"
            " never audit entries or payloads.",
        ),
    ] = False,
) -> None:
    """Restore a backup into HUB_DATABASE: checked whole first (checksums, schema
    revision, audit chain), loaded in one transaction, the audit chain verified after."""

    def work(engine: AsyncEngine) -> Awaitable[RestoreSummary]:
        return restore_backup(engine, source, Actor.of(LOCAL_OPERATOR), into_nonempty=into_nonempty)

    summary = _on_database(work)
    console.print(_rows_table(f"restored {source}", summary.rows, summary.replaced))
    head = summary.manifest.audit_head
    console.print(
        f"audit trail intact: {summary.audit_entries} entries; the backup's head, entry"
        f" {head.seq} ({head.hash[:16]}...), in place (made {_made(summary.manifest)})\n"
        "The graph is derived: rebuild it with `partnerhub replay --wipe`."
    )


def _made(manifest: Manifest) -> str:
    return f"{manifest.made_at:%Y-%m-%d %H:%M} UTC from {manifest.source}"


def _rows_table(
    title: str, rows: Mapping[str, int], replaced: Mapping[str, int] | None = None
) -> Table:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    if replaced:
        table.add_column("replaced", justify="right")
    for name, count in rows.items():
        cells = [name, f"{count:,}"]
        if replaced:
            cells.append(f"{replaced.get(name, 0):,}")
        table.add_row(*cells)
    return table

"""The restore drill: PostgreSQL is the system of record and the graph is derived. Back
the database up, restore it into a new one, replay it into an empty Neo4j, and the hub
is what it was: the same graph, fact for fact and source for source, the same audit
chain, the same partners' clients and keys. And a backup is never restored over data,
nor when it was changed, nor when it comes from a newer hub."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from auth.service import AuthService
from deploy.postgres import fresh_database
from graph.lineage import Direction
from graph.model import EdgeKind
from graph.neo4j.store import Neo4jGraphStore
from graph.visibility import Visibility
from hub.backup import archive
from hub.backup.archive import MANIFEST, BackupError, write_backup
from hub.backup.restore import NotEmpty, restore_backup
from hub.cli import app
from hub.demo.launch import push_exports
from hub.demo.story import CONTAMINATED_EXCIPIENT_LOT_ID, FINISHED_LOT_ID
from hub.ingest.replay import replay
from hub.records import alert_targets, audit, identifiers
from hub.records.audit import Actor, AuditEntry
from hub.records.database import current_revision, known_revisions, migrate, open_engine, utc
from hub.records.ledger import Delivery, IngestionStatus, Ledger
from hub.records.tables import all_tables
from tests.hub.graph_snapshot import snapshot
from tests.tokens import TEST_AUTH

OPERATOR = Actor("operator", "restore drill")


async def _entries(engine: AsyncEngine) -> list[AuditEntry]:
    return [entry async for entry in audit.entries(engine)]


async def _row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        present = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        return {
            table.name: int(
                (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            )
            for table in all_tables().sorted_tables
            if table.name in present
        }


async def _graph_answers(store: Neo4jGraphStore) -> dict[str, Any]:
    """The whole graph, and a sample of the answers people ask of it (with quantities,
    and as one sponsor sees it)."""
    upstream = await store.lineage(FINISHED_LOT_ID, Direction.UPSTREAM, 10)
    impact = await store.impact(CONTAMINATED_EXCIPIENT_LOT_ID)
    as_northwind = await store.lineage(
        FINISHED_LOT_ID, Direction.BOTH, 10, visibility=Visibility.for_org("northwind")
    )
    assert upstream is not None and impact is not None and as_northwind is not None
    graph = await snapshot(store)
    return {
        "graph": graph,
        # Every edge with its attributes and the records that asserted it.
        "edges": set(await store.edges_from(list(graph["nodes"]), list(EdgeKind))),
        "upstream": (set(upstream.nodes), set(upstream.edges)),
        "impact": (
            {batch.id for batch in impact.batches},
            set(impact.products),
            set(impact.vendors),
            set(impact.agreements),
        ),
        "as_northwind": (set(as_northwind.nodes), set(as_northwind.edges)),
        "counts": await store.counts(),
    }


async def test_restore_drill_postgresql_to_a_new_database_and_an_empty_neo4j(
    postgres_server: str, neo4j_uri: str, tmp_path: Path
) -> None:
    store = Neo4jGraphStore(neo4j_uri)
    async with (
        fresh_database(postgres_server, "drill_source") as source_url,
        fresh_database(postgres_server, "drill_restored") as restored_url,
    ):
        ledger = Ledger(source_url)
        auth = AuthService.from_url(source_url, TEST_AUTH, migrate=migrate)
        auth.on_change = audit.auth_changes(ledger.engine)
        restored_engine = open_engine(restored_url)
        restored = Ledger(restored_url)
        try:
            await store.setup()
            await store.wipe()
            # The demo story as its partners push it, a partner's client, a person and
            # a webhook: every kind of row the hub keeps.
            reports, _ = await push_exports(store, ledger)
            await auth.setup()
            issued = await auth.add_client("birch", ["ingest:write", "graph:read"])
            key = await auth.store.current_signing_key()
            await auth.add_user("birch", "qa@birch.example", "a long passphrase", ["graph:read"])
            await alert_targets.add_webhook(
                ledger.engine, "northwind", "https://alerts.northwind.example/hub", None, OPERATOR
            )
            before = await _graph_answers(store)
            source_trail = await _entries(ledger.engine)
            source_rows = await _row_counts(ledger.engine)

            backup = tmp_path / "hub-backup.zip"
            manifest = await write_backup(ledger.engine, backup)
            summary = await restore_backup(restored_engine, backup, OPERATOR)

            await store.wipe()
            assert (await store.counts()).total_nodes == 0, "the drill replays into an empty Neo4j"
            await restored.setup()
            replayed = await replay(restored, store, OPERATOR, wipe=True)
            after = await _graph_answers(store)
            restored_trail = await _entries(restored_engine)
            restored_rows = await _row_counts(restored_engine)
            chain = await audit.verify(restored_engine)
            restored_auth = AuthService.from_url(restored_url, TEST_AUTH, migrate=migrate)
            await restored_auth.setup()
            try:
                partner = await restored_auth.store.authenticate(
                    issued.client.client_id, issued.secret
                )
                restored_key = await restored_auth.store.current_signing_key()
            finally:
                await restored_auth.close()
        finally:
            for closable in (auth, ledger, restored):
                await closable.close()
            await restored_engine.dispose()
            await store.close()

    assert all(report.status is IngestionStatus.APPLIED for report in reports)
    assert replayed.ingestions == len(reports) and replayed.differing == []
    # The same graph: every node with its attributes and sources, every edge, and the
    # answers built on them.
    assert len(before["graph"]["nodes"]) > 50 and before["graph"]["edges"]
    assert all(edge.sources for edge in before["edges"]), "every edge traces to its record"
    assert after == before
    # The same audit chain: every entry of the source, in order, with the same head;
    # then the restore and the replay, appended, and the whole chain holds.
    assert manifest.audit_head.hash == source_trail[-1].hash
    assert summary.audit_head_hash == source_trail[-1].hash
    assert restored_trail[: len(source_trail)] == source_trail
    assert [entry.action for entry in restored_trail[len(source_trail) :]] == [
        "database.restored",
        "graph.replay",
        "graph.replay",
    ]
    assert chain.intact and chain.checked == len(restored_trail)
    # Every table as it was (the restore's and replay's own audit entries aside).
    assert {name: rows for name, rows in restored_rows.items() if name != "audit_log"} == {
        name: rows for name, rows in source_rows.items() if name != "audit_log"
    }
    assert source_rows["ingestions"] == len(reports) and source_rows["hub_users"] == 1
    # The partner's client still authenticates, and tokens are signed with the same key.
    assert partner is not None and partner.org_id == "birch"
    assert restored_key.kid == key.kid
    assert set(manifest.left_out) == {"authorization_codes", "oidc_logins"}


async def _database_with_data(url: str) -> Ledger:
    ledger = Ledger(url)
    await ledger.setup()
    delivery = Delivery(
        b'{"node": "Batch", "maker": "birch", "number": "T-1", "quantity": 10}\n',
        "canonical.jsonl",
        "birch",
        Actor("birch", "birch-mes"),
        filename="lots.jsonl",
    )
    await ledger.receive(delivery)
    await audit.record(ledger.engine, OPERATOR, "drill.note", "nothing", "done", {"n": 1.5})
    return ledger


def _rewritten(backup: Path, to: Path, member: str, change: Callable[[bytes], bytes]) -> Path:
    """A copy of ``backup`` with one member changed, every other member as it was."""
    with zipfile.ZipFile(backup) as source, zipfile.ZipFile(to, "w") as copy:
        for info in source.infolist():
            content = source.read(info)
            copy.writestr(info.filename, change(content) if info.filename == member else content)
    return to


async def test_a_restore_over_data_or_from_a_changed_or_newer_backup_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    source = await _database_with_data(database_url)
    backup = tmp_path / "hub.zip"
    try:
        await write_backup(source.engine, backup)
        with pytest.raises(NotEmpty) as over_data:
            await restore_backup(source.engine, backup, OPERATOR)
        rows_after_refusal = await _row_counts(source.engine)
    finally:
        await source.close()

    tampered = _rewritten(
        backup,
        tmp_path / "tampered.zip",
        "tables/ingestions.jsonl",
        lambda b: b.replace(b'"org":"birch"', b'"org":"alder"'),
    )
    newer = _rewritten(
        backup,
        tmp_path / "newer.zip",
        MANIFEST,
        lambda b: json.dumps({**json.loads(b), "schema_revision": "9999"}).encode(),
    )
    target = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'target.sqlite'}")
    try:
        with pytest.raises(BackupError) as changed:
            await restore_backup(target, tampered, OPERATOR)
        with pytest.raises(BackupError) as from_newer:
            await restore_backup(target, newer, OPERATOR)
        async with target.connect() as conn:
            tables_after_refusals = await conn.run_sync(lambda c: inspect(c).get_table_names())
        # The same backup, untouched, restores (from either database into SQLite).
        restored = await restore_backup(target, backup, OPERATOR)
        restored_trail = await _entries(target)
    finally:
        await target.dispose()

    assert set(over_data.value.tables) >= {"ingestions", "audit_log"}
    assert "ingestions (1 rows)" in str(over_data.value)
    assert rows_after_refusal["ingestions"] == 1 and rows_after_refusal["audit_log"] == 2
    assert "tables/ingestions.jsonl" in str(changed.value) and "SHA-256" in str(changed.value)
    assert "9999" in str(from_newer.value) and "does not know" in str(from_newer.value)
    assert tables_after_refusals == [], "nothing is written before the backup is checked"
    assert restored.rows["ingestions"] == 1
    assert [entry.action for entry in restored_trail] == [
        "ingestion.received",
        "drill.note",
        "database.restored",
    ]
    assert restored_trail[1].detail == {"n": 1.5}


def test_the_commands_back_up_and_restore_and_say_what_they_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    source, target = tmp_path / "hub.sqlite", tmp_path / "restored.sqlite"
    monkeypatch.setenv("HUB_DATABASE", f"sqlite:///{source}")
    added = runner.invoke(app, ["clients", "add", "--org", "birch", "--json"])
    made = runner.invoke(app, ["backup", "--to", str(tmp_path / "hub.zip")])
    over_data = runner.invoke(app, ["restore", "--from", str(tmp_path / "hub.zip")])
    monkeypatch.setenv("HUB_DATABASE", f"sqlite:///{target}")
    restored = runner.invoke(app, ["restore", "--from", str(tmp_path / "hub.zip")])
    verified = runner.invoke(app, ["audit", "verify"])
    listed = runner.invoke(app, ["clients", "list"])

    client_id = json.loads(added.output)["client_id"]
    assert made.exit_code == 0, made.output
    assert "oauth_clients" in made.output and "left out" in made.output
    assert (tmp_path / "hub.zip").stat().st_mode & 0o777 == 0o600, "secrets inside: owner only"
    assert over_data.exit_code == 1 and "already holds data" in over_data.output
    assert "oauth_clients (1 rows)" in over_data.output and "--into-nonempty" in over_data.output
    assert restored.exit_code == 0, restored.output
    assert "audit trail intact" in restored.output and "partnerhub replay" in restored.output
    assert verified.exit_code == 0 and "intact: 2 entries" in verified.output
    assert client_id in listed.output


async def test_into_nonempty_replaces_a_started_hubs_key_but_never_a_trail_or_a_ledger(
    database_url: str, tmp_path: Path
) -> None:
    source_url = f"sqlite+aiosqlite:///{tmp_path / 'source.sqlite'}"
    source = await _database_with_data(source_url)
    backup = tmp_path / "hub.zip"
    source_auth = AuthService.from_url(source_url, TEST_AUTH, migrate=migrate)
    # A hub started on the new database before the restore: it made a signing key.
    started = AuthService.from_url(database_url, TEST_AUTH, migrate=migrate)
    try:
        await source_auth.setup()
        backed_up_key = await source_auth.store.current_signing_key()
        await write_backup(source.engine, backup)
        await started.setup()
        own_key = await started.store.current_signing_key()
        with pytest.raises(NotEmpty) as refused:
            await restore_backup(started.store.engine, backup, OPERATOR)
        replaced = await restore_backup(started.store.engine, backup, OPERATOR, into_nonempty=True)
        keys = [key.kid for key in await started.store.verification_keys()]
        with pytest.raises(BackupError) as over_a_trail:
            await restore_backup(source.engine, backup, OPERATOR, into_nonempty=True)
    finally:
        for closable in (source_auth, started, source):
            await closable.close()

    assert refused.value.tables == {"signing_keys": 1}
    assert replaced.replaced == {"signing_keys": 1}
    assert keys == [backed_up_key.kid] and own_key.kid not in keys
    assert "audit_log (2 rows) and ingestions (1 rows)" in str(over_a_trail.value)
    assert "append-only" in str(over_a_trail.value)


async def _schema_at(revision: str, path: Path) -> dict[str, set[str]]:
    """Each table's columns in a database migrated only to ``revision``."""
    engine = open_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(engine, revision)
        async with engine.connect() as conn:

            def columns(sync: Any) -> dict[str, set[str]]:
                found = inspect(sync)
                return {
                    name: {column["name"] for column in found.get_columns(name)}
                    for name in found.get_table_names()
                }

            return await conn.run_sync(columns)
    finally:
        await engine.dispose()


def _as_made_at(backup: Path, to: Path, revision: str, schema: dict[str, set[str]]) -> Path:
    """``backup`` as a hub at ``revision`` would have written it: the tables and columns
    that schema had, every checksum and count made again."""
    with zipfile.ZipFile(backup) as source, zipfile.ZipFile(to, "w") as copy:
        manifest = json.loads(source.read(MANIFEST))
        kept = []
        for table in manifest["tables"]:
            columns = schema.get(table["name"])
            if columns is None:
                continue
            lines = [
                json.dumps(
                    {name: value for name, value in json.loads(line).items() if name in columns},
                    ensure_ascii=False,
                    separators=(",", ":"),
                ).encode()
                + b"\n"
                for line in source.read(table["member"]).splitlines()
            ]
            content = b"".join(lines)
            copy.writestr(table["member"], content)
            table["columns"] = {n: k for n, k in table["columns"].items() if n in columns}
            table["sha256"] = hashlib.sha256(content).hexdigest()
            kept.append(table)
        manifest["tables"], manifest["schema_revision"] = kept, revision
        copy.writestr(MANIFEST, json.dumps(manifest))
    return to


async def test_a_backup_of_an_older_schema_is_restored_then_migrated(tmp_path: Path) -> None:
    """A backup an older hub made (here: before sign-in for people, revision 0005) loads
    into that schema, then the database is migrated to the newest."""
    source = await _database_with_data(f"sqlite+aiosqlite:///{tmp_path / 'source.sqlite'}")
    current = tmp_path / "current.zip"
    try:
        await write_backup(source.engine, current)
    finally:
        await source.close()
    schema_0005 = await _schema_at("0005", tmp_path / "at-0005.sqlite")
    older = _as_made_at(current, tmp_path / "older.zip", "0005", schema_0005)
    target = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'target.sqlite'}")
    try:
        restored = await restore_backup(target, older, OPERATOR)
        async with target.connect() as conn:
            revision = await conn.run_sync(current_revision)
        rows = await _row_counts(target)
    finally:
        await target.dispose()

    assert revision == known_revisions()[-1]
    assert "hub_users" not in schema_0005 and "hub_users" not in restored.rows
    assert restored.rows["ingestions"] == 1
    assert rows["ingestions"] == 1 and rows["hub_users"] == 0


async def test_a_backup_whose_audit_trail_was_edited_is_refused_even_with_checksums_redone(
    tmp_path: Path,
) -> None:
    source = await _database_with_data(f"sqlite+aiosqlite:///{tmp_path / 'source.sqlite'}")
    backup = tmp_path / "hub.zip"
    try:
        await write_backup(source.engine, backup)
    finally:
        await source.close()
    member = "tables/audit_log.jsonl"
    with zipfile.ZipFile(backup) as archive:
        edited = archive.read(member).replace(b'"outcome":"done"', b'"outcome":"undone"')

    def checksum_redone(content: bytes) -> bytes:
        manifest = json.loads(content)
        for table in manifest["tables"]:
            if table["member"] == member:
                table["sha256"] = hashlib.sha256(edited).hexdigest()
        return json.dumps(manifest).encode()

    both = _rewritten(backup, tmp_path / "edited.zip", member, lambda _: edited)
    both = _rewritten(both, tmp_path / "edited-and-hashed.zip", MANIFEST, checksum_redone)
    target = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'target.sqlite'}")
    try:
        with pytest.raises(BackupError) as refused:
            await restore_backup(target, both, OPERATOR)
    finally:
        await target.dispose()

    assert "audit entry 2 does not hold" in str(refused.value)


async def _table_rows(engine: AsyncEngine, name: str) -> list[tuple[Any, ...]]:
    table = all_tables().tables[name]
    async with engine.connect() as conn:
        found = await conn.execute(select(table).order_by(*table.primary_key.columns))
        # SQLite hands times back naive, PostgreSQL aware: both are UTC.
        return [tuple(utc(v) if isinstance(v, datetime) else v for v in row) for row in found]


async def test_every_row_is_read_across_pages_whatever_the_key(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of two rows (one with payloads) over tables keyed by one column and by two."""
    monkeypatch.setattr(archive, "PAGE_ROWS", 2)
    monkeypatch.setattr(archive, "PAGE_ROWS_WITH_BYTES", 1)
    source = await _database_with_data(database_url)
    backup = tmp_path / "hub.zip"
    target = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'target.sqlite'}")
    try:
        for n in range(5):
            await identifiers.add(source.engine, f"org-{n % 2}", "duns", f"00000000{n}", OPERATOR)
            delivery = Delivery(bytes([n]) * 1000, "canonical.jsonl", "birch", OPERATOR)
            await source.receive(delivery)
        await write_backup(source.engine, backup)
        await restore_backup(target, backup, OPERATOR)
        expected = {
            name: await _table_rows(source.engine, name)
            for name in ("organization_identifiers", "ingestions")
        }
        restored = {name: await _table_rows(target, name) for name in expected}
    finally:
        await source.close()
        await target.dispose()

    assert len(expected["organization_identifiers"]) == 5 and len(expected["ingestions"]) == 6
    assert restored == expected, "every row, payload bytes included"

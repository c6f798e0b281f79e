"""The ledger and its queue, on SQLite and on a real PostgreSQL: nothing received is lost,
nothing is applied twice, and the schema is the one the migrations build."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, Table, text
from sqlalchemy.exc import DBAPIError

from auth.store import auth_metadata
from hub.records.audit import Actor
from hub.records.database import current_revision, migrate, open_engine
from hub.records.ledger import Delivery, IngestionStatus, Ledger
from hub.records.tables import all_tables

BIRCH = Actor("birch", "birch-client")
LEASE = timedelta(seconds=30)


def delivery(org: str = "birch", number: str = "T-1", **extra: object) -> Delivery:
    body = f'{{"node": "Batch", "maker": "{org}", "number": "{number}"}}\n'.encode()
    return Delivery(body, "canonical.jsonl", org, Actor(org, f"{org}-client"), **extra)  # type: ignore[arg-type]


def _schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, all_tables()))


async def test_the_migrations_build_exactly_the_tables_the_code_uses(ledger: Ledger) -> None:
    await ledger.setup()  # a second run changes nothing
    async with ledger.engine.connect() as conn:
        differences = await conn.run_sync(_schema_differences)
        revision = await conn.run_sync(current_revision)

    assert differences == []
    assert revision == "0009"


async def test_a_database_made_before_migrations_is_adopted_and_upgraded(
    database_url: str,
) -> None:
    """A hub from before Alembic created its tables with create_all: keep its rows."""
    engine = open_engine(database_url)
    baseline = MetaData()
    auth_metadata.tables["oauth_clients"].to_metadata(baseline)
    Table(  # as it was then: the sealing column (0009) came later
        "signing_keys",
        baseline,
        *(
            column._copy()
            for column in auth_metadata.tables["signing_keys"].columns
            if column.name != "kek_id"
        ),
    )
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE ingestions (id VARCHAR(40) PRIMARY KEY, connector VARCHAR(64) NOT NULL,"
                " org VARCHAR(64) NOT NULL, submitted_by VARCHAR(64) NOT NULL,"
                " filename VARCHAR(500) NOT NULL, media_type VARCHAR(200) NOT NULL,"
                " options JSON NOT NULL, received_at TIMESTAMP WITH TIME ZONE NOT NULL,"
                " size INTEGER NOT NULL, sha256 VARCHAR(64) NOT NULL, payload BYTEA NOT NULL,"
                " status VARCHAR(16) NOT NULL, report JSON, finished_at TIMESTAMP WITH TIME ZONE)".replace(
                    "BYTEA", "BYTEA" if engine.dialect.name == "postgresql" else "BLOB"
                )
            )
        )
        await conn.run_sync(baseline.create_all)
        await conn.execute(
            text(
                "INSERT INTO ingestions VALUES ('ing-old', 'canonical.jsonl', 'birch', 'birch', '',"
                " '', '{}', '2026-01-01 00:00:00+00', 3, 'x', :payload, 'APPLIED', NULL, NULL)"
            ),
            {"payload": b"old"},
        )
    await migrate(engine)
    ledger = Ledger("", engine)
    old = await ledger.get("ing-old")
    await ledger.close()

    assert old is not None and old.status is IngestionStatus.APPLIED
    assert old.attempts == 0 and old.supersedes is None


async def test_a_claim_takes_the_oldest_and_one_org_applies_in_order(ledger: Ledger) -> None:
    first = await ledger.receive(delivery("birch", "T-1"))
    second = await ledger.receive(delivery("birch", "T-2"))
    alder = await ledger.receive(delivery("alder", "A-1"))

    claimed = await ledger.claim("w1", LEASE)
    other = await ledger.claim("w2", LEASE)
    none_left = await ledger.claim("w3", LEASE)

    assert claimed is not None and claimed.id == first.id and claimed.attempts == 1
    assert other is not None and other.id == alder.id, "Birch's second waits for its first"
    assert none_left is None
    await ledger.finish(first.id, "w1", IngestionStatus.APPLIED, {"applied": 1}, BIRCH)
    after = await ledger.claim("w3", LEASE)
    assert after is not None and after.id == second.id


async def test_a_dead_workers_claim_runs_out_and_only_the_holder_may_finish(
    ledger: Ledger,
) -> None:
    received = await ledger.receive(delivery())
    await ledger.claim("dead", timedelta(milliseconds=50))
    await asyncio.sleep(0.2)
    taken_over = await ledger.claim("alive", LEASE)

    late = await ledger.finish(received.id, "dead", IngestionStatus.APPLIED, {}, BIRCH)
    done = await ledger.finish(received.id, "alive", IngestionStatus.APPLIED, {}, BIRCH)
    again = await ledger.finish(received.id, "alive", IngestionStatus.APPLIED, {}, BIRCH)

    assert taken_over is not None and taken_over.attempts == 2
    assert (late, done, again) == (False, True, False)
    assert await ledger.renew(received.id, "dead", LEASE) is False


async def test_a_deferred_ingestion_waits_out_its_delay(ledger: Ledger) -> None:
    received = await ledger.receive(delivery())
    await ledger.claim("w1", LEASE)
    await ledger.defer(received.id, "w1", timedelta(milliseconds=300), "store down", BIRCH)

    too_soon = await ledger.claim("w1", LEASE)
    await asyncio.sleep(0.4)
    later = await ledger.claim("w1", LEASE)

    assert too_soon is None
    assert later is not None and later.id == received.id and later.attempts == 2


async def test_processes_sharing_the_database_never_take_the_same_ingestion(
    database_url: str, ledger: Ledger
) -> None:
    orgs = [f"org-{n}" for n in range(8)]
    sent = [await ledger.receive(delivery(org, f"L-{n}")) for n in range(5) for org in orgs]
    # One engine each, as separate hub processes would have.
    peers = [Ledger(database_url) for _ in range(4)]
    taken: list[tuple[str, str]] = []

    async def work(peer: Ledger, name: str) -> None:
        while True:
            job = await peer.claim(name, LEASE)
            if job is None:
                if await peer.waiting() == 0:
                    return
                await asyncio.sleep(0.01)
                continue
            taken.append((job.id, name))
            assert await peer.finish(job.id, name, IngestionStatus.APPLIED, {}, BIRCH)

    try:
        await asyncio.gather(*(work(peer, f"p{n}") for n, peer in enumerate(peers)))
    finally:
        for peer in peers:
            await peer.close()

    ids = [ingestion_id for ingestion_id, _ in taken]
    assert sorted(ids) == sorted(received.id for received in sent), "each exactly once"
    assert len({name for _, name in taken}) > 1, "the work was shared"
    for org in orgs:  # and each organization's ingestions in the order they arrived
        own = [received.id for received in sent if received.org == org]
        assert [i for i in ids if i in own] == own


async def test_what_was_received_cannot_be_changed_or_deleted(ledger: Ledger) -> None:
    received = await ledger.receive(delivery())
    statements = [
        ("UPDATE ingestions SET payload = :junk WHERE id = :id", {"junk": b"x"}),
        ("UPDATE ingestions SET org = 'alder' WHERE id = :id", {}),
        ("DELETE FROM ingestions WHERE id = :id", {}),
    ]
    for statement, extra in statements:
        with pytest.raises(DBAPIError, match="never"):
            async with ledger.engine.begin() as conn:
                await conn.execute(text(statement), {"id": received.id, **extra})

    assert await ledger.payload(received.id) == delivery().payload


async def test_a_correction_names_what_it_supersedes(ledger: Ledger) -> None:
    original = await ledger.receive(delivery())
    correction = await ledger.receive(delivery(supersedes=original.id))

    assert correction.supersedes == original.id
    assert await ledger.corrections_of(original.id) == [correction.id]


async def test_a_refused_delivery_is_kept_finished(ledger: Ledger) -> None:
    refused = await ledger.receive(delivery(), refused={"error": {"kind": "unknown_connector"}})

    kept = await ledger.get(refused.id)
    assert kept is not None and kept.status is IngestionStatus.REJECTED
    assert kept.report == {"error": {"kind": "unknown_connector"}, "ingestion_id": refused.id}
    assert await ledger.claim("w1", LEASE) is None, "nothing to apply"


async def test_landed_pages_through_in_arrival_order_while_workers_write(ledger: Ledger) -> None:
    """Replay reads what landed page by page; a worker finishing an ingestion between
    pages must neither block on the reader nor be blocked by it."""
    received = [await ledger.receive(delivery(f"org{n}", f"T-{n}")) for n in range(5)]
    for _ in received[:4]:
        claimed = await ledger.claim("w1", LEASE)
        assert claimed is not None
        await ledger.finish(claimed.id, "w1", IngestionStatus.APPLIED, {"applied": 1}, BIRCH)

    seen = []
    async for job in ledger.landed(page_size=2):
        seen.append(job.id)
        if len(seen) == 1:  # a write while the replay is part way through
            last = await ledger.claim("w2", LEASE)
            assert last is not None and last.id == received[4].id
            await ledger.finish(last.id, "w2", IngestionStatus.APPLIED, {"applied": 1}, BIRCH)

    assert seen == [job.id for job in received]

"""The audit trail on SQLite and a real PostgreSQL: attributable, linked, tamper-evident."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.principal import Principal, Scope
from auth.service import AuthService
from hub.records import audit
from hub.records.audit import Actor, auth_changes, entries, verify
from hub.records.database import migrate
from hub.records.ledger import Delivery, IngestionStatus, Ledger
from tests.tokens import TEST_AUTH

OPERATOR = Actor("operator", "ops-console")


async def write_some(ledger: Ledger) -> None:
    delivery = Delivery(b"{}\n", "canonical.jsonl", "birch", Actor("birch", "birch-1"))
    received = await ledger.receive(delivery)
    await ledger.claim("w1", timedelta(seconds=30))
    await ledger.finish(received.id, "w1", IngestionStatus.APPLIED, {"applied": 0}, OPERATOR)
    await audit.record(ledger.engine, OPERATOR, "graph.replay", "sqlite:///g", "done", {"n": 1})


async def edit_directly(engine: AsyncEngine, statement: str) -> None:
    """What someone with the database's owner rights could do: lift the guard, edit."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            await conn.execute(text("DROP TRIGGER audit_log_no_update"))
            await conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        await conn.execute(text(statement))


async def test_every_ingestion_step_is_recorded_with_who_and_how_it_ended(
    ledger: Ledger,
) -> None:
    await write_some(ledger)
    trail = [entry async for entry in entries(ledger.engine)]

    assert [(e.seq, e.action, e.outcome) for e in trail] == [
        (1, "ingestion.received", "accepted"),
        (2, "ingestion.applied", "APPLIED"),
        (3, "graph.replay", "done"),
    ]
    assert trail[0].actor == Actor("birch", "birch-1")
    assert trail[0].detail["sha256"] and trail[0].detail["connector"] == "canonical.jsonl"
    assert trail[1].prev_hash == trail[0].hash and trail[2].prev_hash == trail[1].hash
    assert (await verify(ledger.engine)).intact


async def test_client_and_key_changes_are_recorded(ledger: Ledger) -> None:
    service = AuthService.from_url(
        ledger.engine.url.render_as_string(hide_password=False), TEST_AUTH, migrate=migrate
    )
    service.on_change = auth_changes(ledger.engine)
    admin = Principal("operator", None, frozenset({Scope.ADMIN}), client_id="ops-console")
    try:
        issued = await service.add_client("birch", ["ingest:write"], by=admin)
        key = await service.rotate_signing_key(by=admin)
        await service.revoke_client(issued.client.client_id, by=admin)
    finally:
        await service.close()
    trail = [(e.action, e.target, e.outcome, e.actor) async for e in entries(ledger.engine)]

    assert trail == [
        ("client.added", issued.client.client_id, "added", OPERATOR),
        ("key.rotated", key.kid, "rotated", OPERATOR),
        ("client.revoked", issued.client.client_id, "revoked", OPERATOR),
    ]
    secret_logged = [e async for e in entries(ledger.engine) if issued.secret in str(e.detail)]
    assert secret_logged == [], "a client's secret never reaches the trail"


async def test_the_trail_cannot_be_changed_through_the_database_guard(ledger: Ledger) -> None:
    await write_some(ledger)
    for statement in ("UPDATE audit_log SET outcome = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with ledger.engine.begin() as conn:
                await conn.execute(text(statement))
    assert (await verify(ledger.engine)).checked == 3


@pytest.mark.parametrize(
    ("statement", "broken_at", "reason"),
    [
        ("UPDATE audit_log SET outcome = 'REJECTED' WHERE seq = 2", 2, "changed"),
        ("UPDATE audit_log SET actor_org = 'alder' WHERE seq = 1", 1, "changed"),
        ("DELETE FROM audit_log WHERE seq = 2", 2, "missing"),
        ("DELETE FROM audit_log WHERE seq = 3", 3, "missing"),
    ],
)
async def test_an_entry_edited_in_the_database_is_named_by_verify(
    ledger: Ledger, statement: str, broken_at: int, reason: str
) -> None:
    await write_some(ledger)
    await edit_directly(ledger.engine, statement)

    verdict = await verify(ledger.engine)

    assert not verdict.intact
    assert verdict.broken_at == broken_at
    assert reason in verdict.reason


async def test_audit_verify_on_the_command_line_names_the_edited_entry(
    ledger: Ledger, database_url: str
) -> None:
    await write_some(ledger)
    plain_url = database_url.replace("+aiosqlite", "").replace("+asyncpg", "")
    env = {**os.environ, "HUB_DATABASE": plain_url}
    command = [sys.executable, "-m", "hub.cli", "audit", "verify"]
    intact = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True
    )
    await edit_directly(ledger.engine, "UPDATE audit_log SET target = 'ing-other' WHERE seq = 1")
    broken = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True
    )

    assert intact.returncode == 0 and "intact: 3 entries" in intact.stdout
    assert broken.returncode == 1
    assert "broken at entry 1" in broken.stdout


async def test_several_processes_appending_at_once_keep_one_unbroken_chain(
    database_url: str, ledger: Ledger
) -> None:
    peers = [Ledger(database_url) for _ in range(4)]

    async def append_many(peer: Ledger, name: str) -> None:
        for n in range(15):
            await audit.record(peer.engine, Actor(name), "test.append", f"{name}-{n}", "ok")

    try:
        await asyncio.gather(*(append_many(peer, f"p{n}") for n, peer in enumerate(peers)))
    finally:
        for peer in peers:
            await peer.close()
    verdict = await verify(ledger.engine)

    assert verdict.intact and verdict.checked == 60

"""Fault tests: a real hub process, a real PostgreSQL and a real Neo4j, broken on purpose.

Each test starts what it breaks (its own hub, database or Neo4j), on loopback, and is
bounded in time. What must hold every time: every payload the hub acknowledged (202)
ends up applied exactly once, and the hub recovers by itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from deploy.neo4j.launcher import Neo4jDevServer, free_port
from deploy.postgres import PostgresDevServer, fresh_database
from graph.neo4j.store import Neo4jGraphStore
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore
from hub.records.audit import entries, verify
from hub.records.ledger import IngestionStatus, Ledger
from tests.served import fetch_token, register_client, start_hub

DRAIN_SECONDS = 180


def lots(tag: str, count: int) -> bytes:
    return b"".join(
        json.dumps({"node": "Batch", "maker": "birch", "number": f"{tag}-{n}"}).encode() + b"\n"
        for n in range(count)
    )


def lot_ids(tag: str, count: int) -> list[str]:
    return [f"batch:birch/{tag}-{n}" for n in range(count)]


def plain(url: str) -> str:
    """The HUB_DATABASE form of an async SQLAlchemy URL."""
    return url.replace("+asyncpg", "").replace("+aiosqlite", "")


@dataclass
class Hub:
    """``partnerhub serve`` in a child process that the test may kill and start again."""

    env: dict[str, str]
    child: subprocess.Popen[str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    sent: dict[str, str] = field(default_factory=dict)  # acknowledged ingestion id -> tag

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['HUB_PORT']}"

    def start(self) -> None:
        self.child = start_hub(self.env, timeout=90)
        if not self.headers:
            client_id, secret = register_client(self.env, "operator", "admin,ingest:write")
            self.headers = {
                "authorization": "Bearer " + fetch_token(self.url + "/", client_id, secret)
            }

    def kill(self) -> None:
        assert self.child is not None
        os.kill(self.child.pid, signal.SIGKILL)
        self.child.wait(timeout=30)

    def stop(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            self.child.wait(timeout=30)

    async def push(
        self, http: httpx.AsyncClient, tag: str, count: int, **params: str
    ) -> httpx.Response:
        response = await http.post(
            f"{self.url}/ingest/canonical.jsonl",
            params={"org": "birch", "filename": f"{tag}.jsonl", **params},
            content=lots(tag, count),
            headers=self.headers,
            timeout=60,
        )
        if response.status_code in (200, 202):
            self.sent[response.json()["ingestion_id"]] = tag
        return response


def hub_env(database: str, store: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HUB_DATABASE": database,
        "HUB_STORE": store,
        "HUB_PORT": str(free_port()),
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_INGEST_POLL_SECONDS": "0.2",
        "HUB_INGEST_RETRY_MAX_SECONDS": "2",
        **extra,
    }


@asynccontextmanager
async def running(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    hub.start()
    try:
        async with httpx.AsyncClient() as http:
            yield http
    finally:
        hub.stop()


async def drained(ledger: Ledger) -> None:
    async with asyncio.timeout(DRAIN_SECONDS):
        while await ledger.waiting():
            await asyncio.sleep(0.5)


async def assert_applied_once(
    ledger: Ledger, store: GraphStore, sent: dict[str, str], sizes: dict[str, int]
) -> None:
    """Every acknowledged payload: APPLIED, one 'applied' audit entry, every record in the graph."""
    for ingestion_id, tag in sent.items():
        found = await ledger.get(ingestion_id)
        assert found is not None, f"{ingestion_id} was acknowledged but is not in the ledger"
        assert found.status is IngestionStatus.APPLIED, (ingestion_id, found.status, found.report)
        ids = lot_ids(tag, sizes[tag])
        assert len(await store.get_nodes(ids)) == len(ids), f"records of {tag} missing"
    applied: dict[str, int] = {}
    async for entry in entries(ledger.engine):
        if entry.action == "ingestion.applied":
            applied[entry.target] = applied.get(entry.target, 0) + 1
    assert {ingestion_id: applied.get(ingestion_id) for ingestion_id in sent} == dict.fromkeys(
        sent, 1
    )
    assert (await verify(ledger.engine)).intact


async def wait_until_claimed(ledger: Ledger, ingestion_ids: Iterable[str]) -> None:
    async with asyncio.timeout(60):
        while True:
            for ingestion_id in ingestion_ids:
                found = await ledger.get(ingestion_id)
                if (
                    found is not None
                    and found.status is IngestionStatus.RECEIVED
                    and found.attempts
                ):
                    return
            await asyncio.sleep(0.05)


async def test_a_hub_killed_mid_ingest_applies_every_acknowledged_payload_once(
    postgres_server: str, tmp_path: Path
) -> None:
    sizes = {f"K{n}": 15_000 for n in range(4)} | {"after": 10}
    async with fresh_database(postgres_server, "faults") as database:
        hub = Hub(
            hub_env(
                plain(database),
                f"sqlite:///{tmp_path / 'graph.sqlite'}",
                HUB_INGEST_LEASE_SECONDS="3",
            )
        )
        ledger = Ledger(database)
        graph = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
        try:
            async with running(hub) as http:
                for tag in ("K0", "K1", "K2", "K3"):
                    assert (await hub.push(http, tag, sizes[tag])).status_code == 202
                await wait_until_claimed(ledger, hub.sent)
                hub.kill()  # mid-apply: a claim is held, records half written
                with pytest.raises(httpx.TransportError):
                    await hub.push(http, "unsent", 10)
                hub.start()
                assert (await hub.push(http, "after", sizes["after"])).status_code == 202
                await drained(ledger)
            async with ledger.engine.connect() as conn:
                stored = await conn.scalar(text("SELECT count(*) FROM ingestions"))

            assert stored == len(hub.sent) == 5, "nothing unacknowledged was stored as accepted"
            await assert_applied_once(ledger, graph, hub.sent, sizes)
            retried = [(await ledger.get(i)) for i in hub.sent]
            assert any(found is not None and found.attempts == 2 for found in retried), (
                "the payload being applied at the kill was taken over after its lease ran out"
            )
        finally:
            await ledger.close()
            await graph.close()


async def test_pushes_are_accepted_while_neo4j_is_down_and_applied_when_it_returns(
    tmp_path: Path,
) -> None:
    server = Neo4jDevServer(port=free_port(), home=tmp_path / "neo4j", heap="512m", pagecache="64m")
    server.start()
    database = f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}"
    hub = Hub(hub_env(plain(database), server.uri))
    sizes = {"up": 50, "down-1": 50, "down-2": 50, "down-3": 50}
    ledger = Ledger(database)
    graph = Neo4jGraphStore(server.uri)
    try:
        async with running(hub) as http:
            assert (await hub.push(http, "up", 50, wait="60")).json()["status"] == "APPLIED"
            server.stop()
            for tag in ("down-1", "down-2", "down-3"):
                assert (await hub.push(http, tag, 50)).status_code == 202
            ready = await http.get(f"{hub.url}/readyz")
            assert (ready.status_code, ready.json().get("store")) == (503, "unreachable")
            assert await ledger.waiting() == 3
            server.start()
            await drained(ledger)
            assert (await http.get(f"{hub.url}/readyz")).status_code == 200
        await assert_applied_once(ledger, graph, hub.sent, sizes)
    finally:
        await ledger.close()
        await graph.close()
        server.stop()


async def test_a_postgres_restart_answers_503_meanwhile_and_loses_nothing(tmp_path: Path) -> None:
    # A home of the test's own (kept across stop and start) that the server's user can
    # enter: pytest's tmp_path is private to root.
    home = tempfile.TemporaryDirectory(prefix="partnerhub-faults-pg-")
    Path(home.name).chmod(0o755)
    server = PostgresDevServer(port=free_port(), home=Path(home.name), durable=False)
    server.start()
    graph = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    # A worker finishing an ingestion when the database goes away cannot record the
    # outcome: its claim is taken over once its lease runs out (3 s here, 60 s by default).
    hub = Hub(
        hub_env(
            plain(server.url),
            f"sqlite:///{tmp_path / 'graph.sqlite'}",
            HUB_INGEST_LEASE_SECONDS="3",
        )
    )
    sizes = {f"P{n}": 2_000 for n in range(6)}
    ledger = Ledger(server.url)
    try:
        async with running(hub) as http:
            for tag in ("P0", "P1", "P2"):
                assert (await hub.push(http, tag, sizes[tag])).status_code == 202
            server.stop()
            down = await hub.push(http, "P3", sizes["P3"])
            ready = await http.get(f"{hub.url}/readyz")
            server.start()
            async with asyncio.timeout(60):  # recovers by itself: no restart of the hub
                while (again := await hub.push(http, "P4", sizes["P4"])).status_code == 503:
                    await asyncio.sleep(0.5)
            assert (await hub.push(http, "P5", sizes["P5"])).status_code == 202
            await drained(ledger)

        assert down.status_code == 503 and down.headers["retry-after"]
        assert "send it again" in down.json()["detail"]
        assert (ready.status_code, ready.json().get("database")) == (503, "unreachable")
        assert again.status_code == 202
        assert "P3" not in hub.sent.values()
        await assert_applied_once(ledger, graph, hub.sent, sizes)
    finally:
        await ledger.close()
        await graph.close()
        with suppress(Exception):
            server.stop()
        home.cleanup()

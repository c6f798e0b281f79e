"""Several hub processes, one system: three real ``partnerhub serve`` processes sharing one
real PostgreSQL and one real Neo4j.

What must hold: a push to one process reads back from another; every alert it raises
reaches every subscriber, on whichever process, exactly once, and only subscribers who
may read its subject; a process killed (SIGKILL) while its worker applies an ingestion
loses nothing and applies nothing twice (a survivor takes the ingestion over when its
lease runs out); a client revoked anywhere has its open socket on another process
closed (4403) within seconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from bench.soak import out_of_specification
from deploy.neo4j.launcher import free_port
from deploy.postgres import fresh_database
from graph.neo4j.store import Neo4jGraphStore
from graph.visibility import EVERYTHING, Visibility
from hub.records import alert_log
from hub.records.ledger import IngestionStatus, Ledger
from tests.hub.sockets import GraphQLSocket, canonical
from tests.hub.test_faults import assert_applied_once, drained, lots, plain
from tests.served import fetch_token, register_client, start_hub

LEASE_SECONDS = 3
REVOCATION_POLL_SECONDS = 0.5


@dataclass
class Process:
    """One ``partnerhub serve`` of the cluster."""

    env: dict[str, str]
    child: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['HUB_PORT']}"

    def kill(self) -> None:
        assert self.child is not None
        os.kill(self.child.pid, signal.SIGKILL)
        self.child.wait(timeout=30)

    def stop(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            self.child.wait(timeout=30)


@dataclass
class Cluster:
    processes: list[Process]
    database: str  # the async SQLAlchemy URL of the shared database
    ledger: Ledger
    http: httpx.AsyncClient
    operator: dict[str, str] = field(default_factory=dict)  # bearer headers

    def client(self, org: str, scopes: str) -> tuple[str, str]:
        """A client registered with ``partnerhub clients add``; (id, a token)."""
        client_id, secret = register_client(self.processes[0].env, org, scopes)
        return client_id, fetch_token(self.processes[0].url + "/", client_id, secret)

    def revoke(self, client_id: str) -> None:
        """``partnerhub clients revoke``: a process of its own, like an operator's."""
        subprocess.run(
            [sys.executable, "-m", "hub.cli", "clients", "revoke", client_id],
            env=self.processes[0].env,
            capture_output=True,
            text=True,
            check=True,
        )

    async def push(self, process: Process, records: bytes, **params: str) -> httpx.Response:
        response = await self.http.post(
            f"{process.url}/ingest/canonical.jsonl",
            params={"org": "birch", **params},
            content=records,
            headers=self.operator,
            timeout=120,
        )
        assert response.status_code in (200, 202), response.text
        return response

    async def listening(self, audiences: set[Visibility]) -> None:
        """Wait until every process knows these audiences listen (a subscribe message is
        taken up asynchronously: an alert raised before that is not for it)."""
        async with asyncio.timeout(20):
            while not audiences <= set(
                await alert_log.listening(self.ledger.engine, timedelta(seconds=20))
            ):
                await asyncio.sleep(0.1)


def cluster_env(database: str, neo4j_uri: str) -> dict[str, str]:
    return {
        **os.environ,
        "HUB_DATABASE": plain(database),
        "HUB_STORE": neo4j_uri,
        "HUB_PORT": str(free_port()),
        # One issuer for the whole system (behind one address), whichever process signs.
        "HUB_AUTH_ISSUER": "https://partnerhub.test",
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_INGEST_POLL_SECONDS": "0.2",
        "HUB_INGEST_LEASE_SECONDS": str(LEASE_SECONDS),
        "HUB_INGEST_RETRY_MAX_SECONDS": "2",
        "HUB_REVOCATION_POLL_SECONDS": str(REVOCATION_POLL_SECONDS),
    }


@asynccontextmanager
async def cluster(postgres_server: str, neo4j_uri: str, size: int = 3) -> AsyncIterator[Cluster]:
    graph = Neo4jGraphStore(neo4j_uri)
    try:
        await graph.setup()
        await graph.wipe()
    finally:
        await graph.close()
    async with fresh_database(postgres_server, "multi") as database:
        processes = [Process(cluster_env(database, neo4j_uri)) for _ in range(size)]
        ledger = Ledger(database)
        try:
            for process in processes:  # they migrate the database in turn
                process.child = await asyncio.to_thread(start_hub, process.env, 90)
            async with httpx.AsyncClient(trust_env=False) as http:
                running = Cluster(processes, database, ledger, http)
                _, token = running.client("operator", "admin,graph:read,ingest:write")
                running.operator = {"authorization": f"Bearer {token}"}
                yield running
        finally:
            for process in processes:
                process.stop()
            await ledger.close()


@asynccontextmanager
async def subscribed(process: Process, token: str) -> AsyncIterator[GraphQLSocket]:
    async with GraphQLSocket.open(process.url) as socket:
        assert (await socket.init(token))["type"] == "connection_ack"
        await socket.subscribe(["OUT_OF_SPECIFICATION"])
        yield socket


async def alerts_until_quiet(socket: GraphQLSocket, expected: int) -> list[dict[str, Any]]:
    """The alerts the socket receives: ``expected`` of them, then whatever else comes
    within a few seconds (a duplicate, or one for another audience, would)."""
    received = [await socket.alert(within=60) for _ in range(expected)]
    with suppress(TimeoutError):
        while True:
            received.append(await socket.alert(within=3))
    return received


def by_pid(ledger_row: Any, processes: list[Process]) -> Process | None:
    """The process whose worker holds the claim (a worker's name carries its pid)."""
    for process in processes:
        assert process.child is not None
        if ledger_row.claimed_by and f"-{process.child.pid}-" in ledger_row.claimed_by:
            return process
    return None


async def test_a_push_to_one_process_alerts_every_subscriber_of_every_process_once(
    postgres_server: str, neo4j_uri: str
) -> None:
    count = 12
    async with cluster(postgres_server, neo4j_uri) as hubs:
        first, second, third = hubs.processes
        _, birch = hubs.client("birch", "graph:read")
        _, oakridge = hubs.client("oakridge", "graph:read")
        operator = hubs.operator["authorization"].split()[1]
        async with (
            subscribed(third, operator) as on_third,
            subscribed(first, birch) as on_first,
            subscribed(second, oakridge) as stranger,
        ):
            await hubs.listening({EVERYTHING, Visibility.for_org("birch")})
            pushed = await hubs.push(first, canonical(out_of_specification("M", count)), wait="60")
            assert pushed.json()["status"] == "APPLIED", pushed.json()
            read = await hubs.http.post(
                f"{second.url}/graphql",
                json={"query": '{ batch(id: "batch:birch/M-7") { number vendor { id } } }'},
                headers=hubs.operator,
            )
            # Both subscribers are listened to side by side, each still given its quiet
            # time after its last alert for a duplicate to show up.
            to_operator, to_birch = await asyncio.gather(
                alerts_until_quiet(on_third, count), alerts_until_quiet(on_first, count)
            )
            with suppress(TimeoutError):  # all along, and two seconds more
                heard = await stranger.alert(within=2)
                raise AssertionError(f"oakridge may not read Birch's results: {heard}")

    assert read.json()["data"]["batch"] == {"number": "M-7", "vendor": {"id": "org:birch"}}
    subjects = {f"result:birch/M-R{n}" for n in range(count)}
    ingestion = pushed.json()["ingestion_id"]
    for received in (to_operator, to_birch):
        assert len(received) == count, "each alert once, none twice"
        assert {alert["subjectId"] for alert in received} == subjects
        assert len({alert["alertId"] for alert in received}) == count
        assert {alert["ingestionId"] for alert in received} == {ingestion}
    assert {a["alertId"] for a in to_operator} == {a["alertId"] for a in to_birch}


async def test_a_client_revoked_anywhere_has_its_socket_on_another_process_closed(
    postgres_server: str, neo4j_uri: str
) -> None:
    async with cluster(postgres_server, neo4j_uri, size=2) as hubs:
        revoked_id, revoked_token = hubs.client("birch", "graph:read")
        _, kept_token = hubs.client("birch", "graph:read")
        async with (
            subscribed(hubs.processes[1], revoked_token) as revoked,
            subscribed(hubs.processes[1], kept_token) as kept,
        ):
            await asyncio.to_thread(hubs.revoke, revoked_id)  # the sockets keep answering pings
            started = asyncio.get_running_loop().time()
            code = await revoked.close_code(within=10)
            took = asyncio.get_running_loop().time() - started
            with suppress(TimeoutError):  # the other client's socket stays open
                await kept.receive(within=2 * REVOCATION_POLL_SECONDS + 1)
                raise AssertionError("the socket of a client not revoked was sent something")
            still_open = kept.connection.state.name == "OPEN"

    assert code == 4403
    assert took < 10, f"closed after {took:.1f} s"
    assert still_open


async def test_a_process_killed_mid_ingest_loses_nothing_and_applies_nothing_twice(
    postgres_server: str, neo4j_uri: str
) -> None:
    sizes = {f"K{n}": 8_000 for n in range(3)}
    async with cluster(postgres_server, neo4j_uri) as hubs:
        sent: dict[str, str] = {}
        for n, tag in enumerate(sizes):
            process = hubs.processes[n % 3]
            response = await hubs.push(process, lots(tag, sizes[tag]), filename=f"{tag}.jsonl")
            assert response.status_code == 202
            sent[response.json()["ingestion_id"]] = tag
        victim = await holder_of_a_claim(hubs)
        victim.kill()  # mid-apply: a claim is held, records half written
        survivors = [p for p in hubs.processes if p is not victim]
        await drained(hubs.ledger)
        assert all(p.child is not None and p.child.poll() is None for p in survivors)
        graph = Neo4jGraphStore(neo4j_uri)
        try:
            await assert_applied_once(hubs.ledger, graph, sent, sizes)
            taken_over = [await hubs.ledger.get(i) for i in sent]
        finally:
            await graph.close()
        async with hubs.ledger.engine.connect() as conn:
            batches = await conn.scalar(text("SELECT count(*) FROM ingestions"))

    assert batches == len(sent)
    assert any(found is not None and found.attempts == 2 for found in taken_over), (
        "the ingestion being applied at the kill was taken over after its lease ran out"
    )
    for found in taken_over:
        assert found is not None and found.status is IngestionStatus.APPLIED


async def holder_of_a_claim(hubs: Cluster) -> Process:
    """The process whose worker is applying an ingestion now, once one is."""
    async with asyncio.timeout(60):
        while True:
            for holder in await holders(hubs):
                await asyncio.sleep(0.2)  # some records written, not all
                # An ingestion can finish within the wait on a quiet machine: only a
                # claim still held makes the kill one mid-apply.
                if holder in await holders(hubs):
                    return holder
            await asyncio.sleep(0.05)


async def holders(hubs: Cluster) -> list[Process]:
    """The processes holding a claim on an ingestion not yet applied."""
    query = text(
        "SELECT claimed_by FROM ingestions WHERE status = 'RECEIVED' AND claimed_by IS NOT NULL"
    )
    async with hubs.ledger.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [holder for row in rows if (holder := by_pid(row, hubs.processes)) is not None]

"""Soak: several hub processes as one system, pushed and read for a bounded time, then
checked for loss.

    .venv/bin/python -m bench.soak --seconds 60 --pushers 4 --readers 4

``--processes`` (3) ``partnerhub serve`` processes on loopback share one PostgreSQL
(``HUB_BENCH_POSTGRES_URL``, a server's maintenance database as an async SQLAlchemy URL,
or one started here; a fresh database in it either way) and one Neo4j
(``HUB_BENCH_NEO4J_URI``, or one started here; wiped first). On every process an
operator and Birch subscribe to OUT_OF_SPECIFICATION alerts over a websocket
(graphql-transport-ws). Then, for ``--seconds``:

- each of ``--pushers`` pushes, to the processes in turn and without waiting for the
  apply (202), exports of ``--lots`` Birch lots, each lot with an out-of-specification
  assay by Birch's lab, so every lot raises one alert for both audiences;
- each of ``--readers`` asks the processes in turn for a page of Birch's lots over
  GraphQL (``batches(filter: {vendor: "org:birch"}, first: 20)``).

Then the pushing stops, the queue drains, and the loss check runs: every accepted push
APPLIED, exactly one ``ingestion.applied`` audit entry each, every lot in the graph,
and every alert received by every subscriber exactly once. Reported: pushes/s accepted,
lots/s applied (from the first push to the queue drained), read p50/p99, alert delivery
(``raisedAt`` in the detecting process → received by a subscriber on any process, and
202 → received) p50/p95/p99, errors and what was lost, with the load average before and
after: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from bench.neo4j_server import bench_neo4j
from deploy.neo4j.launcher import free_port
from deploy.postgres import PostgresDevServer, fresh_database
from graph.ids import NodeKind, make_id
from graph.model import Batch, Record, TestResult, Verdict
from graph.neo4j.store import Neo4jGraphStore
from hub.records.audit import entries
from hub.records.ledger import IngestionStatus, Ledger
from tests.hub.sockets import GraphQLSocket, canonical
from tests.served import register_client, start_hub

RESULTS = Path(__file__).parent / "results"
ISSUER = "https://partnerhub.soak"  # one issuer for the system, whichever process signs
READ = '{ batches(filter: {vendor: "org:birch"}, first: 20) { edges { node { id number } } } }'
DRAIN_SECONDS = 600
SETTLE_SECONDS = 60


def summary(values: list[float]) -> dict[str, float | int]:
    if len(values) < 2:
        return {"count": len(values)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "count": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(cuts[94], 1),
        "p99_ms": round(cuts[98], 1),
        "max_ms": round(max(values), 1),
    }


def out_of_specification(tag: str, count: int) -> list[Record]:
    """Birch lots, each with an out-of-specification assay by Birch's own lab: one alert
    per lot for every audience of Birch's results (also the multi-process test's push)."""
    records: list[Record] = []
    for n in range(count):
        records.append(Batch(maker="birch", number=f"{tag}-{n}"))
        records.append(
            TestResult(
                lab="birch",
                result_id=f"{tag}-R{n}",
                batch_id=make_id(NodeKind.BATCH, "birch", f"{tag}-{n}"),
                test="assay",
                value=90.0 + n / 100,
                unit="%",
                spec_low=95.0,
                spec_high=105.0,
                verdict=Verdict.OOS,
                tested_on=date(2025, 11, 20),
            )
        )
    return records


def export(tag: str, lots: int) -> tuple[bytes, list[str], list[str]]:
    """``out_of_specification`` as a push; (body, lot ids, result ids)."""
    lot_ids = [make_id(NodeKind.BATCH, "birch", f"{tag}-{n}") for n in range(lots)]
    result_ids = [f"result:birch/{tag}-R{n}" for n in range(lots)]
    return canonical(out_of_specification(tag, lots)), lot_ids, result_ids


@dataclass
class Tally:
    accepted: dict[str, tuple[float, list[str], list[str]]] = field(default_factory=dict)
    push_errors: Counter[str] = field(default_factory=Counter)
    reads_ms: list[float] = field(default_factory=list)
    read_errors: Counter[str] = field(default_factory=Counter)
    acked_at: dict[str, float] = field(default_factory=dict)  # result id -> its push's 202


@dataclass
class Listener:
    """One subscriber's socket and what it received: alert id -> (subject, when)."""

    name: str
    socket: GraphQLSocket
    received: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    duplicates: int = 0
    other: Counter[str] = field(default_factory=Counter)

    async def run(self) -> None:
        while True:
            message = json.loads(await self.socket.connection.recv())
            now = time.time()
            if message.get("type") != "next" or "errors" in message.get("payload", {}):
                self.other[str(message.get("type"))] += 1
                continue
            alert = message["payload"]["data"]["alerts"]
            raised = datetime.fromisoformat(alert["raisedAt"]).timestamp()
            if alert["alertId"] in self.received:
                self.duplicates += 1
            else:
                self.received[alert["alertId"]] = (alert["subjectId"], raised, now)


@contextmanager
def postgres() -> Iterator[str]:
    given = os.environ.get("HUB_BENCH_POSTGRES_URL")
    if given:
        yield given
        return
    server = PostgresDevServer(port=free_port(), durable=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@asynccontextmanager
async def processes(
    database: str, neo4j_uri: str, count: int
) -> AsyncIterator[list[tuple[str, dict[str, str]]]]:
    started: list[subprocess.Popen[str]] = []
    served = []
    try:
        for _ in range(count):
            env = {
                **os.environ,
                "HUB_DATABASE": database.replace("+asyncpg", ""),
                "HUB_STORE": neo4j_uri,
                "HUB_PORT": str(free_port()),
                "HUB_AUTH_ISSUER": ISSUER,
                "HUB_LOG_LEVEL": "WARNING",
                "HUB_INGEST_POLL_SECONDS": "0.2",
            }
            started.append(await asyncio.to_thread(start_hub, env, 180))
            served.append((f"http://127.0.0.1:{env['HUB_PORT']}", env))
        yield served
    finally:
        for child in started:
            child.terminate()
        for child in started:
            child.wait(timeout=60)


async def token(url: str, env: dict[str, str], org: str, scopes: str) -> str:
    """A client registered with ``partnerhub clients add``, and a token of it (patiently:
    on a loaded machine the token endpoint's secret hash waits for a core)."""
    client_id, secret = await asyncio.to_thread(register_client, env, org, scopes)
    async with httpx.AsyncClient(trust_env=False, timeout=60) as http:
        answer = await http.post(
            f"{url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


async def push_loop(
    http: httpx.AsyncClient, urls: list[str], index: int, lots: int, until: float, tally: Tally
) -> None:
    for serial in itertools.count():
        if time.monotonic() >= until:
            return
        tag = f"S{index}-{serial}"
        body, lot_ids, result_ids = export(tag, lots)
        url = urls[(index + serial) % len(urls)]
        try:
            answer = await http.post(
                f"{url}/ingest/canonical.jsonl",
                params={"org": "birch", "filename": f"{tag}.jsonl"},
                content=body,
                timeout=60,
            )
        except httpx.HTTPError as error:
            tally.push_errors[type(error).__name__] += 1
            continue
        if answer.status_code != 202:
            tally.push_errors[str(answer.status_code)] += 1
            continue
        acked = time.time()
        tally.accepted[answer.json()["ingestion_id"]] = (acked, lot_ids, result_ids)
        for result_id in result_ids:
            tally.acked_at[result_id] = acked


async def read_loop(
    http: httpx.AsyncClient, urls: list[str], index: int, until: float, tally: Tally
) -> None:
    for serial in itertools.count():
        if time.monotonic() >= until:
            return
        url = urls[(index + serial) % len(urls)]
        started = time.perf_counter()
        try:
            answer = await http.post(f"{url}/graphql", json={"query": READ}, timeout=60)
            took = (time.perf_counter() - started) * 1000
            if answer.status_code != 200 or "errors" in answer.json():
                tally.read_errors[str(answer.status_code)] += 1
            else:
                tally.reads_ms.append(took)
        except httpx.HTTPError as error:
            tally.read_errors[type(error).__name__] += 1


async def drained(ledger: Ledger) -> None:
    async with asyncio.timeout(DRAIN_SECONDS):
        while await ledger.waiting():
            await asyncio.sleep(0.5)


@dataclass(frozen=True)
class LossCheck:
    pushes_accepted: int
    pushes_not_applied: int
    pushes_applied_twice: int
    lots_expected: int
    lots_missing_in_graph: int
    alerts_expected_per_subscriber: int
    alerts_missed_per_subscriber: dict[str, int]
    alerts_received_twice: dict[str, int]

    @property
    def lost(self) -> int:
        return (
            self.pushes_not_applied
            + self.lots_missing_in_graph
            + sum(self.alerts_missed_per_subscriber.values())
        )


async def loss_check(
    ledger: Ledger, neo4j_uri: str, tally: Tally, listeners: list[Listener]
) -> LossCheck:
    not_applied = []
    for ingestion_id in tally.accepted:
        found = await ledger.get(ingestion_id)
        if found is None or found.status is not IngestionStatus.APPLIED:
            not_applied.append(ingestion_id)
    applied: Counter[str] = Counter()
    async for entry in entries(ledger.engine):
        if entry.action == "ingestion.applied":
            applied[entry.target] += 1
    applied_twice = [i for i in tally.accepted if applied[i] > 1]
    lot_ids = [lot for _, lots, _ in tally.accepted.values() for lot in lots]
    graph = Neo4jGraphStore(neo4j_uri)
    try:
        found_lots = 0
        for start in range(0, len(lot_ids), 1000):
            found_lots += len(await graph.get_nodes(lot_ids[start : start + 1000]))
    finally:
        await graph.close()
    expected = {result for _, _, results in tally.accepted.values() for result in results}
    missed = {
        listener.name: len(expected - {subject for subject, _, _ in listener.received.values()})
        for listener in listeners
    }
    return LossCheck(
        pushes_accepted=len(tally.accepted),
        pushes_not_applied=len(not_applied),
        pushes_applied_twice=len(applied_twice),
        lots_expected=len(lot_ids),
        lots_missing_in_graph=len(lot_ids) - found_lots,
        alerts_expected_per_subscriber=len(expected),
        alerts_missed_per_subscriber=missed,
        alerts_received_twice={listener.name: listener.duplicates for listener in listeners},
    )


async def run(args: argparse.Namespace, server_url: str, neo4j_uri: str) -> dict[str, object]:
    graph = Neo4jGraphStore(neo4j_uri)
    try:
        await graph.setup()
        await graph.wipe()
    finally:
        await graph.close()
    tally = Tally()
    async with fresh_database(server_url, "soak") as database, AsyncExitStack() as stack:
        ledger = Ledger(database)
        stack.push_async_callback(ledger.close)
        served = await stack.enter_async_context(processes(database, neo4j_uri, args.processes))
        urls = [url for url, _ in served]
        env = served[0][1]
        operator = await token(urls[0], env, "operator", "admin,graph:read,ingest:write")
        birch = await token(urls[0], env, "birch", "graph:read")
        reader = await token(urls[0], env, "northwind", "graph:read")
        listeners = []
        for index, url in enumerate(urls):
            for name, bearer in (("operator", operator), ("birch", birch)):
                socket = await stack.enter_async_context(GraphQLSocket.open(url))
                assert (await socket.init(bearer))["type"] == "connection_ack"
                await socket.subscribe(["OUT_OF_SPECIFICATION"])
                listeners.append(Listener(f"{name}@{index}", socket))
        listening = [asyncio.create_task(listener.run()) for listener in listeners]
        await asyncio.sleep(6)  # each process has said who listens there (its heartbeat: 5 s)
        pusher_http = await stack.enter_async_context(
            httpx.AsyncClient(headers={"authorization": f"Bearer {operator}"}, trust_env=False)
        )
        reader_http = await stack.enter_async_context(
            httpx.AsyncClient(headers={"authorization": f"Bearer {reader}"}, trust_env=False)
        )
        load_before = os.getloadavg()
        started_at = datetime.now(UTC)
        began = time.monotonic()
        until = began + args.seconds
        await asyncio.gather(
            *(
                push_loop(pusher_http, urls, i, args.lots, until, tally)
                for i in range(args.pushers)
            ),
            *(read_loop(reader_http, urls, i, until, tally) for i in range(args.readers)),
        )
        pushing = time.monotonic() - began
        await drained(ledger)
        applying = time.monotonic() - began
        expected = len(tally.acked_at)
        with suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_SECONDS):
                while any(len(listener.received) < expected for listener in listeners):
                    await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # duplicates, if any, would come now
        for task in listening:
            task.cancel()
        await asyncio.gather(*listening, return_exceptions=True)
        check = await loss_check(ledger, neo4j_uri, tally, listeners)
    relay = [(now - raised) * 1000 for li in listeners for _, raised, now in li.received.values()]
    after_ack = [
        (now - tally.acked_at[subject]) * 1000
        for li in listeners
        for subject, _, now in li.received.values()
        if subject in tally.acked_at
    ]
    return {
        "processes": args.processes,
        "pushers": args.pushers,
        "readers": args.readers,
        "lots_per_push": args.lots,
        "seconds": args.seconds,
        "started": started_at.isoformat(timespec="seconds"),
        "load_average_before": [round(load, 2) for load in load_before],
        "load_average_after": [round(load, 2) for load in os.getloadavg()],
        "pushes_per_second": round(len(tally.accepted) / pushing, 2),
        "lots_applied_per_second": round(check.lots_expected / applying, 1),
        "queue_drained_after_s": round(applying, 1),
        "reads": summary(tally.reads_ms),
        "alert_raised_to_received": summary(relay),
        "alert_202_to_received": summary(after_ack),
        "errors": {"push": dict(tally.push_errors), "read": dict(tally.read_errors)},
        "other_socket_messages": {li.name: dict(li.other) for li in listeners if li.other},
        "loss_check": asdict(check),
        "lost": check.lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to push and read")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--pushers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--lots", type=int, default=10, help="lots (and alerts) per push")
    args = parser.parse_args()
    with postgres() as server_url, bench_neo4j(heap="1g", pagecache="512m") as neo4j_uri:
        result = asyncio.run(run(args, server_url, neo4j_uri))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"soak-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()

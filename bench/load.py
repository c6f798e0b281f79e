"""Load test: concurrent pushers and GraphQL readers against one hub, then a loss check.

    .venv/bin/python -m bench.load --store neo4j --pushers 4 --readers 4 --seconds 60

One ``partnerhub serve`` on loopback with its database on a real PostgreSQL (started
here, durable settings) and its graph on Neo4j (or the embedded SQLite store). Two
phases of equal length, in the same run:

1. Baseline: the readers alone.
2. Load: the readers while every pusher (its own organization and OAuth client) sends
   exports of ``--records`` lots back to back, each acknowledged with 202.

Reported: acknowledgements/s and records/s pushed, push p50/p99, read p50/p99 in each
phase and the ratio of the read p99s, errors of each kind (target: zero), how long the
queue took to drain after the load stopped, and a final check that every record of
every acknowledged push is in the graph (target: zero lost). The load generator runs
on the same two cores as the hub, so absolute figures are lower bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.neo4j_server import bench_graph_store
from deploy.neo4j.launcher import free_port
from deploy.postgres import PostgresDevServer
from graph.store import GraphStore
from hub.records.ledger import Ledger
from hub.settings import Settings
from hub.stores import open_graph_store
from tests.served import fetch_token, register_client, start_hub

RESULTS = Path(__file__).parent / "results"
READ_QUERY = """query ($id: ID!) {
  batch(id: $id) { number sources { ingestionId location } } }"""
PAGE_QUERY = "{ batches(first: 20) { nodes { id number } pageInfo { hasNextPage } } }"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def summary(self) -> dict[str, float | int]:
        if len(self.latencies) < 2:
            return {"count": len(self.latencies)}
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return {
            "count": len(self.latencies),
            "p50_ms": round(cuts[49] * 1000, 1),
            "p99_ms": round(cuts[98] * 1000, 1),
        }


@dataclass
class Pushed:
    ingestion_id: str
    lot_ids: list[str]


def export(org: str, serial: int, records: int) -> tuple[bytes, list[str]]:
    """A partner's export: ``records`` lots, each consuming the one before."""
    lines, ids = [], []
    for n in range(records):
        number = f"L{serial}-{n}"
        ids.append(f"batch:{org}/{number}")
        lines.append(json.dumps({"node": "Batch", "maker": org, "number": number}))
        if n:
            lines.append(
                json.dumps(
                    {
                        "edge": "CONSUMED",
                        "source": ids[-1],
                        "target": ids[-2],
                        "quantity": 1.5,
                        "unit": "kg",
                    }
                )
            )
    return ("\n".join(lines) + "\n").encode(), ids


async def pusher(
    http: httpx.AsyncClient,
    base: str,
    org: str,
    headers: dict[str, str],
    records: int,
    until: float,
    tally: Tally,
    pushed: list[Pushed],
) -> None:
    serial = 0
    while time.monotonic() < until:
        body, ids = export(org, serial, records)
        serial += 1
        started = time.perf_counter()
        try:
            answer = await http.post(
                f"{base}/ingest/canonical.jsonl", content=body, headers=headers, timeout=60
            )
        except httpx.HTTPError as error:
            tally.error(type(error).__name__)
            continue
        if answer.status_code != 202:
            tally.error(f"HTTP {answer.status_code}")
            continue
        tally.latencies.append(time.perf_counter() - started)
        pushed.append(Pushed(answer.json()["ingestion_id"], ids))


async def reader(
    http: httpx.AsyncClient,
    base: str,
    headers: dict[str, str],
    known: list[str],
    until: float,
    tally: Tally,
) -> None:
    turn = 0
    while time.monotonic() < until:
        turn += 1
        if turn % 2 and known:
            payload = {"query": READ_QUERY, "variables": {"id": known[turn % len(known)]}}
        else:
            payload = {"query": PAGE_QUERY}
        started = time.perf_counter()
        try:
            answer = await http.post(f"{base}/graphql", json=payload, headers=headers, timeout=60)
        except httpx.HTTPError as error:
            tally.error(type(error).__name__)
            continue
        if answer.status_code != 200 or answer.json().get("errors"):
            tally.error(f"HTTP {answer.status_code} / GraphQL error")
            continue
        tally.latencies.append(time.perf_counter() - started)


async def count_lost(store: GraphStore, pushed: list[Pushed]) -> int:
    lost = 0
    for delivery in pushed:
        found = await store.get_nodes(delivery.lot_ids)
        lost += len(delivery.lot_ids) - len(found)
    return lost


async def run(args: argparse.Namespace, database: str, store_url: str) -> dict[str, object]:
    env = {
        **os.environ,
        "HUB_DATABASE": database.replace("+asyncpg", ""),
        "HUB_STORE": store_url,
        "HUB_PORT": str(free_port()),
        "HUB_LOG_LEVEL": "WARNING",
    }
    base = f"http://127.0.0.1:{env['HUB_PORT']}"
    orgs = [f"partner-{n}" for n in range(args.pushers)]
    clients = {org: register_client(env, org, "ingest:write") for org in orgs}
    reader_client = register_client(env, "bi-tool", "graph:read,admin")
    hub = start_hub(env, timeout=120)
    ledger = Ledger(database)
    store: GraphStore = open_graph_store(Settings(store=store_url))
    try:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as http:
            token = {org: fetch_token(base + "/", *clients[org]) for org in orgs}
            push_headers = {org: {"authorization": f"Bearer {token[org]}"} for org in orgs}
            read_headers = {"authorization": f"Bearer {fetch_token(base + '/', *reader_client)}"}
            # Something to read from the start: one export per partner, applied.
            seed: list[Pushed] = []
            for org in orgs:
                body, ids = export(org, 10**6, 20)
                answer = await http.post(
                    f"{base}/ingest/canonical.jsonl?wait=60",
                    content=body,
                    headers=push_headers[org],
                    timeout=90,
                )
                seed.append(Pushed(answer.json()["ingestion_id"], ids))
            known = [lot for delivery in seed for lot in delivery.lot_ids]

            baseline = Tally()
            until = time.monotonic() + args.seconds
            await asyncio.gather(
                *(
                    reader(http, base, read_headers, known, until, baseline)
                    for _ in range(args.readers)
                )
            )

            reads, pushes, pushed = Tally(), Tally(), list(seed)
            started = time.monotonic()
            until = started + args.seconds
            await asyncio.gather(
                *(
                    reader(http, base, read_headers, known, until, reads)
                    for _ in range(args.readers)
                ),
                *(
                    pusher(http, base, org, push_headers[org], args.records, until, pushes, pushed)
                    for org in orgs
                ),
            )
            elapsed = time.monotonic() - started
            drain_started = time.monotonic()
            while await ledger.waiting():
                await asyncio.sleep(0.5)
            drain = time.monotonic() - drain_started
        lost = await count_lost(store, pushed)
    finally:
        hub.terminate()
        hub.wait(timeout=60)
        await ledger.close()
        await store.close()
    acknowledged = len(pushed) - len(seed)
    base_p99 = baseline.summary().get("p99_ms", 0)
    load_p99 = reads.summary().get("p99_ms", 0)
    return {
        "store": "neo4j" if store_url.startswith("bolt") else "sqlite",
        "pushers": args.pushers,
        "readers": args.readers,
        "seconds": args.seconds,
        "records_per_push": args.records,
        "acknowledged_per_s": round(acknowledged / elapsed, 1),
        "records_pushed_per_s": round(acknowledged * (2 * args.records - 1) / elapsed, 1),
        "push": pushes.summary(),
        "push_errors": pushes.errors,
        "reads_baseline": baseline.summary(),
        "reads_under_load": reads.summary(),
        "read_errors": {**baseline.errors, **reads.errors},
        "read_p99_ratio": round(load_p99 / base_p99, 2) if base_p99 else None,
        "drain_seconds_after_load": round(drain, 1),
        "applied_per_s_overall": round(acknowledged / (elapsed + drain), 1),
        "lots_checked": sum(len(delivery.lot_ids) for delivery in pushed),
        "lost": lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("neo4j", "sqlite"), default="neo4j")
    parser.add_argument("--pushers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--records", type=int, default=200, help="lots per pushed export")
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-load-")))
        folder.chmod(0o755)  # PostgreSQL's user must get in when run as root
        postgres = stack.enter_context(PostgresDevServer(port=free_port(), home=folder / "pg"))
        store_url = stack.enter_context(bench_graph_store(args.store, folder))
        result = asyncio.run(run(args, postgres.url, store_url))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"load-{args.store}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()

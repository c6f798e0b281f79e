"""Ingest throughput: records/s into each store, and Neo4j against a raw-driver baseline.

    .venv/bin/python -m bench.ingest --batches 100000

The baseline writes the same nodes and edges with the bare driver: one minimal
``UNWIND ... MERGE`` per kind, rows prepared before the clock starts, no model, no
provenance bookkeeping. The store's figure includes everything it does for real
(validation already done by the models, the write plan, sources, placeholders).
Both run in the same process against the same server, each on an empty graph.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from itertools import islice
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from neo4j import AsyncGraphDatabase

from bench.neo4j_server import bench_neo4j
from graph.loading import DEFAULT_CHUNK
from graph.model import Record
from graph.neo4j_store import Neo4jGraphStore
from graph.sql_store import SqlGraphStore
from graph.store import GraphStore
from graph.write_plan import plan_write
from hub.generator import generate_network


def chunks(records: list[Record], size: int = DEFAULT_CHUNK) -> list[list[Record]]:
    iterator = iter(records)
    return [chunk for chunk in iter(lambda: list(islice(iterator, size)), [])]


async def time_store(store: GraphStore, batches: list[list[Record]]) -> float:
    await store.setup()
    await store.wipe()
    started = time.perf_counter()
    for chunk in batches:
        await store.upsert(chunk)
    return time.perf_counter() - started


async def time_raw_unwind(uri: str, batches: list[list[Record]]) -> float:
    """The bare-driver baseline over the same nodes and edges."""
    prepared = []
    for chunk in batches:
        plan = plan_write(chunk)
        nodes: dict[str, list[dict[str, Any]]] = {}
        for node in [*plan.nodes.values(), *plan.placeholders.values()]:
            nodes.setdefault(node.kind.value, []).append({"id": node.id, "p": node.properties})
        edges: dict[str, list[dict[str, Any]]] = {}
        for edge in plan.edges.values():
            edges.setdefault(edge.kind.value, []).append(
                {"s": edge.source, "t": edge.target, "p": edge.properties}
            )
        prepared.append((nodes, edges))
    driver = AsyncGraphDatabase.driver(uri, notifications_min_severity="OFF")
    store = Neo4jGraphStore(uri)
    await store.setup()
    await store.wipe()
    await store.close()
    started = time.perf_counter()
    async with driver.session() as session:
        for nodes, edges in prepared:

            async def work(tx: Any, nodes: Any = nodes, edges: Any = edges) -> None:
                for label, rows in nodes.items():
                    await (
                        await tx.run(
                            f"UNWIND $rows AS row MERGE (n:Node {{id: row.id}}) "
                            f"SET n:{label}, n += row.p",
                            rows=rows,
                        )
                    ).consume()
                for rel_type, rows in edges.items():
                    await (
                        await tx.run(
                            "UNWIND $rows AS row MATCH (a:Node {id: row.s}) MATCH (b:Node {id: row.t}) "
                            f"MERGE (a)-[r:{rel_type}]->(b) SET r += row.p",
                            rows=rows,
                        )
                    ).consume()

            await session.execute_write(work)
    elapsed = time.perf_counter() - started
    await driver.close()
    return elapsed


async def main(batch_count: int, seed: int) -> None:
    records = list(generate_network(batch_count, seed))
    batches = chunks(records)
    total = len(records)
    print(f"{batch_count:,} generated batches -> {total:,} records, chunks of {DEFAULT_CHUNK:,}")

    with TemporaryDirectory() as folder:
        sqlite = SqlGraphStore(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite'}")
        sqlite_seconds = await time_store(sqlite, batches)
        await sqlite.close()

    with bench_neo4j() as uri:
        raw_seconds = await time_raw_unwind(uri, batches)
        store = Neo4jGraphStore(uri)
        neo4j_seconds = await time_store(store, batches)
        await store.close()

    print("| store | seconds | records/s | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| SQLite store | {sqlite_seconds:.1f} | {total / sqlite_seconds:,.0f} | |")
    print(f"| Neo4j raw UNWIND baseline | {raw_seconds:.1f} | {total / raw_seconds:,.0f} | 1.00 |")
    print(
        f"| Neo4j store | {neo4j_seconds:.1f} | {total / neo4j_seconds:,.0f} "
        f"| {raw_seconds / neo4j_seconds:.2f}x of baseline |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.batches, args.seed))

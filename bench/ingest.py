"""Ingest throughput: records/s into each store, and Neo4j against a raw-driver baseline.

    .venv/bin/python -m bench.ingest --batches 100000 --repeat 3

Each store is timed through ``graph.loading.load``, which is how ``partnerhub generate``
loads a stream: chunks of ``DEFAULT_CHUNK`` records, one transaction each, each chunk
planned and then written. The store's figure includes everything it does for real: the
write plan (merging, placeholders), sources accumulated, idempotent ``MERGE``.

The baseline writes the same nodes and edges, in the same chunks, with the bare driver:
one minimal ``UNWIND ... MERGE`` per kind and chunk in one transaction per chunk, rows
prepared before its clock starts, no model, no provenance bookkeeping. Issue #13's
target ("Neo4j ingest >= 0.9x the raw UNWIND baseline") is against this baseline.

A second baseline, "raw UNWIND, stored graph", writes the same graph the store leaves:
the same nodes and edges in the same chunks, each with every property a completed
store load left on it (sources, ``readers``, ``sponsor_readers``), read back from the
graph after an untimed store load and prepared before its clock. One ``UNWIND ... MERGE
... SET +=`` per kind and chunk, nothing computed: the driver's and server's cost of
storing what the store stores. Each chunk sets its nodes' and edges' final properties,
so the graph it leaves is the store's (checked once, untimed, after the warm-up pass).
The store's ratio is reported against both baselines.

Everything runs in one process against one server, each timing on an emptied graph.
One untimed pass of the baseline and the store comes first, because a new database
grows its files and the JVM compiles code on first use. Then the baseline and the store
run ``--repeat`` rounds, each round in the other order from the last, and ratios are
taken between medians. That way load from other work on a shared machine falls on both
alike as far as it can. Only ratios within one run mean anything there.

The generated records are held in memory, so that no clock includes generating them.
They are frozen out of the garbage collector (``gc.freeze``), because otherwise every
full collection during the timed runs would walk every one of them. Streaming ingest
holds one or two chunks and never pays that cost. ``--no-freeze`` shows what it costs:
the store pays it because it plans while timed, and the baseline does not because it
prepares beforehand.

Wall time on a shared machine depends on what else runs there. CPU time depends on it
much less, so each timing also records "client CPU" (this process's CPU time, all threads)
and "server CPU" (the Neo4j process's, read from /proc when the server is a local dev
server). The last column compares the total CPU the baseline spends with the total the
store spends on the same records.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from itertools import islice
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from neo4j import AsyncGraphDatabase

from bench.neo4j_server import bench_neo4j
from graph.ids import parse_id
from graph.loading import DEFAULT_CHUNK, load
from graph.model import Record
from graph.neo4j.store import Neo4jGraphStore
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore
from graph.write_plan import plan_write
from hub.demo.generator import generate_network

Timing = tuple[float, float, float]  # wall, client CPU, server CPU (seconds)


def no_server() -> float:
    return 0.0


server_cpu: Callable[[], float] = no_server


def local_server_cpu(uri: str) -> Callable[[], float]:
    """CPU seconds used so far by the local dev server answering ``uri`` (0 if not here)."""
    port = uri.rsplit(":", 1)[-1].encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"partnerhub.neo4j.DevServer" in args and port in args:

            def read(stat: Path = cmdline.parent / "stat") -> float:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            return read
    return no_server


def chunks(records: list[Record], size: int = DEFAULT_CHUNK) -> list[list[Record]]:
    iterator = iter(records)
    return [chunk for chunk in iter(lambda: list(islice(iterator, size)), [])]


async def timed(work: Callable[[], Awaitable[None]]) -> Timing:
    wall, cpu, server = time.perf_counter(), time.process_time(), server_cpu()
    await work()
    return time.perf_counter() - wall, time.process_time() - cpu, server_cpu() - server


async def time_load(store: GraphStore, records: list[Record]) -> Timing:
    """The store as the CLI drives it: ``graph.loading.load`` (pipelined)."""
    await store.setup()
    await store.wipe()
    # Each load parses its ids afresh, as a process meeting these records first would,
    # not from the ids the last round left in the cache.
    parse_id.cache_clear()

    async def work() -> None:
        await load(store, records)

    return await timed(work)


Prepared = list[tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]]


StoredGraph = tuple[dict[str, dict[str, Any]], dict[tuple[str, str, str], dict[str, Any]]]


async def read_graph(uri: str) -> StoredGraph:
    """Every stored node's properties by id, and every edge's by (source, type, target)."""
    driver = AsyncGraphDatabase.driver(uri, notifications_min_severity="OFF")
    try:
        async with driver.session() as session:
            result = await session.run("MATCH (n:Node) RETURN n.id AS id, properties(n) AS p")
            nodes = {row["id"]: row["p"] async for row in result}
            result = await session.run(
                "MATCH (a:Node)-[r]->(b:Node) "
                "RETURN a.id AS s, type(r) AS k, b.id AS t, properties(r) AS p"
            )
            edges = {(row["s"], row["k"], row["t"]): row["p"] async for row in result}
    finally:
        await driver.close()
    return nodes, edges


def prepare(batches: list[list[Record]], stored: StoredGraph | None = None) -> Prepared:
    """A baseline's rows: each chunk's planned nodes and edges with their planned
    properties (the raw baseline) or, given ``stored``, with the properties a completed
    store load left on each (the stored-graph baseline)."""
    prepared: Prepared = []
    for chunk in batches:
        plan = plan_write(chunk)
        nodes: dict[str, list[dict[str, Any]]] = {}
        for node in [*plan.nodes.values(), *plan.placeholders.values()]:
            properties = node.properties if stored is None else stored[0][node.id]
            nodes.setdefault(node.kind.value, []).append({"id": node.id, "p": properties})
        edges: dict[str, list[dict[str, Any]]] = {}
        for edge in plan.edges.values():
            key = (edge.source, edge.kind.value, edge.target)
            properties = edge.properties if stored is None else stored[1][key]
            edges.setdefault(edge.kind.value, []).append(
                {"s": edge.source, "t": edge.target, "p": properties}
            )
        prepared.append((nodes, edges))
    return prepared


async def time_raw_unwind(uri: str, prepared: Prepared) -> Timing:
    """A bare-driver baseline over prepared rows, one transaction per chunk."""
    store = Neo4jGraphStore(uri)
    await store.setup()
    await store.wipe()
    await store.close()
    driver = AsyncGraphDatabase.driver(uri, notifications_min_severity="OFF")

    async def work() -> None:
        async with driver.session() as session:
            for nodes, edges in prepared:

                async def write(tx: Any, nodes: Any = nodes, edges: Any = edges) -> None:
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

                await session.execute_write(write)

    try:
        return await timed(work)
    finally:
        await driver.close()


def median(timings: list[Timing]) -> Timing:
    wall, client, server = (statistics.median(t[i] for t in timings) for i in range(3))
    return wall, client, server


def row(name: str, timings: list[Timing], total: int, baselines: list[list[Timing]]) -> str:
    wall, client, server = median(timings)
    runs = ", ".join(f"{t[0]:.1f}" for t in timings)
    ratios = []
    for baseline in baselines:
        base_wall, base_client, base_server = median(baseline)
        cpu_ratio = (base_client + base_server) / (client + server)
        ratios.append(f" {base_wall / wall:.2f}x | {cpu_ratio:.2f}x |")
    ratios += [" | |"] * (2 - len(baselines))
    return (
        f"| {name} | {runs} | {wall:.1f} | {total / wall:,.0f} | {client:.1f} | {server:.1f} |"
        + "".join(ratios)
    )


async def main(batch_count: int, seed: int, repeat: int, freeze: bool) -> None:
    records = list(generate_network(batch_count, seed))
    if freeze:
        gc.collect()
        gc.freeze()
    batches = chunks(records)
    total = len(records)
    print(
        f"{batch_count:,} generated batches -> {total:,} records, chunks of {DEFAULT_CHUNK:,}, "
        f"{repeat} runs each (median), records {'frozen out of' if freeze else 'left in'} "
        "the garbage collector\n"
    )

    sqlite: list[Timing] = []
    with TemporaryDirectory() as folder:
        store = SqlGraphStore(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite'}")
        try:
            for _ in range(repeat):
                sqlite.append(await time_load(store, records))
        finally:
            await store.close()

    raw: list[Timing] = []
    stored_raw: list[Timing] = []
    loaded: list[Timing] = []
    global server_cpu
    with bench_neo4j() as uri:
        server_cpu = local_server_cpu(uri)
        neo4j = Neo4jGraphStore(uri)
        prepared = prepare(batches)
        try:
            # Untimed: a new database grows its files and the JVM compiles on first use,
            # which would fall on whichever timing came first. The store's graph is read
            # back from this pass for the second baseline.
            await time_raw_unwind(uri, prepared)
            await time_load(neo4j, records)
            stored = await read_graph(uri)
            prepared_stored = prepare(batches, stored)
            await time_raw_unwind(uri, prepared_stored)
            if await read_graph(uri) != stored:
                raise AssertionError("the stored-graph baseline left another graph than the store")
            if freeze:  # the baselines' rows are held for the whole run, as the records are
                gc.collect()
                gc.freeze()
            runs: list[tuple[list[Timing], Callable[[], Awaitable[Timing]]]] = [
                (raw, lambda: time_raw_unwind(uri, prepared)),
                (loaded, lambda: time_load(neo4j, records)),
                (stored_raw, lambda: time_raw_unwind(uri, prepared_stored)),
            ]
            for round_ in range(repeat):
                for timings, run in runs if round_ % 2 == 0 else runs[::-1]:
                    timings.append(await run())
        finally:
            await neo4j.close()

    nodes, edges = stored
    print(
        f"Stored graph: {len(nodes):,} nodes, {len(edges):,} edges; the stored-graph "
        "baseline left the same graph as the store (checked after the warm-up pass)\n"
    )
    print(
        "| run | seconds, each run | median s | records/s | client CPU s | server CPU s "
        "| of raw baseline, wall | of raw baseline, CPU "
        "| of stored-graph baseline, wall | of stored-graph baseline, CPU |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(row("SQLite store, `load`", sqlite, total, []))
    print(row("Neo4j raw UNWIND baseline (issue #13's)", raw, total, []))
    print(row("Neo4j raw UNWIND, stored graph", stored_raw, total, []))
    print(row("Neo4j store, `load`", loaded, total, [raw, stored_raw]))
    for name, baseline in (("raw baseline", raw), ("stored-graph baseline", stored_raw)):
        ratios = [b[0] / s[0] for b, s in zip(baseline, loaded, strict=True)]
        print(
            f"\nNeo4j store (`load`) / {name}, per round: "
            + ", ".join(f"{ratio:.2f}" for ratio in ratios)
        )
    print("\nIssue #13's target (>= 0.9x) is against the raw baseline.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing")
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="leave the held records to the garbage collector (to see what that costs)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.batches, args.seed, args.repeat, not args.no_freeze))
